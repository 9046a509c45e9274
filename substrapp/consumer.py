"""The event consumer: follows each channel's events in the orchestrator and keeps the local mirror
(substrapp/mirror.py) in step with them.

For one channel, from the position and hash kept in its ChannelCursor:

- a reader thread subscribes after that position with a ChainVerifier holding the kept hash, so
  every event is checked against the hash chain before it is handed over;
- the applier takes the events that have arrived (up to BATCH_SIZE) and, in one local
  transaction, upserts their snapshots and moves the cursor to the last one. A crash therefore
  loses nothing and applies nothing twice, and a replay would change nothing anyway (upserts);
- after the commit, the work the events create for this organization goes to `on_events_applied`
  (tasks To do, functions to build, plans ended: substrapp/queueing.py).

The orchestrator going away (Unavailable) or a lost database connection ends the stream; it is
opened again from the stored cursor after an exponential backoff. A broken chain stops the
channel for good, with a critical log, before the event that breaks it is applied.

An event that verifies but cannot be applied (the local database refuses it, a bug) stalls the
channel: the consumer logs an ERROR with the event's position and the reason, records them on the
channel's cursor (`stalled_*`, shown by `/health/` and `manage.py consumer_status`), and tries the
same event again with a growing delay. It never skips it: the hash chain and the mirror forbid
gaps. The next batch applied clears the record.

`consume(channel)` follows one channel; `consume_channels(channels, stop=...)` follows several,
one thread each (the `consume_events` command).
"""

import contextlib
import itertools
import json
import logging
import queue
import threading

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from orchestrator_client import OrchestratorClient, OrchestratorError, Unavailable
from orchestrator_client.chain import ChainBroken, ChainVerifier
from orchestrator_client.pb import assets_pb2 as pb
from substrapp import audit, metrics, queueing
from substrapp.mirror import save_snapshots
from substrapp.models import ChannelCursor
from substrapp.models.scoping import wait_for_registrations
from substrapp.orchestration import orchestrator_for

logger = logging.getLogger(__name__)

BATCH_SIZE = 500  # events applied in one local transaction, at most
READ_AHEAD = 2000  # events the reader may hold that the applier has not taken yet
# How long a batch with tasks this organization registered waits for the API to have saved them.
REGISTRATION_WAIT_SECONDS = 2.0
IDLE_SECONDS = 2.0  # without an event for this long, a draining consumer (stop_when_idle) is caught up
# A stream is opened again after this long (from where it was), so that a connection that died
# silently (no RST, no keepalive) is not waited on forever, and so that a stopped reader, which
# cannot interrupt its blocked read, ends and frees its orchestrator stream soon.
STREAM_SECONDS = 15.0
DRAIN_STREAM_SECONDS = 3.0
FIRST_RETRY_SECONDS, MAX_RETRY_SECONDS = 0.5, 30.0
STALL_ERROR_LENGTH = 2000  # characters of the reason kept on the cursor


def on_events_applied(channel: str, changes: list[tuple[str, dict]]) -> None:
    """The compute path's hook (substrapp/queueing.py), called after the commit that mirrored a
    batch of events, with their (asset kind, snapshot) in event order: tasks To do for this
    organization go to its workers, its new functions to its builders, ended plans to clean-up.

    A call is lost if the process dies right after the commit, and comes again if events are
    replayed (a cursor reset). So every Celery task claims its work with a conditional update (a
    duplicate does nothing), and a worker enqueues, at its start, what the mirror says it owes.
    An exception here is logged; the events stay applied."""
    queueing.hand_over(channel, changes)


class CursorMoved(Exception):
    """The stored cursor is not where this consumer left it: another consumer follows the channel."""


def consume(
    channel: str,
    *,
    stop: threading.Event | None = None,
    stop_when_idle: bool = False,
    idle_seconds: float = IDLE_SECONDS,
) -> None:
    """Follows a channel until `stop` is set, or, with `stop_when_idle`, until no event has come for
    `idle_seconds` (caught up: for tests and the devnet). Raises ChainBroken when the chain breaks,
    and any error that waiting cannot cure; retries the others with a growing delay."""
    stop = stop or threading.Event()
    backoff = Backoff()
    while not stop.is_set():
        try:
            follow_channel(channel, stop, stop_when_idle, idle_seconds, backoff)
            return
        except ChainBroken as error:
            report_broken_chain(channel, error)
            raise
        except Exception as error:
            metrics.restarted(channel)
            delay = backoff.next_delay()
            if is_transient(error):
                logger.warning("channel %s: %s; following again in %.1f s", channel, error, delay)
            else:
                report_stall(channel, error, delay)
                if stop_when_idle:
                    raise  # draining (tests, the devnet) ends here rather than wait for a cure
            drop_broken_connection()
            stop.wait(delay)


def drop_broken_connection() -> None:
    """Closes this thread's connection if it broke (PostgreSQL restarted): the next use opens one."""
    try:
        connection.close_if_unusable_or_obsolete()
    except DatabaseError:
        with contextlib.suppress(DatabaseError):
            connection.close()


def follow_channel(channel: str, stop, stop_when_idle: bool, idle_seconds: float, backoff: "Backoff") -> None:
    """One subscription, from the stored cursor, until stopped, idle (when asked) or an error."""
    cursor, _ = ChannelCursor.objects.get_or_create(channel=channel)
    logger.info("channel %s: following the events after %d", channel, cursor.position)
    verifier = ChainVerifier(cursor.position, cursor.hash)
    metrics.following(channel, cursor)
    stream_seconds = DRAIN_STREAM_SECONDS if stop_when_idle else STREAM_SECONDS
    with EventReader(orchestrator_for(channel), verifier, stream_seconds) as reader:
        while not stop.is_set():
            events = reader.next_batch(BATCH_SIZE, timeout=idle_seconds)
            metrics.channel_read(channel, verifier)
            if events:
                apply_events(channel, events)
                metrics.events_applied(channel, events)
                backoff.reset()
            elif stop_when_idle:
                return


def apply_events(channel: str, events: list) -> None:
    """Applies verified events in order and moves the channel's cursor past the last one, in one
    transaction: the mirror and the cursor change together or not at all."""
    changes = [(pb.AssetKind.Name(event.asset_kind), json.loads(event.asset_json)) for event in events]
    created = [_is_task_creation(event) for event in events]
    own = (snapshot.get("owner") == settings.ORG_ID for _, snapshot in changes)
    if any(creation and is_own for creation, is_own in zip(created, own, strict=True)):
        # This organization's API is likely writing these very tasks behind its answer: wait for
        # it, before taking any lock it could wait on, then find them saved. After the wait's
        # limit, they are saved here as well.
        wait_for_registrations(channel, REGISTRATION_WAIT_SECONDS)
    with transaction.atomic():
        # The row lock and the check make a second consumer of the channel fail instead of
        # applying the same events again.
        cursor, _ = ChannelCursor.objects.select_for_update().get_or_create(channel=channel)
        if (events[0].position, events[0].prev_hash) != (cursor.position + 1, cursor.hash):
            raise CursorMoved(f"channel {channel}: event {events[0].position} does not follow the cursor {cursor}")
        # Under the cursor's lock (substrapp/audit.py), with the snapshots decoded above.
        audit.note_ledger_events(channel, events, [snapshot for _, snapshot in changes])
        # Last before the commit: a registration whose writer this consumer stopped waiting for
        # (substrapp/mirror.py) may insert the same rows, and waits for this transaction on each;
        # the shorter they stay locked, the sooner it is done.
        for (asset_kind, creation), snapshots in runs_of_one_kind(changes, created):
            save_snapshots(channel, asset_kind, snapshots, created=creation)
        cursor.position, cursor.hash = events[-1].position, events[-1].hash
        cursor.stalled_position, cursor.stalled_error, cursor.stalled_since = None, "", None
        cursor.save()
        transaction.on_commit(lambda: on_events_applied(channel, changes), robust=True)


def runs_of_one_kind(changes: list[tuple[str, dict]], created: list[bool]):
    """Consecutive snapshots of one asset kind, each run saved in one statement. Only consecutive
    ones: a task must come after the plan and the function that come before it. A run of task
    creations is apart from the tasks' updates (`save_snapshots(created=True)`)."""
    runs = itertools.groupby(zip(changes, created, strict=True), key=lambda item: (item[0][0], item[1]))
    for kind, run in runs:
        yield kind, [snapshot for (_, snapshot), _ in run]


def _is_task_creation(event) -> bool:
    return event.asset_kind == pb.ASSET_COMPUTE_TASK and event.event_kind == pb.EVENT_ASSET_CREATED


def is_transient(error: Exception) -> bool:
    """Errors that following the channel again later can cure."""
    if isinstance(error, (Unavailable, CursorMoved, OperationalError, InterfaceError)):
        return True
    # The orchestrator replica serves its maximum of streams; another may free one.
    return isinstance(error, OrchestratorError) and error.code == "TOO_MANY_STREAMS"


def report_stall(channel: str, error: Exception, delay: float) -> None:
    """Says loudly, and records on the cursor, that the channel's next event cannot be applied."""
    try:
        cursor, _ = ChannelCursor.objects.get_or_create(channel=channel)
    except DatabaseError:
        logger.exception("channel %s: cannot read the cursor to record a stall", channel)
        return
    position = cursor.position + 1
    reason = f"{type(error).__name__}: {error}"
    logger.error(
        "channel %s: STALLED at event %d, which cannot be applied (%s). The consumer keeps its "
        "position and tries this event again in %.1f s; it will not skip it. Fix the cause "
        "(the log above has the details); `manage.py consumer_status` shows the state.",
        channel, position, reason, delay, exc_info=error,
    )  # fmt: skip
    record_stall(cursor, position, reason)


def record_stall(cursor: ChannelCursor, position: int, reason: str) -> None:
    """On the cursor, for /health/ and `consumer_status`; `since` stays that of the first try."""
    since = cursor.stalled_since if cursor.stalled_position == position else timezone.now()
    with contextlib.suppress(DatabaseError):  # the log said it already
        ChannelCursor.objects.filter(channel=cursor.channel).update(
            stalled_position=position, stalled_error=reason[:STALL_ERROR_LENGTH], stalled_since=since
        )


def report_broken_chain(channel: str, error: ChainBroken) -> None:
    cursor = ChannelCursor.objects.get(channel=channel)
    logger.critical(
        "CHAIN BROKEN in channel %s: %s. The orchestrator's event log no longer follows the chain "
        "this organization kept up to event %d (hash %s): an event was rewritten, removed or "
        "reordered. The channel is stopped and nothing from the break on was applied. Compare the "
        "hash at this position with the other organizations and ask the orchestrator's operator.",
        channel,
        error,
        cursor.position,
        cursor.hash,
    )
    record_stall(cursor, cursor.position + 1, f"CHAIN BROKEN: {error}")


def consume_channels(channels: list[str], *, stop: threading.Event, stop_when_idle: bool = False) -> dict:
    """Follows each channel in a thread of its own until `stop` is set (or each is caught up, with
    `stop_when_idle`). A channel that fails stops alone. Returns {channel: error} of those."""
    failures = {}

    def follow(channel: str) -> None:
        try:
            consume(channel, stop=stop, stop_when_idle=stop_when_idle)
        except Exception as error:
            if not isinstance(error, ChainBroken):  # already reported, loudly
                logger.exception("channel %s: the consumer stopped", channel)
            failures[channel] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=follow, args=[channel], name=f"consumer-{channel}") for channel in channels]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


class Backoff:
    """The delay before following a channel again: doubles after each failure, back to the first
    after an applied batch."""

    def __init__(self, first: float = FIRST_RETRY_SECONDS, limit: float = MAX_RETRY_SECONDS):
        self.first, self.limit = first, limit
        self._next = first

    def next_delay(self) -> float:
        delay, self._next = self._next, min(self._next * 2, self.limit)
        return delay

    def reset(self) -> None:
        self._next = self.first


class EventReader:
    """Reads a channel's events in a thread of its own, each verified against the hash chain, so
    that the applier takes what has arrived as one batch and sees when nothing comes. An error of
    the stream (ChainBroken, Unavailable) is raised by `next_batch` after the events before it."""

    def __init__(self, client: OrchestratorClient, verifier: ChainVerifier, stream_seconds: float):
        self._client = client
        self._verifier = verifier
        self._stream_seconds = stream_seconds
        self._queue = queue.Queue(maxsize=READ_AHEAD)
        self._stopped = threading.Event()
        self._error = None
        self._thread = threading.Thread(target=self._read, name=f"events-{client.channel}", daemon=True)

    def __enter__(self) -> "EventReader":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        # The thread ends at its stream's next event or deadline; it is a daemon, so it holds
        # nothing up meanwhile, and what it reads from now on is dropped.
        self._stopped.set()

    def next_batch(self, size: int, timeout: float) -> list:
        """Up to `size` events that have arrived, after waiting up to `timeout` for the first; [] if
        none came."""
        if self._error is not None:
            raise self._error
        batch = []
        with contextlib.suppress(queue.Empty):
            batch.append(self._queue.get(timeout=timeout))
            while len(batch) < size:
                batch.append(self._queue.get_nowait())
        # An error is the last thing the reader queues.
        if batch and isinstance(batch[-1], Exception):
            self._error = batch.pop()
            if not batch:
                raise self._error
        return batch

    def _read(self) -> None:
        try:
            while not self._stopped.is_set():
                subscription = self._client.subscribe(
                    self._verifier.position, verifier=self._verifier, timeout=self._stream_seconds
                )
                with contextlib.closing(subscription) as events:
                    for event in events:
                        if not self._hand_over(event):
                            return
        except Exception as error:
            self._hand_over(error)

    def _hand_over(self, item) -> bool:
        """Queues an item, unless the applier is gone; a full queue holds the reader back."""
        while not self._stopped.is_set():
            try:
                self._queue.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False
