"""What the event consumer hands to the workers, after the commit that mirrored it
(`transaction.on_commit`): a Celery message must never point at a row that may roll back.

- a task that became To do with this organization as worker → `run_compute_task`;
- a function of this organization that was registered (WAITING) → `build_function`;
- a plan that ended → `end_plan` (its container and folders go);
- a plan whose tasks ended, where this organization holds transient models →
  `collect_transient_models`.

Tasks of all channels share one FIFO queue per organization; builds have their own.
"""

from django.conf import settings

from substrapp.models import ComputePlan, ComputeTask, Function, Model, TaskStatus

PLAN_ENDED = {"PLAN_STATUS_DONE", "PLAN_STATUS_FAILED", "PLAN_STATUS_CANCELED"}
TASK_ENDED = {TaskStatus.DONE, TaskStatus.FAILED, TaskStatus.CANCELED}


def enqueue_task(channel: str, key: str, countdown: float | None = None) -> None:
    from substrapp.tasks import run_compute_task

    run_compute_task.apply_async((channel, key), queue=settings.COMPUTE_QUEUE, countdown=countdown)


def enqueue_build(channel: str, key: str) -> None:
    from substrapp.tasks import build_function

    build_function.apply_async((channel, key), queue=settings.BUILD_QUEUE)


def hand_over(channel: str, changes: list[tuple[str, dict]]) -> None:
    """Called after the commit of a batch of events (asset kind, snapshot), in event order."""
    from substrapp.tasks import collect_transient_models, end_plan

    latest = {(kind, snapshot.get("key")): snapshot for kind, snapshot in changes}
    ended_plans, plans_with_ended_tasks = set(), set()
    for (kind, _), snapshot in latest.items():
        if kind == "ASSET_COMPUTE_TASK":
            if snapshot["status"] == TaskStatus.WAITING_FOR_EXECUTOR_SLOT and snapshot["worker"] == settings.ORG_ID:
                enqueue_task(channel, snapshot["key"])
            elif snapshot["status"] in TASK_ENDED:
                plans_with_ended_tasks.add(snapshot["compute_plan_key"])
        elif kind == "ASSET_FUNCTION":
            if snapshot["status"] == "FUNCTION_STATUS_WAITING" and snapshot["owner"] == settings.ORG_ID:
                enqueue_build(channel, snapshot["key"])
        elif kind == "ASSET_COMPUTE_PLAN" and snapshot["status"] in PLAN_ENDED:
            ended_plans.add(snapshot["key"])
    for plan_key in sorted(plans_with_ended_tasks):
        if _holds_transient_models(plan_key):
            collect_transient_models.apply_async((channel, plan_key), queue=settings.COMPUTE_QUEUE)
    for plan_key in sorted(ended_plans):
        end_plan.apply_async((plan_key,), queue=settings.COMPUTE_QUEUE)


def _holds_transient_models(plan_key: str) -> bool:
    models = Model.objects.filter(compute_task__compute_plan=plan_key, owner=settings.ORG_ID, disabled=False)
    return any(
        output.get("transient")
        for outputs in models.values_list("compute_task__outputs", flat=True)
        for output in outputs.values()
    )


def enqueue_pending_work() -> None:
    """At a worker's start: whatever this organization owes, from the mirror."""
    from substrapp.tasks import end_plan

    mine = ComputeTask.objects.filter(
        worker=settings.ORG_ID, status__in=[TaskStatus.WAITING_FOR_EXECUTOR_SLOT, TaskStatus.EXECUTING]
    )
    for channel, key in mine.order_by("rank", "creation_date").values_list("channel", "key"):
        enqueue_task(channel, key)
    builds = Function.objects.filter(
        owner=settings.ORG_ID, status__in=["FUNCTION_STATUS_WAITING", "FUNCTION_STATUS_BUILDING"]
    )
    for channel, key in builds.values_list("channel", "key"):
        enqueue_build(channel, key)
    # Plans that ended while no worker ran here (their end_plan message went with the old one).
    plans = settings.COMPUTE_DIR / "plans"
    left = [folder.name for folder in plans.iterdir()] if plans.is_dir() else []
    for plan_key in ComputePlan.objects.filter(key__in=left, status__in=PLAN_ENDED).values_list("key", flat=True):
        end_plan.apply_async((plan_key,), queue=settings.COMPUTE_QUEUE)
