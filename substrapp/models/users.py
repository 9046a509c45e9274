from django.conf import settings
from django.db import models

from substrapp.models.scoping import ChannelScopedQuerySet


class Role(models.TextChoices):
    ADMIN = "ADMIN", "Admin"
    USER = "USER", "User"


class UserChannel(models.Model):
    """The one channel a user belongs to, and their role in it. Admins manage the channel's users."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="membership"
    )
    # One of settings.CHANNELS; checked by the forms, not by a choices list that would put the
    # deployment's configuration into migrations.
    channel = models.CharField(max_length=100, db_index=True)
    role = models.CharField(max_length=5, choices=Role.choices, default=Role.USER)

    objects = ChannelScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "channel membership"

    def __str__(self):
        return f"{self.user} ({self.role} of {self.channel})"

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        self._sync_staff_status()

    def _sync_staff_status(self) -> None:
        """Admins log in to /admin/ to manage users: staff status follows the role."""
        is_staff = self.role == Role.ADMIN or self.user.is_superuser
        if self.user.is_staff != is_staff:
            self.user.is_staff = is_staff
            self.user.save(update_fields=["is_staff"])


def is_channel_admin(user) -> bool:
    membership = getattr(user, "membership", None)
    return membership is not None and membership.role == Role.ADMIN
