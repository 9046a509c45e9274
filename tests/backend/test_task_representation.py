"""`TaskSerializer.to_representation` writes a task directly instead of DRF's walk of its fields:
the two must stay equal, field for field, whatever state the task is in."""

import datetime

import pytest
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from substrapp.api.serializers.computetasks import TaskSerializer
from substrapp.models import ComputeTask, Function, TaskExecution

pytestmark = pytest.mark.django_db  # a task without an execution looks for it

UTC = datetime.UTC
PARIS = datetime.timezone(datetime.timedelta(hours=1))
PERMISSIONS = {"public": False, "authorized_ids": ["MyOrg1MSP"]}


def function() -> Function:
    return Function(
        key="f" * 36, channel="mychannel", name="train", owner="MyOrg1MSP", permissions={"process": PERMISSIONS},
        description_checksum="d" * 64, description_address="", archive_checksum="a" * 64, archive_address="",
        metadata={"k": "v"}, inputs={"models": {"kind": "ASSET_MODEL", "multiple": True, "optional": True}},
        outputs={"model": {"kind": "ASSET_MODEL", "multiple": False}}, status="FUNCTION_STATUS_READY",
        creation_date=datetime.datetime(2026, 12, 6, 7, 0, tzinfo=UTC),
    )  # fmt: skip


def task(**changes) -> ComputeTask:
    fields = {
        "key": "t" * 36, "channel": "mychannel", "function": function(), "compute_plan_id": "p" * 36,
        "owner": "MyOrg1MSP", "worker": "MyOrg2MSP", "rank": 3, "status": "STATUS_WAITING_FOR_EXECUTOR_SLOT",
        "tag": "a tag", "metadata": {"round_idx": "1"}, "logs_permission": PERMISSIONS, "parent_task_keys": [],
        "inputs": [
            {"identifier": "opener", "asset_key": "o" * 36},
            {"identifier": "models", "parent_task_output": {"parent_task_key": "q" * 36, "output_identifier": "model"}},
        ],
        "outputs": {"model": {"permissions": {"process": PERMISSIONS}, "transient": True}},
        "error_type": None, "creation_date": datetime.datetime(2026, 12, 6, 8, 30, 1, 123456, tzinfo=PARIS),
        "start_date": None, "end_date": None,
    }  # fmt: skip
    return ComputeTask(**{**fields, **changes})


def with_execution(task: ComputeTask, durations: dict) -> ComputeTask:
    execution = TaskExecution(task=task, channel="mychannel", compute_plan_key="p" * 36, durations=durations)
    ComputeTask.execution.related.set_cached_value(task, execution)
    return task


STARTED = datetime.datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
DOWNLOADABLE = {
    "permissions": {"process": PERMISSIONS, "download": {"public": True, "authorized_ids": []}},
    "transient": False,
}

TASKS = {
    "waiting, never run here": lambda: task(),
    "running, with its steps so far": lambda: with_execution(
        task(status="STATUS_EXECUTING", start_date=STARTED), {"prepare_inputs": 0.5}
    ),
    "failed": lambda: with_execution(
        task(
            status="STATUS_FAILED",
            start_date=STARTED,
            end_date=STARTED + datetime.timedelta(seconds=42.7),
            error_type="EXECUTION_ERROR",
            tag="",
            metadata={},
            outputs={},
        ),
        {"prepare_inputs": 0.5, "execution": 40.1},
    ),
    "done, with a download permission of its own": lambda: task(
        status="STATUS_DONE", start_date=STARTED, end_date=STARTED, outputs={"model": DOWNLOADABLE}
    ),
}


@pytest.mark.parametrize("state", TASKS)
def test_a_task_is_written_as_drfs_walk_of_its_fields_writes_it(state):
    context = {"request": Request(APIRequestFactory().get("/task/"))}
    written = TaskSerializer(TASKS[state](), context=context).data
    walked = serializers.ModelSerializer.to_representation(TaskSerializer(context=context), TASKS[state]())
    assert written == walked
    assert list(written) == list(walked)  # in the same order
