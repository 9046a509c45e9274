"""Compute plans, tasks and what they produce: the rules under the API's views.

Registrations go to the orchestrator, then their answers go to the mirror at once, so that the
caller reads what it just registered without waiting for the event consumer. Reads are the
mirror's. Refusals are `RegistrationRefused` (the caller's input) or `Conflict` (a key taken by a
different asset); the API turns them into 400 and 409.
"""

from collections.abc import Callable
from typing import TypeVar

from django.conf import settings

import orchestrator_client
from substrapp.channels import get_channel
from substrapp.mirror import compute_task_fields, save_snapshots, saving_behind, snapshot_of
from substrapp.models import (
    ComputePlan,
    ComputeTask,
    DataManager,
    DataSample,
    FailureReport,
    Function,
    Model,
    Performance,
    TaskExecution,
    TaskStatus,
)
from substrapp.orchestration import orchestrator_for

T = TypeVar("T")


class RegistrationRefused(Exception):
    """The orchestrator refused a registration for a reason the caller can fix."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


class Conflict(Exception):
    """A key is taken by a different asset; `key` is the key, or the list of a batch's keys."""

    def __init__(self, message: str, key: str | list[str]):
        super().__init__(message)
        self.message = message
        self.key = key


class NotAvailable(Exception):
    """A file that this organization does not hold (yet), or may not serve."""


class NotPermitted(Exception):
    pass


# Compute plans


def register_compute_plan(channel: str, key: str, name: str, tag: str, metadata: dict) -> ComputePlan:
    """Registers a plan; the same plan sent again is the existing one (the orchestrator is
    idempotent), a different plan under the same key a Conflict."""
    try:
        answer = orchestrator_for(channel).register_compute_plan(key=key, name=name, tag=tag, metadata=metadata)
    except orchestrator_client.Conflict as error:
        raise Conflict(error.message, key) from None
    except (orchestrator_client.InvalidRequest, orchestrator_client.PermissionDenied) as error:
        raise RegistrationRefused(error.message, error.code) from None
    return _mirrored_plan(channel, answer)


def rename_compute_plan(plan: ComputePlan, name: str) -> ComputePlan:
    answer = orchestrator_for(plan.channel).rename_compute_plan(plan.key, name)
    return _mirrored_plan(plan.channel, answer)


def cancel_compute_plan(plan: ComputePlan) -> ComputePlan:
    """Cancels the plan; its tasks' new statuses come with the consumer, as their events."""
    answer = orchestrator_for(plan.channel).cancel_compute_plan(plan.key)
    return _mirrored_plan(plan.channel, answer)


def _mirrored_plan(channel: str, answer) -> ComputePlan:
    save_snapshots(channel, "ASSET_COMPUTE_PLAN", [snapshot_of(answer)])
    return ComputePlan.objects.get(key=answer.key)


# Tasks


def register_tasks(channel: str, tasks: list[dict], represent: Callable[[list[ComputeTask]], T]) -> T:
    """Registers a batch of tasks given in the SDK's shape, whole or not at all, and returns
    `represent` of the mirrored tasks in the request's order. An identical batch sent again is
    the same tasks. The tasks are represented while their rows are written, and returned without
    waiting for them: a user's read of the channel does (`for_user`). The SDK sends the next
    batch meanwhile."""
    client = orchestrator_for(channel)
    with saving_behind(channel, "ASSET_COMPUTE_TASK", created=True) as save:
        try:
            answers = client.register_tasks([orchestrator_task(task) for task in tasks])
        except orchestrator_client.Conflict as error:
            raise Conflict(error.message, [task["key"] for task in tasks]) from None
        except (
            orchestrator_client.InvalidRequest,
            orchestrator_client.InvalidTransition,
            orchestrator_client.PermissionDenied,
            orchestrator_client.NotFound,
        ) as error:
            raise RegistrationRefused(error.message, error.code) from None
        snapshots = [snapshot_of(answer) for answer in answers]
        _mirror_references(channel, client, snapshots)
        save(snapshots)
        return represent(_as_answered(channel, snapshots))


def _as_answered(channel: str, snapshots: list[dict]) -> list[ComputeTask]:
    """The tasks as the orchestrator answered (in the request's order), not read back from the
    rows just written: 500 rows and their JSON decoded again for nothing. Their functions are
    read once; an execution only a batch sent again can have."""
    tasks = [ComputeTask(**compute_task_fields(channel, snapshot)) for snapshot in snapshots]
    functions = Function.objects.in_bulk({task.function_id for task in tasks})
    executions = TaskExecution.objects.in_bulk([task.key for task in tasks])
    for task in tasks:
        task.function = functions[task.function_id]
        ComputeTask.execution.related.set_cached_value(task, executions.get(task.key))
    return tasks


def orchestrator_task(task: dict) -> dict:
    """A task of the SDK's `bulk_create` (four-key inputs, flat output permissions) in the shape
    of the orchestrator's `NewComputeTask`."""
    return {
        "key": task["key"],
        "function_key": task["function_key"],
        "compute_plan_key": task["compute_plan_key"],
        "worker": task["worker"],
        "tag": task.get("tag") or "",
        "metadata": task.get("metadata") or {},
        "inputs": [_orchestrator_input(item) for item in task["inputs"]],
        "outputs": {
            identifier: {"permissions": {"process": output["permissions"]}, "transient": output["transient"]}
            for identifier, output in task["outputs"].items()
        },
    }


def _orchestrator_input(item: dict) -> dict:
    if item.get("asset_key"):
        return {"identifier": item["identifier"], "asset_key": item["asset_key"]}
    return {
        "identifier": item["identifier"],
        "parent_task_output": {
            "parent_task_key": item["parent_task_key"],
            "output_identifier": item["parent_task_output_identifier"],
        },
    }


def _mirror_references(channel: str, client, snapshots: list[dict]) -> None:
    """A task row refers to its function and plan: save those the consumer has not reached yet,
    as the orchestrator describes them now."""
    functions = {s["function_key"] for s in snapshots}
    functions -= set(Function.objects.filter(key__in=functions).values_list("key", flat=True))
    if functions:
        save_snapshots(channel, "ASSET_FUNCTION", [snapshot_of(client.get_function(key)) for key in sorted(functions)])
    plans = {s["compute_plan_key"] for s in snapshots}
    plans -= set(ComputePlan.objects.filter(key__in=plans).values_list("key", flat=True))
    if plans:
        save_snapshots(
            channel, "ASSET_COMPUTE_PLAN", [snapshot_of(client.get_compute_plan(key)) for key in sorted(plans)]
        )


# A task's assets


def task_input_assets(task: ComputeTask, require_all: bool = False) -> list[dict]:
    """The task's inputs as `{identifier, kind, asset}`, in the task's order: one row per data
    sample and per model; a parent's output gives the models it produced. An input not in the
    mirror (yet) is left out, or, with `require_all`, NotAvailable."""
    kinds = {identifier: spec["kind"] for identifier, spec in task.function.inputs.items()}
    keys = [item["asset_key"] for item in task.inputs if item.get("asset_key")]
    found = {
        **DataManager.objects.in_bulk(keys),
        **DataSample.objects.in_bulk(keys),
        **Model.objects.in_bulk(keys),
    }
    parent_outputs = _models_of_parents(task)
    rows = []
    for item in task.inputs:
        kind = kinds.get(item["identifier"], "ASSET_MODEL")
        if item.get("asset_key"):
            assets = [found[item["asset_key"]]] if item["asset_key"] in found else []
        else:
            parent = item["parent_task_output"]
            assets = parent_outputs.get((parent["parent_task_key"], parent["output_identifier"]), [])
        if require_all and not assets:
            raise NotAvailable(f"the input {item} of task {task.key} is not in the mirror yet")
        rows += [{"identifier": item["identifier"], "kind": kind, "asset": asset} for asset in assets]
    return rows


def _models_of_parents(task: ComputeTask) -> dict[tuple[str, str], list[Model]]:
    models = {}
    for model in Model.objects.filter(compute_task__in=task.parent_task_keys).order_by("creation_date", "key"):
        models.setdefault((model.compute_task_id, model.compute_task_output_identifier), []).append(model)
    return models


def task_output_assets(task: ComputeTask, identifier: str | None = None) -> list[dict]:
    """What the task produced, as `{identifier, kind, asset}`: rows appear once they exist."""
    models = task.models.order_by("creation_date", "key")
    performances = task.performances.order_by("creation_date", "id")
    if identifier is not None:
        models = models.filter(compute_task_output_identifier=identifier)
        performances = performances.filter(compute_task_output_identifier=identifier)
    rows = [{"identifier": m.compute_task_output_identifier, "kind": "ASSET_MODEL", "asset": m} for m in models]
    rows += [
        {"identifier": p.compute_task_output_identifier, "kind": "ASSET_PERFORMANCE", "asset": p} for p in performances
    ]
    return rows


# Outputs


def performance_rows(plan: ComputePlan) -> list[dict]:
    """Every performance of a plan, by task rank then worker, as `get_performances` reads them."""
    performances = (
        Performance.objects.filter(compute_task__compute_plan=plan)
        .select_related("compute_task__function")
        .order_by("compute_task__rank", "compute_task__worker", "compute_task__key", "compute_task_output_identifier")
    )
    return [
        {
            "compute_task": {
                "key": perf.compute_task.key,
                "rank": perf.compute_task.rank,
                "worker": perf.compute_task.worker,
                "round_idx": round_index(perf.compute_task.metadata),
                "function_key": perf.compute_task.function_id,
            },
            "metric": {"key": perf.compute_task.function_id, "name": perf.compute_task.function.name},
            "identifier": perf.compute_task_output_identifier,
            "perf": perf.performance_value,
        }
        for perf in performances
    ]


def plan_statistics(plan: ComputePlan) -> dict:
    """The distinct ranks and rounds of a plan's tasks (the web frontend's chart axes)."""
    rows = ComputeTask.objects.filter(compute_plan=plan).values_list("rank", "metadata")
    ranks, rounds = set(), set()
    for rank, metadata in rows.iterator():
        ranks.add(rank)
        round_idx = round_index(metadata)
        if round_idx is not None:
            rounds.add(round_idx)
    return {"compute_tasks_distinct_ranks": sorted(ranks), "compute_tasks_distinct_rounds": sorted(rounds)}


def round_index(metadata: dict) -> int | None:
    """The task's `round_idx` metadata if it is an integer: the SDK calls int() on it."""
    try:
        return int(metadata.get("round_idx"))
    except (TypeError, ValueError):
        return None


def may_process(permissions: dict, org_id: str) -> bool:
    process = permissions.get("process", permissions)
    return bool(process.get("public")) or org_id in process.get("authorized_ids", [])


def check_model_export(model: Model) -> None:
    """NotPermitted unless the caller's channel exports models and this organization may process
    the model."""
    if not get_channel(model.channel).model_export_enabled:
        raise NotPermitted("Model export is disabled in this channel.")
    if not may_process(model.permissions, settings.ORG_ID):
        raise NotPermitted("This organization may not process this model.")


def model_file(model: Model) -> str:
    """The storage name of a model's file, if the caller's channel exports models, this
    organization may process the model, and holds its file."""
    check_model_export(model)
    if model.disabled or not model.file:
        raise NotAvailable("This organization does not hold this model's file.")
    return model.file.name


def failure_report_of(task: ComputeTask, org_id: str | None = None) -> FailureReport:
    """The report holding a failed task's logs, if organization `org_id` (this one by default)
    may read them: the task's own, or, for a BUILD_ERROR, its function's (the build's log)."""
    if task.status != TaskStatus.FAILED:
        raise NotAvailable("The task has not failed: it has no logs.")
    if not may_process(task.logs_permission, org_id or settings.ORG_ID):
        raise NotPermitted("This organization may not read the logs of this task.")
    report = FailureReport.objects.filter(asset_key=task.key).first()
    if report is None and task.error_type == "BUILD_ERROR":
        report = FailureReport.objects.filter(asset_key=task.function_id).first()
    if report is None:
        raise NotAvailable("The failure of this task has not reached this organization yet.")
    return report


def own_task_logs(report: FailureReport) -> str:
    """The storage name of logs this organization keeps (it ran the task, or built the image)."""
    if report.owner != settings.ORG_ID or not report.logs_file:
        raise NotAvailable("The logs of this task are not on this organization.")
    return report.logs_file.name
