"""The Celery app of an organization's workers: `celery -A backend worker -Q <org>.compute,<org>.builds`.
Configuration comes from Django's settings (the `CELERY_*` ones); the tasks are in
substrapp/tasks.py."""

import os

from celery import Celery

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
