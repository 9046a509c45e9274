"""The web frontend's session: login, renewal and logout with split JWT cookies
(substrapp/websessions.py; docs/frontend-contract.md, "Session").

None of these views authenticates its caller: login takes a password, renewal and logout the
HttpOnly refresh cookie. So none needs a CSRF token, whatever session the Django admin holds in
the same browser; refusals are 401s, which send the frontend back to its login page.
"""

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from substrapp import websessions
from substrapp.api.schema import ErrorSerializer
from substrapp.api.serializers.common import DetailSerializer
from substrapp.api.serializers.tokens import LoginSerializer

AccessClaimsSerializer = inline_serializer(
    "AccessClaims",
    {
        "exp": serializers.IntegerField(),
        "jti": serializers.CharField(),
        "token_type": serializers.CharField(),
        "user_id": serializers.IntegerField(),
    },
)


class SessionView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    def get_authenticate_header(self, request):
        # Without one, DRF would turn a refused session into a 403.
        return 'JWT realm="api"'


class LoginView(SessionView):
    """Username and password (JSON) for a session: the access token's claims in the body, the
    tokens in cookies."""

    @extend_schema(request=LoginSerializer, responses={200: AccessClaimsSerializer, 401: ErrorSerializer})
    def post(self, request):
        credentials = LoginSerializer(data=request.data, context={"request": request})
        credentials.is_valid(raise_exception=True)
        return _session_response(websessions.open_session(credentials.validated_data["user"]))


class RefreshView(SessionView):
    """The refresh cookie for a new access token and a new refresh token; the one sent is
    revoked."""

    @extend_schema(request=None, responses={200: AccessClaimsSerializer, 401: ErrorSerializer})
    def post(self, request):
        raw = request.COOKIES.get(websessions.REFRESH_COOKIE)
        if not raw:
            raise AuthenticationFailed("No session: log in.", code="not_authenticated")
        try:
            refresh = websessions.renew_session(raw)
        except websessions.SessionRefused as refused:
            raise AuthenticationFailed(f"The session cannot be renewed: {refused}", code="token_not_valid") from None
        return _session_response(refresh)


class LogoutView(SessionView):
    """Revokes the session of the refresh cookie and clears the cookies. The frontend calls it
    after dropping the readable cookie, so it cannot ask for an access token."""

    @extend_schema(responses={200: DetailSerializer, 401: ErrorSerializer})
    def get(self, request):
        raw = request.COOKIES.get(websessions.REFRESH_COOKIE)
        if raw:
            websessions.close_session(raw)
        response = Response({"detail": "Logged out."})
        for name in _COOKIE_NAMES:
            response.delete_cookie(
                name, path="/", domain=settings.JWT_COOKIE_DOMAIN, samesite=settings.JWT_COOKIE_SAMESITE
            )
        return response


_COOKIE_NAMES = (websessions.HEADER_PAYLOAD_COOKIE, websessions.SIGNATURE_COOKIE, websessions.REFRESH_COOKIE)


def _session_response(refresh) -> Response:
    access = websessions.access_token_of(refresh)
    header, payload, signature = str(access).split(".")
    response = Response(_public_claims(access))
    # The cookies outlive the access token: an expired one is sent, refused with a 401, and the
    # frontend renews the session on that 401.
    lifetime = int(refresh.lifetime.total_seconds())
    _set_cookie(response, websessions.HEADER_PAYLOAD_COOKIE, f"{header}.{payload}", lifetime, httponly=False)
    _set_cookie(response, websessions.SIGNATURE_COOKIE, signature, lifetime, httponly=True)
    _set_cookie(response, websessions.REFRESH_COOKIE, str(refresh), lifetime, httponly=True)
    return response


def _public_claims(access) -> dict:
    return {name: access[name] for name in ("exp", "jti", "token_type", "user_id")}


def _set_cookie(response, name, value, max_age, httponly):
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        domain=settings.JWT_COOKIE_DOMAIN,
        secure=settings.JWT_COOKIE_SECURE,
        httponly=httponly,
        samesite=settings.JWT_COOKIE_SAMESITE,
    )
