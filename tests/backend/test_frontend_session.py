"""The web frontend's session (substra-frontend 1.0.0, src/api/request.ts and MeApi.ts), each call
as the frontend sends it: JSON bodies, `Accept: application/json;version=0.0`, the readable cookie
sent back as `Authorization: JWT <header.payload>`, the HttpOnly ones by the browser
(docs/frontend-contract.md)."""

import datetime
import time

import jwt
import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from tests.backend.conftest import PASSWORD, client_of, make_user

FRONTEND_HEADERS = {"HTTP_ACCEPT": "application/json;version=0.0"}


class Browser:
    """The frontend in a browser: a cookie jar, and the Authorization header its request
    interceptor rebuilds from the readable cookie before every call."""

    def __init__(self):
        self.client = APIClient(enforce_csrf_checks=True)

    def call(self, method, path, body=None, **extra):
        headers = dict(FRONTEND_HEADERS)
        header_payload = self.client.cookies.get("header.payload")
        if header_payload is not None and header_payload.value:
            headers["HTTP_AUTHORIZATION"] = f"JWT {header_payload.value}"
        headers.update(extra)
        return getattr(self.client, method)(path, body, format="json" if body is not None else None, **headers)

    def get_with_retry(self, path):
        """request.ts `authenticatedGet`: on a 401, POST /me/refresh/ then the call once more."""
        response = self.call("get", path)
        if response.status_code == 401 and self.call("post", "/me/refresh/").status_code == 200:
            response = self.call("get", path)
        return response

    def login(self, username="bob", password=PASSWORD):
        return self.call("post", "/me/login/?format=json", {"username": username, "password": password})

    def cookie(self, name):
        return self.client.cookies[name]


@pytest.fixture
def browser(user):
    return Browser()


def test_login_answers_the_access_token_claims_and_sets_the_split_cookies(browser):
    response = browser.login()

    assert response.status_code == 200
    claims = response.json()
    assert set(claims) == {"exp", "jti", "token_type", "user_id"}
    assert claims["token_type"] == "access"
    assert claims["exp"] > time.time()
    readable, signature, refresh = (browser.cookie(name) for name in ("header.payload", "signature", "refresh"))
    assert readable.value.count(".") == 1 and not readable["httponly"]
    assert signature["httponly"] and refresh["httponly"]
    assert (
        jwt.decode(f"{readable.value}.{signature.value}", settings.SECRET_KEY, algorithms=["HS256"])["jti"]
        == (claims["jti"])
    )


def test_every_later_call_authenticates_with_the_readable_cookie_and_the_signature_cookie(browser):
    browser.login()

    response = browser.call("get", "/info/")

    assert response.status_code == 200
    assert response.json()["user"] == "bob"
    assert response.json()["channel"] == "mychannel"


def test_the_header_without_its_signature_cookie_is_a_401(browser):
    browser.login()
    del browser.client.cookies["signature"]

    response = browser.call("get", "/info/")

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_a_forged_payload_is_a_401(browser):
    browser.login()
    other = make_user("mallory")
    forged = jwt.encode(
        {"token_type": "access", "user_id": other.pk, "exp": int(time.time()) + 600, "jti": "x"},
        "not the key of this organization, forged",
    )
    browser.client.cookies["header.payload"] = ".".join(forged.split(".")[:2])

    response = browser.call("get", "/info/")

    assert response.status_code == 401


def test_an_expired_access_token_is_a_401_then_the_refresh_and_retry_succeed(browser):
    browser.login()
    expired = _expired_access_token(browser)
    browser.client.cookies["header.payload"], browser.client.cookies["signature"] = expired

    assert browser.call("get", "/info/").status_code == 401
    response = browser.get_with_retry("/info/")

    assert response.status_code == 200
    assert response.json()["user"] == "bob"


def test_refresh_rotates_the_refresh_token_and_a_used_one_is_refused(browser):
    browser.login()
    first_refresh = browser.cookie("refresh").value

    renewed = browser.call("post", "/me/refresh/")

    assert renewed.status_code == 200
    assert set(renewed.json()) == {"exp", "jti", "token_type", "user_id"}
    assert browser.cookie("refresh").value != first_refresh
    replay = Browser()
    replay.client.cookies["refresh"] = first_refresh
    refused = replay.call("post", "/me/refresh/")
    assert refused.status_code == 401
    assert refused.json()["code"] == "token_not_valid"


def test_refresh_revokes_the_access_tokens_of_the_used_refresh_token(browser):
    browser.login()
    old_header_payload = browser.cookie("header.payload").value
    old_signature = browser.cookie("signature").value
    browser.call("post", "/me/refresh/")
    stale = Browser()
    stale.client.cookies["header.payload"] = old_header_payload
    stale.client.cookies["signature"] = old_signature

    assert stale.call("get", "/info/").status_code == 401
    assert browser.call("get", "/info/").status_code == 200


def test_refresh_without_a_refresh_cookie_is_a_401(db):
    response = Browser().call("post", "/me/refresh/")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_forged_refresh_cookie_is_a_401(browser):
    browser.client.cookies["refresh"] = "a.b.c"

    response = browser.call("post", "/me/refresh/")

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_logout_revokes_the_session_and_clears_the_cookies(browser):
    browser.login()
    header_payload, signature = browser.cookie("header.payload").value, browser.cookie("signature").value
    refresh = browser.cookie("refresh").value
    # The frontend drops the readable cookie itself before it calls /me/logout/.
    del browser.client.cookies["header.payload"]

    response = browser.call("get", "/me/logout/")

    assert response.status_code == 200
    assert all(response.cookies[name].value == "" for name in ("header.payload", "signature", "refresh"))
    stolen = Browser()
    stolen.client.cookies["header.payload"], stolen.client.cookies["signature"] = header_payload, signature
    assert stolen.call("get", "/info/").status_code == 401
    stolen.client.cookies["refresh"] = refresh
    assert stolen.call("post", "/me/refresh/").status_code == 401


def test_login_with_a_wrong_password_is_a_400_the_login_form_shows(browser):
    response = browser.login(password="not it")

    assert response.status_code == 400
    assert response.json()["detail"] == "Unable to log in with provided credentials."
    assert "header.payload" not in response.cookies


def test_login_with_a_malformed_body_is_a_400_in_the_one_error_shape(browser):
    response = browser.call("post", "/me/login/", {"username": ["bob"], "password": {"x": 1}})

    assert response.status_code == 400
    assert set(response.json()) >= {"detail", "code"}


def test_an_admin_session_in_the_same_browser_causes_no_csrf_failure(db):
    make_user("alice", role="ADMIN", is_staff=True)
    browser = Browser()
    assert browser.client.login(username="alice", password=PASSWORD)  # the Django admin's session

    assert browser.login("alice").status_code == 200
    assert browser.call("post", "/me/refresh/").status_code == 200
    assert browser.call("get", "/info/").status_code == 200
    assert browser.call("get", "/me/logout/").status_code == 200


def test_anonymous_info_names_the_organization_for_the_login_page(db):
    response = APIClient().get("/info/", **FRONTEND_HEADERS)

    assert response.status_code == 200
    body = response.json()
    assert body["organization_id"] == settings.ORG_ID
    assert body["auth"] == {}
    assert "channel" not in body and "user" not in body


def test_the_sdk_token_login_keeps_working_beside_the_sessions(browser, user):
    browser.login()

    assert client_of(user).get("/info/").status_code == 200


def test_lifetimes_come_from_the_settings(browser):
    claims = browser.login().json()

    lifetime = claims["exp"] - time.time()
    assert abs(lifetime - settings.JWT_ACCESS_MINUTES * 60) < 60
    assert int(browser.cookie("refresh")["max-age"]) == settings.JWT_REFRESH_HOURS * 3600


@override_settings(JWT_COOKIE_SECURE=True, JWT_COOKIE_DOMAIN="example.com")
def test_cookie_domain_and_secure_are_settings(browser):
    browser.login()

    for name in ("header.payload", "signature", "refresh"):
        assert browser.cookie(name)["secure"] and browser.cookie(name)["domain"] == "example.com"


def _expired_access_token(browser) -> tuple[str, str]:
    """The session's own access token, re-signed with an expiry in the past."""
    header_payload = browser.cookie("header.payload").value
    token = AccessToken(f"{header_payload}.{browser.cookie('signature').value}")
    token.set_exp(from_time=datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1))
    header, payload, signature = str(token).split(".")
    return f"{header}.{payload}", signature


@override_settings(CORS_ALLOWED_ORIGINS=["https://frontend.example.com"])
def test_a_preflight_from_an_allowed_origin_is_answered_before_authentication(db):
    response = APIClient().options(
        "/compute_plan/",
        HTTP_ORIGIN="https://frontend.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization,content-type",
    )

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://frontend.example.com"
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert "authorization" in response["Access-Control-Allow-Headers"]


@override_settings(CORS_ALLOWED_ORIGINS=["https://frontend.example.com"])
def test_a_call_with_cookies_from_an_allowed_origin_may_be_read_by_it(browser):
    browser.login()

    response = browser.call("get", "/info/", HTTP_ORIGIN="https://frontend.example.com")

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://frontend.example.com"
    assert response["Access-Control-Allow-Credentials"] == "true"


@override_settings(CORS_ALLOWED_ORIGINS=["https://frontend.example.com"])
def test_another_origin_gets_no_cors_permission(db):
    response = APIClient().options(
        "/compute_plan/", HTTP_ORIGIN="https://evil.example.com", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET"
    )

    assert "Access-Control-Allow-Origin" not in response
