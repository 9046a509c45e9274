"""What the event consumer hands to the workers, after the commit that mirrored it
(`transaction.on_commit`): a Celery message must never point at a row that may roll back.

- a task that became To do with this organization as worker → `run_compute_task`;
- a function of this organization that was registered (WAITING) → `build_function`;
- a plan that ended → `end_plan` (its container and folders go);
- a plan first seen with tasks of this organization still to come → `prestart_plan` (its
  containers start before its first task here needs them);
- a plan whose tasks ended, where this organization holds transient models →
  `collect_transient_models`.

Tasks of all channels share one FIFO queue per organization; builds have their own. A plan's
tasks prefer the worker that ran the plan's last task here: each worker also reads a queue of its
own, and while its heartbeat is fresh the plan's tasks go there (`PlanAffinity`).
"""

import logging
import re
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from orchestrator_client.logs import about
from substrapp.models import ComputePlan, ComputeTask, Function, Model, PlanAffinity, TaskStatus, WorkerNode

logger = logging.getLogger(__name__)

PLAN_ENDED = {"PLAN_STATUS_DONE", "PLAN_STATUS_FAILED", "PLAN_STATUS_CANCELED"}
TASK_ENDED = {TaskStatus.DONE, TaskStatus.FAILED, TaskStatus.CANCELED}


def enqueue_task(channel: str, key: str, countdown: float | None = None, plan_key: str | None = None) -> None:
    """To the worker that holds the task's plan (its container and cache) while it lives, else
    to the organization's queue that every worker reads. `plan_key`: the task's, when the caller
    has it (else read from the mirror)."""
    from substrapp.tasks import run_compute_task

    plan_key = plan_key or _plan_of(key)
    queue = queue_for_plan(plan_key)
    run_compute_task.apply_async((channel, key), queue=queue, countdown=countdown)
    with about(task=key, plan=plan_key, channel=channel):
        logger.info("task %s queued on %s", key, queue)


# Plan affinity: each worker also reads a queue of its own (`personal_queue`).


def personal_queue(node: str) -> str:
    return f"{settings.COMPUTE_QUEUE}.{re.sub(r'[^A-Za-z0-9_-]', '-', node)}"


def _plan_of(key: str) -> str | None:
    return ComputeTask.objects.filter(key=key).values_list("compute_plan", flat=True).first()


def queue_for_plan(plan_key: str | None) -> str:
    affinity = PlanAffinity.objects.select_related("node").filter(compute_plan_key=plan_key).first()
    if affinity is not None and affinity.node.heartbeat > _stale_before():
        return affinity.node.queue
    return settings.COMPUTE_QUEUE


def remember_plan_node(key: str, node: str) -> None:
    """The worker `node` takes a task: the next tasks of its plan go to it."""
    remember_node_of_plan(_plan_of(key), node)


def remember_node_of_plan(plan_key: str | None, node: str) -> None:
    """The worker `node` holds the plan's containers: the plan's tasks go to it."""
    if plan_key is not None and WorkerNode.objects.filter(name=node).exists():
        PlanAffinity.objects.update_or_create(compute_plan_key=plan_key, defaults={"node_id": node})


def beat(node: str) -> None:
    """A worker's heartbeat. Also hands the plans of workers that stopped beating back to the
    shared queue, with the tasks To do that were sent to their queues."""
    defaults = {"queue": personal_queue(node), "heartbeat": timezone.now()}
    WorkerNode.objects.update_or_create(name=node, defaults=defaults)
    dead = WorkerNode.objects.filter(heartbeat__lte=_stale_before()).exclude(name=node)
    orphans = list(PlanAffinity.objects.filter(node__in=dead).values_list("compute_plan_key", flat=True))
    if not orphans:
        return
    PlanAffinity.objects.filter(compute_plan_key__in=orphans).delete()
    waiting = ComputeTask.objects.filter(
        compute_plan__in=orphans, worker=settings.ORG_ID, status=TaskStatus.WAITING_FOR_EXECUTOR_SLOT
    )
    for channel, task_key in waiting.values_list("channel", "key"):
        enqueue_task(channel, task_key)


def _stale_before():
    return timezone.now() - timedelta(seconds=settings.COMPUTE_LEASE_SECONDS)


def enqueue_build(channel: str, key: str) -> None:
    from substrapp.tasks import build_function

    build_function.apply_async((channel, key), queue=settings.BUILD_QUEUE)


# Plans whose containers this consumer asked to start ahead (bounded: a restarted consumer asks
# again, and the worker starts nothing twice).
_announced: dict[str, None] = {}
_ANNOUNCED_MAX = 10_000
WAITING = {TaskStatus.WAITING_FOR_BUILDER_SLOT, TaskStatus.BUILDING, TaskStatus.WAITING_FOR_PARENT_TASKS}


def hand_over(channel: str, changes: list[tuple[str, dict]]) -> None:
    """Called after the commit of a batch of events (asset kind, snapshot), in event order."""
    from substrapp.tasks import collect_transient_models, end_plan

    latest = {(kind, snapshot.get("key")): snapshot for kind, snapshot in changes}
    _announce_new_plans(snapshot for (kind, _), snapshot in latest.items() if kind == "ASSET_COMPUTE_TASK")
    ended_plans, plans_with_ended_tasks = set(), set()
    for (kind, _), snapshot in latest.items():
        if kind == "ASSET_COMPUTE_TASK":
            if snapshot["status"] == TaskStatus.WAITING_FOR_EXECUTOR_SLOT and snapshot["worker"] == settings.ORG_ID:
                enqueue_task(channel, snapshot["key"], plan_key=snapshot["compute_plan_key"])
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


def _announce_new_plans(tasks) -> None:
    """A plan first seen here with a task of this organization that waits (for its parents or a
    build): its containers can start meanwhile. Sent before the batch's To do tasks, so that the
    worker that takes it is the one their plan then prefers."""
    from substrapp.tasks import prestart_plan

    for snapshot in tasks:
        plan_key = snapshot["compute_plan_key"]
        if snapshot["worker"] != settings.ORG_ID or snapshot["status"] not in WAITING or plan_key in _announced:
            continue
        if len(_announced) >= _ANNOUNCED_MAX:
            _announced.pop(next(iter(_announced)))
        _announced[plan_key] = None
        prestart_plan.apply_async((plan_key,), queue=queue_for_plan(plan_key))


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
