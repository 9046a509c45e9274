"""Connections in bounds: eight real substra SDK clients at once against one backend of a devnet
with `--services` (PostgreSQL, Redis, S3) get answers, never a 5xx; the backend's database
connections stay under the API server's bound while they work and go back to their idle count
afterwards. The machine's PostgreSQL allows 100 connections; the devnet's processes share it."""

import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
import substra

from devnet import network as devnet
from devnet.postgres import ADMIN_URL

CLIENTS = 8
CALLS_PER_CLIENT = 30  # each makes two requests or more: 8 x 30 x 2 = 480 requests at least
# The API server's bound, plus the consumer's and the worker's connections (a thread each, and
# the worker's heartbeat), plus room for a request the pool is closing as it hands out another.
API_BOUND = devnet.API_PROCESSES * devnet.API_THREADS
OTHERS = 4
STATUS = re.compile(r'" (\d{3}) ')


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("connections")
    described = devnet.up(state_dir, orgs=1, services=True, executor="subprocess")
    try:
        yield state_dir, described
    finally:
        devnet.down(state_dir)


def backend_database(state_dir) -> str:
    recorded = json.loads((state_dir / devnet.PROCESSES).read_text())
    return recorded["databases"][1].rsplit("/", 1)[1]  # the orchestrator's comes first


def connections_to(database: str) -> int:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        [(count,)] = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [database]).fetchall()
    return count


def settled_count(database: str, quiet_for: float = 8.0, timeout: float = 90.0) -> int:
    """The connection count once it has not changed for `quiet_for` seconds."""
    deadline = time.monotonic() + timeout
    last, since = connections_to(database), time.monotonic()
    while time.monotonic() - since < quiet_for and time.monotonic() < deadline:
        time.sleep(0.5)
        now = connections_to(database)
        if now != last:
            last, since = now, time.monotonic()
    return last


def sdk_client(org: dict) -> substra.Client:
    return substra.Client(url=org["url"], backend_type="remote", username=org["username"], password=org["password"])


def work(org: dict, calls: int = CALLS_PER_CLIENT) -> list[str]:
    """Logs in, then lists and reads; returns the errors it met."""
    errors = []
    client = sdk_client(org)
    for _ in range(calls):
        try:
            client.organization_info()
            client.list_dataset()
            client.list_compute_plan()
        except Exception as error:  # the SDK raises on any 4xx/5xx
            errors.append(repr(error))
    return errors


def statuses(log_text: str) -> list[int]:
    return [int(match.group(1)) for match in STATUS.finditer(log_text)]


def test_eight_concurrent_sdk_clients_get_answers_and_connections_return_to_idle(net):
    state_dir, described = net
    [org] = described["orgs"]
    database = backend_database(state_dir)
    log = state_dir / f"{org['org_id']}-backend.log"
    # A first burst reaches every API process; their pools then shrink back to their minimum.
    with ThreadPoolExecutor(CLIENTS) as pool:
        assert all(found == [] for found in pool.map(lambda org: work(org, calls=3), [org] * CLIENTS))
    idle = settled_count(database)
    log_start = log.stat().st_size

    peak, stop = [0], threading.Event()

    def watch():
        while not stop.is_set():
            peak[0] = max(peak[0], connections_to(database))
            time.sleep(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        errors = [error for found in pool.map(work, [org] * CLIENTS) for error in found]
    elapsed = time.monotonic() - started
    stop.set()
    watcher.join()

    answered = statuses(log.read_bytes()[log_start:].decode(errors="replace"))
    print(f"{len(answered)} requests, {CLIENTS} clients, {elapsed:.1f} s; connections idle {idle}, peak {peak[0]}")
    assert errors == []
    assert len(answered) >= 400
    assert [status for status in answered if status >= 500] == []
    assert peak[0] <= API_BOUND + OTHERS, f"{peak[0]} connections for a bound of {API_BOUND} (+{OTHERS})"

    back = time.monotonic()
    while connections_to(database) > idle:
        assert time.monotonic() - back < 90, f"{connections_to(database)} connections left, {idle} when idle"
        time.sleep(0.5)
    print(f"connections back to {idle} in {time.monotonic() - back:.1f} s")
