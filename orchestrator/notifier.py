"""Wakes event subscribers when a channel has new events. Notifications are advisory: a woken
stream reads the events table, which is the truth, and a stream that misses a wake-up still polls.

Within one process, commits wake streams directly. Across replicas on PostgreSQL, a listener
thread turns NOTIFY into wake-ups; on SQLite, streams poll."""

import logging
import threading
import time
from collections import defaultdict

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self):
        self._condition = threading.Condition()
        self._versions: dict[str, int] = defaultdict(int)

    def version(self, channel: str) -> int:
        with self._condition:
            return self._versions[channel]

    def wake(self, channel: str) -> None:
        with self._condition:
            self._versions[channel] += 1
            self._condition.notify_all()

    def wake_all(self) -> None:
        """Wakes every channel's streams: notifications may have been lost."""
        with self._condition:
            for channel in self._versions:
                self._versions[channel] += 1
            self._condition.notify_all()

    def wait(self, channel: str, seen_version: int, timeout: float) -> bool:
        """Returns True when the channel moved past `seen_version`, False after `timeout` seconds."""
        with self._condition:
            return self._condition.wait_for(lambda: self._versions[channel] != seen_version, timeout=timeout)


notifier = Notifier()


def listen_postgres(connection_params: dict, stop: threading.Event) -> None:
    """Turns PostgreSQL notifications into wake-ups; reconnects with backoff until `stop`. The
    NOTIFYs sent while it was away are lost: once listening again it wakes every channel, whose
    feeds then read what was committed meanwhile from the table."""
    import psycopg

    from orchestrator.events import NOTIFY_CHANNEL

    delay = 0.1
    while not stop.is_set():
        try:
            with psycopg.connect(**{"connect_timeout": 5, **connection_params}, autocommit=True) as conn:
                conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                if delay > 0.1:
                    log.info("event listener listening again")
                notifier.wake_all()
                delay = 0.1
                while not stop.is_set():
                    for notification in conn.notifies(timeout=1.0):
                        notifier.wake(notification.payload)
        except psycopg.Error as error:
            log.warning("event listener lost its connection (%s), reconnecting in %.1fs", error, delay)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
