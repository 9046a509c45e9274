from django.utils import timezone
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

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
