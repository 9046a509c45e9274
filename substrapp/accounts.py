"""Rules for users and their API tokens. Views, the admin and commands go through these."""

import datetime
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

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


def issue_token(user) -> ExpiringToken:
    """A new token for one session (the key is readable on the result only); the user's expired
    tokens are dropped on the way."""
    now = timezone.now()
    ExpiringToken.objects.filter(user=user, expires_at__lte=now).delete()
    key = secrets.token_hex(20)
    token = ExpiringToken.objects.create(
        user=user,
        digest=ExpiringToken.digest_of(key),
        created=now,
        expires_at=now + datetime.timedelta(hours=settings.TOKEN_TTL_HOURS),
    )
    token.key = key
    return token


def revoke_token(user, token_id) -> bool:
    """Deletes one of the user's own tokens; False if the user has no such token."""
    deleted, _ = ExpiringToken.objects.filter(user=user, id=token_id).delete()
    return deleted > 0
