"""Compute tasks, mirrored from the orchestrator's events: every field of the orchestrator's task
snapshot, under its names (`function_key` and `compute_plan_key` are the foreign keys
`function_id` and `compute_plan_id`)."""

from django.db import models
from django.db.models import Count

from substrapp.models.computeplans import ComputePlan, TaskCounts
from substrapp.models.fields import KEY
from substrapp.models.functions import Function
from substrapp.models.metadata import MetadataQuerySet


class TaskStatus(models.TextChoices):
    WAITING_FOR_BUILDER_SLOT = "STATUS_WAITING_FOR_BUILDER_SLOT"
    BUILDING = "STATUS_BUILDING"
    WAITING_FOR_PARENT_TASKS = "STATUS_WAITING_FOR_PARENT_TASKS"
    WAITING_FOR_EXECUTOR_SLOT = "STATUS_WAITING_FOR_EXECUTOR_SLOT"
    EXECUTING = "STATUS_EXECUTING"
    DONE = "STATUS_DONE"
    FAILED = "STATUS_FAILED"
    CANCELED = "STATUS_CANCELED"


class ComputeTaskQuerySet(MetadataQuerySet):
    def counts_by_plan(self, plan_keys) -> dict[str, TaskCounts]:
        """{plan key: its tasks by status}, for a page of plans, in one GROUP BY."""
        counts = {key: TaskCounts() for key in plan_keys}
        rows = (
            self.filter(compute_plan__in=list(counts))
            .order_by()
            .values_list("compute_plan", "status")
            .annotate(count=Count("key"))
        )
        for plan, status, count in rows:
            counts[plan].add(status, count)
        return counts


class ComputeTask(models.Model):
    key = models.CharField(primary_key=True, **KEY)
    channel = models.CharField(max_length=100)
    function = models.ForeignKey(Function, on_delete=models.PROTECT, related_name="tasks")
    # Indexed by the (compute_plan, …) indexes below.
    compute_plan = models.ForeignKey(ComputePlan, on_delete=models.PROTECT, related_name="tasks", db_index=False)
    owner = models.CharField(max_length=100)
    worker = models.CharField(max_length=100)
    rank = models.IntegerField()
    status = models.CharField(max_length=40, choices=TaskStatus.choices)
    tag = models.CharField(max_length=100, blank=True)
    metadata = models.JSONField(default=dict)
    # [{"identifier", "asset_key"} or {"identifier", "parent_task_output": {"parent_task_key",
    # "output_identifier"}}], in the task's order.
    inputs = models.JSONField(default=list)
    # {identifier: {"permissions": {"process": {...}}, "transient": bool}}
    outputs = models.JSONField(default=dict)
    logs_permission = models.JSONField()  # {"public": bool, "authorized_ids": [org]}
    parent_task_keys = models.JSONField(default=list)
    error_type = models.CharField(max_length=30, null=True, blank=True)  # BUILD_ERROR, …; null if none
    creation_date = models.DateTimeField()
    start_date = models.DateTimeField(null=True, blank=True)
    end_date = models.DateTimeField(null=True, blank=True)

    objects = ComputeTaskQuerySet.as_manager()

    class Meta:
        ordering = ["creation_date", "key"]
        # The task list filters the SDK sends, within a channel or a plan; `metadata` has a GIN
        # index on PostgreSQL (migration 0002), for MetadataQuerySet.where_metadata.
        indexes = [
            models.Index(fields=["channel", "creation_date"], name="computetask_list"),
            models.Index(fields=["channel", "status"], name="computetask_status"),
            models.Index(fields=["channel", "worker", "status"], name="computetask_worker"),
            models.Index(fields=["channel", "owner"], name="computetask_owner"),
            models.Index(fields=["compute_plan", "status"], name="computetask_plan_status"),
            models.Index(fields=["compute_plan", "rank"], name="computetask_plan_rank"),
        ]

    def __str__(self):
        return f"compute task {self.key}"
