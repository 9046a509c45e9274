"""Finds again the work this organization owes, whatever died when (docs/compute.md, "Reconciliation").

The event consumer hands work over after its commit; a consumer killed between the commit and
the hand-over, a Redis restart (it keeps nothing on disk) or a worker killed mid-task lose that
hand-over for good. So each worker compares, at its start and every COMPUTE_RECONCILE_SECONDS,
the mirror (what is owed) with the leases and the broker's queues (what is being done or will
be), and does what nobody will:

- a task To do or Doing whose worker is this organization, that no live worker holds (its lease)
  and that no queue holds, seen so on two passes at least `GRACE_SECONDS` apart (the consumer's
  hand-over comes milliseconds after its commit), is queued again;
- a function of this organization to build that no queue holds (nor a worker: an unacknowledged
  message) is queued again;
- a plan that has ended and still has a container or a folder here is cleaned up;
- an ended plan's transient models still held here are deleted.

Duplicates are harmless: a task is taken under its lease and claimed with a conditional
transition. Every pass logs what it did.
"""

import base64
import json
import logging
import threading
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.utils import timezone

from substrapp import queueing, worker
from substrapp.models import ComputePlan, ComputeTask, Function, Model, TaskExecution, TaskStatus, WorkerNode

logger = logging.getLogger(__name__)

GRACE_SECONDS = 2.0
RUN_TASK, BUILD = "substrapp.run_compute_task", "substrapp.build_function"
OWED_TASK_STATUSES = [TaskStatus.WAITING_FOR_EXECUTOR_SLOT, TaskStatus.EXECUTING]
OWED_BUILD_STATUSES = ["FUNCTION_STATUS_WAITING", "FUNCTION_STATUS_BUILDING"]


def interval() -> float:
    return float(settings.COMPUTE_RECONCILE_SECONDS)


class Reconciler:
    """One per worker process. Remembers when it first saw each piece of owed work unattended."""

    def __init__(self):
        self.unattended_since: dict[tuple[str, str], float] = {}

    def run_once(self) -> dict[str, list[str]]:
        """One pass; what it did, by kind."""
        try:
            queued, in_flight = broker_contents()
        except Exception as error:  # the broker is away: nothing could be queued anyway
            logger.warning("reconciliation skipped: the broker does not answer (%s)", error)
            return {}
        steps = {
            "tasks": lambda: self._requeue_tasks(queued),
            "builds": lambda: self._requeue_builds(queued | in_flight),
            "plans": clean_ended_plans,
            "transient_models": collect_ended_plans_transient_models,
        }
        done = {}
        for kind, step in steps.items():
            try:  # one step failing (the engine away, say) does not hold the others back
                done[kind] = step()
            except Exception:
                logger.exception("reconciliation of %s failed", kind)
        done = {kind: keys for kind, keys in done.items() if keys}
        if done:
            logger.warning("reconciliation: %s", json.dumps(done))
        return done

    def _requeue_tasks(self, queued: set) -> list[str]:
        owed = ComputeTask.objects.filter(worker=settings.ORG_ID, status__in=OWED_TASK_STATUSES)
        rows = list(owed.order_by("rank", "creation_date").values_list("channel", "key", "compute_plan"))
        held = live_leases([key for _, key, _ in rows])
        unattended = [
            (channel, key, plan) for channel, key, plan in rows if key not in held and (RUN_TASK, key) not in queued
        ]
        requeued = []
        for channel, key, plan in self._after_grace(RUN_TASK, unattended, lambda row: row[1]):
            queueing.enqueue_task(channel, key, plan_key=plan)
            requeued.append(key)
        return requeued

    def _requeue_builds(self, queued: set) -> list[str]:
        owed = Function.objects.filter(owner=settings.ORG_ID, status__in=OWED_BUILD_STATUSES)
        unattended = [
            (channel, key) for channel, key in owed.values_list("channel", "key") if (BUILD, key) not in queued
        ]
        requeued = []
        for channel, key in self._after_grace(BUILD, unattended, lambda row: row[1]):
            queueing.enqueue_build(channel, key)
            requeued.append(key)
        return requeued

    def _after_grace(self, kind: str, unattended: list, key_of) -> list:
        """The rows seen unattended on an earlier pass at least GRACE_SECONDS ago; forgets the
        others of this kind. A requeued row starts over: it gets one more grace."""
        now = time.monotonic()
        keys = {(kind, key_of(row)) for row in unattended}
        for known in [known for known in self.unattended_since if known[0] == kind and known not in keys]:
            del self.unattended_since[known]
        due = []
        for row in unattended:
            since = self.unattended_since.setdefault((kind, key_of(row)), now)
            if now - since >= GRACE_SECONDS:
                due.append(row)
                self.unattended_since[(kind, key_of(row))] = now
        return due


def live_leases(keys: list[str]) -> set[str]:
    """The tasks among `keys` that a live worker is working on: it holds the lease and has
    renewed it lately. A live process whose heartbeat has gone stale holds a lease it no longer
    works on (an attempt that could not release it): its message is queued again, and the
    lease is taken by whoever may (`worker.take_lease`); a duplicate for a task still worked on
    waits and does nothing."""
    stale_before = timezone.now() - timedelta(seconds=settings.COMPUTE_LEASE_SECONDS)
    leases = TaskExecution.objects.filter(task_id__in=keys, heartbeat__gt=stale_before).exclude(holder="")
    return {lease.task_id for lease in leases if worker.lease_alive(lease)}


# What the broker holds


def broker_contents() -> tuple[set, set]:
    """({(task name, asset key)} waiting in this organization's queues, those delivered to a
    worker and not acknowledged yet). Raises when the broker does not answer."""
    queues = [settings.COMPUTE_QUEUE, settings.BUILD_QUEUE, *WorkerNode.objects.values_list("queue", flat=True)]
    url = settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://")):
        return _redis_contents(url, queues)
    if url.startswith("filesystem"):
        return _folder_contents(Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_out"]), queues), set()
    raise NotImplementedError(f"cannot look into the broker {url.split(':', 1)[0]}")


def _redis_contents(url: str, queues: list[str]) -> tuple[set, set]:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    try:
        pipeline = client.pipeline(transaction=False)
        # kombu keeps a queue's messages of priority p > 0 in a list of their own.
        for queue in queues:
            for name in (queue, *(f"{queue}\x06\x16{p}" for p in (3, 6, 9))):
                pipeline.lrange(name, 0, -1)
        waiting = {_work_of(raw) for messages in pipeline.execute() for raw in messages}
        unacked = {_work_of(raw, wrapped=True) for raw in client.hvals("unacked")}
    finally:
        client.close()
    return waiting - {None}, unacked - {None}


def _folder_contents(folder: Path, queues: list[str]) -> set:
    suffixes = tuple(f".{queue}.msg" for queue in queues)
    found = set()
    for path in folder.glob("*.msg"):
        if path.name.endswith(suffixes):
            try:
                found.add(_work_of(path.read_bytes()))
            except OSError:  # taken by a worker meanwhile
                continue
    return found - {None}


def _work_of(raw: bytes, wrapped: bool = False) -> tuple[str, str] | None:
    """(task name, asset key) of a kombu message; None for anything else."""
    try:
        message = json.loads(raw)
        if wrapped:  # the unacked hash holds [message, exchange, routing key]
            message = message[0]
        name = message["headers"]["task"]
        body = message["body"]
        if message.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args = json.loads(body)[0]
        return name, args[1]
    except (ValueError, KeyError, IndexError, TypeError):
        return None


# Ended plans


def clean_ended_plans() -> list[str]:
    """Ended plans that still have a container or a folder here: cleaned up now."""
    here = set(worker.plans_with_containers())
    plans = settings.COMPUTE_DIR / "plans"
    if plans.is_dir():
        here |= {folder.name for folder in plans.iterdir()}
    ended = ComputePlan.objects.filter(key__in=here, status__in=queueing.PLAN_ENDED).values_list("key", flat=True)
    cleaned = []
    for plan_key in ended:
        worker.end_plan(plan_key)
        cleaned.append(plan_key)
    return cleaned


def collect_ended_plans_transient_models() -> list[str]:
    """Transient models of ended plans that this organization still holds: deleted."""
    held = Model.objects.filter(
        owner=settings.ORG_ID, disabled=False, compute_task__compute_plan__status__in=queueing.PLAN_ENDED
    ).values_list("channel", "compute_task__compute_plan", "compute_task__outputs", "compute_task_output_identifier")
    plans = {
        (channel, plan) for channel, plan, outputs, identifier in held if outputs.get(identifier, {}).get("transient")
    }
    deleted = []
    for channel, plan in sorted(plans):
        deleted += worker.collect_transient_models(channel, plan)
    return deleted


# The worker's loop


def start_in_background() -> threading.Thread:
    """At the worker's start: a pass at once, then one every interval(), for as long as it lives."""
    thread = threading.Thread(target=_loop, args=(Reconciler(),), name="reconciliation", daemon=True)
    thread.start()
    return thread


def _loop(reconciler: Reconciler) -> None:
    while True:
        try:
            reconciler.run_once()
        except Exception:
            logger.exception("reconciliation pass failed")
        finally:
            connections.close_all()
        time.sleep(interval())
