"""Channel scoping: every row a user can read belongs to one channel, and a user sees only theirs.

A user's read also sees every write of its channel that this backend has already answered, even
one still being written behind its answer (a batch of tasks: `mirror.saving_snapshots(...,
behind=True)`). Such a writer holds its channel's advisory lock shared until it commits; a read
takes the lock exclusively for an instant first, so it waits for them and for nothing else."""

import zlib

from django.db import connections, models

# The first half of the advisory lock's two-int key: "SBWB", this lock's own namespace.
WRITES_BEHIND = 0x53425742


def channel_of(user) -> str | None:
    """The channel of a user; None for anonymous users and users in no channel."""
    # A missing reverse one-to-one raises a subclass of AttributeError: getattr covers both cases.
    membership = getattr(user, "membership", None)
    return membership.channel if membership is not None else None


def _lock_key(channel: str) -> tuple[int, int]:
    return WRITES_BEHIND, zlib.crc32(channel.encode()) - 2**31  # both halves are int4


def hold_writes_behind(channel: str, using: str = "default") -> None:
    """Called by a writer at the start of its transaction: the channel's readers wait for it to
    commit or roll back."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    assert connection.in_atomic_block, "the lock is held until the transaction ends"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, %s)", _lock_key(channel))


def wait_for_writes_behind(channel: str, using: str = "default") -> None:
    """Returns once no write held with `hold_writes_behind` on the channel is still running."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        if connection.in_atomic_block:  # a transaction-level lock would be kept until it ends
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", _lock_key(channel))
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", _lock_key(channel))
        else:  # the statement is its own transaction: taken and let go at once
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", _lock_key(channel))


class ChannelScopedQuerySet(models.QuerySet):
    """The manager of every model with a `channel` field that the API serves."""

    def for_channel(self, channel: str) -> "ChannelScopedQuerySet":
        return self.filter(channel=channel)

    def for_user(self, user) -> "ChannelScopedQuerySet":
        """The rows of the user's channel, once the writes its answers promised are in; nothing
        for a user in no channel."""
        channel = channel_of(user)
        if channel is None:
            return self.none()
        wait_for_writes_behind(channel, self.db)
        return self.for_channel(channel)
