from django.db import models

from orchestrator_client.chain import GENESIS_HASH


class ChannelCursor(models.Model):
    """How far the event consumer has applied a channel's events: the position and the hash of the
    last one. It moves in the transaction that applies the events, so the mirror and the cursor
    never disagree; the hash is the kept link of the chain that the next event must follow."""

    channel = models.CharField(max_length=100, primary_key=True)
    position = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)
    updated_at = models.DateTimeField(auto_now=True)
    # Set while the consumer cannot apply the next event (it keeps retrying it and never skips
    # it): the event's position, the reason, and since when. Cleared by the next applied batch.
    stalled_position = models.BigIntegerField(null=True, blank=True)
    stalled_error = models.TextField(blank=True, default="")
    stalled_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "event cursor"

    def __str__(self):
        return f"{self.channel} at event {self.position}"
