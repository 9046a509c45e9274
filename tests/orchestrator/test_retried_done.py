"""A worker whose Done lost its answer sends it again: the same Done is a success that records
nothing more, a Done with other outputs is still refused. On PostgreSQL's one-statement fast path
(a Done with models only) and on the general path (a Done with a performance)."""

import pytest

from orchestrator_client import InvalidTransition
from orchestrator_client.pb import assets_pb2 as pb
from tests.conftest import ORG1
from tests.orchestrator.conftest import ADDRESS, new_key
from tests.orchestrator.test_task_states import register
from tests.orchestrator.test_validation import evaluate_task


def claimed_train(world) -> str:
    task = world.train_task(world.plan())
    register(world, task)
    world.client(ORG1).apply_task_action(task["key"], "TASK_ACTION_EXECUTING")
    return task["key"]


def claimed_evaluation(world) -> str:
    plan = world.plan()
    parent = world.train_task(plan)
    test = evaluate_task(world, plan, [parent["key"]])
    register(world, parent, test)
    world.run(parent["key"])
    world.client(ORG1).apply_task_action(test["key"], "TASK_ACTION_EXECUTING")
    return test["key"]


def a_model() -> dict:
    return {"key": new_key(), "compute_task_output_identifier": "model", "address": ADDRESS}


def a_performance(value: float) -> dict:
    return {"compute_task_output_identifier": "performance", "performance_value": value}


def last_position(world) -> int:
    position = 0
    for event in world.client(ORG1).subscribe(after_position=0, timeout=2.0):
        position = event.position
    return position


def test_the_same_done_with_its_models_sent_twice_succeeds_and_records_nothing_more(world):
    key = claimed_train(world)
    model = a_model()
    client = world.client(ORG1)
    first = client.complete_task(key, models=[model])
    position = last_position(world)

    again = client.complete_task(key, models=[model])

    assert again == first
    assert again.status == pb.STATUS_DONE
    assert last_position(world) == position


def test_the_same_done_with_its_performance_sent_twice_succeeds_and_records_nothing_more(world):
    key = claimed_evaluation(world)
    client = world.client(ORG1)
    first = client.complete_task(key, performances=[a_performance(0.87)])
    position = last_position(world)

    again = client.complete_task(key, performances=[a_performance(0.87)])

    assert again == first
    assert last_position(world) == position


def test_a_done_sent_again_with_other_outputs_is_refused(world):
    train, evaluation = claimed_train(world), claimed_evaluation(world)
    client = world.client(ORG1)
    client.complete_task(train, models=[a_model()])
    client.complete_task(evaluation, performances=[a_performance(0.87)])

    for other in ([a_model()], []):
        with pytest.raises(InvalidTransition):
            client.complete_task(train, models=other)
    with pytest.raises(InvalidTransition):
        client.complete_task(evaluation, performances=[a_performance(0.5)])
