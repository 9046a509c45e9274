"""A task's page: inputs and outputs with links, worker, rank, step durations, and the logs of a
failed task when this organization may read them (the API's rules: computation.failure_report_of)."""

from django.conf import settings
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from console.access import member_required
from console.plans import STATUS_LABELS, duration_seconds
from substrapp import computation
from substrapp.assetfiles import FileAccessDenied, FileElsewhere, OwnerNotFound, fetch_from_owner
from substrapp.models import ComputeTask, DataManager, Function, Model, TaskExecution
from substrapp.storage import open_stored

# A page shows the end of long logs; the whole file is the API's (/task/<key>/logs/).
MAX_LOG_CHARS = 100_000


@require_GET
@member_required
def task_detail(request, key):
    task = get_object_or_404(
        ComputeTask.objects.for_user(request.user).select_related("function", "compute_plan"), key=key
    )
    execution = TaskExecution.objects.filter(task=task).first()
    context = {
        "task": task,
        "status_label": STATUS_LABELS.get(task.status, task.status),
        "duration": duration_seconds(task),
        "inputs": [_linked(row) for row in computation.task_input_assets(task)],
        "outputs": [_linked(row) for row in computation.task_output_assets(task)],
        "parents": task.parent_task_keys,
        "execution": execution,
        "logs": _logs_of(task),
    }
    return render(request, "console/task.html", context)


def _linked(row: dict) -> dict:
    """An input or output row with the console page of its asset, where there is one."""
    asset = row["asset"]
    link = None
    if isinstance(asset, DataManager):
        link = ("console:dataset", asset.key)
    elif isinstance(asset, Function):
        link = ("console:function", asset.key)
    elif isinstance(asset, Model):
        link = ("console:task", asset.compute_task_id)
    return {**row, "link": link, "label": getattr(asset, "key", None) or getattr(asset, "performance_value", "")}


def _logs_of(task: ComputeTask) -> dict | None:
    """{"text"} of a failed task's logs, or {"error"} saying why they cannot be shown."""
    if task.status != "STATUS_FAILED":
        return None
    try:
        report = computation.failure_report_of(task)
        if report.owner != settings.ORG_ID:
            stream = fetch_from_owner(report.owner, task.channel, f"/task/{task.key}/logs/", report.logs_checksum)
        else:
            stream = open_stored(computation.own_task_logs(report))
        with stream:
            text = stream.read().decode("utf-8", errors="replace")
    except (computation.NotAvailable, computation.NotPermitted) as error:
        return {"error": str(error)}
    except (FileAccessDenied, FileElsewhere, OwnerNotFound, OSError) as error:  # the page still shows the task
        return {"error": f"The logs could not be fetched: {error}"}
    return {"text": text[-MAX_LOG_CHARS:], "cut": len(text) > MAX_LOG_CHARS, "error_type": task.error_type}
