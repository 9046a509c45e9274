"""State changes that spread over many tasks, each one SQL statement whatever the number of tasks:
unblocking children, gating tasks on their function's build, ending a plan.

Row locks are taken in one order: function, then tasks, then their plan, then the channel head
(events), so that concurrent changes rarely deadlock; when they do, the database aborts one and
`retry_on_conflict` runs it again. Registration takes share locks on the functions and parent
tasks it reads, so that a concurrent cascade either sees the new tasks or is seen by them."""

from contextlib import contextmanager

from django.db import connection

from orchestrator import snapshots
from orchestrator.events import EventLog
from orchestrator.ledger.common import now
from orchestrator.models import ComputePlan, ComputeTask, Function, TaskParent

TASKS = ComputeTask._meta.db_table
PLANS = ComputePlan._meta.db_table
EDGES = TaskParent._meta.db_table
FUNCTIONS = Function._meta.db_table
TASK_RETURNING = ", ".join(snapshots.TASK_COLUMNS)
PLAN_COLUMNS = (
    "key",
    "name",
    "owner",
    "tag",
    "metadata",
    "task_count",
    "done_count",
    "failed_task_key",
    "creation_date",
    "start_date",
    "end_date",
    "cancelation_date",
    "failure_date",
)
PLAN_RETURNING = ", ".join(PLAN_COLUMNS)
NOT_TERMINAL = "status NOT IN ('STATUS_DONE', 'STATUS_FAILED', 'STATUS_CANCELED')"
TODO = "STATUS_WAITING_FOR_EXECUTOR_SLOT"
WAITING_PARENTS = "STATUS_WAITING_FOR_PARENT_TASKS"


def rows(sql: str, params) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


def tasks_updated(events: EventLog, changed: list[dict]) -> None:
    for row in changed:
        events.updated("ASSET_COMPUTE_TASK", row["key"], snapshots.compute_task(row))


def unblock_children(parent_key: str, events: EventLog) -> None:
    """One parent is Done: each child counts one pending parent less, and a child whose last
    parent this was (and whose function is built) becomes To do. The decrement runs under each
    child's row lock, so two parents finishing together unblock their child exactly once."""
    changed = rows(
        f"UPDATE {TASKS} SET pending_parents = pending_parents - 1, "
        f"status = CASE WHEN pending_parents = 1 AND status = %s THEN %s ELSE status END "
        f"WHERE key IN (SELECT child_id FROM {EDGES} WHERE parent_id = %s) AND {NOT_TERMINAL} "
        f"RETURNING {TASK_RETURNING}, pending_parents",
        [WAITING_PARENTS, TODO, parent_key],
    )
    tasks_updated(events, [row for row in changed if row["status"] == TODO and row["pending_parents"] == 0])


def start_building_tasks(function_key: str, events: EventLog) -> None:
    changed = rows(
        f"UPDATE {TASKS} SET status = 'STATUS_BUILDING' "
        f"WHERE function_id = %s AND status = 'STATUS_WAITING_FOR_BUILDER_SLOT' RETURNING {TASK_RETURNING}",
        [function_key],
    )
    tasks_updated(events, changed)


def release_built_tasks(function_key: str, events: EventLog) -> None:
    changed = rows(
        f"UPDATE {TASKS} SET status = CASE WHEN pending_parents = 0 THEN %s ELSE %s END "
        f"WHERE function_id = %s AND status IN ('STATUS_WAITING_FOR_BUILDER_SLOT', 'STATUS_BUILDING') "
        f"RETURNING {TASK_RETURNING}",
        [TODO, WAITING_PARENTS, function_key],
    )
    tasks_updated(events, changed)


def end_tasks_of_function(function_key: str, status: str, error_type: str, events: EventLog) -> None:
    """The function's image failed or was canceled: its pending tasks end, and so do their plans."""
    changed = rows(
        f"UPDATE {TASKS} SET status = %s, error_type = %s, end_date = %s "
        f"WHERE function_id = %s AND {NOT_TERMINAL} RETURNING {TASK_RETURNING}",
        [status, error_type, now(), function_key],
    )
    tasks_updated(events, changed)
    first_task_of_plan = {}
    for row in sorted(changed, key=lambda row: row["key"]):
        first_task_of_plan.setdefault(row["compute_plan_id"], row["key"])
    for plan_key, task_key in sorted(first_task_of_plan.items()):
        if status == "STATUS_FAILED":
            end_plan(plan_key, events, failed_task_key=task_key)
        else:
            end_plan(plan_key, events)


def end_plan(plan_key: str, events: EventLog, failed_task_key: str = "") -> dict:
    """Cancels every task of the plan that has not ended, in one statement, then marks the plan
    failed (when a task failed) or canceled. A plan that already ended keeps its first ending.

    The tasks are canceled again once the plan row is locked: a registration that held the plan
    row meanwhile has committed its tasks by then, and they must not outlive their plan."""
    moment = now()
    cancel_tasks = (
        f"UPDATE {TASKS} SET status = 'STATUS_CANCELED', end_date = %s "
        f"WHERE compute_plan_id = %s AND {NOT_TERMINAL} RETURNING {TASK_RETURNING}"
    )
    tasks_updated(events, rows(cancel_tasks, [moment, plan_key]))
    if failed_task_key:
        ending = "failure_date = %s, failed_task_key = %s, end_date = %s"
        params = [moment, failed_task_key, moment]
    else:
        ending = "cancelation_date = %s, end_date = %s"
        params = [moment, moment]
    ended = rows(
        f"UPDATE {PLANS} SET {ending} WHERE key = %s AND cancelation_date IS NULL AND failure_date IS NULL "
        f"RETURNING {PLAN_RETURNING}",
        [*params, plan_key],
    )
    tasks_updated(events, rows(cancel_tasks, [moment, plan_key]))
    if ended:
        events.updated("ASSET_COMPUTE_PLAN", plan_key, snapshots.compute_plan(ended[0]))
    for other_plan in _plans_waiting_on_ended_tasks_of(plan_key):
        end_plan(other_plan, events)
    _cancel_functions_no_task_needs(plan_key, events)
    return ended[0] if ended else plan_row(plan_key)


def _cancel_functions_no_task_needs(plan_key: str, events: EventLog) -> None:
    """A function of this plan still waiting for its build, whose every task has ended, is
    canceled rather than built for nothing (as on Substra). A task registered meanwhile ends
    with it, through end_tasks_of_function, instead of waiting for an image that never comes."""
    canceled = rows(
        # No alias for the updated table: SQLite (the embedded default) does not take one.
        f"UPDATE {FUNCTIONS} SET status = 'FUNCTION_STATUS_CANCELED' "
        f"WHERE {FUNCTIONS}.status = 'FUNCTION_STATUS_WAITING' "
        f"AND {FUNCTIONS}.key IN (SELECT function_id FROM {TASKS} WHERE compute_plan_id = %s) "
        f"AND NOT EXISTS (SELECT 1 FROM {TASKS} task WHERE task.function_id = {FUNCTIONS}.key AND task.{NOT_TERMINAL}) "
        f"RETURNING key",
        [plan_key],
    )
    for row in Function.objects.filter(key__in=[row["key"] for row in canceled]).order_by("key"):
        events.updated("ASSET_FUNCTION", row.key, snapshots.function(row))
        end_tasks_of_function(row.key, "STATUS_CANCELED", "", events)


def _plans_waiting_on_ended_tasks_of(plan_key: str) -> list[str]:
    """The other plans with a pending task whose parent, in this plan, ended without being Done.
    A task may take its parent from another plan (Substra allows it, the SDK's add_task makes a
    plan per task): that task can never run, so its own plan ends too, canceled."""
    found = rows(
        f"SELECT DISTINCT child.compute_plan_id FROM {TASKS} child "
        f"JOIN {EDGES} edge ON edge.child_id = child.key JOIN {TASKS} parent ON parent.key = edge.parent_id "
        f"WHERE parent.compute_plan_id = %s AND parent.status IN ('STATUS_FAILED', 'STATUS_CANCELED') "
        f"AND child.compute_plan_id <> %s AND child.{NOT_TERMINAL} ORDER BY child.compute_plan_id",
        [plan_key, plan_key],
    )
    return [row["compute_plan_id"] for row in found]


def insert_rows(model, rows: list[dict]) -> None:
    """Inserts many rows (dicts of column values): COPY on PostgreSQL, where Django's bulk insert
    would quote every value of its arrays in Python; bulk_create elsewhere."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**row) for row in rows], batch_size=1000)
        return
    columns = list(rows[0])
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[column] for column in columns])


@contextmanager
def row_writer(model, columns: tuple[str, ...]):
    """Yields `write(row)` for rows (dicts of column values) that are inserted as they are written:
    on PostgreSQL, into a COPY that the database processes while the caller prepares the next
    rows (no other statement may run on the connection meanwhile); elsewhere, at the end."""
    if connection.vendor != "postgresql":
        rows = []
        yield rows.append
        insert_rows(model, rows)
        return
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN") as copy:
            yield lambda row: copy.write_row([row[column] for column in columns])


def insert_edges(edges: list[tuple[str, str]]) -> None:
    """Inserts (child, parent) edges. On PostgreSQL, the COPY text is written in one piece: keys
    are canonical UUIDs (checked by the caller), which COPY takes as they are."""
    if not edges:
        return
    if connection.vendor != "postgresql":
        insert_rows(TaskParent, [{"child_id": child, "parent_id": parent} for child, parent in edges])
        return
    data = "".join([f"{child}\t{parent}\n" for child, parent in edges])
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {EDGES} (child_id, parent_id) FROM STDIN") as copy:
            copy.write(data)


def lock_for_share(model, keys) -> None:
    """Share-locks rows that a transaction reads and relies on (PostgreSQL; SQLite serializes
    writers on its own)."""
    if keys and connection.vendor == "postgresql":
        placeholders = ", ".join(["%s"] * len(keys))
        rows(f"SELECT key FROM {model._meta.db_table} WHERE key IN ({placeholders}) ORDER BY key FOR SHARE",
             sorted(keys))  # fmt: skip


def mark_plan_started(plan_key: str, events: EventLog) -> None:
    started = rows(
        f"UPDATE {PLANS} SET start_date = %s WHERE key = %s AND start_date IS NULL RETURNING {PLAN_RETURNING}",
        [now(), plan_key],
    )
    if started:
        events.updated("ASSET_COMPUTE_PLAN", plan_key, snapshots.compute_plan(started[0]))


def count_task_done(plan_key: str, events: EventLog) -> None:
    moment = now()
    (plan,) = rows(
        f"UPDATE {PLANS} SET done_count = done_count + 1, "
        f"end_date = CASE WHEN done_count + 1 = task_count THEN %s ELSE end_date END "
        f"WHERE key = %s RETURNING {PLAN_RETURNING}",
        [moment, plan_key],
    )
    if plan["done_count"] == plan["task_count"]:
        events.updated("ASSET_COMPUTE_PLAN", plan_key, snapshots.compute_plan(plan))


def plan_row(plan_key: str) -> dict:
    return ComputePlan.objects.filter(key=plan_key).values(*PLAN_COLUMNS).get()
