"""The Celery tasks of an organization's workers. Thin: the work is in substrapp/worker.py.

Every task is safe to run twice (a duplicate message, a redelivery after a worker died): it
claims its work with a conditional update first. Infrastructure errors are retried with an
exponential backoff, COMPUTE_MAX_RETRIES times, then reported as INTERNAL_ERROR; any other
error is reported at once, so that nothing stays Doing for ever.
"""

import logging
import threading
import time
import traceback

from celery import shared_task
from celery.signals import celeryd_after_setup, worker_ready
from django.conf import settings
from django.db import DatabaseError, connections

from orchestrator_client.logs import about
from substrapp import metrics, queueing, worker
from substrapp.models import ComputeTask

logger = logging.getLogger(__name__)


def _backoff(retries: int) -> float:
    return min(2.0 * 2**retries, 60.0)


@shared_task(bind=True, name="substrapp.run_compute_task", max_retries=None)
def run_compute_task(self, channel: str, key: str) -> str:
    def run() -> str:
        if self.request.hostname:
            queueing.remember_plan_node(key, self.request.hostname)
        return worker.run_task(channel, key)

    try:
        plan = ComputeTask.objects.filter(key=key).values_list("compute_plan_id", flat=True).first()
    except DatabaseError:  # the database away: the run's own retry handles it; only the log misses the plan
        plan = None
    with about(task=key, plan=plan, channel=channel):  # on every line logged while it runs
        logger.info("task %s: running", key)
        with metrics.task_running():
            outcome = _retrying(self, channel, key, "ASSET_COMPUTE_TASK", run)
        logger.info("task %s: %s", key, outcome)
        metrics.task_ended(outcome)
    if outcome == "held" and worker.still_executing(key):
        # Another worker holds the task: if it dies (on another host, where its pid tells
        # nothing), its lease expires and this message takes the task over.
        queueing.enqueue_task(channel, key, countdown=settings.COMPUTE_LEASE_SECONDS)
    return outcome


@shared_task(bind=True, name="substrapp.build_function", max_retries=None)
def build_function(self, channel: str, key: str) -> str:
    def build() -> str:
        worker.build_function(channel, key)
        return "built"

    return _retrying(self, channel, key, "ASSET_FUNCTION", build)


def _retrying(celery_task, channel: str, key: str, asset_kind: str, work) -> str:
    """`work()`, retried with backoff on an infrastructure error; an error that retrying cannot
    cure, or one retry too many, becomes the asset's INTERNAL_ERROR report."""
    try:
        return work()
    except worker.TEMPORARY as error:
        retries = celery_task.request.retries
        if retries < settings.COMPUTE_MAX_RETRIES:
            logger.warning("%s %s: %s; retrying", asset_kind, key, error)
            raise celery_task.retry(exc=error, countdown=_backoff(retries)) from error
        return _internal_error(channel, key, asset_kind, error)
    except Exception as error:
        logger.exception("%s %s failed inside the worker", asset_kind, key)
        return _internal_error(channel, key, asset_kind, error)


def _internal_error(channel: str, key: str, asset_kind: str, error: Exception) -> str:
    logs = "[substra] an infrastructure error ended this run:\n" + "".join(traceback.format_exception(error))
    try:
        recorded = worker.report_failure(channel, key, asset_kind, "INTERNAL_ERROR", logs)
    except Exception:
        logger.exception("could not report the internal error of %s", key)
        return "failed"
    return "failed" if recorded else "cancelled"


@shared_task(bind=True, name="substrapp.prestart_plan")
def prestart_plan(self, plan_key: str) -> None:
    """A plan in which this organization runs tasks later was registered: its containers start
    on this worker, in the background, and the plan's tasks prefer this worker."""
    if self.request.hostname:
        queueing.remember_node_of_plan(plan_key, self.request.hostname)
    worker.prestart_plan_ahead(plan_key)


@shared_task(name="substrapp.end_plan")
def end_plan(plan_key: str) -> None:
    worker.end_plan(plan_key)


@shared_task(name="substrapp.collect_transient_models")
def collect_transient_models(channel: str, plan_key: str) -> list[str]:
    return worker.collect_transient_models(channel, plan_key)


@celeryd_after_setup.connect
def read_own_queue(sender, instance, **kwargs) -> None:
    """Each worker reads a queue of its own besides the organization's: the plans whose last
    task it ran send it their next ones (plan affinity, substrapp/queueing.py)."""
    instance.app.amqp.queues.select_add(queueing.personal_queue(sender))


@worker_ready.connect
def serve_metrics(sender=None, **kwargs) -> None:
    if settings.WORKER_METRICS_PORT:
        queues = [settings.COMPUTE_QUEUE, settings.BUILD_QUEUE]
        metrics.serve_worker_metrics(settings.WORKER_METRICS_PORT, sender.app, queues)


@worker_ready.connect
def recover_at_start(sender=None, **kwargs) -> None:
    """Work this organization owes and no message may carry any more: tasks To do or Doing (a
    worker killed mid-task; the lease tells a dead holder from a live one) and functions to
    build. Then the heartbeat starts."""
    node = sender.hostname
    queueing.beat(node)
    queueing.enqueue_pending_work()
    threading.Thread(target=_beat_forever, args=(node,), name="worker-heartbeat", daemon=True).start()


def _beat_forever(node: str) -> None:
    while True:
        time.sleep(settings.COMPUTE_LEASE_SECONDS / 4)
        try:
            queueing.beat(node)
        except Exception:
            logger.exception("worker heartbeat failed")
        finally:
            connections.close_all()
