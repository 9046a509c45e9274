"""What a worker finds again by itself (substrapp/reconcile.py, substrapp/worker.py), against a
real orchestrator and the broker of the test settings (kombu's filesystem transport): a task To
do whose hand-over never came, and the models of a Done whose answer was lost."""

# ruff: noqa: F811 (the fixtures of test_compute_api, imported, are arguments here)

import json
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from substrapp import reconcile, tasks, worker
from substrapp.models import ComputeTask, Model, TaskExecution
from substrapp.storage import open_stored, store_upload
from tests.backend.test_compute_api import (  # noqa: F401 (fixtures)
    CHANNEL,
    MODEL_OUTPUT,
    api,
    bulk_create,
    drain,
    eager,
    network,
    new_plan,
    sdk_task,
    train_inputs,
    world,
)
from tests.conftest import ORG1
from tests.orchestrator.conftest import new_key

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker(settings):
    """The broker folder of the test settings (the Celery app's producers write there)."""
    assert settings.CELERY_BROKER_URL.startswith("filesystem")
    return Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_out"])


def messages_for(folder: Path, key: str) -> int:
    """How many run_compute_task messages for task `key` wait in the broker folder."""
    works = [reconcile._work_of(path.read_bytes()) for path in folder.glob("*.msg")]
    return works.count((reconcile.RUN_TASK, key))


def test_a_to_do_task_whose_hand_over_never_came_is_queued_again_once(world, api, broker, monkeypatch):
    monkeypatch.setattr(reconcile, "GRACE_SECONDS", 0.5)
    plan = new_plan(api)
    key = new_key()
    bulk_create(api, [sdk_task(key, world.train, plan["key"], train_inputs(world), MODEL_OUTPUT)])
    assert ComputeTask.objects.get(key=key).status == "STATUS_WAITING_FOR_EXECUTOR_SLOT"
    reconciler = reconcile.Reconciler()

    assert reconciler.run_once().get("tasks") is None  # first seen: the hand-over may be under way
    time.sleep(0.6)
    assert reconciler.run_once()["tasks"] == [key]
    assert messages_for(broker, key) == 1
    time.sleep(0.6)
    assert reconciler.run_once().get("tasks") is None  # the queue holds it now: no duplicate
    assert messages_for(broker, key) == 1


def test_a_task_held_by_a_live_worker_is_not_queued_again(world, api, broker, monkeypatch):
    monkeypatch.setattr(reconcile, "GRACE_SECONDS", 0.0)
    plan = new_plan(api)
    key = new_key()
    bulk_create(api, [sdk_task(key, world.train, plan["key"], train_inputs(world), MODEL_OUTPUT)])
    assert worker.take_lease(ComputeTask.objects.get(key=key)) == worker.TAKEN  # this live process

    assert reconcile.Reconciler().run_once().get("tasks") is None  # no grace here: at once
    assert messages_for(broker, key) == 0


def test_the_models_of_a_done_whose_answer_was_lost_are_adopted_by_the_next_attempt(world, api, eager, settings):
    plan = new_plan(api)
    key = new_key()
    bulk_create(api, [sdk_task(key, world.train, plan["key"], train_inputs(world), MODEL_OUTPUT)])
    task = ComputeTask.objects.get(key=key)
    # The first attempt stored its model, recorded it, and its Done committed; the answer was lost.
    stored = store_upload(ContentFile(b"weights", name="model"), "models", max_bytes=2**20)
    model_key = new_key()
    record = worker._stored_models_record(task)
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({model_key: stored.name}))
    orchestrator = world.client(ORG1)
    orchestrator.apply_task_action(key, "TASK_ACTION_EXECUTING")
    address = {"checksum": stored.checksum, "storage_address": f"http://testserver/model/{model_key}/file/"}
    orchestrator.complete_task(
        key, models=[{"key": model_key, "compute_task_output_identifier": "model", "address": address}]
    )

    assert tasks.run_compute_task.apply(args=(CHANNEL, key)).get() == "skipped"

    model = Model.objects.get(key=model_key)
    assert model.file.name == stored.name
    with open_stored(model.file.name) as file:
        assert file.read() == b"weights"
    assert not record.exists()


def test_a_task_whose_live_holder_stopped_renewing_its_lease_is_queued_again(world, api, broker, monkeypatch, settings):
    """A live process holds the lease but no longer renews it: an attempt that ended without
    releasing it (the database was away). Nothing else would ever queue the task again."""
    monkeypatch.setattr(reconcile, "GRACE_SECONDS", 0.0)
    plan = new_plan(api)
    key = new_key()
    bulk_create(api, [sdk_task(key, world.train, plan["key"], train_inputs(world), MODEL_OUTPUT)])
    worker.take_lease(ComputeTask.objects.get(key=key))
    stale = timezone.now() - timedelta(seconds=settings.COMPUTE_LEASE_SECONDS + 1)
    TaskExecution.objects.filter(task_id=key).update(heartbeat=stale)

    assert reconcile.Reconciler().run_once()["tasks"] == [key]  # no grace here
    assert messages_for(broker, key) == 1
