"""One shared feed of new events per channel and replica.

A commit wakes every stream of its channel. If each stream read the events table itself, a write
would cost one query (and one message build) per subscriber; instead, one feed thread per channel
reads the new events once per wake-up, builds and encodes each message once, and keeps the most
recent ones in memory for all the channel's streams. A stream that is further behind than the
feed's memory (a replay from an old position) reads the table until it catches up.

Each event is kept twice: as a message (for `SubscribeToEvents`, one message per event) and as its
encoding as an element of `EventBatch.events` (for `SubscribeToEventBatches`), so that a batch for
any number of streams is a concatenation of bytes.

A feed outlives its database: when a read fails (PostgreSQL restarted, a failover), the feed logs
it, drops the connection and reads again with a growing delay. It reads from the table, not from
notifications, so the events committed while it was away (whose NOTIFYs were lost) reach its
streams as soon as the database answers again."""

import contextlib
import logging
import threading
import time
from collections import deque

from django.conf import settings
from django.db import DatabaseError, connection

from orchestrator.events import events_after
from orchestrator.models import ChannelHead
from orchestrator.notifier import notifier
from orchestrator_client.pb import assets_pb2 as pb

CAPACITY = 20_000
READ_BATCH = 1_000
EVENTS_FIELD_TAG = b"\x0a"  # EventBatch.events: field 1, length-delimited
FIRST_RETRY_S, MAX_RETRY_S = 0.2, 5.0

log = logging.getLogger(__name__)


def batch_element(event: pb.Event) -> bytes:
    """`event` encoded as one element of `EventBatch.events` (tag, length, message)."""
    body = event.SerializeToString()
    return EVENTS_FIELD_TAG + _varint(len(body)) + body


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


class ChannelFeed:
    def __init__(self, channel: str, poll_interval: float, capacity: int = CAPACITY):
        self.channel = channel
        self.poll_interval = poll_interval
        self._events: deque[pb.Event] = deque(maxlen=capacity)
        self._encoded: deque[bytes] = deque(maxlen=capacity)
        self._head: int | None = None  # the last position read, None until the first read
        self._condition = threading.Condition()
        thread = threading.Thread(target=self._follow, name=f"feed-{channel}", daemon=True)
        thread.start()

    def events_after(self, position: int, timeout: float, limit: int | None = None) -> list[pb.Event] | None:
        """The events after `position` that the feed holds (at most `limit`), waiting up to
        `timeout` seconds when there are none yet; None when `position` is older than the feed's
        memory."""
        with self._condition:
            start = self._start(position, timeout)
            if start is None:
                return None
            end = len(self._events) if limit is None else min(len(self._events), start + limit)
            return [self._events[i] for i in range(start, end)]

    def encoded_after(self, position: int, timeout: float, limit: int) -> tuple[bytes, int] | None:
        """As `events_after`, as an encoded `EventBatch` and the position of its last event
        (`position` itself when there is none); None when `position` is older than the memory."""
        with self._condition:
            start = self._start(position, timeout)
            if start is None:
                return None
            end = min(len(self._encoded), start + limit)
            if start >= end:
                return b"", position
            last = self._events[end - 1].position
            return b"".join([self._encoded[i] for i in range(start, end)]), last

    def _start(self, position: int, timeout: float) -> int | None:
        """Index of the first event after `position` (called with the condition held)."""
        # Until the feed's first read (the database may be away), streams read the table.
        if not self._condition.wait_for(lambda: self._head is not None, timeout=timeout):
            return None
        if position >= self._head:
            self._condition.wait_for(lambda: self._head > position, timeout=timeout)
        first = self._events[0].position if self._events else self._head + 1
        if position < first - 1:
            return None
        return position - first + 1

    def _follow(self) -> None:
        failures = 0
        while True:
            version = notifier.version(self.channel)
            try:
                self._read_new()
                failures = 0
            except DatabaseError as error:
                failures += 1
                self._wait_for_database(error, failures)
                continue
            if notifier.wait(self.channel, version, self.poll_interval):
                # The commits of a busy channel that land meanwhile are read, and sent to
                # every stream, together (see settings.EVENT_LINGER_S).
                time.sleep(settings.EVENT_LINGER_S)

    def _wait_for_database(self, error: DatabaseError, failures: int) -> None:
        delay = min(FIRST_RETRY_S * 2 ** (failures - 1), MAX_RETRY_S)
        log.warning("feed of channel %s: cannot read the events (%s); again in %.1f s", self.channel, error, delay)
        with contextlib.suppress(DatabaseError):
            connection.close()
        time.sleep(delay)

    def _read_head(self) -> None:
        head = ChannelHead.objects.filter(channel=self.channel).values_list("position", flat=True).first()
        with self._condition:
            self._head = head or 0
            self._condition.notify_all()

    def _read_new(self) -> None:
        if self._head is None:
            self._read_head()
        while True:
            rows = events_after(self.channel, self._head, READ_BATCH)
            if not rows:
                return
            events = [pb.Event(**row) for row in rows]
            encoded = [batch_element(event) for event in events]
            with self._condition:
                self._events.extend(events)
                self._encoded.extend(encoded)
                self._head = rows[-1]["position"]
                self._condition.notify_all()
            if len(rows) < READ_BATCH:
                return


class Feeds:
    """The feeds of one replica, started on a channel's first subscription."""

    def __init__(self, poll_interval: float):
        self.poll_interval = poll_interval
        self._feeds: dict[str, ChannelFeed] = {}
        self._lock = threading.Lock()

    def of(self, channel: str) -> ChannelFeed:
        with self._lock:
            if channel not in self._feeds:
                self._feeds[channel] = ChannelFeed(channel, self.poll_interval)
            return self._feeds[channel]
