"""Rules for users and their API tokens. Views, the admin and commands go through these."""

import datetime
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.utils import timezone

from substrapp import websessions
from substrapp.channels import get_channel
from substrapp.models import ExpiringToken, Role, UserChannel


class AccountError(Exception):
    pass


def create_channel_user(username: str, password: str, channel: str, role: str = Role.USER) -> UserChannel:
    get_channel(channel)
    with transaction.atomic():
        user = get_user_model().objects.create_user(username=username, password=password)
        return UserChannel.objects.create(user=user, channel=channel, role=role)


def delete_channel_user(membership: UserChannel) -> None:
    """Deletes the user, its membership and its tokens."""
    membership.user.delete()


def set_up_admin(username: str, password: str, channel: str) -> bool:
    """Makes `username` an admin of `channel` with this password; True if the user is new. An
    existing user keeps its account, so running this twice is harmless."""
    get_channel(channel)
    with transaction.atomic():
        user, created = get_user_model().objects.select_for_update().get_or_create(username=username)
        membership = getattr(user, "membership", None)
        if membership is not None and membership.channel != channel:
            raise AccountError(f"{username} is a user of channel {membership.channel}, not {channel}")
        user.set_password(password)
        user.save()
        UserChannel.objects.update_or_create(user=user, defaults={"channel": channel, "role": Role.ADMIN})
    return created


def issue_token(user, expires_at: datetime.datetime | None = None, note: str = "") -> ExpiringToken:
    """A new token (the key is readable on the result only), for one login or, with a note and
    an expiry of the user's choosing, for a program; the user's expired tokens are dropped on the
    way."""
    now = timezone.now()
    ExpiringToken.objects.filter(user=user, expires_at__lte=now).delete()
    key = secrets.token_hex(20)
    token = ExpiringToken.objects.create(
        user=user,
        digest=ExpiringToken.digest_of(key),
        created=now,
        expires_at=expires_at or now + datetime.timedelta(hours=settings.TOKEN_TTL_HOURS),
        note=note,
    )
    token.key = key
    return token


def active_tokens(user):
    return ExpiringToken.objects.filter(user=user, expires_at__gt=timezone.now()).order_by("-created")


def revoke_token(user, token_id) -> bool:
    """Deletes one of the user's own tokens; False if the user has no such token."""
    deleted, _ = ExpiringToken.objects.filter(user=user, id=token_id).delete()
    return deleted > 0


def change_role(membership: UserChannel, role: str) -> UserChannel:
    membership.role = role
    membership.save()
    return membership


def password_reset_token(user) -> str:
    """Django's token generator: good for PASSWORD_RESET_TIMEOUT, and spent once the password
    changes (the token signs the password's hash)."""
    return default_token_generator.make_token(user)


def user_for_reset(username: str, token: str):
    """The channel user this reset token was made for, or None. An unknown user and a bad token
    are the same None: the answer says nothing of which usernames exist."""
    user = (
        get_user_model()
        .objects.filter(username=username, is_active=True, is_superuser=False, membership__isnull=False)
        .first()
    )
    if user is None or not default_token_generator.check_token(user, token):
        return None
    return user


def set_password(user, password: str) -> None:
    """A new password closes every session and token the user had: whoever reset it may be the
    only one who should be logged in."""
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        ExpiringToken.objects.filter(user=user).delete()
        websessions.close_all_sessions(user)
