"""What tasks produce: models, performances, and failure reports when they fail."""

import json

from orchestrator import snapshots
from orchestrator.errors import OrchestratorError
from orchestrator.events import recording, retry_on_conflict
from orchestrator.ledger import cascades, computetasks
from orchestrator.ledger.common import (
    Caller,
    canonical,
    check_address,
    check_addressable,
    check_checksum,
    check_key,
    check_unique,
    existing_key,
    now,
)
from orchestrator.models import ComputeTask, FailureReport, Function, Model, Performance

ERROR_TYPES = {"BUILD_ERROR", "EXECUTION_ERROR", "INTERNAL_ERROR"}


@retry_on_conflict
def register_models(caller: Caller, new_models) -> list[dict]:
    """The worker of an executing task registers the models it produced; a retry is harmless."""
    if not new_models:
        raise OrchestratorError("INVALID_FIELD", "no model to register")
    computetasks.check_sent_outputs(models=new_models)
    with recording(caller.channel) as events:
        return record_models(caller, new_models, events)


def record_models(caller: Caller, new_models, events, read_tasks: dict | None = None) -> list[dict]:
    """Registers models in the caller's transaction (see `register_models`)."""
    keys = [check_key(new.key, "model key") for new in new_models]
    check_unique(keys)
    existing = {row.key: row for row in Model.objects.filter(key__in=keys)}
    result = []
    for key, new in zip(keys, new_models, strict=True):
        identifier = new.compute_task_output_identifier
        task, declaration, output = _producing_task(caller, new.compute_task_key, identifier, read_tasks)
        if declaration["kind"] != "ASSET_MODEL":
            raise OrchestratorError(
                "OUTPUT_KIND_MISMATCH", f"output {new.compute_task_output_identifier!r} is not a model"
            )
        checksum, address = check_addressable(new.address, "model address")
        row = Model(
            key=key,
            channel=caller.channel,
            compute_task_id=task["key"],
            identifier=new.compute_task_output_identifier,
            owner=caller.org,
            checksum=checksum,
            address=address,
            permissions=canonical(output["permissions"]["process"]),
            creation_date=now(),
        )
        if key in existing:
            result.append(_same_model_or_conflict(existing[key], row))
            continue
        siblings = Model.objects.filter(compute_task_id=task["key"], identifier=row.identifier).exists()
        if siblings and not declaration["multiple"]:
            raise OrchestratorError("CONFLICT", f"output {row.identifier!r} of task {task['key']} takes one model")
        row.save(force_insert=True)
        snapshot = snapshots.model(row)
        events.created("ASSET_MODEL", key, snapshot)
        result.append(snapshot)
    return result


def get_model(caller: Caller, key: str) -> dict:
    key = existing_key(key, "model")
    row = Model.objects.filter(key=key, channel=caller.channel).first()
    if row is None:
        raise OrchestratorError("NOT_FOUND", f"model {key} not found")
    return snapshots.model(row)


@retry_on_conflict
def disable_model(caller: Caller, key: str) -> dict:
    """A transient model is deleted by its owner once every task that consumes it has ended."""
    key = existing_key(key, "model")
    with recording(caller.channel) as events:
        row = Model.objects.select_for_update().filter(key=key, channel=caller.channel).first()
        if row is None:
            raise OrchestratorError("NOT_FOUND", f"model {key} not found")
        if row.owner != caller.org:
            raise OrchestratorError("PERMISSION_DENIED", f"only its owner {row.owner} may disable model {key}")
        outputs = json.loads(ComputeTask.objects.filter(key=row.compute_task_id).values_list("outputs", flat=True)[0])
        if not outputs[row.identifier]["transient"]:
            raise OrchestratorError("INVALID_TRANSITION", f"model {key} is not transient")
        consumers_running = cascades.rows(
            f"SELECT 1 FROM {cascades.EDGES} e JOIN {cascades.TASKS} t ON t.key = e.child_id "
            f"WHERE e.parent_id = %s AND t.{cascades.NOT_TERMINAL} LIMIT 1",
            [row.compute_task_id],
        )
        if consumers_running:
            raise OrchestratorError("INVALID_TRANSITION", f"model {key} is still needed by a task")
        if not row.disabled:
            row.disabled = True
            row.save(update_fields=["disabled"])
            events.disabled("ASSET_MODEL", key, snapshots.model(row))
        return snapshots.model(row)


@retry_on_conflict
def register_performance(caller: Caller, new) -> dict:
    computetasks.check_sent_outputs(performances=[new])
    with recording(caller.channel) as events:
        return record_performance(caller, new, events)


def record_performance(caller: Caller, new, events, read_tasks: dict | None = None) -> dict:
    """Registers a performance in the caller's transaction (see `register_performance`)."""
    identifier = new.compute_task_output_identifier
    task, declaration, _ = _producing_task(caller, new.compute_task_key, identifier, read_tasks)
    if declaration["kind"] != "ASSET_PERFORMANCE":
        raise OrchestratorError(
            "OUTPUT_KIND_MISMATCH", f"output {new.compute_task_output_identifier!r} is not a performance"
        )
    existing = Performance.objects.filter(
        compute_task_id=task["key"], identifier=new.compute_task_output_identifier
    ).first()
    if existing is not None:
        if existing.value != new.performance_value:
            raise OrchestratorError("CONFLICT", f"task {task['key']} already has this performance")
        return snapshots.performance(existing)
    row = Performance.objects.create(
        channel=caller.channel,
        compute_task_id=task["key"],
        identifier=new.compute_task_output_identifier,
        value=new.performance_value,
        creation_date=now(),
    )
    snapshot = snapshots.performance(row)
    events.created("ASSET_PERFORMANCE", task["key"], snapshot)
    return snapshot


@retry_on_conflict
def register_failure_report(caller: Caller, new, asset_kind: str, error_type: str) -> dict:
    """A failed task (or a failed image build) is recorded with the address of its logs, which
    stay on the worker's backend. The task, or the function's tasks, fail with their plans."""
    key = check_key(new.asset_key, "asset key")
    if error_type not in ERROR_TYPES:
        raise OrchestratorError("INVALID_FIELD", f"unknown error type {error_type}")
    logs_checksum = check_checksum(new.logs_address.checksum, "logs checksum", required=False)
    logs_address = check_address(new.logs_address.storage_address, "logs address", required=False)
    existing = FailureReport.objects.filter(asset_key=key, channel=caller.channel).first()
    if existing is not None:
        same = (existing.asset_kind, existing.error_type, existing.logs_checksum, existing.logs_address, existing.owner)
        if same != (asset_kind, error_type, logs_checksum, logs_address, caller.org):
            raise OrchestratorError("CONFLICT", f"asset {key} already has a different failure report")
        return snapshots.failure_report(existing)
    with recording(caller.channel) as events:
        if asset_kind == "ASSET_COMPUTE_TASK":
            computetasks.fail_task(caller, key, error_type, events)
        elif asset_kind == "ASSET_FUNCTION":
            _fail_function(caller, key, error_type, events)
        else:
            raise OrchestratorError("INVALID_FIELD", f"failure reports are for tasks and functions, not {asset_kind}")
        row = FailureReport.objects.create(
            asset_key=key,
            channel=caller.channel,
            asset_kind=asset_kind,
            error_type=error_type,
            logs_checksum=new.logs_address.checksum,
            logs_address=new.logs_address.storage_address,
            owner=caller.org,
            creation_date=now(),
        )
        snapshot = snapshots.failure_report(row)
        events.created("ASSET_FAILURE_REPORT", key, snapshot)
        return snapshot


def get_failure_report(caller: Caller, key: str) -> dict:
    key = existing_key(key, "failure report of")
    row = FailureReport.objects.filter(asset_key=key, channel=caller.channel).first()
    if row is None:
        raise OrchestratorError("NOT_FOUND", f"no failure report for {key}")
    return snapshots.failure_report(row)


def _fail_function(caller: Caller, key: str, error_type: str, events) -> None:
    function = Function.objects.select_for_update().filter(key=key, channel=caller.channel).first()
    if function is None:
        raise OrchestratorError("NOT_FOUND", f"function {key} not found")
    if function.owner != caller.org:
        raise OrchestratorError("PERMISSION_DENIED", f"only its owner {function.owner} reports its build")
    if function.status not in ("FUNCTION_STATUS_WAITING", "FUNCTION_STATUS_BUILDING"):
        raise OrchestratorError("INVALID_TRANSITION", f"function {key} is {function.status}, its build cannot fail")
    function.status = "FUNCTION_STATUS_FAILED"
    function.save(update_fields=["status"])
    events.updated("ASSET_FUNCTION", key, snapshots.function(function))
    cascades.end_tasks_of_function(key, "STATUS_FAILED", error_type, events)


def _producing_task(caller: Caller, task_key: str, identifier: str, read_tasks: dict | None = None):
    """The executing task of the calling worker, and the declaration of one of its outputs.
    `read_tasks` holds task rows the caller has already read (key -> row with function_outputs)."""
    task = (read_tasks or {}).get(task_key) or computetasks.task_row(caller, task_key, with_function_outputs=True)
    if task["worker"] != caller.org:
        raise OrchestratorError("PERMISSION_DENIED", f"only the worker {task['worker']} registers its outputs")
    if task["status"] != "STATUS_EXECUTING":
        raise OrchestratorError("INVALID_TRANSITION", f"task {task_key} is {task['status']}, not executing")
    declared = json.loads(task["function_outputs"])
    if identifier not in declared:
        raise OrchestratorError("UNKNOWN_OUTPUT", f"task {task_key} has no output {identifier!r}")
    return task, declared[identifier], json.loads(task["outputs"])[identifier]


def _same_model_or_conflict(existing: Model, candidate: Model) -> dict:
    same = (existing.compute_task_id, existing.identifier, existing.checksum, existing.address) == (
        candidate.compute_task_id,
        candidate.identifier,
        candidate.checksum,
        candidate.address,
    )
    if not same:
        raise OrchestratorError("CONFLICT", f"model {existing.key} already exists with a different content")
    return snapshots.model(existing)
