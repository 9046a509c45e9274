"""Events: every change of the ledger writes one, in the transaction that makes the change.

Positions are allocated at the very end of the transaction under the channel head's row lock,
which is held until commit: positions then have no gaps and follow commit order, which a plain
sequence would not give. Each event's hash chains it to its channel's previous event."""

import functools
import logging
import time
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import IntegrityError, OperationalError, connection, transaction

from orchestrator.ledger.common import canonical, iso, now
from orchestrator.models import ChannelHead, Event
from orchestrator.notifier import notifier
from orchestrator_client.chain import GENESIS_HASH, content_digest, link_hash

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "orchestrator_events"
RETRIABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected

# The (first, last) positions each committed transaction of a call wrote, for the calls that tell
# their caller (server.py's `unary(..., reports_positions=True)`); None for the others, which
# then pay nothing for it.
written_positions: ContextVar[list | None] = ContextVar("written_positions", default=None)


class EventLog:
    """Events of one transaction, in the order the changes were made."""

    def __init__(self, channel: str):
        self.channel = channel
        self._pending: list[tuple[str, str, str, str]] = []
        self.written: tuple[int, int] | None = None  # see `written_positions`

    # A snapshot is a dict, or its canonical JSON text when the caller has built it already.

    def created(self, asset_kind: str, key: str, snapshot: dict | str) -> None:
        self._pending.append((asset_kind, "EVENT_ASSET_CREATED", key, _text(snapshot)))

    def updated(self, asset_kind: str, key: str, snapshot: dict | str) -> None:
        self._pending.append((asset_kind, "EVENT_ASSET_UPDATED", key, _text(snapshot)))

    def disabled(self, asset_kind: str, key: str, snapshot: dict | str) -> None:
        self._pending.append((asset_kind, "EVENT_ASSET_DISABLED", key, _text(snapshot)))

    def flush(self) -> None:
        if not self._pending:
            return
        if connection.vendor == "postgresql":
            self._append_in_database()
        else:
            self._append()
        if written_positions.get() is not None:  # positions are gap-free: the head is the last one
            last = ChannelHead.objects.filter(channel=self.channel).values_list("position", flat=True).get()
            self.written = (last - len(self._pending) + 1, last)
        channel = self.channel
        transaction.on_commit(lambda: notifier.wake(channel))
        self._pending.clear()

    def _append_in_database(self) -> None:
        """One round trip (migration 0005's function): compute the content digests, lock the
        head, number, chain and insert the events, move the head, notify. The head's lock is held
        until commit, and no Python runs while it is held, so writers of a channel do not queue
        behind each other's GIL turns."""
        kinds, event_kinds, keys, bodies = (list(column) for column in zip(*self._pending, strict=True))
        with connection.cursor() as cursor:
            # Binary arrays (%b): psycopg would quote every element of a text array in Python.
            cursor.execute(
                "SELECT orchestrator_append(%s, %b, %b, %b, %b)", [self.channel, kinds, event_kinds, keys, bodies]
            )

    def _append(self) -> None:
        """The same in Python, for SQLite, whose writers are serialized by the database lock."""
        digests = [
            content_digest(channel=self.channel, asset_kind=kind, event_kind=event, asset_key=key, asset_json=body)
            for kind, event, key, body in self._pending
        ]
        head = ChannelHead.objects.select_for_update().get(channel=self.channel)
        position, prev_hash = head.position, head.hash
        timestamp = iso(now())
        rows = []
        for (kind, event_kind, key, body), digest in zip(self._pending, digests, strict=True):
            position += 1
            link = link_hash(prev_hash=prev_hash, position=position, timestamp=timestamp, digest=digest)
            rows.append(
                Event(
                    channel=self.channel,
                    position=position,
                    asset_kind=kind,
                    event_kind=event_kind,
                    asset_key=key,
                    timestamp=timestamp,
                    asset_json=body,
                    prev_hash=prev_hash,
                    hash=link,
                )
            )
            prev_hash = link
        Event.objects.bulk_create(rows, batch_size=2000)
        ChannelHead.objects.filter(channel=self.channel).update(position=position, hash=prev_hash)


def _text(snapshot: dict | str) -> str:
    return snapshot if isinstance(snapshot, str) else canonical(snapshot)


@contextmanager
def recording(channel: str):
    """A transaction that records its events; they are written last, just before commit."""
    with transaction.atomic():
        events = EventLog(channel)
        yield events
        events.flush()
    reported = written_positions.get()
    if reported is not None and events.written is not None:  # committed: the caller may rely on them
        reported.append(events.written)


def retry_on_conflict(func, attempts: int = 6):
    """Re-runs a whole transaction that the database aborted for a deadlock or a busy lock
    (concurrent cascades may lock the same task rows in different orders), or for a unique key
    that a concurrent identical request inserted first: the new run then finds the asset and
    answers as for any retry."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        for attempt in range(attempts):
            try:
                return func(*args, **kwargs)
            except (OperationalError, IntegrityError) as error:
                if attempt == attempts - 1 or not _is_retriable(error):
                    raise
                log.info("retrying %s after %s", func.__name__, error)
                time.sleep(0.01 * 2**attempt)

    return wrapper


def _is_retriable(error: OperationalError | IntegrityError) -> bool:
    if isinstance(error, IntegrityError):
        return True
    cause = error.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    return sqlstate in RETRIABLE_SQLSTATES or "database is locked" in str(error)


def ensure_channel_heads(channels) -> None:
    ChannelHead.objects.bulk_create(
        [ChannelHead(channel=name, position=0, hash=GENESIS_HASH) for name in channels], ignore_conflicts=True
    )


def events_after(channel: str, position: int, limit: int) -> list[dict]:
    """The channel's events after `position`, in order (raw SQL: streams call it often)."""
    columns = ("channel", "position", "asset_kind", "event_kind", "asset_key", "timestamp", "asset_json",
               "prev_hash", "hash")  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(columns)} FROM {Event._meta.db_table} WHERE channel = %s AND position > %s "
            f"ORDER BY position LIMIT %s",
            [channel, position, limit],
        )
        return [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]
