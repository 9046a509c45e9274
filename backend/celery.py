"""The Celery app of an organization's workers: `celery -A backend worker -Q <org>.compute,<org>.builds`.
Configuration comes from Django's settings (the `CELERY_*` ones); the tasks are in
substrapp/tasks.py."""

import os

from celery import Celery
from celery.signals import worker_process_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")

app = Celery("backend")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    # A message is acknowledged once its task has ended, and given back if the worker dies:
    # every task is safe to run twice (it claims its work with a conditional update first).
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    # FIFO: a worker process takes one message at a time.
    worker_prefetch_multiplier=1,
    task_serializer="json",
    accept_content=["json"],
    result_backend=None,
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)
# The queues are declared in substrapp/apps.py, once the settings are loaded.
app.autodiscover_tasks(["substrapp"])


@worker_ready.connect
def reconcile_in_background(sender=None, **kwargs) -> None:
    """Every worker looks for work owed and lost (a hand-over that never came, a queue emptied
    by a broker restart, a run whose worker died): at its start, then every few seconds."""
    from substrapp import reconcile  # the app registry is ready only once the worker runs

    reconcile.start_in_background()


@worker_process_init.connect
def settle_heap(**kwargs) -> None:
    """Each pool process, once forked with the app loaded (orchestrator_client/heap.py)."""
    from orchestrator_client import heap

    heap.settle()
