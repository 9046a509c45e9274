"""Operating the orchestrator: migrations, generated stubs, the embedded SQLite mode, replicas."""

import subprocess
import sys
import threading
import time

import psycopg
import pytest

from devnet.orchestrator import REPO, OrchestratorProcess
from devnet.postgres import create_database, drop_database
from orchestrator_client.chain import ChainVerifier
from orchestrator_client.pb import assets_pb2 as pb
from tests.conftest import CHANNELS, ORG1, ORG2
from tests.orchestrator.conftest import Clients, World, new_key

PROTOS = ["orchestrator_client/pb/assets.proto", "orchestrator_client/pb/service.proto"]


def test_the_committed_grpc_stubs_match_the_protos(tmp_path):
    for proto in PROTOS:
        (tmp_path / proto).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / proto).write_bytes((REPO / proto).read_bytes())
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-I.", "--python_out=.", "--pyi_out=.", "--grpc_python_out=.",
         *PROTOS],
        cwd=tmp_path, check=True,
    )  # fmt: skip
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*_pb2*.py*"))
    assert generated, "protoc generated nothing"
    for path in generated:
        assert (tmp_path / path).read_text() == (REPO / path).read_text(), f"{path} is stale: run `make protos`"


def applied_migrations(url):
    with psycopg.connect(url) as conn:
        return [
            name
            for (name,) in conn.execute(
                "SELECT name FROM django_migrations WHERE app = 'orchestrator' ORDER BY name"
            ).fetchall()
        ]


def latest_migration():
    names = sorted(p.stem for p in (REPO / "orchestrator" / "migrations").glob("0*.py"))
    return names[-1], names[-2]


@pytest.fixture
def database():
    url = create_database("orchestrator_migrations")
    yield url
    drop_database(url)


def test_an_empty_database_migrates_to_the_latest_schema(tmp_path, authority, database):
    process = OrchestratorProcess(tmp_path, database, CHANNELS, authority)
    process.migrate()
    assert applied_migrations(database)[-1] == latest_migration()[0]


def test_a_database_at_the_previous_migration_upgrades_and_keeps_its_data(tmp_path, authority, database):
    """The server needs the latest schema, so the data is made first, then the database is
    migrated back to the previous migration, and upgraded again."""
    latest, previous = latest_migration()
    process = OrchestratorProcess(tmp_path, database, CHANNELS, authority)
    process.migrate()
    process.start()
    try:
        clients = Clients(process)
        world = World(clients)
        plan = world.plan()
        clients(ORG2).register_tasks([world.train_task(plan)])
    finally:
        process.stop()
    process.migrate(previous)
    assert applied_migrations(database)[-1] == previous
    process.migrate()
    assert applied_migrations(database)[-1] == latest
    process.start()
    try:
        clients = Clients(process)
        assert clients(ORG2).get_compute_plan(plan).task_count == 1
        clients(ORG2).register_tasks([world.train_task(plan)])
        verifier = ChainVerifier()
        for _ in clients(ORG1).subscribe(0, verifier=verifier, timeout=1):
            pass
        assert verifier.position > 10, "the chain continues across the upgrade"
    finally:
        process.stop()


def test_the_embedded_mode_runs_on_sqlite_and_polls_for_events(tmp_path, authority):
    process = OrchestratorProcess(tmp_path, f"sqlite:///{tmp_path / 'ledger.sqlite3'}", CHANNELS, authority)
    process.migrate()
    process.start()
    try:
        clients = Clients(process)
        world = World(clients)
        plan = world.plan()
        first = world.train_task(plan)
        second = world.aggregate_task(plan, [first["key"]])
        clients(ORG2).register_tasks([first, second])
        world.run(first["key"])
        world.run(second["key"], worker=ORG2)
        assert clients(ORG1).get_compute_plan(plan).status == pb.PLAN_STATUS_DONE
        events = list(clients(ORG1).subscribe(0, timeout=1))
        assert [e.position for e in events] == list(range(1, len(events) + 1))
        assert events[-1].asset_key == plan
    finally:
        process.stop()


def test_replicas_share_the_database_and_wake_each_others_subscribers(tmp_path, authority, database):
    """Two replicas side by side: a write through one reaches a subscriber of the other at once
    (PostgreSQL LISTEN/NOTIFY), well before the one-second safety poll."""
    first = OrchestratorProcess(tmp_path / "a", database, CHANNELS, authority)
    first.migrate()
    first.start()
    second = OrchestratorProcess(tmp_path / "b", database, CHANNELS, authority)
    second.write_config()
    second.start()
    try:
        writer, reader = Clients(first), Clients(second)
        head = max((e.position for e in reader(ORG1).subscribe(0, timeout=1)), default=0)
        lags = []
        for _ in range(5):
            key = new_key()
            arrived = threading.Event()

            def follow(key=key, arrived=arrived, after=head):
                for event in reader(ORG1).subscribe(after, timeout=10):
                    if event.asset_key == key:
                        arrived.set()
                        return

            thread = threading.Thread(target=follow)
            thread.start()
            time.sleep(0.3)
            written = time.monotonic()
            writer(ORG2).register_compute_plan(key=key, name="through replica a")
            assert arrived.wait(10)
            lags.append(time.monotonic() - written)
            thread.join()
            head += 1
        assert sorted(lags)[2] < 0.5, f"median lag {sorted(lags)[2]:.3f}s: notifications do not cross replicas"
    finally:
        first.stop()
        second.stop()


def test_serve_refuses_to_start_without_tls(tmp_path):
    environment = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "ORCHESTRATOR_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "orchestrator", "serve"], env=environment, cwd=tmp_path, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "mutual TLS" in result.stderr
