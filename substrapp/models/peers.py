"""Credentials for organization-to-organization calls (file transfer). An organization calls a peer
with HTTP Basic: its own organization id as the username, the shared password as the password."""

from django.contrib.auth.hashers import check_password, make_password
from django.db import models


class IncomingPeer(models.Model):
    """What another organization presents when it calls us. Only a hash of the password is kept."""

    org_id = models.CharField("organization id", max_length=100, unique=True)
    password_hash = models.CharField(max_length=256, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "incoming peer"

    def __str__(self):
        return self.org_id

    def set_password(self, password: str) -> None:
        self.password_hash = make_password(password)

    def check_password(self, password: str) -> bool:
        return check_password(password, self.password_hash)


class OutgoingPeer(models.Model):
    """What we present when we call another organization: the password is needed in clear."""

    org_id = models.CharField("organization id", max_length=100, unique=True)
    password = models.CharField(max_length=256)
    # The peer's backend base URL; empty: the address it registered in the channel (Organization).
    url = models.URLField(max_length=300, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "outgoing peer"

    def __str__(self):
        return self.org_id
