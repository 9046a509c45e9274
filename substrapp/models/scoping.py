"""Channel scoping: every row a user can read belongs to one channel, and a user sees only theirs."""

from django.db import models


def channel_of(user) -> str | None:
    """The channel of a user; None for anonymous users and users in no channel."""
    # A missing reverse one-to-one raises a subclass of AttributeError: getattr covers both cases.
    membership = getattr(user, "membership", None)
    return membership.channel if membership is not None else None


class ChannelScopedQuerySet(models.QuerySet):
    """The manager of every model with a `channel` field that the API serves."""

    def for_channel(self, channel: str) -> "ChannelScopedQuerySet":
        return self.filter(channel=channel)

    def for_user(self, user) -> "ChannelScopedQuerySet":
        """The rows of the user's channel; nothing for a user in no channel."""
        channel = channel_of(user)
        return self.for_channel(channel) if channel is not None else self.none()
