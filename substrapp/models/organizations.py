from django.db import models

from substrapp.models.scoping import ChannelScopedQuerySet


class Organization(models.Model):
    """An organization registered in a channel, mirrored from the orchestrator's events."""

    channel = models.CharField(max_length=100)
    org_id = models.CharField("organization id", max_length=100)
    address = models.CharField(max_length=300, blank=True)
    creation_date = models.DateTimeField()

    objects = ChannelScopedQuerySet.as_manager()

    class Meta:
        ordering = ["creation_date", "org_id"]
        constraints = [models.UniqueConstraint(fields=["channel", "org_id"], name="organization_once_per_channel")]

    def __str__(self):
        return f"{self.org_id} in {self.channel}"
