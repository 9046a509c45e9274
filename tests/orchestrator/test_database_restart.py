"""The orchestrator rides out a restart of its PostgreSQL: calls during the outage answer
UNAVAILABLE (which clients retry), calls after it succeed, and an open event stream keeps
delivering without the orchestrator restarting. The database is a private instance
(tests/faults/services.py): restarting the machine's shared one would break other suites."""

import queue
import threading
import time
import uuid

import psycopg
import pytest

from devnet.orchestrator import OrchestratorProcess
from orchestrator_client import Unavailable
from tests.conftest import CHANNELS, ORG1, ORG2, ORG3
from tests.faults.services import PrivatePostgres

ADDRESS = {"checksum": "0" * 64, "storage_address": "http://backend/file"}
RECOVERY_LIMIT_S = 30.0


@pytest.fixture(scope="module")
def private_postgres():
    server = PrivatePostgres().start()
    yield server
    server.remove()


@pytest.fixture(scope="module")
def orchestrator(private_postgres, tmp_path_factory, authority):
    name = f"orchestrator_restart_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(private_postgres.admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = private_postgres.admin_url.rsplit("/", 1)[0] + "/" + name
    process = OrchestratorProcess(tmp_path_factory.mktemp("orchestrator-restart"), url, CHANNELS, authority)
    process.migrate()
    process.start()
    for org in (ORG1, ORG2, ORG3):
        with process.client(org, "mychannel") as client:
            client.register_organization(f"http://{org.lower()}.backend")
    yield process
    process.stop()


def register_data_manager(client) -> str:
    permissions = {"public": False, "authorized_ids": [ORG2]}
    return client.register_data_manager(
        key=str(uuid.uuid4()), name="hospital data", new_permissions=permissions, opener=ADDRESS,
        description=ADDRESS, type="csv", logs_permission=permissions,
    ).key  # fmt: skip


def follow(client, into: queue.Queue, stop: threading.Event) -> None:
    """Puts the keys of the stream's events into `into`; the stream is opened once."""
    try:
        for event in client.subscribe(after_position=0, timeout=120):
            into.put(event.asset_key)
            if stop.is_set():
                return
    except Exception as error:
        into.put(error)


def wait_for_key(events: queue.Queue, key: str, timeout: float) -> float:
    """Seconds until `key` came out of the stream; fails on a stream error or after `timeout`."""
    start = time.monotonic()
    while True:
        item = events.get(timeout=max(0.01, timeout - (time.monotonic() - start)))
        assert not isinstance(item, Exception), f"the stream ended: {item!r}"
        if item == key:
            return time.monotonic() - start


def test_calls_during_a_database_outage_answer_unavailable_and_succeed_after_it(orchestrator, private_postgres):
    impatient, patient = orchestrator.client(ORG1, "mychannel", retries=0), orchestrator.client(ORG1, "mychannel")
    with impatient, patient:
        register_data_manager(impatient)
        private_postgres.stop()
        try:
            with pytest.raises(Unavailable) as refused:
                register_data_manager(impatient)
            assert refused.value.code == "DATABASE_UNAVAILABLE"
            answers = queue.Queue()
            retrying = threading.Thread(target=lambda: answers.put(register_data_manager(patient)))
            retrying.start()
            time.sleep(2.0)
        finally:
            private_postgres.start()
        restarted = time.monotonic()
        retrying.join(timeout=RECOVERY_LIMIT_S)
        assert not answers.empty(), "a call made during the outage did not succeed after it"
        key = answers.get()
        assert impatient.get_data_manager(key).key == key
        print(f"a call retried through the outage succeeded {time.monotonic() - restarted:.1f} s after the restart")
        # Every thread's kept connection died with the server: none may fail a call now.
        for _ in range(20):
            register_data_manager(impatient)


def test_an_open_event_stream_keeps_delivering_after_the_database_restarts(orchestrator, private_postgres):
    events, stop = queue.Queue(), threading.Event()
    with orchestrator.client(ORG1, "mychannel") as client, orchestrator.client(ORG2, "mychannel") as subscriber:
        reader = threading.Thread(target=follow, args=(subscriber, events, stop), daemon=True)
        reader.start()
        wait_for_key(events, register_data_manager(client), timeout=10)

        private_postgres.restart(pause=2.0)
        restarted = time.monotonic()
        after = register_data_manager(client)
        delay = wait_for_key(events, after, timeout=RECOVERY_LIMIT_S)
        print(f"the stream delivered an event committed after the restart {time.monotonic() - restarted:.1f} s later")
        assert delay < RECOVERY_LIMIT_S
        # And it keeps following the channel live.
        wait_for_key(events, register_data_manager(client), timeout=5)
        stop.set()


def test_events_committed_while_the_listener_is_away_reach_the_streams(orchestrator, private_postgres):
    """A second replica commits events right after the restart, before the first replica's
    listener is back: their NOTIFYs are lost, yet the streams of the first replica get them."""
    other = OrchestratorProcess(
        orchestrator.state_dir.parent / f"replica-{uuid.uuid4().hex[:6]}", orchestrator.database_url, CHANNELS,
        orchestrator.authority,
    )  # fmt: skip
    other.write_config()
    other.start()
    events, stop = queue.Queue(), threading.Event()
    try:
        with other.client(ORG1, "mychannel") as writer, orchestrator.client(ORG2, "mychannel") as subscriber:
            reader = threading.Thread(target=follow, args=(subscriber, events, stop), daemon=True)
            reader.start()
            wait_for_key(events, register_data_manager(writer), timeout=10)
            private_postgres.restart(pause=2.0)
            keys = [register_data_manager(writer) for _ in range(3)]
            for key in keys:
                wait_for_key(events, key, timeout=RECOVERY_LIMIT_S)
            stop.set()
    finally:
        other.stop()
