from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken

from substrapp import websessions
from substrapp.models import ExpiringToken


class ExpiringTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`. An unknown, revoked or expired token is a 401: the SDK never
    logs in again by itself, its user must."""

    model = ExpiringToken

    def authenticate_credentials(self, key):
        token = (
            ExpiringToken.objects.select_related("user__membership").filter(digest=ExpiringToken.digest_of(key)).first()
        )
        if token is None:
            raise AuthenticationFailed("Invalid token.", code="invalid_token")
        if token.expires_at <= timezone.now():
            raise AuthenticationFailed("Token has expired: log in again.", code="token_expired")
        if not token.user.is_active:
            raise AuthenticationFailed("User inactive or deleted.", code="user_inactive")
        return token.user, token


class SplitJWTAuthentication(JWTAuthentication):
    """The web frontend: `Authorization: JWT <header.payload>`, the signature in the HttpOnly
    `signature` cookie (script on the page can read the claims, never forge or steal a whole
    token). A full three-part token in the header is taken as it is. Expired, forged or revoked
    tokens are a 401, so that the frontend renews its session."""

    def authenticate(self, request):
        header = self.get_header(request)
        raw = None if header is None else self.get_raw_token(header)
        if raw is None:
            return None
        token = self.get_validated_token(_with_signature_cookie(raw, request))
        if websessions.is_session_closed(token):
            raise AuthenticationFailed("This session was closed: log in again.", code="token_not_valid")
        return self.get_user(token), token

    def get_validated_token(self, raw_token):
        try:
            return super().get_validated_token(raw_token)
        except InvalidToken:
            raise AuthenticationFailed("The token is invalid or expired.", code="token_not_valid") from None


def _with_signature_cookie(raw: bytes, request) -> bytes:
    if raw.count(b".") != 1:
        return raw
    signature = request.COOKIES.get(websessions.SIGNATURE_COOKIE, "")
    return raw + b"." + signature.encode("latin-1", "replace")


class SplitJWTAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = SplitJWTAuthentication
    name = "frontendJWT"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "The web frontend: `JWT <header.payload>`, completed by the HttpOnly `signature` cookie "
            "that POST /me/login/ sets.",
        }
