"""User and token changes the console makes, beside substrapp.accounts (create, delete, issue):
each keeps the rules of the model (a role change syncs staff status in UserChannel.save), and a
reset password ends the user's API sessions."""

import datetime

from django.db import transaction
from django.utils import timezone

from substrapp.accounts import issue_token
from substrapp.models import ExpiringToken, UserChannel


def change_role(membership: UserChannel, role: str) -> None:
    membership.role = role
    membership.save()


def reset_password(membership: UserChannel, password: str) -> None:
    """The new password, and no token issued under the old one."""
    with transaction.atomic():
        membership.user.set_password(password)
        membership.user.save(update_fields=["password"])
        ExpiringToken.objects.filter(user=membership.user).delete()


def issue_token_for(user, hours: int) -> ExpiringToken:
    """A token valid `hours` from now (the key is readable on the result only)."""
    token = issue_token(user)
    token.expires_at = timezone.now() + datetime.timedelta(hours=hours)
    token.save(update_fields=["expires_at"])
    return token
