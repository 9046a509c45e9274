"""Read-only views of the mirror that the web frontend draws: a plan's workflow graph, the news
feed, step profiles of tasks and functions, the performance export (docs/frontend-contract.md).
Each is built with a fixed number of queries, whatever the size of the plan."""

import csv
import io

from django.conf import settings

from substrapp.computation import round_index
from substrapp.models import ComputePlan, ComputeTask, Function, Performance

# The worker's step names (substrapp/worker.py) as the frontend's profiling names them. As in
# Substra's backend, `download_function` is a step only where the function came from another
# organization: its owner's worker built the image when the function was registered.
TASK_STEPS = {
    "prepare_inputs": "prepare_inputs",
    "image": "download_function",
    "execution": "task_execution",
    "save_outputs": "save_outputs",
}
MICROSECONDS = 1_000_000


# The workflow graph


def workflow_graph(plan: ComputePlan) -> dict:
    """Every task of the plan with its function's input and output kinds, and an edge per input
    taken from a parent's output. Two queries: the tasks, then their few functions."""
    rows = list(
        ComputeTask.objects.filter(compute_plan=plan)
        .order_by("rank", "key")
        .values_list("key", "rank", "worker", "status", "inputs", "function_id")
    )
    functions = {
        key: (name, inputs, outputs)
        for key, name, inputs, outputs in Function.objects.filter(key__in={row[5] for row in rows}).values_list(
            "key", "name", "inputs", "outputs"
        )
    }
    tasks, edges = [], []
    for key, rank, worker, status, inputs, function_key in rows:
        name, input_specs, output_specs = functions[function_key]
        tasks.append(
            {
                "key": key,
                "rank": rank,
                "worker": worker,
                "status": status,
                "function_name": name,
                "inputs_specs": _plugs(input_specs),
                "outputs_specs": _plugs(output_specs),
            }
        )
        edges.extend(_edges_into(key, inputs))
    return {"tasks": tasks, "edges": edges}


def _plugs(specs: dict) -> list[dict]:
    return [{"identifier": identifier, "kind": spec.get("kind", "")} for identifier, spec in specs.items()]


def _edges_into(task_key: str, inputs: list[dict]) -> list[dict]:
    edges = []
    for item in inputs:
        parent = item.get("parent_task_output")
        if parent:
            edges.append(
                {
                    "source_task_key": parent["parent_task_key"],
                    "source_output_identifier": parent["output_identifier"],
                    "target_task_key": task_key,
                    "target_input_identifier": item["identifier"],
                }
            )
    return edges


# Profiling


def task_profile(task: ComputeTask) -> dict:
    """The steps this organization's worker timed for the task, in microseconds (empty for a task
    that ran elsewhere or has not run)."""
    execution = getattr(task, "execution", None)
    durations = execution.durations if execution is not None else {}
    skipped = {"image"} if task.function.owner == settings.ORG_ID else set()
    rundown = [
        {"step": name, "duration": int(durations[step] * MICROSECONDS)}
        for step, name in TASK_STEPS.items()
        if step in durations and step not in skipped
    ]
    total = (task.end_date - task.start_date) if task.start_date and task.end_date else None
    return {
        "compute_task_key": task.key,
        "task_duration": int(total.total_seconds() * MICROSECONDS) if total else None,
        "execution_rundown": rundown,
    }


def function_profile(function: Function) -> dict:
    """`build_image`: the longest wait for the function's image among its tasks run here, which
    is the run that built it (the others found it built). None before any ran here."""
    waits = [
        durations["image"]
        for durations in ComputeTask.objects.filter(function=function, execution__isnull=False)
        .values_list("execution__durations", flat=True)
        .iterator()
        if isinstance(durations, dict) and "image" in durations
    ]
    if not waits:
        return {"function_key": function.key, "duration": None, "execution_rundown": []}
    build = int(max(waits) * MICROSECONDS)
    return {
        "function_key": function.key,
        "duration": build,
        "execution_rundown": [{"step": "build_image", "duration": build}],
    }


# The news feed

PLAN_NEWS = [
    ("creation_date", "STATUS_CREATED"),
    ("start_date", "STATUS_DOING"),
    ("end_date", "STATUS_DONE"),
    ("failure_date", "STATUS_FAILED"),
    ("cancelation_date", "STATUS_CANCELED"),
]
IMPORTANT = {"STATUS_FAILED"}


def news_feed(plans, datasets, after=None, before=None, important_only=False, newest_first=True) -> list[dict]:
    """What happened to the channel's plans and datasets, one item per dated change."""
    items = []
    for field, status in PLAN_NEWS:
        if important_only and status not in IMPORTANT:
            continue
        if field == "end_date":
            plans_of_status = plans.filter(status="PLAN_STATUS_DONE")
        else:
            plans_of_status = plans
        dated = _in_range(plans_of_status.exclude(**{f"{field}__isnull": True}), field, after, before)
        for key, name, timestamp, failed_task in dated.values_list("key", "name", field, "failed_task_key"):
            detail = {"first_failed_task_key": failed_task} if status == "STATUS_FAILED" and failed_task else {}
            items.append(_news("ASSET_COMPUTE_PLAN", key, name, status, timestamp, detail))
    if not important_only:
        for key, name, timestamp in _in_range(datasets, "creation_date", after, before).values_list(
            "key", "name", "creation_date"
        ):
            items.append(_news("ASSET_DATA_MANAGER", key, name, "STATUS_CREATED", timestamp, {}))
    items.sort(key=lambda item: (item["timestamp"], item["asset_key"]), reverse=newest_first)
    return items


def _in_range(queryset, field, after, before):
    if after is not None:
        queryset = queryset.filter(**{f"{field}__gte": after})
    if before is not None:
        queryset = queryset.filter(**{f"{field}__lte": before})
    return queryset


def _news(kind, key, name, status, timestamp, detail) -> dict:
    return {
        "asset_kind": kind,
        "asset_key": key,
        "name": name,
        "status": status,
        "timestamp": timestamp,
        "detail": detail,
    }


# The performance export

EXPORT_COLUMNS = [
    "compute_plan_key",
    "compute_plan_name",
    "compute_plan_tag",
    "compute_plan_status",
    "compute_plan_start_date",
    "compute_plan_end_date",
]
# A cell that starts so is a formula to a spreadsheet: the export neutralizes it.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def performance_csv(plans, metadata_columns: list[str]) -> str:
    """One row per performance of these plans, with the plans' metadata columns asked for."""
    header = [*EXPORT_COLUMNS, *metadata_columns, "worker", "task_rank", "task_round", "identifier", "metric_name"]
    header.append("performance")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_cell(name) for name in header])
    performances = (
        Performance.objects.filter(compute_task__compute_plan__in=plans)
        .select_related("compute_task__compute_plan", "compute_task__function")
        .order_by("compute_task__compute_plan__creation_date", "compute_task__rank", "compute_task__worker")
    )
    for perf in performances.iterator():
        task, plan = perf.compute_task, perf.compute_task.compute_plan
        row = [plan.key, plan.name, plan.tag, plan.status, plan.start_date, plan.end_date]
        row += [plan.metadata.get(column, "") for column in metadata_columns]
        row += [task.worker, task.rank, round_index(task.metadata), perf.compute_task_output_identifier]
        row += [task.function.name, perf.performance_value]
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()


def _cell(value) -> str:
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    if isinstance(value, str) and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def metadata_keys(plans) -> list[str]:
    keys = set()
    for metadata in plans.values_list("metadata", flat=True).iterator():
        keys.update(metadata)
    return sorted(keys)
