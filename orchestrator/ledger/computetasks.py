"""Compute tasks: registration in batches, and the transitions that workers and owners apply."""

import hashlib
import json
from dataclasses import dataclass, field
from json.encoder import encode_basestring as json_string  # as json.dumps(..., ensure_ascii=False)

from orchestrator import snapshots
from orchestrator.errors import OrchestratorError
from orchestrator.events import EventLog, recording, retry_on_conflict
from orchestrator.ledger import cascades, fast
from orchestrator.ledger.common import (
    Caller,
    can_process,
    canonical,
    check_addressable,
    check_finite,
    check_identifier,
    check_key,
    check_metadata,
    check_organization,
    check_organizations,
    check_tag,
    check_unique,
    existing_key,
    new_permission,
    now,
)
from orchestrator.ledger.organizations import known_organizations
from orchestrator.models import (
    ComputePlan,
    ComputeTask,
    DataManager,
    DataSample,
    Function,
    Model,
    Performance,
)

BATCH_MAX = 10_000
TODO = cascades.TODO
WAITING_PARENTS = cascades.WAITING_PARENTS
CANCELED = "STATUS_CANCELED"
INITIAL_STATUS_BY_FUNCTION = {
    "FUNCTION_STATUS_WAITING": "STATUS_WAITING_FOR_BUILDER_SLOT",
    "FUNCTION_STATUS_BUILDING": "STATUS_BUILDING",
}


@dataclass
class TaskSpec:
    """A registration request, validated for form and normalized."""

    key: str
    function_key: str
    plan_key: str
    worker: str
    tag: str
    metadata: dict
    inputs: list[dict]
    outputs: dict
    spec_hash: str = ""
    parent_keys: list[str] = field(default_factory=list)
    # Canonical JSON of `inputs` and `metadata`: the request's hash and the stored row share them.
    inputs_text: str = ""
    metadata_text: str = ""


@retry_on_conflict
def register_tasks(caller: Caller, new_tasks) -> list[dict]:
    """Registers a batch atomically. Tasks may come in any order inside the batch; tasks already
    registered with the same content are returned as they are (a retried batch succeeds)."""
    if not new_tasks:
        raise OrchestratorError("INVALID_FIELD", "no task to register")
    if len(new_tasks) > BATCH_MAX:
        raise OrchestratorError("LIMIT_EXCEEDED", f"a batch holds at most {BATCH_MAX} tasks")
    specs = [_parse(caller, new) for new in new_tasks]
    check_unique(spec.key for spec in specs)
    with recording(caller.channel) as events:
        existing = dict(ComputeTask.objects.filter(key__in=[s.key for s in specs]).values_list("key", "spec_hash"))
        for spec in specs:
            if spec.key in existing and existing[spec.key] != spec.spec_hash:
                raise OrchestratorError("CONFLICT", f"task {spec.key} already exists with a different content")
        created = _register(caller, [s for s in specs if s.key not in existing], events)
        if existing:
            rows = ComputeTask.objects.filter(key__in=list(existing)).values(*snapshots.TASK_COLUMNS)
            created.update({row["key"]: snapshots.compute_task(row) for row in rows})
        return [created[spec.key] for spec in specs]


def get_task(caller: Caller, key: str) -> dict:
    key = existing_key(key, "task")
    row = ComputeTask.objects.filter(key=key, channel=caller.channel).values(*snapshots.TASK_COLUMNS).first()
    if row is None:
        raise OrchestratorError("NOT_FOUND", f"task {key} not found")
    return snapshots.compute_task(row)


@retry_on_conflict
def apply_task_action(caller: Caller, key: str, action: str, models=(), performances=()) -> dict:
    """`models` and `performances` (with TASK_ACTION_DONE only) are registered in the same
    transaction as the Done: a task completes in one atomic write."""
    if (models or performances) and action != "TASK_ACTION_DONE":
        raise OrchestratorError("INVALID_FIELD", "outputs come with TASK_ACTION_DONE only")
    key = existing_key(key, "task")
    check_sent_outputs(models, performances)
    if fast.available():  # one statement for the common case; None: the general path decides
        snapshot = None
        if action == "TASK_ACTION_EXECUTING":
            snapshot = fast.start_task(caller, key)
        elif action == "TASK_ACTION_DONE" and not performances:
            snapshot = fast.finish_task(caller, key, models)
        if snapshot is not None:
            return snapshot
    with recording(caller.channel) as events:
        if action == "TASK_ACTION_EXECUTING":
            return _start(caller, key, events)
        if action == "TASK_ACTION_DONE":
            return _finish(caller, key, events, models, performances)
        if action == "TASK_ACTION_CANCELED":
            return _cancel(caller, key, events)
        raise OrchestratorError("INVALID_FIELD", f"unknown task action {action}")


def fail_task(caller: Caller, key: str, error_type: str, events: EventLog) -> dict:
    """The worker or the owner fails a task: its plan fails and the plan's pending tasks are canceled."""
    task = task_row(caller, key)
    if caller.org not in (task["worker"], task["owner"]):
        raise OrchestratorError("PERMISSION_DENIED", f"only the worker or the owner may fail task {key}")
    changed = cascades.rows(
        f"UPDATE {cascades.TASKS} SET status = 'STATUS_FAILED', error_type = %s, end_date = %s "
        f"WHERE key = %s AND {cascades.NOT_TERMINAL} RETURNING {cascades.TASK_RETURNING}",
        [error_type, now(), key],
    )
    if not changed:
        raise OrchestratorError("INVALID_TRANSITION", f"task {key} is {task['status']}, it cannot fail")
    cascades.tasks_updated(events, changed)
    cascades.end_plan(task["compute_plan_id"], events, failed_task_key=key)
    return snapshots.compute_task(changed[0])


def _start(caller: Caller, key: str, events: EventLog) -> dict:
    """Only the worker moves a To do task to Executing; the conditional update is the claim."""
    changed = cascades.rows(
        f"UPDATE {cascades.TASKS} SET status = 'STATUS_EXECUTING', start_date = %s "
        f"WHERE key = %s AND channel = %s AND worker = %s AND status = %s RETURNING {cascades.TASK_RETURNING}",
        [now(), key, caller.channel, caller.org, TODO],
    )
    if not changed:
        _refuse(caller, key, "start", lambda task: task["worker"])
    cascades.tasks_updated(events, changed)
    cascades.mark_plan_started(changed[0]["compute_plan_id"], events)
    return snapshots.compute_task(changed[0])


def _finish(caller: Caller, key: str, events: EventLog, models=(), performances=()) -> dict:
    """The worker marks its task Done once every output is registered; children follow."""
    from orchestrator.ledger import outputs  # outputs fails tasks through this module

    task = task_row(caller, key, with_function_outputs=True)
    if task["worker"] != caller.org:
        raise OrchestratorError("PERMISSION_DENIED", f"only the worker {task['worker']} may finish task {key}")
    if task["status"] == "STATUS_DONE" and _finished_with(key, models, performances):
        # The same Done again (its answer was lost, the worker retried): the same answer, no event.
        # The fast path answers None for a task that is not Executing, so it always lands here.
        return snapshots.compute_task(task)
    if task["status"] != "STATUS_EXECUTING":
        raise OrchestratorError("INVALID_TRANSITION", f"task {key} is {task['status']}, it cannot finish")
    for new in (*models, *performances):
        if new.compute_task_key != key:
            raise OrchestratorError("INVALID_FIELD", f"an output of task {new.compute_task_key} sent with task {key}")
    read = {key: task}  # the outputs' checks need the row read above, not a second read
    if models:
        outputs.record_models(caller, models, events, read)
    for performance in performances:
        outputs.record_performance(caller, performance, events, read)
    declared = json.loads(task["function_outputs"])
    sent = {new.compute_task_output_identifier for new in (*models, *performances)}
    if not set(declared) <= sent:
        _check_outputs_registered(key, declared)
    changed = cascades.rows(
        f"UPDATE {cascades.TASKS} SET status = 'STATUS_DONE', end_date = %s "
        f"WHERE key = %s AND channel = %s AND worker = %s AND status = 'STATUS_EXECUTING' "
        f"RETURNING {cascades.TASK_RETURNING}",
        [now(), key, caller.channel, caller.org],
    )
    if not changed:
        _refuse(caller, key, "finish", lambda task: task["worker"])
    cascades.tasks_updated(events, changed)
    cascades.unblock_children(key, events)
    cascades.count_task_done(changed[0]["compute_plan_id"], events)
    return snapshots.compute_task(changed[0])


def _finished_with(key: str, models, performances) -> bool:
    """Whether the task was finished with exactly these outputs (a retry), not different ones."""
    try:
        sent_models = {
            (
                check_key(new.key, "model key"),
                new.compute_task_output_identifier,
                *check_addressable(new.address, "model address"),
            )
            for new in models
        }
    except OrchestratorError:
        return False
    if any(new.compute_task_key != key for new in (*models, *performances)):
        return False
    sent_performances = {(new.compute_task_output_identifier, new.performance_value) for new in performances}
    registered_models = set(
        Model.objects.filter(compute_task_id=key).values_list("key", "identifier", "checksum", "address")
    )
    registered_performances = set(Performance.objects.filter(compute_task_id=key).values_list("identifier", "value"))
    return sent_models == registered_models and sent_performances == registered_performances


def _cancel(caller: Caller, key: str, events: EventLog) -> dict:
    """Canceling one task ends its plan, which could not go past it: so only the owner of the task
    and its plan may. A worker that cannot run a task fails it with a failure report instead."""
    task = task_row(caller, key)
    if caller.org != task["owner"]:
        raise OrchestratorError("PERMISSION_DENIED", f"only the owner {task['owner']} may cancel task {key}")
    if task["status"] in snapshots.TERMINAL_TASK_STATUSES:
        raise OrchestratorError("INVALID_TRANSITION", f"task {key} is {task['status']}, it cannot be canceled")
    cascades.end_plan(task["compute_plan_id"], events)
    return get_task(caller, key)


def _refuse(caller: Caller, key: str, verb: str, allowed_org) -> None:
    task = task_row(caller, key)
    if allowed_org(task) != caller.org:
        raise OrchestratorError("PERMISSION_DENIED", f"only the worker {task['worker']} may {verb} task {key}")
    raise OrchestratorError("INVALID_TRANSITION", f"task {key} is {task['status']}, it cannot {verb}")


def task_row(caller: Caller, key: str, with_function_outputs: bool = False) -> dict:
    """The task's columns (and its function's declared outputs): raw SQL on this hot path."""
    key = existing_key(key, "task")
    join = f" JOIN {Function._meta.db_table} f ON f.key = t.function_id" if with_function_outputs else ""
    extra = ", f.outputs AS function_outputs" if with_function_outputs else ""
    columns = ", ".join(f"t.{column}" for column in snapshots.TASK_COLUMNS)
    found = cascades.rows(
        f"SELECT {columns}{extra} FROM {cascades.TASKS} t{join} WHERE t.key = %s AND t.channel = %s",
        [key, caller.channel],
    )
    row = found[0] if found else None
    if row is None:
        raise OrchestratorError("NOT_FOUND", f"task {key} not found")
    return row


def _check_outputs_registered(key: str, declared_outputs: dict) -> None:
    models = Model.objects.filter(compute_task_id=key).values_list("identifier")
    performances = Performance.objects.filter(compute_task_id=key).values_list("identifier")
    produced = {identifier for (identifier,) in models.union(performances)}
    missing = set(declared_outputs) - produced
    if missing:
        raise OrchestratorError("MISSING_TASK_OUTPUT", f"task {key} has not registered outputs {sorted(missing)}")


# Registration


def _parse(caller: Caller, new) -> TaskSpec:
    key = check_key(new.key, "task key")
    check_tag(new.tag, f"tag of task {key}")
    inputs = []
    parent_keys = []
    for task_input in new.inputs:
        check_identifier(task_input.identifier, f"an input identifier of task {key}")
        if task_input.WhichOneof("ref") == "asset_key":
            ref = {"identifier": task_input.identifier, "asset_key": check_key(task_input.asset_key, "asset key")}
        elif task_input.WhichOneof("ref") == "parent_task_output":
            parent = check_key(task_input.parent_task_output.parent_task_key, "parent task key")
            output = check_identifier(
                task_input.parent_task_output.output_identifier, f"a parent output identifier of task {key}"
            )
            ref = {
                "identifier": task_input.identifier,
                "parent_task_output": {"parent_task_key": parent, "output_identifier": output},
            }
            if parent not in parent_keys:
                parent_keys.append(parent)
        else:
            raise OrchestratorError("INVALID_FIELD", f"input {task_input.identifier!r} of task {key} has no value")
        inputs.append(ref)
    outputs = {
        check_identifier(identifier, f"an output identifier of task {key}"): {
            "permissions": {
                "public": output.permissions.process.public,
                "authorized_ids": sorted(check_organizations(output.permissions.process.authorized_ids, "an org")),
            },
            "transient": output.transient,
        }
        for identifier, output in new.outputs.items()
    }
    spec = TaskSpec(
        key=key,
        function_key=check_key(new.function_key, "function key"),
        plan_key=check_key(new.compute_plan_key, "compute plan key"),
        worker=check_organization(new.worker, f"worker of task {key}"),
        tag=new.tag,
        metadata=check_metadata(new.metadata),
        inputs=inputs,
        outputs=outputs,
        parent_keys=parent_keys,
    )
    spec.inputs_text = canonical(spec.inputs)
    spec.metadata_text = canonical(spec.metadata)
    # canonical([channel, caller, function, plan, worker, tag, metadata, inputs, outputs]), put
    # together from its elements' canonical texts.
    q = json_string
    request = (
        f"[{q(caller.channel)},{q(caller.org)},{q(spec.function_key)},{q(spec.plan_key)},{q(spec.worker)},"
        f"{q(spec.tag)},{spec.metadata_text},{spec.inputs_text},{canonical(spec.outputs)}]"
    )
    spec.spec_hash = hashlib.sha256(request.encode()).hexdigest()
    return spec


def check_sent_outputs(models=(), performances=()) -> None:
    """The text and numbers of the models and performances a worker sends, before anything is read
    or written (the fast path hands them to the database as they are)."""
    for new in (*models, *performances):
        check_key(new.compute_task_key, "task key of an output")
        check_identifier(new.compute_task_output_identifier, "output identifier")
    for new in models:
        check_key(new.key, "model key")
        check_addressable(new.address, "model address")
    for new in performances:
        check_finite(new.performance_value, "performance value")


def _topological(specs: list[TaskSpec]) -> list[TaskSpec]:
    by_key = {spec.key: spec for spec in specs}
    waiting_on = {spec.key: {p for p in spec.parent_keys if p in by_key} for spec in specs}
    children: dict[str, list[str]] = {}
    for key, parents in waiting_on.items():
        for parent in parents:
            children.setdefault(parent, []).append(key)
    ready = [spec.key for spec in specs if not waiting_on[spec.key]]
    ordered = []
    while ready:
        key = ready.pop()
        ordered.append(by_key[key])
        for child in children.get(key, ()):
            waiting_on[child].discard(key)
            if not waiting_on[child]:
                ready.append(child)
    if len(ordered) != len(specs):
        stuck = sorted(key for key, parents in waiting_on.items() if parents)
        raise OrchestratorError("CYCLE", f"tasks depend on each other in a cycle: {stuck[:5]}")
    return ordered


class _BatchContext:
    """Everything the batch refers to, loaded in a few queries."""

    def __init__(self, caller: Caller, specs: list[TaskSpec]):
        channel = caller.channel
        batch_keys = {s.key for s in specs}
        db_parent_keys = {p for s in specs for p in s.parent_keys} - batch_keys
        # Share locks, taken in the cascades' order (function, tasks, then plan): a parent being
        # marked Done, or a function becoming ready, waits for this batch to commit and then sees
        # its tasks, or has committed and is seen by this batch. Either way no task is stranded.
        cascades.lock_for_share(Function, {s.function_key for s in specs})
        cascades.lock_for_share(ComputeTask, db_parent_keys)
        plan_keys = sorted({s.plan_key for s in specs})
        self.plans = {
            row["key"]: row
            for row in ComputePlan.objects.select_for_update()
            .filter(key__in=plan_keys, channel=channel)
            .order_by("key")
            .values(*cascades.PLAN_COLUMNS)
        }
        self.parents = {
            row["key"]: {**row, "outputs": json.loads(row["outputs"])}
            for row in ComputeTask.objects.filter(key__in=db_parent_keys, channel=channel).values(
                "key", "function_id", "status", "rank", "outputs", "worker", "compute_plan_id"
            )
        }
        # Outputs whose model was deleted (a transient output, once its consumers ended).
        self.disabled_outputs = set(
            Model.objects.filter(compute_task_id__in=db_parent_keys, disabled=True).values_list(
                "compute_task_id", "identifier"
            )
        )
        function_keys = {s.function_key for s in specs} | {p["function_id"] for p in self.parents.values()}
        self.functions = {
            row["key"]: row
            for row in Function.objects.filter(key__in=function_keys, channel=channel).values(
                "key", "owner", "permissions", "inputs", "outputs", "status"
            )
        }
        for row in self.functions.values():
            row["permissions"] = json.loads(row["permissions"])
            row["inputs"] = json.loads(row["inputs"])
            row["outputs"] = json.loads(row["outputs"])
        asset_keys = {ref["asset_key"] for s in specs for ref in s.inputs if "asset_key" in ref}
        self.data_managers = {
            row["key"]: row
            for row in DataManager.objects.filter(key__in=asset_keys, channel=channel).values(
                "key", "owner", "permissions", "logs_permission"
            )
        }
        self.data_samples = {
            key: set()
            for key in DataSample.objects.filter(key__in=asset_keys, channel=channel).values_list("key", flat=True)
        }
        links = DataSample.data_managers.through.objects.filter(datasample_id__in=self.data_samples)
        for sample, manager in links.values_list("datasample_id", "datamanager_id"):
            self.data_samples[sample].add(manager)
        self.models = {
            row["key"]: row
            for row in Model.objects.filter(key__in=asset_keys, channel=channel).values(
                "key", "permissions", "disabled"
            )
        }
        self.known_orgs = known_organizations(channel)


def _register(caller: Caller, specs: list[TaskSpec], events: EventLog) -> dict[str, dict]:
    if not specs:
        return {}
    ordered = _topological(specs)
    context = _BatchContext(caller, specs)
    created_at = now()
    edges, texts, snapshots_by_key = [], [], {}
    tasks_per_plan: dict[str, int] = {}
    # Each task is inserted as soon as it is checked: the database inserts it while the next ones
    # are checked. A later refusal aborts the insert and the transaction with it.
    with cascades.row_writer(ComputeTask, TASK_INSERT_COLUMNS) as insert:
        for spec in ordered:
            row, snapshot = _validated_row(caller, spec, context, created_at)
            insert(row)
            texts.append(snapshots.compute_task_json(row))
            edges += [(spec.key, parent) for parent in spec.parent_keys]
            tasks_per_plan[spec.plan_key] = tasks_per_plan.get(spec.plan_key, 0) + 1
            # Later tasks of the batch see this one as a known parent.
            context.parents[spec.key] = {
                **{key: row[key] for key in ("function_id", "status", "rank", "worker", "compute_plan_id")},
                "outputs": snapshot["outputs"],
            }
            snapshots_by_key[spec.key] = snapshot
    cascades.insert_edges(edges)
    for spec, text in zip(ordered, texts, strict=True):
        events.created("ASSET_COMPUTE_TASK", spec.key, text)
    for plan_key, count in sorted(tasks_per_plan.items()):
        _count_new_tasks(plan_key, count, context.plans[plan_key], events)
    born_ended_plans = sorted({spec.plan_key for spec in ordered if snapshots_by_key[spec.key]["status"] == CANCELED})
    if born_ended_plans:
        # Like a plan whose task failed, it could never complete: it ends, and the answer shows
        # the batch's tasks as the plan's end left them.
        for plan_key in born_ended_plans:
            cascades.end_plan(plan_key, events)
        rows = ComputeTask.objects.filter(key__in=list(snapshots_by_key)).values(*snapshots.TASK_COLUMNS)
        snapshots_by_key.update({row["key"]: snapshots.compute_task(row) for row in rows})
    return snapshots_by_key


def _count_new_tasks(plan_key: str, count: int, before: dict, events: EventLog) -> None:
    (after,) = cascades.rows(
        f"UPDATE {cascades.PLANS} SET task_count = task_count + %s, end_date = NULL "
        f"WHERE key = %s RETURNING {cascades.PLAN_RETURNING}",
        [count, plan_key],
    )
    if snapshots.plan_status(after) != snapshots.plan_status(before):
        events.updated("ASSET_COMPUTE_PLAN", plan_key, snapshots.compute_plan(after))


TASK_INSERT_COLUMNS = (
    "key", "channel", "compute_plan_id", "function_id", "owner", "worker", "rank", "status", "tag", "metadata",
    "inputs", "outputs", "logs_permission", "parent_task_keys", "pending_parents", "error_type", "spec_hash",
    "creation_date", "start_date", "end_date",
)  # fmt: skip


def _validated_row(caller: Caller, spec: TaskSpec, context: _BatchContext, created_at) -> tuple[dict, dict]:
    """The task's row (JSON columns as canonical text) and its snapshot."""
    key = spec.key
    plan = context.plans.get(spec.plan_key)
    if plan is None:
        raise OrchestratorError("NOT_FOUND", f"compute plan {spec.plan_key} of task {key} not found")
    if plan["owner"] != caller.org:
        raise OrchestratorError("PERMISSION_DENIED", f"only the owner of compute plan {spec.plan_key} adds tasks")
    if plan["cancelation_date"] or plan["failure_date"]:
        raise OrchestratorError("PLAN_TERMINATED", f"compute plan {spec.plan_key} is failed or canceled")
    if spec.worker not in context.known_orgs:
        raise OrchestratorError("UNKNOWN_ORGANIZATION", f"worker {spec.worker!r} of task {key} is unknown")
    function = context.functions.get(spec.function_key)
    if function is None:
        raise OrchestratorError("UNKNOWN_ASSET", f"function {spec.function_key} of task {key} not found")
    _check_may_process(caller, spec, function["permissions"], f"function {spec.function_key}")

    data_manager, parents_not_done, parent_ended, rank = _check_inputs(caller, spec, function, context)
    outputs = _checked_outputs(spec, function, context.known_orgs)
    if data_manager is not None:
        logs_permission = json.loads(data_manager["logs_permission"])
    else:
        logs_permission = {"public": False, "authorized_ids": sorted({caller.org, spec.worker})}
    # A task that can never run (its function's build failed or was canceled, a parent failed or
    # was canceled) is accepted, as on Substra, but born canceled; _register then ends its plan.
    born_ended = parent_ended or function["status"] in ("FUNCTION_STATUS_FAILED", "FUNCTION_STATUS_CANCELED")
    if born_ended:
        status = CANCELED
    elif function["status"] in INITIAL_STATUS_BY_FUNCTION:
        status = INITIAL_STATUS_BY_FUNCTION[function["status"]]
    else:
        status = WAITING_PARENTS if parents_not_done else TODO
    values = {
        "key": key,
        "channel": caller.channel,
        "compute_plan_id": spec.plan_key,
        "function_id": spec.function_key,
        "owner": caller.org,
        "worker": spec.worker,
        "rank": rank,
        "status": status,
        "tag": spec.tag,
        "metadata": spec.metadata,
        "inputs": spec.inputs,
        "outputs": outputs,
        "logs_permission": logs_permission,
        "parent_task_keys": spec.parent_keys,
        "pending_parents": parents_not_done,
        "error_type": "",
        "spec_hash": spec.spec_hash,
        "creation_date": created_at,
        "start_date": None,
        "end_date": created_at if born_ended else None,
    }
    # The snapshot is built from the values themselves, not parsed back from the stored text.
    row = {
        **values,
        "metadata": spec.metadata_text,
        "inputs": spec.inputs_text,
        "outputs": canonical(outputs),
        "logs_permission": canonical(logs_permission),
        "parent_task_keys": "[" + ",".join(json_string(key) for key in spec.parent_keys) + "]",
    }
    return row, snapshots.compute_task(values)


def _check_may_process(caller: Caller, spec: TaskSpec, permission: dict, what: str) -> None:
    if not can_process(permission, caller.org):
        raise OrchestratorError("PERMISSION_DENIED", f"{caller.org} may not process {what}")
    if not can_process(permission, spec.worker):
        raise OrchestratorError("WORKER_NOT_PERMITTED", f"worker {spec.worker} may not process {what}")


def _check_inputs(caller: Caller, spec: TaskSpec, function: dict, context: _BatchContext):
    """Checks every input against the function's declaration and the worker's permissions.
    Returns the task's data manager (or None), the number of parents not Done, whether a parent
    failed or was canceled, and the rank."""
    declared = function["inputs"]
    counts: dict[str, int] = {}
    data_manager = None
    samples = []
    for ref in spec.inputs:
        identifier = ref["identifier"]
        if identifier not in declared:
            raise OrchestratorError("UNKNOWN_INPUT", f"function has no input {identifier!r} (task {spec.key})")
        counts[identifier] = counts.get(identifier, 0) + 1
        if counts[identifier] > 1 and not declared[identifier]["multiple"]:
            raise OrchestratorError("INPUT_MULTIPLICITY", f"input {identifier!r} takes one value (task {spec.key})")
        expected = declared[identifier]["kind"]
        if "asset_key" in ref:
            kind = _kind_of_asset(ref["asset_key"], context)
            _check_kind(spec, identifier, expected, kind)
            if kind == "ASSET_DATA_MANAGER":
                data_manager = context.data_managers[ref["asset_key"]]
                _check_data_manager(caller, spec, data_manager)
            elif kind == "ASSET_DATA_SAMPLE":
                samples.append(ref["asset_key"])
            else:
                model = context.models[ref["asset_key"]]
                if model["disabled"]:
                    raise OrchestratorError("UNKNOWN_ASSET", f"model {model['key']} was deleted (task {spec.key})")
                if not can_process(json.loads(model["permissions"]), spec.worker):
                    raise OrchestratorError(
                        "WORKER_NOT_PERMITTED", f"worker {spec.worker} may not process model {model['key']}"
                    )
        else:
            _check_parent_output(spec, identifier, expected, ref["parent_task_output"], context)
    for identifier, declaration in declared.items():
        if not declaration["optional"] and identifier not in counts:
            raise OrchestratorError("MISSING_INPUT", f"task {spec.key} lacks required input {identifier!r}")
    for sample in samples:
        if data_manager is None or data_manager["key"] not in context.data_samples[sample]:
            raise OrchestratorError(
                "DATA_SAMPLE_NOT_LINKED", f"data sample {sample} is not linked to the data manager of task {spec.key}"
            )
    parents = [context.parents[key] for key in spec.parent_keys]
    parent_ended = any(parent["status"] in ("STATUS_FAILED", CANCELED) for parent in parents)
    not_done = sum(1 for parent in parents if parent["status"] != "STATUS_DONE")
    rank = 1 + max(parent["rank"] for parent in parents) if parents else 0
    return data_manager, not_done, parent_ended, rank


def _kind_of_asset(key: str, context: _BatchContext) -> str:
    if key in context.data_managers:
        return "ASSET_DATA_MANAGER"
    if key in context.data_samples:
        return "ASSET_DATA_SAMPLE"
    if key in context.models:
        return "ASSET_MODEL"
    raise OrchestratorError("UNKNOWN_ASSET", f"asset {key} not found in the channel")


def _check_kind(spec: TaskSpec, identifier: str, expected: str, kind: str) -> None:
    if kind != expected:
        raise OrchestratorError(
            "INPUT_KIND_MISMATCH", f"input {identifier!r} takes {expected}, got {kind} (task {spec.key})"
        )


def _check_data_manager(caller: Caller, spec: TaskSpec, data_manager: dict) -> None:
    what = f"data manager {data_manager['key']}"
    if not can_process(json.loads(data_manager["permissions"]), caller.org):
        raise OrchestratorError("PERMISSION_DENIED", f"{caller.org} may not process {what}")
    if spec.worker != data_manager["owner"]:
        raise OrchestratorError(
            "WORKER_NOT_PERMITTED",
            f"data stays with its owner: task {spec.key} on {what} must run on "
            f"{data_manager['owner']}, not {spec.worker}",
        )


def _check_parent_output(spec: TaskSpec, identifier: str, expected: str, ref: dict, context: _BatchContext):
    parent = context.parents.get(ref["parent_task_key"])
    if parent is None:
        raise OrchestratorError("UNKNOWN_PARENT", f"parent task {ref['parent_task_key']} of {spec.key} not found")
    # The parent may be in another plan: when that plan ends first, cascades.end_plan ends this one.
    parent_outputs = context.functions[parent["function_id"]]["outputs"]
    output = ref["output_identifier"]
    if output not in parent_outputs:
        raise OrchestratorError(
            "UNKNOWN_PARENT_OUTPUT", f"parent task {ref['parent_task_key']} has no output {output!r}"
        )
    _check_kind(spec, identifier, expected, parent_outputs[output]["kind"])
    if (ref["parent_task_key"], output) in context.disabled_outputs:
        # Substra's wording ("has been disabled"), which its end-to-end suite looks for.
        raise OrchestratorError(
            "UNKNOWN_ASSET",
            f"output {output!r} of task {ref['parent_task_key']} has been disabled: "
            f"its transient model was deleted (task {spec.key})",
        )
    permission = parent["outputs"][output]["permissions"]["process"]
    if not can_process(permission, spec.worker):
        raise OrchestratorError(
            "WORKER_NOT_PERMITTED",
            f"worker {spec.worker} may not process output {output!r} of task {ref['parent_task_key']}",
        )


def _checked_outputs(spec: TaskSpec, function: dict, known_orgs: set[str]) -> dict:
    declared = function["outputs"]
    for identifier in spec.outputs:
        if identifier not in declared:
            raise OrchestratorError("UNKNOWN_OUTPUT", f"function has no output {identifier!r} (task {spec.key})")
    outputs = {}
    for identifier, declaration in declared.items():
        requested = spec.outputs.get(identifier)
        if requested is None:
            raise OrchestratorError("MISSING_OUTPUT", f"task {spec.key} sets no permissions for {identifier!r}")
        permission = new_permission(_Permission(**requested["permissions"]), spec.worker, known_orgs)
        if declaration["kind"] == "ASSET_PERFORMANCE" and (not permission["public"] or requested["transient"]):
            raise OrchestratorError(
                "PERFORMANCE_NOT_PUBLIC", f"performance output {identifier!r} of task {spec.key} must be public"
            )
        outputs[identifier] = {"permissions": {"process": permission}, "transient": requested["transient"]}
    return outputs


@dataclass
class _Permission:
    public: bool
    authorized_ids: list[str]
