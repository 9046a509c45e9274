"""The event consumer keeps the local mirror in step with a real orchestrator's events: every asset
family, idempotently, from its stored cursor, verifying the hash chain as it goes."""

import concurrent.futures
import json
import threading
import time

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orchestrator_client.chain import GENESIS_HASH, ChainBroken
from orchestrator_client.pb import assets_pb2 as pb
from substrapp import consumer, queueing
from substrapp.consumer import CursorMoved, apply_events, consume
from substrapp.mirror import MIRRORS, save_snapshots, saving_behind, snapshot_of
from substrapp.models import (
    ChannelCursor,
    ComputePlan,
    ComputeTask,
    DataManager,
    DataSample,
    FailureReport,
    Function,
    Model,
    Organization,
    Performance,
    TaskCounts,
)
from substrapp.models.scoping import REGISTERING
from substrapp.orchestration import close_orchestrator_clients
from tests.backend.network import orchestrator_of_its_own, point_backend_at
from tests.conftest import ORG1, ORG2, ORG3
from tests.orchestrator.conftest import ADDRESS, World, new_key, output, permission

pytestmark = pytest.mark.django_db(transaction=True)

CHANNEL = "mychannel"


@pytest.fixture(scope="module")
def network(tmp_path_factory, authority):
    """An orchestrator of this module's own: its event log holds these tests' assets only."""
    with orchestrator_of_its_own(tmp_path_factory.mktemp("consumer"), authority) as (clients, _):
        yield clients


@pytest.fixture
def world(network, settings, authority, tmp_path):
    """This backend is org 1 of the module's network, with a dataset and functions registered."""
    point_backend_at(settings, network.orchestrator, authority, tmp_path)
    yield World(network)
    close_orchestrator_clients()


@pytest.fixture
def tamperable(settings, authority, tmp_path):
    """As `world`, on an orchestrator of the test's own, whose database the test may alter."""
    with orchestrator_of_its_own(tmp_path / "orchestrator", authority) as (clients, url):
        point_backend_at(settings, clients.orchestrator, authority, tmp_path)
        yield World(clients), url
    close_orchestrator_clients()


def drain(channel=CHANNEL):
    consume(channel, stop_when_idle=True, idle_seconds=1.0)


def events_after(client, position=0):
    return list(client.subscribe(position, timeout=1))


def cursor():
    return ChannelCursor.objects.values("position", "hash").get(channel=CHANNEL)


def run_in_thread(stop):
    def follow():
        try:
            consume(CHANNEL, stop=stop)
        finally:
            connection.close()

    thread = threading.Thread(target=follow)
    thread.start()
    return thread


def wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the mirror did not catch up in time"
        time.sleep(0.1)


def register_tasks(world, *tasks):
    world.client(ORG2).register_tasks(list(tasks))
    return [task["key"] for task in tasks]


def evaluate_task(world, plan, parent):
    return {
        "key": new_key(),
        "function_key": world.evaluate,
        "compute_plan_key": plan,
        "worker": ORG1,
        "metadata": {"round_idx": "1", "phase": "Test"},
        "inputs": [
            {"identifier": "opener", "asset_key": world.data_manager},
            *({"identifier": "datasamples", "asset_key": sample} for sample in world.samples),
            {"identifier": "model", "parent_task_output": {"parent_task_key": parent, "output_identifier": "model"}},
        ],
        "outputs": {"performance": output(public=True)},
    }


def assert_mirrors(asset_kind, answer):
    """The mirror's row of an asset holds what the orchestrator answers about it now."""
    mirror = MIRRORS[asset_kind]
    expected = mirror.fields(CHANNEL, snapshot_of(answer))
    identity = {name: expected[name] for name in mirror.unique_fields}
    assert mirror.model.objects.filter(**identity).values(*expected).get() == expected


def mirror_contents():
    contents = {kind: list(m.model.objects.order_by(*m.unique_fields).values()) for kind, m in MIRRORS.items()}
    links = DataSample.data_managers.through.objects.values_list("datasample_id", "datamanager_id")
    return contents | {"links": sorted(links)}


def test_it_mirrors_every_asset_family(world):
    org1 = world.client(ORG1)
    org1.rename_data_manager(world.data_manager, "renamed")
    other_dataset = org1.register_data_manager(
        key=new_key(), name="more", new_permissions=permission(), opener=ADDRESS, description=ADDRESS, type="csv",
        logs_permission=permission(),
    ).key  # fmt: skip
    org1.link_data_samples([other_dataset], world.samples)
    plan = world.plan()
    train = world.train_task(plan)
    evaluate = evaluate_task(world, plan, train["key"])
    register_tasks(world, train, evaluate)
    world.run(train["key"])
    org1.apply_task_action(evaluate["key"], "TASK_ACTION_EXECUTING")
    org1.complete_task(
        evaluate["key"], performances=[{"compute_task_output_identifier": "performance", "performance_value": 0.75}]
    )
    failed_plan = world.plan()
    [failed] = register_tasks(world, world.train_task(failed_plan))
    org1.register_failure_report(
        asset_key=failed, asset_kind="ASSET_COMPUTE_TASK", error_type="EXECUTION_ERROR", logs_address=ADDRESS
    )

    drain()

    assert sorted(Organization.objects.for_channel(CHANNEL).values_list("org_id", "address")) == [
        (org, f"http://{org.lower()}.backend") for org in (ORG1, ORG2, ORG3)
    ]
    for key in (world.data_manager, other_dataset):
        assert_mirrors("ASSET_DATA_MANAGER", org1.get_data_manager(key))
    for key in world.samples:
        assert_mirrors("ASSET_DATA_SAMPLE", org1.get_data_sample(key))
        linked = DataSample.objects.get(key=key).data_managers.values_list("key", flat=True)
        assert set(linked) == {world.data_manager, other_dataset}
    for key in (world.train, world.aggregate, world.evaluate):
        assert_mirrors("ASSET_FUNCTION", org1.get_function(key))
    for key in (plan, failed_plan):
        assert_mirrors("ASSET_COMPUTE_PLAN", org1.get_compute_plan(key))
    for key in (train["key"], evaluate["key"], failed):
        assert_mirrors("ASSET_COMPUTE_TASK", org1.get_task(key))
    [model] = Model.objects.filter(compute_task=train["key"])
    assert_mirrors("ASSET_MODEL", org1.get_model(model.key))
    assert_mirrors("ASSET_FAILURE_REPORT", org1.get_failure_report(failed))

    dataset = DataManager.objects.get(key=world.data_manager)
    assert (dataset.name, dataset.owner, dataset.opener_checksum) == ("renamed", ORG1, ADDRESS["checksum"])
    assert dataset.permissions == {"process": permission(ORG1, ORG2)}
    assert Function.objects.get(key=world.train).status == "FUNCTION_STATUS_READY"
    assert ComputePlan.objects.get(key=plan).status == "PLAN_STATUS_DONE"
    assert ComputePlan.objects.get(key=failed_plan).failed_task_key == failed
    evaluated = ComputeTask.objects.get(key=evaluate["key"])
    assert (evaluated.rank, evaluated.parent_task_keys, evaluated.status) == (1, [train["key"]], "STATUS_DONE")
    assert evaluated.error_type is None and evaluated.metadata == {"round_idx": "1", "phase": "Test"}
    assert ComputeTask.objects.get(key=failed).error_type == "EXECUTION_ERROR"
    [performance] = Performance.objects.filter(compute_task=evaluate["key"])
    assert (performance.compute_task_output_identifier, performance.performance_value) == ("performance", 0.75)
    report = FailureReport.objects.get(asset_key=failed)
    assert (report.asset_kind, report.error_type, report.owner) == ("ASSET_COMPUTE_TASK", "EXECUTION_ERROR", ORG1)
    last = events_after(org1)[-1]
    assert cursor() == {"position": last.position, "hash": last.hash}


def test_plans_count_their_tasks_by_status_and_tasks_filter_on_metadata(world):
    plan = world.plan()
    train = world.train_task(plan)
    evaluate = evaluate_task(world, plan, train["key"])
    register_tasks(world, train, evaluate)
    world.run(train["key"])
    drain()

    counts = ComputeTask.objects.counts_by_plan([plan])
    assert counts == {plan: TaskCounts(task_count=2, done_count=1, waiting_executor_slot_count=1)}
    tasks = ComputeTask.objects.for_channel(CHANNEL).filter(compute_plan=plan)
    assert list(tasks.where_metadata("round_idx", "is", "1")) == [ComputeTask.objects.get(key=evaluate["key"])]
    assert tasks.where_metadata("phase", "contains", "tes").count() == 1
    assert tasks.where_metadata("round_idx", "exists").count() == 1
    assert tasks.where_metadata("round_idx", "is", "2").count() == 0


def test_replaying_the_same_events_changes_nothing(world):
    plan = world.plan()
    [train] = register_tasks(world, world.train_task(plan))
    world.run(train)
    drain()
    mirrored, kept = mirror_contents(), cursor()

    ChannelCursor.objects.filter(channel=CHANNEL).update(position=0, hash=GENESIS_HASH)
    drain()

    assert mirror_contents() == mirrored
    assert cursor() == kept


def test_a_registration_and_its_events_write_the_same_row_and_keep_the_local_file(world):
    function = world.client(ORG2).get_function(world.train)
    # What a registration endpoint does once the orchestrator accepted the function.
    save_snapshots(CHANNEL, "ASSET_FUNCTION", [snapshot_of(function)])
    Function.objects.filter(key=world.train).update(archive_file="functions/archive.tar.gz")
    written = Function.objects.values().get(key=world.train)

    drain()

    assert Function.objects.values().get(key=world.train) == written


def test_a_tasks_creation_saved_late_never_puts_its_first_status_back(world):
    # The API saves the tasks it registered while the consumer applies their events: the answer
    # of the registration may arrive after a later change of the same task was applied.
    plan = world.plan()
    [task] = register_tasks(world, world.train_task(plan))
    [creation] = [e for e in events_after(world.client(ORG1)) if e.asset_key == task]
    world.client(ORG2).cancel_compute_plan(plan)
    drain()
    assert ComputeTask.objects.get(key=task).status == "STATUS_CANCELED"
    created_status = json.loads(creation.asset_json)["status"]
    assert created_status != "STATUS_CANCELED"

    save_snapshots(CHANNEL, "ASSET_COMPUTE_TASK", [json.loads(creation.asset_json)], created=True)

    assert ComputeTask.objects.get(key=task).status == "STATUS_CANCELED"


def test_a_restarted_consumer_completes_the_mirror_without_duplicates(world):
    stop = threading.Event()
    thread = run_in_thread(stop)
    first = world.plan()
    wait_for(lambda: ComputePlan.objects.filter(key=first).exists())
    stop.set()
    thread.join(30)
    assert not thread.is_alive()
    later = world.plan()
    tasks = register_tasks(world, world.train_task(later), world.train_task(later))
    assert not ComputePlan.objects.filter(key=later).exists()

    drain()

    assert set(ComputeTask.objects.filter(compute_plan=later).values_list("key", flat=True)) == set(tasks)
    assert Organization.objects.for_channel(CHANNEL).count() == 3
    assert DataSample.data_managers.through.objects.filter(datasample__in=world.samples).count() == 2
    last = events_after(world.client(ORG1))[-1]
    assert cursor() == {"position": last.position, "hash": last.hash}


def test_tasks_this_organization_is_registering_are_waited_for_and_not_written_twice(world):
    drain()
    plan = world.plan(owner=ORG1)
    tasks = [world.train_task(plan), world.train_task(plan)]
    world.client(ORG1).register_tasks(tasks)  # this organization's own tasks, as its API registers them
    events = events_after(world.client(ORG1), cursor()["position"])
    created = [json.loads(e.asset_json) for e in events if e.asset_kind == pb.ASSET_COMPUTE_TASK]

    def apply_capturing():
        try:
            with CaptureQueriesContext(connection) as queries:
                apply_events(CHANNEL, events)
            return [query["sql"] for query in queries.captured_queries]
        finally:
            connection.close()

    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        # The API's registration is in flight: its writer holds the channel from before the
        # orchestrator wrote, and the consumer gets the events meanwhile.
        with saving_behind(CHANNEL, "ASSET_COMPUTE_TASK", created=True) as save:
            applying = thread.submit(apply_capturing)
            time.sleep(0.3)
            assert not applying.done()  # it waits for the API's rows
            # What the API saves before its tasks: the plan they refer to (computation.py).
            save_snapshots(CHANNEL, "ASSET_COMPUTE_PLAN", [snapshot_of(world.client(ORG1).get_compute_plan(plan))])
            save(created)
        applied = applying.result(10)

    table = ComputeTask._meta.db_table
    assert not [sql for sql in applied if sql.startswith("INSERT") and table in sql]  # found them saved
    assert set(ComputeTask.objects.filter(compute_plan=plan).values_list("key", flat=True)) == {
        task["key"] for task in tasks
    }
    assert cursor()["position"] == events[-1].position


def test_a_registration_killed_while_the_consumer_waits_for_it_leaves_the_tasks_to_the_consumer(world):
    drain()
    plan = world.plan(owner=ORG1)
    tasks = [world.train_task(plan), world.train_task(plan)]
    world.client(ORG1).register_tasks(tasks)
    save_snapshots(CHANNEL, "ASSET_COMPUTE_PLAN", [snapshot_of(world.client(ORG1).get_compute_plan(plan))])
    events = events_after(world.client(ORG1), cursor()["position"])

    def apply():
        try:
            apply_events(CHANNEL, events)
        finally:
            connection.close()

    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        with saving_behind(CHANNEL, "ASSET_COMPUTE_TASK", created=True) as save:
            applying = thread.submit(apply)
            time.sleep(0.3)
            assert not applying.done()
            # The API process dies (kill -9) before its rows are written: its connection ends.
            with connection.cursor() as database:
                database.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND classid = %s AND mode = 'ShareLock'",
                    [REGISTERING],
                )
            killed = time.monotonic()
            applying.result(10)
            assert time.monotonic() - killed < consumer.REGISTRATION_WAIT_SECONDS  # at once, not at its limit
            save([json.loads(e.asset_json) for e in events if e.asset_kind == pb.ASSET_COMPUTE_TASK])

    assert set(ComputeTask.objects.filter(compute_plan=plan).values_list("key", flat=True)) == {
        task["key"] for task in tasks
    }
    assert cursor()["position"] == events[-1].position


def test_an_apply_that_fails_leaves_the_rows_and_the_cursor_as_they_were(world, monkeypatch):
    drain()
    kept = cursor()
    plan = world.plan()
    [task] = register_tasks(world, world.train_task(plan))
    events = events_after(world.client(ORG1), kept["position"])
    assert [pb.AssetKind.Name(event.asset_kind) for event in events] == ["ASSET_COMPUTE_PLAN", "ASSET_COMPUTE_TASK"]

    def save_then_fail_on_tasks(channel, asset_kind, snapshots, created=False):
        save_snapshots(channel, asset_kind, snapshots, created=created)
        if asset_kind == "ASSET_COMPUTE_TASK":
            raise RuntimeError("disk full")

    monkeypatch.setattr(consumer, "save_snapshots", save_then_fail_on_tasks)
    with pytest.raises(RuntimeError, match="disk full"):
        apply_events(CHANNEL, events)

    assert not ComputePlan.objects.filter(key=plan).exists()
    assert not ComputeTask.objects.filter(key=task).exists()
    assert cursor() == kept

    with pytest.raises(RuntimeError, match="disk full"):
        drain()  # the consumer stops on it too, rather than go past the event (the plan's may be applied)
    assert not ComputeTask.objects.filter(key=task).exists()
    assert cursor()["position"] < events[-1].position
    monkeypatch.undo()
    drain()
    assert ComputeTask.objects.filter(key=task, compute_plan=plan).exists()


def test_events_that_do_not_follow_the_cursor_are_refused(world):
    drain()
    kept = cursor()
    world.plan()
    world.plan()
    later = events_after(world.client(ORG1), kept["position"])[1:]

    with pytest.raises(CursorMoved):
        apply_events(CHANNEL, later)  # as a second consumer that another one overtook
    assert cursor() == kept


def test_tasks_to_do_for_this_organization_are_handed_over_after_commit(world, monkeypatch):
    drain()
    handed = []

    def record(channel, key, **options):
        committed = ComputeTask.objects.filter(key=key, status="STATUS_WAITING_FOR_EXECUTOR_SLOT").count()
        handed.append((channel, [key], connection.in_atomic_block, committed))

    monkeypatch.setattr(queueing, "enqueue_task", record)
    plan = world.plan()
    first = world.train_task(plan)
    child = world.train_task(plan, parents=[first["key"]])
    aggregate = world.aggregate_task(plan, [first["key"]], worker=ORG2)
    register_tasks(world, first, child, aggregate)
    drain()
    assert handed == [(CHANNEL, [first["key"]], False, 1)]

    handed.clear()
    world.run(first["key"])  # its children become to do: one on org 1, one on org 2
    drain()
    assert handed == [(CHANNEL, [child["key"]], False, 1)]


def test_a_new_plan_with_tasks_waiting_here_is_announced_once_before_its_tasks_to_do(world, monkeypatch):
    """Its containers start while its first task here waits: one message per plan, sent before
    the batch's To do tasks, and none for a plan where nothing waits for this organization."""
    from substrapp import tasks

    drain()
    sent = []
    monkeypatch.setattr(queueing, "enqueue_task", lambda channel, key, **options: sent.append(("run", key)))
    monkeypatch.setattr(tasks.prestart_plan, "apply_async", lambda args, queue: sent.append(("prestart", args[0])))
    plan = world.plan()
    first = world.train_task(plan)
    child = world.train_task(plan, parents=[first["key"]])
    register_tasks(world, first, child)
    lone = world.plan()
    alone = world.train_task(lone)  # To do at once; what waits after it runs on another organization
    register_tasks(world, alone, world.aggregate_task(lone, [alone["key"]], worker=ORG2))
    drain()

    assert sent == [("prestart", plan), ("run", first["key"]), ("run", alone["key"])]
    world.run(first["key"])
    drain()
    assert sent[3:] == [("run", child["key"])]


def test_the_command_follows_every_channel_until_idle(world):
    call_command("consume_events", "--until-idle")

    assert ChannelCursor.objects.filter(channel=CHANNEL, position__gt=0).exists()
    assert set(Organization.objects.for_channel("otherchannel").values_list("org_id", flat=True)) == {ORG1, ORG2}
    with pytest.raises(CommandError, match="not channels of this organization: nochannel"):
        call_command("consume_events", "--channel", "nochannel")


def sql(url, statement, *params):
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else None


def test_a_broken_chain_stops_the_channel_before_the_tampered_event(tamperable, caplog):
    world, url = tamperable
    plans = [world.plan() for _ in range(3)]  # the last three events
    [(head,)] = sql(url, "SELECT max(position) FROM orchestrator_event WHERE channel = %s", CHANNEL)
    # Tampered before anything subscribes: a running replica serves recent events from memory.
    sql(url, "UPDATE orchestrator_event SET asset_json = replace(asset_json, '\"plan\"', '\"forged\"') "
             "WHERE channel = %s AND position = %s", CHANNEL, head - 1)  # fmt: skip

    with pytest.raises(ChainBroken, match=f"event {head - 1} was altered"):
        drain()

    assert [ComputePlan.objects.filter(key=plan).exists() for plan in plans] == [True, False, False]
    assert cursor()["position"] == head - 2
    stalled = ChannelCursor.objects.get(channel=CHANNEL)  # visible in /health/ and consumer_status
    assert (stalled.stalled_position, stalled.stalled_error[:12]) == (head - 1, "CHAIN BROKEN")
    assert any(
        record.levelname == "CRITICAL" and "CHAIN BROKEN in channel mychannel" in record.message
        for record in caplog.records
    )
    with pytest.raises(CommandError, match=f"mychannel: event {head - 1} was altered"):
        call_command("consume_events", "--until-idle")
    assert cursor()["position"] == head - 2


def test_it_follows_again_when_the_orchestrator_comes_back(tamperable, caplog):
    world, _ = tamperable
    stop = threading.Event()
    thread = run_in_thread(stop)
    try:
        wait_for(lambda: DataManager.objects.filter(key=world.data_manager).exists())
        orchestrator = world.client.orchestrator
        orchestrator.stop()
        orchestrator.start()  # on the same port
        plan = world.plan()
        wait_for(lambda: ComputePlan.objects.filter(key=plan).exists())
    finally:
        stop.set()
        thread.join(30)
    assert "following again in" in caplog.text
