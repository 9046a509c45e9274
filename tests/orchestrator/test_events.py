"""Events: every change is an event; a channel's positions have no gaps and follow commit order;
SubscribeToEvents replays then streams live; the hash chain exposes tampering."""

import json
import threading
import time

import grpc
import psycopg
import pytest

from devnet.orchestrator import OrchestratorProcess
from devnet.postgres import create_database, drop_database
from orchestrator.ledger.common import canonical
from orchestrator_client.chain import GENESIS_HASH, ChainBroken, ChainVerifier, event_hash
from orchestrator_client.pb import assets_pb2 as pb
from orchestrator_client.pb import service_pb2 as api
from tests.conftest import CHANNELS, ORG1, ORG2
from tests.orchestrator.conftest import ADDRESS, Clients, World, new_key


def all_events(client, timeout=1.0):
    return list(client.subscribe(0, timeout=timeout))


def test_every_change_is_an_event_carrying_the_asset(world):
    plan = world.plan()
    task = world.train_task(plan)
    world.client(ORG2).register_tasks([task])
    world.run(task["key"])
    events = [e for e in all_events(world.client(ORG1)) if e.asset_key in (plan, task["key"])]
    kinds = [(pb.AssetKind.Name(e.asset_kind), pb.EventKind.Name(e.event_kind)) for e in events]
    assert kinds == [
        ("ASSET_COMPUTE_PLAN", "EVENT_ASSET_CREATED"),
        ("ASSET_COMPUTE_TASK", "EVENT_ASSET_CREATED"),
        ("ASSET_COMPUTE_TASK", "EVENT_ASSET_UPDATED"),  # executing
        ("ASSET_COMPUTE_PLAN", "EVENT_ASSET_UPDATED"),  # doing
        ("ASSET_COMPUTE_TASK", "EVENT_ASSET_UPDATED"),  # done
        ("ASSET_COMPUTE_PLAN", "EVENT_ASSET_UPDATED"),  # done
    ]
    statuses = [json.loads(e.asset_json)["status"] for e in events]
    assert statuses[-2:] == ["STATUS_DONE", "PLAN_STATUS_DONE"]
    assert all(e.channel == "mychannel" for e in events)


def test_the_replay_has_no_gaps_and_its_chain_verifies(world):
    world.plan()
    events = all_events(world.client(ORG2))
    assert [e.position for e in events] == list(range(1, len(events) + 1))
    assert events[0].prev_hash == GENESIS_HASH
    verifier = ChainVerifier()
    for event in events:
        verifier.verify(event)


def test_channels_have_separate_logs(clients):
    other = clients(ORG1, "otherchannel")
    key = other.register_compute_plan(key=new_key(), name="other").key
    assert key in {e.asset_key for e in all_events(other)}
    assert key not in {e.asset_key for e in all_events(clients(ORG1))}


def test_a_subscriber_gets_the_replay_then_live_events(world):
    client = world.client(ORG1)
    head = all_events(client)[-1].position
    received = []
    subscribed = threading.Event()

    def follow():
        for event in client.subscribe(head - 3, timeout=20):
            received.append((event, time.monotonic()))
            subscribed.set()
            if event.asset_key == live_key:
                return

    live_key = new_key()
    thread = threading.Thread(target=follow)
    thread.start()
    assert subscribed.wait(10)
    time.sleep(0.3)
    written_at = time.monotonic()
    world.client(ORG2).register_compute_plan(key=live_key, name="live")
    thread.join(20)
    positions = [event.position for event, _ in received]
    assert positions[:3] == [head - 2, head - 1, head], "the replay comes first"
    assert positions == list(range(head - 2, positions[-1] + 1)), "then the live events, without a gap"
    assert received[-1][0].asset_key == live_key
    assert received[-1][1] - written_at < 1.0, "live events are pushed, not found by a slow poll"


@pytest.fixture
def disposable(tmp_path, authority):
    """An orchestrator of its own, whose database the test may tamper with."""
    url = create_database("orchestrator_tamper")
    process = OrchestratorProcess(tmp_path, url, CHANNELS, authority)
    process.migrate()
    process.start()
    made = Clients(process)
    World(made)
    yield made, url
    made.close()
    process.stop()
    drop_database(url)


def sql(url, statement, *params):
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement, params)


def follow_chain(client):
    verifier = ChainVerifier()
    for _ in client.subscribe(0, verifier=verifier, timeout=1):
        pass
    return verifier


def test_an_edited_event_breaks_the_chain(disposable):
    made, url = disposable
    assert follow_chain(made(ORG1)).position > 10
    sql(url, "UPDATE orchestrator_event SET asset_json = replace(asset_json, 'MyOrg2MSP', 'MyOrg3MSP') "
             "WHERE channel = 'mychannel' AND position = 8")  # fmt: skip
    with pytest.raises(ChainBroken, match="event 8 was altered"):
        follow_chain(made(ORG1))


def test_an_edited_event_with_a_recomputed_hash_breaks_the_next_link(disposable):
    made, url = disposable
    events = all_events(made(ORG1))
    target = next(e for e in events if e.asset_kind == pb.ASSET_DATA_MANAGER)
    forged_json = target.asset_json.replace("MyOrg2MSP", "MyOrg3MSP")
    forged_hash = event_hash(
        channel=target.channel, position=target.position, asset_kind=pb.AssetKind.Name(target.asset_kind),
        event_kind=pb.EventKind.Name(target.event_kind), asset_key=target.asset_key, timestamp=target.timestamp,
        asset_json=forged_json, prev_hash=target.prev_hash,
    )  # fmt: skip
    sql(url, "UPDATE orchestrator_event SET asset_json = %s, hash = %s WHERE channel = 'mychannel' AND position = %s",
        forged_json, forged_hash, target.position)  # fmt: skip
    with pytest.raises(ChainBroken, match="does not follow"):
        follow_chain(made(ORG1))


def test_a_removed_event_breaks_the_chain(disposable):
    made, url = disposable
    sql(url, "DELETE FROM orchestrator_event WHERE channel = 'mychannel' AND position = 5")
    with pytest.raises(ChainBroken, match="expected event 5, got 6"):
        follow_chain(made(ORG1))


def test_reordered_events_break_the_chain(disposable):
    made, url = disposable
    sql(url, "UPDATE orchestrator_event SET position = -position WHERE channel = 'mychannel' AND position IN (6, 7)")
    sql(url, "UPDATE orchestrator_event SET position = CASE position WHEN -6 THEN 7 ELSE 6 END "
             "WHERE channel = 'mychannel' AND position IN (-6, -7)")  # fmt: skip
    with pytest.raises(ChainBroken):
        follow_chain(made(ORG1))


def test_a_consumer_resumes_from_its_stored_position_and_hash(disposable):
    made, _ = disposable
    client = made(ORG1)
    first = all_events(client)
    kept = ChainVerifier(first[-1].position, first[-1].hash)
    made(ORG2).register_compute_plan(key=new_key(), name="later")
    resumed = list(client.subscribe(kept.position, verifier=kept, timeout=1))
    assert [e.position for e in resumed] == [first[-1].position + 1]
    assert kept.last_hash == resumed[-1].hash


def raw_stream(client, method, after=0):
    """The raw messages of one of the two subscription calls, for one second."""
    request = api.SubscribeParam(after_position=after)
    call = getattr(client._events, method)(request, metadata=client._metadata, timeout=1)
    messages = []
    try:
        for message in call:
            messages.append(message)
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    return messages


def test_event_batches_carry_the_same_events_as_the_one_by_one_stream(world):
    plan = world.plan()
    world.client(ORG2).register_tasks([world.train_task(plan)])
    client = world.client(ORG1)
    one_by_one = raw_stream(client, "SubscribeToEvents")
    batches = raw_stream(client, "SubscribeToEventBatches")
    assert len(batches) < len(one_by_one), "a replay comes in batches"
    batched = [event for batch in batches for event in batch.events]
    assert [e.SerializeToString() for e in batched] == [e.SerializeToString() for e in one_by_one]
    resumed = [event for batch in raw_stream(client, "SubscribeToEventBatches", after=3) for event in batch.events]
    assert [e.position for e in resumed] == [e.position for e in one_by_one[3:]]


def test_events_of_the_database_functions_are_canonical_and_chained(world):
    """Claims and Dones run as database functions on PostgreSQL, which build the snapshots and
    the digests themselves: they must come out byte for byte as Python builds them, strings that
    JSON escapes included."""
    tricky = 'tâche "quoted" \\ back\tslash\n\x01\x1f\x7f ✓ \u2028'
    plan = world.plan()
    parent = world.train_task(plan)
    parent["tag"] = tricky
    parent["metadata"] = {"note": tricky}
    child = world.train_task(plan, parents=[parent["key"]])
    world.client(ORG2).register_tasks([parent, child])
    worker = world.client(ORG1)
    worker.apply_task_action(parent["key"], "TASK_ACTION_EXECUTING")
    model = {"key": new_key(), "compute_task_output_identifier": "model", "address": ADDRESS}
    done = worker.complete_task(parent["key"], models=[model])
    assert done.status == pb.STATUS_DONE and done.tag == tricky
    events = list(worker.subscribe(0, verifier=ChainVerifier(), timeout=1))  # digests and links verify
    ours = [e for e in events if e.asset_key in (parent["key"], child["key"], model["key"], plan)]
    for event in ours:
        assert canonical(json.loads(event.asset_json)) == event.asset_json
    created, _, executing, model_created, finished, unblocked = (
        json.loads(e.asset_json) for e in ours if e.asset_kind != pb.ASSET_COMPUTE_PLAN
    )
    assert executing == created | {"status": "STATUS_EXECUTING", "start_date": executing["start_date"]}
    assert finished == executing | {"status": "STATUS_DONE", "end_date": finished["end_date"]}
    assert finished["tag"] == tricky and finished["metadata"] == {"note": tricky}
    assert unblocked["key"] == child["key"] and unblocked["status"] == "STATUS_WAITING_FOR_EXECUTOR_SLOT"
    stored = worker.get_model(model["key"])
    assert model_created == {
        "key": model["key"],
        "compute_task_key": parent["key"],
        "compute_task_output_identifier": "model",
        "address": ADDRESS,
        "permissions": {"process": {"public": False, "authorized_ids": sorted([ORG1, ORG2])}},
        "owner": ORG1,
        "disabled": False,
        "creation_date": stored.creation_date,
    }
    plan_events = [json.loads(e.asset_json) for e in ours if e.asset_kind == pb.ASSET_COMPUTE_PLAN]
    assert [p["status"] for p in plan_events] == ["PLAN_STATUS_CREATED", "PLAN_STATUS_DOING"]
    assert plan_events[-1]["start_date"] == executing["start_date"]


class _Unimplemented(grpc.RpcError):
    def code(self):
        return grpc.StatusCode.UNIMPLEMENTED


class _StubBeforeBatches:
    """The event stub of an orchestrator that predates SubscribeToEventBatches."""

    def __init__(self, real):
        self.SubscribeToEvents = real.SubscribeToEvents

    class _Refused:
        def __iter__(self):
            raise _Unimplemented()

        def cancel(self):
            pass

    def SubscribeToEventBatches(self, request, **kwargs):
        return self._Refused()


def test_the_client_falls_back_to_one_event_per_message_on_an_older_orchestrator(world, monkeypatch):
    world.plan()
    client = world.client(ORG1)
    expected = [e.position for e in all_events(client)]
    monkeypatch.setattr(client, "_events", _StubBeforeBatches(client._events))
    verifier = ChainVerifier()
    assert [e.position for e in client.subscribe(0, verifier=verifier, timeout=1)] == expected
    assert verifier.position == expected[-1]
