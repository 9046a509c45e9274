"""Login, token use, expiry and logout, as the SDK does them (docs/sdk-contract.md §2)."""

import datetime
import uuid

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from substrapp.models import ExpiringToken
from tests.backend.conftest import PASSWORD

SDK_HEADERS = {"HTTP_ACCEPT": "application/json;version=0.0"}


def login(username, password=PASSWORD):
    return APIClient().post("/api-token-auth/", {"username": username, "password": password}, **SDK_HEADERS)


def token_client(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.mark.django_db
def test_login_gives_a_token_that_authenticates_later_calls(user):
    response = login("bob")

    assert response.status_code == 200
    assert token_client(response.json()["token"]).get("/info/", **SDK_HEADERS).status_code == 200


@pytest.mark.django_db
def test_login_answers_the_fields_the_sdk_requires_with_tz_aware_dates(user):
    body = login("bob").json()

    assert set(body) == {"id", "token", "expires_at", "created_at"}
    uuid.UUID(body["id"])
    assert body["expires_at"].endswith("+00:00") and body["created_at"].endswith("+00:00")
    lifetime = datetime.datetime.fromisoformat(body["expires_at"]) - timezone.now()
    assert datetime.timedelta(hours=23, minutes=59) < lifetime <= datetime.timedelta(hours=24)


@pytest.mark.django_db
def test_login_with_a_wrong_password_is_a_400_with_a_readable_detail(user):
    response = login("bob", "not the password")

    assert response.status_code == 400
    assert response.json() == {"detail": "Unable to log in with provided credentials.", "code": "invalid_credentials"}


@pytest.mark.django_db
def test_login_without_a_password_is_a_400_naming_the_field(user):
    response = APIClient().post("/api-token-auth/", {"username": "bob"})

    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "password: This field is required."
    assert body["code"] == "required"
    assert body["errors"] == {"password": ["This field is required."]}


@pytest.mark.django_db
def test_an_expired_token_is_refused_with_a_401(user):
    body = login("bob").json()
    ExpiringToken.objects.filter(id=body["id"]).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))

    response = token_client(body["token"]).get("/info/")

    assert response.status_code == 401
    assert response.json() == {"detail": "Token has expired: log in again.", "code": "token_expired"}


@pytest.mark.django_db
def test_the_sdk_header_without_a_token_is_a_401():
    response = token_client("None").get("/info/")

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.django_db
def test_no_credentials_at_all_is_a_401():
    # Not /info/: its public part answers anyone (the web frontend's login page).
    response = APIClient().get("/organization/")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.django_db
def test_logout_revokes_the_token(user):
    body = login("bob").json()
    client = token_client(body["token"])

    response = client.delete(f"/active-api-tokens/?id={body['id']}", **SDK_HEADERS)

    assert response.status_code == 200
    assert response.json() == {"detail": "Token removed."}
    assert client.get("/info/").status_code == 401


@pytest.mark.django_db
def test_a_user_cannot_log_out_a_token_of_another_user(user, admin):
    bobs = login("bob").json()
    alices = login("alice").json()

    response = token_client(alices["token"]).delete(f"/active-api-tokens/?id={bobs['id']}")

    assert response.status_code == 404
    assert response.json() == {"detail": "Token not found.", "code": "not_found"}
    assert token_client(bobs["token"]).get("/info/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("token_id", [str(uuid.uuid4()), "not-a-uuid", ""])
def test_logout_of_an_unknown_token_is_a_404(user, token_id):
    client = token_client(login("bob").json()["token"])

    assert client.delete(f"/active-api-tokens/?id={token_id}").status_code == 404


@pytest.mark.django_db
def test_only_a_digest_of_the_key_is_stored(user):
    body = login("bob").json()

    token = ExpiringToken.objects.get(id=body["id"])
    assert body["token"] not in {token.digest, str(token.id)}
    assert token.digest == ExpiringToken.digest_of(body["token"])


@pytest.mark.django_db
def test_each_login_is_a_session_of_its_own_and_drops_expired_ones(user):
    first = login("bob").json()
    ExpiringToken.objects.filter(id=first["id"]).update(expires_at=timezone.now())
    second = login("bob").json()
    third = login("bob").json()

    assert set(ExpiringToken.objects.filter(user=user).values_list("id", flat=True)) == {
        uuid.UUID(second["id"]),
        uuid.UUID(third["id"]),
    }


@pytest.mark.django_db
def test_the_token_lifetime_is_a_setting(user, settings):
    settings.TOKEN_TTL_HOURS = 2

    body = login("bob").json()

    lifetime = datetime.datetime.fromisoformat(body["expires_at"]) - datetime.datetime.fromisoformat(body["created_at"])
    assert lifetime == datetime.timedelta(hours=2)


@pytest.mark.django_db
def test_an_inactive_user_cannot_log_in_nor_use_an_old_token(user):
    token = login("bob").json()["token"]
    user.is_active = False
    user.save()

    assert login("bob").status_code == 400
    assert token_client(token).get("/info/").status_code == 401
