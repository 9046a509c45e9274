"""The web frontend's users and API tokens pages (substra-frontend 1.0.0: UsersApi.ts,
BearerTokenApi.ts), each call as it sends it, through a session (docs/frontend-contract.md)."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from substrapp.models import ExpiringToken
from tests.backend.conftest import PASSWORD, client_of, make_user
from tests.backend.test_frontend_session import Browser


def browser_of(username):
    browser = Browser()
    assert browser.login(username).status_code == 200
    return browser


@pytest.fixture
def alice(admin):
    return browser_of("alice")


@pytest.fixture
def bob(user):
    return browser_of("bob")


def test_the_creator_filter_lists_every_user_of_the_channel_for_a_plain_user(bob, admin, other_admin):
    response = bob.call("get", "/users/?page=1&page_size=0&ordering=username")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [u["username"] for u in body["results"]] == ["alice", "bob"]
    assert set(body["results"][0]) >= {"username", "role", "channel", "email"}


def test_the_users_page_orders_by_role_and_matches_part_of_a_username(alice, user):
    make_user("bobby", role="ADMIN")

    by_role = alice.call("get", "/users/?page=1&page_size=30&ordering=-role")
    matched = alice.call("get", "/users/?page=1&page_size=30&ordering=username&match=BOB")

    assert [u["username"] for u in by_role.json()["results"]] == ["bob", "alice", "bobby"]
    assert [u["username"] for u in matched.json()["results"]] == ["bob", "bobby"]


def test_the_plans_ordering_carried_over_to_the_users_page_orders_them_by_when_they_joined(alice, user):
    response = alice.call("get", "/users/?page_size=30&page=1&ordering=-creation_date")

    assert response.status_code == 200
    assert [u["username"] for u in response.json()["results"]] == ["bob", "alice"]


def test_an_empty_ordering_leaves_every_list_in_its_default_order(alice):
    for path in ("/users/", "/model/", "/compute_plan/", "/task/", "/function/", "/data_manager/"):
        assert alice.call("get", f"{path}?ordering=,").status_code == 200, path


def test_an_unknown_ordering_on_users_is_a_400_in_the_one_error_shape(alice):
    response = alice.call("get", "/users/?ordering=password")

    assert response.status_code == 400
    assert set(response.json()) >= {"detail", "code"}


def test_an_admin_changes_a_users_role(alice, user):
    response = alice.call("put", "/users/bob/", {"role": "ADMIN"})

    assert response.status_code == 200
    assert response.json()["role"] == "ADMIN"
    assert get_user_model().objects.get(username="bob").is_staff


def test_a_bad_role_is_a_400_and_changes_nothing(alice, user):
    response = alice.call("put", "/users/bob/", {"role": "OWNER"})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_choice"
    assert user.membership.role == "USER"


def test_an_admin_cannot_change_their_own_role(alice):
    response = alice.call("put", "/users/alice/", {"role": "USER"})

    assert response.status_code == 400
    assert response.json()["code"] == "self_role_change"


def test_users_of_another_channel_are_out_of_reach(alice, other_admin):
    assert alice.call("get", "/users/charlie/").status_code == 404
    assert alice.call("put", "/users/charlie/", {"role": "USER"}).status_code == 404
    assert alice.call("post", "/users/charlie/reset_password/").status_code == 404


def test_the_password_reset_flow_sets_a_new_password_once(alice, user):
    token = alice.call("post", "/users/bob/reset_password/").json()["reset_password_token"]
    old_session = browser_of("bob")
    sdk_token = client_of(user)
    anonymous = Browser()

    assert anonymous.call("get", f"/users/bob/verify_token/?token={token}").status_code == 200
    changed = anonymous.call("post", "/users/bob/set_password/", {"token": token, "password": "a new long passphrase"})

    assert changed.status_code == 200
    assert browser_of_password("bob", "a new long passphrase").status_code == 200
    assert Browser().login("bob", PASSWORD).status_code == 400
    # The token is spent, and every session and token of the old password is closed.
    assert anonymous.call("get", f"/users/bob/verify_token/?token={token}").status_code == 400
    assert old_session.call("get", "/info/").status_code == 401
    assert sdk_token.get("/info/").status_code == 401


def browser_of_password(username, password):
    return Browser().login(username, password)


def test_a_bad_reset_token_is_a_400_whether_or_not_the_user_exists(user):
    anonymous = Browser()

    for username in ("bob", "nobody"):
        verify = anonymous.call("get", f"/users/{username}/verify_token/?token=1-abc")
        change = anonymous.call("post", f"/users/{username}/set_password/", {"token": "1-abc", "password": "x" * 20})
        assert (verify.status_code, change.status_code) == (400, 400)
        assert verify.json() == change.json()
        assert verify.json()["code"] == "invalid_token"


def test_a_weak_new_password_is_a_400_and_the_token_stays_good(alice, user):
    token = alice.call("post", "/users/bob/reset_password/").json()["reset_password_token"]

    response = Browser().call("post", "/users/bob/set_password/", {"token": token, "password": "123"})

    assert response.status_code == 400
    assert "password" in response.json()["errors"]
    assert Browser().call("get", f"/users/bob/verify_token/?token={token}").status_code == 200


def test_verify_token_without_a_token_is_a_400(user):
    assert Browser().call("get", "/users/bob/verify_token/").status_code == 400


def test_users_awaiting_approval_is_an_empty_page(alice):
    response = alice.call("get", "/users-awaiting-approval/")

    assert response.status_code == 200
    assert response.json()["results"] == [] and response.json()["count"] == 0


def test_a_token_with_a_note_and_an_expiry_is_made_and_then_listed_without_its_key(bob, user):
    expires_at = (timezone.now() + datetime.timedelta(days=30)).isoformat().replace("+00:00", "Z")

    made = bob.call("post", "/api-token/", {"expires_at": expires_at, "note": "my notebook"})

    assert made.status_code == 200
    token = made.json()
    assert set(token) == {"id", "note", "expires_at", "created_at", "token"}
    assert token["note"] == "my notebook"
    assert datetime.datetime.fromisoformat(token["expires_at"]) == datetime.datetime.fromisoformat(expires_at)
    listed = bob.call("get", "/active-api-tokens/").json()["tokens"]
    assert [(t["id"], t["note"]) for t in listed] == [(token["id"], "my notebook")]
    assert "token" not in listed[0]
    sdk = client_of(user)
    sdk.credentials(HTTP_AUTHORIZATION=f"Token {token['token']}")
    assert sdk.get("/info/").status_code == 200
    assert bob.call("delete", f"/active-api-tokens/?id={token['id']}").status_code == 200
    assert sdk.get("/info/").status_code == 401


def test_a_custom_expiry_date_lasts_to_the_end_of_that_day(bob):
    day = (timezone.now() + datetime.timedelta(days=3)).date()

    token = bob.call("post", "/api-token/", {"expires_at": day.isoformat(), "note": "ci"}).json()

    expected = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(), tzinfo=datetime.UTC)
    assert datetime.datetime.fromisoformat(token["expires_at"]) == expected


@pytest.mark.parametrize(
    "body",
    [
        {"expires_at": "2000-01-01T00:00:00Z", "note": "past"},
        {"expires_at": "next week", "note": "words"},
        {"expires_at": "9999-12-31", "note": "end of time"},
        {"expires_at": 12, "note": "number"},
        {"expires_at": None, "note": "x" * 101},
    ],
)
def test_a_bad_token_request_is_a_400_and_makes_no_token(bob, user, body):
    response = bob.call("post", "/api-token/", body)

    assert response.status_code == 400
    assert set(response.json()) >= {"detail", "code"}
    assert not ExpiringToken.objects.filter(user=user).exists()


def test_tokens_of_others_are_not_listed(bob, admin):
    client_of(admin)

    assert bob.call("get", "/active-api-tokens/").json()["tokens"] == []
