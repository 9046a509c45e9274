"""Channel scoping: every row a user can read belongs to one channel, and a user sees only theirs.

A user's read also sees every write of its channel that this backend has already answered, even
one still being written behind its answer (a batch of tasks: `mirror.saving_behind`). Such a
writer holds its channel's ANSWERED advisory lock, shared, from before the answer until it
commits; a read takes the lock exclusively for an instant first, so it waits for them and for
nothing else. The same writer holds the REGISTERING lock from before the orchestrator writes the
assets: the consumer, which receives their events meanwhile, waits on it before it saves created
tasks of this organization, and finds them saved instead of writing them a second time."""

import zlib

import psycopg
from django.db import OperationalError, connections, models, transaction

# The first halves of the advisory locks' two-int keys, their own namespaces ("SBWB", "SBRG").
ANSWERED = 0x53425742
REGISTERING = 0x53425247


def channel_of(user) -> str | None:
    """The channel of a user; None for anonymous users and users in no channel."""
    # A missing reverse one-to-one raises a subclass of AttributeError: getattr covers both cases.
    membership = getattr(user, "membership", None)
    return membership.channel if membership is not None else None


def _lock_key(namespace: int, channel: str) -> tuple[int, int]:
    return namespace, zlib.crc32(channel.encode()) - 2**31  # both halves are int4


def hold_until_commit(namespace: int, channel: str, using: str = "default") -> None:
    """Called by a writer in its transaction: the channel's lock (ANSWERED or REGISTERING),
    shared with other writers, until the transaction ends."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    assert connection.in_atomic_block, "the lock is held until the transaction ends"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, %s)", _lock_key(namespace, channel))


def wait_for_writes_behind(channel: str, using: str = "default") -> None:
    """Returns once no write that an answer promised on the channel is still running."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    key = _lock_key(ANSWERED, channel)
    with connection.cursor() as cursor:
        if connection.in_atomic_block:  # a transaction-level lock would be kept until it ends
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", key)
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)
        else:  # the statement is its own transaction: taken and let go at once
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", key)


def wait_for_registrations(channel: str, timeout: float, using: str = "default") -> bool:
    """Outside a transaction: waits up to `timeout` seconds for the registrations in flight on the
    channel to have committed their rows; False if one still runs (or inside a transaction,
    where nothing is waited for). Queued for: a registration that starts meanwhile waits for this
    wait to end, and cannot keep the lock held on and on."""
    connection = connections[using]
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return False
    try:
        with transaction.atomic(using=using), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{max(1, round(timeout * 1000))}ms"])
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", _lock_key(REGISTERING, channel))
    except OperationalError as error:
        if isinstance(error.__cause__, psycopg.errors.LockNotAvailable):
            return False
        raise
    return True


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
