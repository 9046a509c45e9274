"""Concurrency: simultaneous completions unblock a child exactly once, and concurrent writers never
make a subscriber miss or reorder an event."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor

from orchestrator_client.chain import ChainVerifier
from orchestrator_client.pb import assets_pb2 as pb
from tests.conftest import ORG1, ORG2, ORG3
from tests.orchestrator.conftest import ADDRESS, new_key


def head_position(client):
    position = 0
    for event in client.subscribe(0, timeout=1):
        position = event.position
    return position


def test_two_parents_finishing_at_the_same_moment_unblock_their_child_once(world):
    client = world.client(ORG2)
    start = head_position(client)
    rounds = []
    for _ in range(10):
        plan = world.plan()
        left, right = world.train_task(plan), world.train_task(plan)
        child = world.aggregate_task(plan, [left["key"], right["key"]])
        client.register_tasks([left, right, child])
        for parent in (left, right):
            world.client(ORG1).apply_task_action(parent["key"], "TASK_ACTION_EXECUTING")
            world.client(ORG1).register_models(
                [
                    {
                        "key": new_key(),
                        "compute_task_key": parent["key"],
                        "compute_task_output_identifier": "model",
                        "address": ADDRESS,
                    }
                ]
            )
        rounds.append((left["key"], right["key"], child["key"]))

    # Each parent is finished by its own connection, released by one barrier.
    finishers = [world.orchestrator_client(ORG1) for _ in range(2)]
    for left, right, _child in rounds:
        barrier = threading.Barrier(2)

        def finish(client, key, barrier=barrier):
            barrier.wait()
            return client.apply_task_action(key, "TASK_ACTION_DONE")

        with ThreadPoolExecutor(2) as pool:
            done = list(pool.map(finish, finishers, (left, right)))
        assert {task.status for task in done} == {pb.STATUS_DONE}

    children = {child for _, _, child in rounds}
    unblocked = [
        event.asset_key
        for event in client.subscribe(start, timeout=2)
        if event.asset_key in children and json.loads(event.asset_json)["status"] == "STATUS_WAITING_FOR_EXECUTOR_SLOT"
    ]
    assert sorted(unblocked) == sorted(children), "each child became To do exactly once"
    assert {client.get_task(child).status for child in children} == {pb.STATUS_WAITING_FOR_EXECUTOR_SLOT}


def test_concurrent_writers_never_make_a_subscriber_miss_or_reorder_an_event(world):
    start = head_position(world.client(ORG1))
    writers, per_writer = 8, 25
    expected = {new_key() for _ in range(writers * per_writer)}
    keys = sorted(expected)
    received = {index: [] for index in range(3)}
    errors = []

    def subscribe(index):
        client = world.orchestrator_client(ORG3)
        seen = set()
        try:
            for event in client.subscribe(start, timeout=60):
                received[index].append(event)
                seen.add(event.asset_key)
                if expected <= seen:
                    return
        except Exception as error:
            errors.append(error)

    subscribers = [threading.Thread(target=subscribe, args=(i,)) for i in range(3)]
    for thread in subscribers:
        thread.start()

    def write(index):
        client = world.orchestrator_client((ORG1, ORG2, ORG3)[index % 3])
        for key in keys[index * per_writer : (index + 1) * per_writer]:
            client.register_compute_plan(key=key, name=f"writer {index}")

    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(write, range(writers)))
    for thread in subscribers:
        thread.join(60)
    assert not errors
    for events in received.values():
        assert [e.position for e in events] == list(range(start + 1, start + 1 + len(events))), "no gap, no reorder"
        assert expected <= {e.asset_key for e in events}
        created = [e.asset_key for e in events if e.asset_key in expected]
        assert len(created) == len(expected), "no event twice"
    # Every subscriber saw the same sequence, and it continues the chain.
    sequences = [[e.hash for e in events] for events in received.values()]
    shortest = min(len(s) for s in sequences)
    assert all(s[:shortest] == sequences[0][:shortest] for s in sequences)
    replay = list(world.client(ORG1).subscribe(0, timeout=2))
    verifier = ChainVerifier()
    for event in replay:
        verifier.verify(event)


def race(first, second):
    """Runs two calls released at the same moment; returns their results or exceptions."""
    barrier = threading.Barrier(2)

    def run(call):
        barrier.wait()
        try:
            return call()
        except Exception as error:
            return error

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(run, (first, second)))


def test_a_child_registered_while_its_parent_finishes_is_never_stranded(world):
    finisher, registrar = world.orchestrator_client(ORG1), world.orchestrator_client(ORG2)
    for _ in range(15):
        plan = world.plan()
        parent = world.train_task(plan)
        world.client(ORG2).register_tasks([parent])
        world.client(ORG1).apply_task_action(parent["key"], "TASK_ACTION_EXECUTING")
        world.client(ORG1).register_models(
            [
                {
                    "key": new_key(),
                    "compute_task_key": parent["key"],
                    "compute_task_output_identifier": "model",
                    "address": ADDRESS,
                }
            ]
        )
        child = world.aggregate_task(plan, [parent["key"]])
        done, registered = race(
            lambda parent=parent: finisher.apply_task_action(parent["key"], "TASK_ACTION_DONE"),
            lambda child=child: registrar.register_tasks([child]),
        )
        assert done.status == pb.STATUS_DONE and registered[0].key == child["key"]
        assert world.client(ORG2).get_task(child["key"]).status == pb.STATUS_WAITING_FOR_EXECUTOR_SLOT


def test_a_task_registered_while_its_function_becomes_ready_is_never_stranded(world):
    builder, registrar = world.orchestrator_client(ORG2), world.orchestrator_client(ORG2)
    for _ in range(15):
        function = world.function(
            ORG2, {"public": True, "authorized_ids": []},
            inputs={"models": {"kind": "ASSET_MODEL", "multiple": True, "optional": True}},
            outputs={"model": {"kind": "ASSET_MODEL"}}, ready=False,
        )  # fmt: skip
        task = world.aggregate_task(world.plan(), [], worker=ORG1) | {"function_key": function, "inputs": []}
        ready, registered = race(
            lambda function=function: builder.apply_function_action(function, "FUNCTION_ACTION_READY"),
            lambda task=task: registrar.register_tasks([task]),
        )
        assert ready.status == pb.FUNCTION_STATUS_READY and registered[0].key == task["key"]
        assert world.client(ORG2).get_task(task["key"]).status == pb.STATUS_WAITING_FOR_EXECUTOR_SLOT


def test_tasks_registered_while_their_plan_is_canceled_end_with_it(world):
    canceler, registrar = world.orchestrator_client(ORG2), world.orchestrator_client(ORG2)
    for _ in range(15):
        plan = world.plan()
        world.client(ORG2).register_tasks([world.train_task(plan)])
        batch = [world.train_task(plan) for _ in range(5)]
        canceled, registered = race(
            lambda plan=plan: canceler.cancel_compute_plan(plan),
            lambda batch=batch: registrar.register_tasks(batch),
        )
        assert canceled.status == pb.PLAN_STATUS_CANCELED
        if isinstance(registered, Exception):
            assert registered.code == "PLAN_TERMINATED"
        else:
            statuses = {world.client(ORG2).get_task(task["key"]).status for task in batch}
            assert statuses == {pb.STATUS_CANCELED}, "no task outlives its canceled plan"
