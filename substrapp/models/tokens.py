import hashlib
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class ExpiringToken(models.Model):
    """An API token (`Authorization: Token <key>`), valid until `expires_at`. A user holds one per
    login. Only the SHA-256 digest of the key is stored: a copy of the database opens no session."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    created = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(db_index=True)
    # What the user made it for (the web frontend's API tokens page); empty for a login's token.
    note = models.CharField(max_length=100, blank=True, default="")

    # The key in clear, set only on a token just issued (accounts.issue_token).
    key: str | None = None

    class Meta:
        verbose_name = "API token"

    def __str__(self):
        return f"token {self.id} of {self.user}"

    @staticmethod
    def digest_of(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()
