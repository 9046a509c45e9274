"""The web frontend's session over real HTTP: a live backend (Django's live server, real sockets)
in front of a real orchestrator, and a cookie jar that behaves as the browser's. Every call is
made as substra-frontend 1.0.0's axios instance makes it (src/api/request.ts): `Accept: */*` (its
interceptor drops the instance's headers), JSON bodies, credentials included, and the header
`Authorization: JWT <header.payload>` rebuilt from the readable cookie before each call; on a 401
an authenticated GET posts /me/refresh/ and is made once more (docs/frontend-contract.md)."""

import datetime

import pytest
import requests
from rest_framework_simplejwt.tokens import AccessToken

from tests.backend import test_compute_api as compute_api
from tests.backend.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db(transaction=True)

network = compute_api.network
world = compute_api.world


class FrontendSession:
    def __init__(self, base_url):
        self.base_url = base_url
        self.http = requests.Session()  # the browser's cookie jar
        self.calls = []

    def request(self, method, path, body=None, params=None):
        headers = {"Accept": "*/*"}
        header_payload = self.http.cookies.get("header.payload")
        if header_payload:
            headers["Authorization"] = f"JWT {header_payload}"
        response = self.http.request(
            method, self.base_url + path, json=body, params=params, headers=headers, timeout=30
        )
        self.calls.append((method, path, response.status_code))
        return response

    def authenticated_get(self, path, params=None):
        response = self.request("GET", path, params=params)
        if response.status_code == 401 and self.request("POST", "/me/refresh/").status_code == 200:
            response = self.request("GET", path, params=params)
        return response

    def log_out(self):
        # useAuthStore.fetchLogout: the page removes the cookies it can, then asks the backend.
        self.http.cookies.set("header.payload", None)
        return self.request("GET", "/me/logout/")


@pytest.fixture
def frontend(live_server, world):
    make_user("bob")
    return FrontendSession(live_server.url)


def test_login_page_then_login_then_pages_then_expiry_refresh_retry_and_logout(frontend):
    login_page = frontend.request("GET", "/info/")  # anonymousGet: no credentials
    assert login_page.status_code == 200 and login_page.json()["organization_id"]

    claims = frontend.request("POST", "/me/login/?format=json", {"username": "bob", "password": PASSWORD})
    assert claims.status_code == 200 and set(claims.json()) == {"exp", "jti", "token_type", "user_id"}
    set_cookie = claims.headers["Set-Cookie"]
    assert "signature=" in set_cookie and "refresh=" in set_cookie and "HttpOnly" in set_cookie

    info = frontend.authenticated_get("/info/").json()
    assert (info["user"], info["user_role"], info["channel"]) == ("bob", "USER", "mychannel")
    new_plan_answer = frontend.request("POST", "/compute_plan/", {"key": compute_api.new_key(), "name": "from the web"})
    assert new_plan_answer.status_code == 201
    plans = frontend.authenticated_get("/compute_plan/", {"page": 1, "page_size": 30, "ordering": "-creation_date"})
    assert plans.json()["results"][0]["creator"] == "bob"
    assert frontend.authenticated_get("/users/", {"page": 1, "page_size": 0, "ordering": "username"}).status_code == 200

    # Time passes: the access token in the cookies expires.
    _expire_access_token(frontend)
    assert frontend.request("GET", "/organization/").status_code == 401
    retried = frontend.authenticated_get("/organization/")
    assert retried.status_code == 200
    assert frontend.calls[-3:] == [
        ("GET", "/organization/", 401),
        ("POST", "/me/refresh/", 200),
        ("GET", "/organization/", 200),
    ]

    old_refresh = frontend.http.cookies.get("refresh")
    assert frontend.log_out().status_code == 200
    assert frontend.http.cookies.get("signature") is None and frontend.http.cookies.get("refresh") is None
    replay = FrontendSession(frontend.base_url)
    replay.http.cookies.set("refresh", old_refresh)
    assert replay.request("POST", "/me/refresh/").status_code == 401
    assert frontend.authenticated_get("/compute_plan/").status_code == 401


def test_a_forged_or_revoked_jwt_is_a_401_over_http(frontend):
    frontend.request("POST", "/me/login/?format=json", {"username": "bob", "password": PASSWORD})
    header_payload = frontend.http.cookies.get("header.payload")
    signature = frontend.http.cookies.get("signature")

    forged = FrontendSession(frontend.base_url)
    forged.http.cookies.set("header.payload", header_payload)
    forged.http.cookies.set("signature", signature[::-1])
    assert forged.request("GET", "/compute_plan/").status_code == 401

    frontend.request("POST", "/me/refresh/")  # the session's first refresh token is now revoked
    stale = FrontendSession(frontend.base_url)
    stale.http.cookies.set("header.payload", header_payload)
    stale.http.cookies.set("signature", signature)
    answer = stale.request("GET", "/compute_plan/")
    assert answer.status_code == 401
    assert set(answer.json()) == {"detail", "code"}


def _expire_access_token(frontend):
    """The access token of the cookies, signed again with an expiry an hour ago."""
    jar = frontend.http.cookies
    token = AccessToken(f"{jar.get('header.payload')}.{jar.get('signature')}")
    token.set_exp(from_time=datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1))
    header, payload, signature = str(token).split(".")
    domain = next(cookie.domain for cookie in jar if cookie.name == "signature")
    jar.set("header.payload", f"{header}.{payload}", domain=domain, path="/")
    jar.set("signature", signature, domain=domain, path="/")
