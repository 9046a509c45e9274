"""/users/: the admins of a channel manage its users; nobody else, and no other channel's."""

import pytest
from django.contrib.auth import get_user_model

from substrapp.models import ExpiringToken, UserChannel
from tests.backend.conftest import PASSWORD, client_of, make_user

NEW_USER = {"username": "dave", "password": "another long passphrase", "role": "USER"}


@pytest.mark.django_db
def test_an_admin_lists_the_users_of_their_channel_only(admin, user, other_admin):
    response = client_of(admin).get("/users/")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [(u["username"], u["role"], u["channel"]) for u in body["results"]] == [
        ("alice", "ADMIN", "mychannel"),
        ("bob", "USER", "mychannel"),
    ]
    assert "password" not in body["results"][0]


@pytest.mark.django_db
def test_an_admin_creates_a_user_in_their_own_channel_who_can_then_log_in(admin):
    response = client_of(admin).post("/users/", {**NEW_USER, "channel": "otherchannel"}, format="json")

    assert response.status_code == 201
    assert response.json()["channel"] == "mychannel"
    membership = UserChannel.objects.get(user__username="dave")
    assert (membership.channel, membership.role, membership.user.is_staff) == ("mychannel", "USER", False)
    login = client_of(admin).post("/api-token-auth/", {"username": "dave", "password": NEW_USER["password"]})
    assert login.status_code == 200


@pytest.mark.django_db
def test_an_admin_created_through_the_api_is_staff(admin):
    client_of(admin).post("/users/", {**NEW_USER, "role": "ADMIN"}, format="json")

    assert get_user_model().objects.get(username="dave").is_staff


@pytest.mark.django_db
def test_a_plain_user_reads_the_channels_users_but_cannot_manage_them(user, admin):
    # Reading: the web frontend's creator filter lists the channel's users for everyone.
    client = client_of(user)

    reads = [client.get("/users/"), client.get("/users/alice/")]
    writes = [
        client.post("/users/", NEW_USER, format="json"),
        client.put("/users/alice/", {"role": "USER"}, format="json"),
        client.post("/users/alice/reset_password/"),
        client.delete("/users/alice/"),
    ]

    assert [r.status_code for r in reads] == [200] * 2
    assert [r.status_code for r in writes] == [403] * 4
    assert writes[0].json() == {"detail": "Only admins of the channel may do this.", "code": "permission_denied"}
    assert get_user_model().objects.filter(username__in=["alice", "dave"]).count() == 1
    assert UserChannel.objects.get(user__username="alice").role == "ADMIN"


@pytest.mark.django_db
def test_a_taken_username_is_a_409_carrying_it(admin, other_admin):
    response = client_of(admin).post("/users/", {**NEW_USER, "username": "charlie"}, format="json")

    assert response.status_code == 409
    assert response.json() == {"detail": "The username charlie is taken.", "code": "conflict", "key": "charlie"}


@pytest.mark.django_db
def test_a_weak_password_is_a_400_that_says_why(admin):
    response = client_of(admin).post("/users/", {**NEW_USER, "password": "123"}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["detail"].startswith("password: This password is too short.")
    assert not get_user_model().objects.filter(username="dave").exists()


@pytest.mark.django_db
def test_an_unknown_role_is_a_400(admin):
    response = client_of(admin).post("/users/", {**NEW_USER, "role": "OWNER"}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"role": ['"OWNER" is not a valid choice.']}


@pytest.mark.django_db
def test_an_admin_deletes_a_user_of_their_channel_and_its_sessions(admin, user):
    client_of(user)

    response = client_of(admin).delete("/users/bob/")

    assert response.status_code == 200
    assert response.json() == {"detail": "User bob deleted."}
    assert not get_user_model().objects.filter(username="bob").exists()
    assert not ExpiringToken.objects.filter(user_id=user.id).exists()


@pytest.mark.django_db
def test_an_admin_cannot_reach_a_user_of_another_channel(admin, other_admin):
    client = client_of(admin)

    assert client.get("/users/charlie/").status_code == 404
    assert client.delete("/users/charlie/").status_code == 404
    assert get_user_model().objects.filter(username="charlie").exists()


@pytest.mark.django_db
def test_superusers_are_out_of_a_channel_admins_reach(admin):
    make_user("root", is_superuser=True)

    assert client_of(admin).delete("/users/root/").status_code == 404


@pytest.mark.django_db
def test_an_admin_cannot_delete_their_own_account(admin):
    response = client_of(admin).delete("/users/alice/")

    assert response.status_code == 400
    assert response.json() == {"detail": "You cannot delete your own account.", "code": "self_deletion"}


@pytest.mark.django_db
def test_users_filter_by_role(admin, user):
    body = client_of(admin).get("/users/?role=ADMIN").json()

    assert [u["username"] for u in body["results"]] == ["alice"]


@pytest.mark.django_db
def test_a_user_made_through_the_api_starts_with_the_given_password(admin):
    client_of(admin).post("/users/", {**NEW_USER, "password": PASSWORD}, format="json")

    assert get_user_model().objects.get(username="dave").check_password(PASSWORD)
