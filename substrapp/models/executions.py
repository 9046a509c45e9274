"""Local to this organization's workers: who runs a task now, and how long its steps took."""

from django.db import models

from substrapp.models.computetasks import ComputeTask
from substrapp.models.fields import KEY


class TaskExecution(models.Model):
    """The lease on a task this organization executes. A worker takes it before it claims the
    task and renews `heartbeat` while it works; a lease whose heartbeat is older than
    COMPUTE_LEASE_SECONDS belongs to a worker that died, and another may take the task over.

    `durations` holds each step's seconds (prepare_inputs, image, execution, save_outputs), shown
    with the task in the API."""

    task = models.OneToOneField(ComputeTask, primary_key=True, on_delete=models.CASCADE, related_name="execution")
    channel = models.CharField(max_length=100)
    compute_plan_key = models.CharField(**KEY)
    holder = models.CharField(max_length=200, blank=True)  # host:pid of the worker; "" once ended
    ran_on = models.CharField(max_length=200, blank=True)  # host:pid of the worker that ran it last
    heartbeat = models.DateTimeField()
    attempts = models.IntegerField(default=0)
    durations = models.JSONField(default=dict)

    class Meta:
        indexes = [models.Index(fields=["compute_plan_key"], name="taskexecution_plan")]

    def __str__(self):
        return f"execution of {self.task_id}"


class WorkerNode(models.Model):
    """A Celery worker of this organization, and the queue only it reads. Its heartbeat, renewed
    while it runs, tells whether a plan's tasks may still be sent to it."""

    name = models.CharField(primary_key=True, max_length=200)  # Celery's node name, org@host
    queue = models.CharField(max_length=300)
    heartbeat = models.DateTimeField()

    def __str__(self):
        return f"worker {self.name}"


class PlanAffinity(models.Model):
    """The worker that last ran a task of a plan here: it holds the plan's container and its
    inputs in its cache, so the plan's next tasks go to its own queue while it lives."""

    compute_plan_key = models.CharField(primary_key=True, **KEY)
    node = models.ForeignKey(WorkerNode, on_delete=models.CASCADE, related_name="plans")
    updated = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"plan {self.compute_plan_key} on {self.node_id}"
