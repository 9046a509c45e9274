"""What the plan pages show, computed from the mirror with few queries: a page of plans with
their task counts (two queries), a plan's tasks for the workflow graph (one query), its
performances by metric, round and organization (one query)."""

import csv
import io
from collections import defaultdict
from dataclasses import asdict

from django.conf import settings

from substrapp import computation
from substrapp.models import ComputePlan, ComputeTask

# Task statuses in the order the console lists them, with a short label.
STATUS_LABELS = {
    "STATUS_WAITING_FOR_BUILDER_SLOT": "waiting for builder",
    "STATUS_BUILDING": "building",
    "STATUS_WAITING_FOR_PARENT_TASKS": "waiting for parents",
    "STATUS_WAITING_FOR_EXECUTOR_SLOT": "to do",
    "STATUS_EXECUTING": "executing",
    "STATUS_DONE": "done",
    "STATUS_FAILED": "failed",
    "STATUS_CANCELED": "canceled",
}
STATUS_CODES = {status: code for code, status in enumerate(STATUS_LABELS)}
PLAN_ENDED = {"PLAN_STATUS_DONE", "PLAN_STATUS_FAILED", "PLAN_STATUS_CANCELED"}


def duration_seconds(item) -> int | None:
    if item.start_date is None or item.end_date is None:
        return None
    return int((item.end_date - item.start_date).total_seconds())


def plan_summaries(plans: list[ComputePlan]) -> list[dict]:
    """Each plan with its tasks by status: one GROUP BY for the whole page."""
    counts = ComputeTask.objects.counts_by_plan([plan.key for plan in plans])
    return [plan_summary(plan, asdict(counts[plan.key])) for plan in plans]


def plan_summary(plan: ComputePlan, counts: dict) -> dict:
    total = counts["task_count"]
    return {
        "key": plan.key,
        "name": plan.name,
        "status": plan.status,
        "owner": plan.owner,
        "creator": creator_of(plan),
        "tag": plan.tag,
        "metadata": plan.metadata,
        "creation_date": plan.creation_date.isoformat(),
        "duration": duration_seconds(plan),
        "counts": counts,
        "done_percent": round(100 * counts["done_count"] / total) if total else 0,
        "cancelable": may_cancel(plan),
    }


def creator_of(plan: ComputePlan) -> str:
    """The user who registered the plan here (PlanCreator), else only its organization: the ledger
    knows no user, and a plan registered elsewhere has no creator here."""
    record = getattr(plan, "creator_record", None)
    return f"{record.username} ({plan.owner})" if record is not None else plan.owner


def may_cancel(plan: ComputePlan) -> bool:
    """The orchestrator lets the plan's owner cancel it, and only while it runs."""
    return plan.owner == settings.ORG_ID and plan.status not in PLAN_ENDED


# The graph's order of tasks: the structure and each poll's statuses list them alike.
GRAPH_ORDER = ("rank", "worker", "creation_date", "key")


def task_graph(plan: ComputePlan) -> dict:
    """The plan's tasks for the workflow graph, as parallel arrays (compact at 10,000 tasks):
    key, rank, worker (index into `workers`), status (index into `statuses`), parents (indexes
    into the arrays). Fetched once by a page; the polls then bring `task_statuses` only."""
    rows = list(
        ComputeTask.objects.filter(compute_plan=plan)
        .order_by(*GRAPH_ORDER)
        .values_list("key", "rank", "worker", "status", "parent_task_keys")
    )
    index = {row[0]: i for i, row in enumerate(rows)}
    workers = sorted({row[2] for row in rows})
    worker_index = {worker: i for i, worker in enumerate(workers)}
    return {
        "statuses": list(STATUS_LABELS),
        "workers": workers,
        "keys": [row[0] for row in rows],
        "ranks": [row[1] for row in rows],
        "worker": [worker_index[row[2]] for row in rows],
        "status": [STATUS_CODES.get(row[3], 0) for row in rows],
        "parents": [[index[p] for p in row[4] if p in index] for row in rows],
    }


def task_statuses(plan: ComputePlan) -> list[int]:
    """Each task's status code, in the graph's order: what changes while a plan runs."""
    rows = ComputeTask.objects.filter(compute_plan=plan).order_by(*GRAPH_ORDER).values_list("status", flat=True)
    return [STATUS_CODES.get(status, 0) for status in rows]


def performance_series(plan: ComputePlan) -> list[dict]:
    """One chart per metric (the function and output that measured it): its value by round for
    each organization, and the average over organizations. A task without `round_idx` metadata
    is placed by its rank."""
    by_metric = defaultdict(lambda: defaultdict(dict))
    for row in computation.performance_rows(plan):
        task = row["compute_task"]
        metric = f"{row['identifier']} ({task['function_key'][:8]})"
        x = task["round_idx"] if task["round_idx"] is not None else task["rank"]
        by_metric[metric][task["worker"]][x] = row["perf"]
    return [_metric_series(metric, per_org) for metric, per_org in sorted(by_metric.items())]


def _metric_series(metric: str, per_org: dict) -> dict:
    rounds = sorted({x for values in per_org.values() for x in values})
    series = [{"name": org, "values": [values.get(x) for x in rounds]} for org, values in sorted(per_org.items())]
    averages = []
    for i in range(len(rounds)):
        known = [s["values"][i] for s in series if s["values"][i] is not None]
        averages.append(sum(known) / len(known) if known else None)
    # The same values row by row, for the table that carries the chart to screen readers.
    rows = [(x, [s["values"][i] for s in series], averages[i]) for i, x in enumerate(rounds)]
    return {"metric": metric, "rounds": rounds, "series": series, "average": averages, "rows": rows}


def performances_csv(plan: ComputePlan) -> str:
    """The plan's performances, one row per task output, as `get_performances` reads them."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["task_key", "rank", "round_idx", "worker", "function_key", "identifier", "performance"])
    for row in computation.performance_rows(plan):
        task = row["compute_task"]
        writer.writerow(
            [
                task["key"],
                task["rank"],
                task["round_idx"],
                spreadsheet_safe(task["worker"]),
                task["function_key"],
                spreadsheet_safe(row["identifier"]),
                row["perf"],
            ]
        )
    return out.getvalue()


def spreadsheet_safe(text: str) -> str:
    """A name chosen by another organization or a data scientist, kept from being read as a
    formula when the CSV is opened in a spreadsheet."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
