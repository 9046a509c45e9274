"""The web frontend's sessions (docs/frontend-contract.md, "Session").

A login opens a session: a refresh token, kept by the browser in an HttpOnly cookie, and short
access tokens derived from it. Each access token names its session (the refresh token's id), so
that closing the session (logout, or the refresh token used once) revokes its access tokens too.
A refresh token is good for one renewal: it is revoked as it is used, and the renewal gets a new
one; presenting a used one again fails, even when two renewals race.
"""

from django.contrib.auth import get_user_model
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

SESSION_CLAIM = "session"
# The browser keeps an access token in two cookies: the page reads the first (its claims) and
# sends it as `Authorization: JWT <header.payload>`; the second (HttpOnly) completes it here.
HEADER_PAYLOAD_COOKIE = "header.payload"
SIGNATURE_COOKIE = "signature"
REFRESH_COOKIE = "refresh"


class SessionRefused(Exception):
    """A refresh token that is forged, expired, already used, or whose user is gone."""


def open_session(user) -> RefreshToken:
    return RefreshToken.for_user(user)


def access_token_of(refresh: RefreshToken) -> AccessToken:
    access = refresh.access_token
    access[SESSION_CLAIM] = refresh["jti"]
    return access


def renew_session(raw_refresh: str) -> RefreshToken:
    """Revokes the refresh token given and returns its successor."""
    refresh = _verified(raw_refresh)
    # get_or_create under the table's unique key: of two renewals racing, one creates the row.
    _, revoked_now = refresh.blacklist()
    if not revoked_now:
        raise SessionRefused("This refresh token was already used.")
    user = get_user_model().objects.filter(pk=refresh["user_id"], is_active=True).first()
    if user is None:
        raise SessionRefused("User inactive or deleted.")
    return open_session(user)


def close_session(raw_refresh: str) -> None:
    """Logout: the refresh token, and with it every access token of its session, revoked. A
    token that is already invalid has nothing left to revoke."""
    try:
        _verified(raw_refresh).blacklist()
    except SessionRefused:
        pass


def close_all_sessions(user) -> None:
    """Every open session of the user revoked (a new password)."""
    open_tokens = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in open_tokens], ignore_conflicts=True
    )


def is_session_closed(access: AccessToken) -> bool:
    session = access.get(SESSION_CLAIM)
    return not session or BlacklistedToken.objects.filter(token__jti=session).exists()


def _verified(raw_refresh: str) -> RefreshToken:
    try:
        return RefreshToken(raw_refresh)  # signature, expiry, type, and not revoked
    except TokenError as error:
        raise SessionRefused(str(error)) from None
