"""A plan's containers before their first task (substrapp/worker.py `prestart_plan`): this
organization's first task of a plan starts the fork servers (and, with Docker, the containers) of
the plan's other functions it runs later, and `end_plan` stops them. The subprocess executor
(real processes) stands for the engine here; tests/compute/test_forkserver.py has Docker's."""

# ruff: noqa: F811 (the fixtures of test_compute_api, imported, are arguments here)

from pathlib import Path

import pytest

from compute.executors import SubprocessExecutor, server_folder, server_ready
from substrapp import worker
from substrapp.models import ComputeTask, Function
from tests.backend.test_compute_api import (  # noqa: F401 (fixtures)
    MODEL_OUTPUT,
    api,
    bulk_create,
    network,
    new_plan,
    parent_input,
    sdk_task,
    train_inputs,
    world,
)
from tests.compute.test_executors import wait_until
from tests.orchestrator.conftest import new_key

pytestmark = pytest.mark.django_db(transaction=True)

EVALUATE = "import json, sys\nprint('evaluated')\n"


def unpack_evaluate(folder: Path) -> None:
    (folder / "Dockerfile").write_text('FROM python:3.11-slim\nCOPY fn.py .\nENTRYPOINT ["python3", "fn.py"]\n')
    (folder / "fn.py").write_text(EVALUATE)


def train_then_evaluate(world, api) -> tuple[dict, str]:
    """A plan of this organization: a train, then an evaluation of its model; (plan, train key)."""
    plan = new_plan(api)
    train = new_key()
    evaluation_inputs = [*train_inputs(world), parent_input("model", train)]
    performance = {"performance": {"permissions": {"public": True, "authorized_ids": []}, "transient": False}}
    bulk_create(
        api,
        [
            sdk_task(train, world.train, plan["key"], train_inputs(world), MODEL_OUTPUT),
            sdk_task(new_key(), world.evaluate, plan["key"], evaluation_inputs, performance),
        ],
    )
    return plan, train


@pytest.fixture
def local_worker(settings, tmp_path, monkeypatch):
    settings.COMPUTE_DIR = tmp_path / "compute"
    executor = SubprocessExecutor(tmp_path / "compute" / "images")
    monkeypatch.setattr(worker, "_executor", executor)
    return executor


def test_the_first_task_of_a_plan_starts_the_other_functions_server_and_end_plan_stops_it(world, api, local_worker):
    plan, train = train_then_evaluate(world, api)
    # The test world's functions share one archive: the evaluation gets one of its own.
    Function.objects.filter(key=world.evaluate).update(archive_checksum="e" * 64)
    image = local_worker.prepare_image("e" * 64, unpack_evaluate)  # built on this worker already
    plan_dir = Path(worker.settings.COMPUTE_DIR) / "plans" / plan["key"]

    worker.prestart_plan(ComputeTask.objects.select_related("function").get(key=train), plan_dir)

    assert wait_until(lambda: server_ready(server_folder(plan_dir, image)), 30), "no server for the evaluation"
    worker.end_plan(plan["key"])
    assert wait_until(lambda: not server_ready(server_folder(plan_dir, image)), 5), "the server outlived its plan"


def test_a_plan_announced_ahead_starts_the_server_of_its_first_tasks_function_too(world, api, local_worker):
    """On the consumer's word, before any task of the plan runs here: every function this
    organization runs in the plan, its first task's included."""
    plan, train = train_then_evaluate(world, api)
    # The test world's functions share one archive, already built on this worker.
    checksum = Function.objects.get(key=world.train).archive_checksum
    image = local_worker.prepare_image(checksum, unpack_evaluate)
    plan_dir = Path(worker.settings.COMPUTE_DIR) / "plans" / plan["key"]

    worker.prestart_plan_ahead(plan["key"])

    assert wait_until(lambda: server_ready(server_folder(plan_dir, image)), 30), "no server for the first task"
    # The first task here finds it started: nothing more starts for the plan.
    worker.prestart_plan(ComputeTask.objects.select_related("function").get(key=train), plan_dir)
    assert {started for started in worker._prestarted if started[0] == plan["key"]} == {(plan["key"], checksum)}
    worker.end_plan(plan["key"])
    assert wait_until(lambda: not server_ready(server_folder(plan_dir, image)), 5), "the server outlived its plan"
    assert not any(started[0] == plan["key"] for started in worker._prestarted)


def test_an_image_that_cannot_be_had_ahead_is_left_to_the_task(world, api, local_worker, caplog):
    """Its archive unreachable here: the plan's other images still start, and the task that
    needs it builds it (or reports why not) itself."""
    plan, _ = train_then_evaluate(world, api)
    Function.objects.filter(key=world.evaluate).update(archive_checksum="e" * 64)
    image = local_worker.prepare_image("e" * 64, unpack_evaluate)
    Function.objects.filter(key=world.train).update(archive_checksum="f" * 64)  # nowhere to be fetched
    plan_dir = Path(worker.settings.COMPUTE_DIR) / "plans" / plan["key"]

    worker.prestart_plan_ahead(plan["key"])

    assert wait_until(lambda: server_ready(server_folder(plan_dir, image)), 30), "no server for the evaluation"
    assert not (local_worker.images_dir / ("f" * 64)).exists()
    worker.end_plan(plan["key"])
