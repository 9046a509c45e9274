"""Compute plans, mirrored from the orchestrator's events.

The SDK's per-status task counts are not stored: `ComputeTask.objects.counts_by_plan(keys)`
computes them from the task mirror, in one GROUP BY over the `(compute_plan, status)` index. The
orchestrator's plan events do not carry current counters (a registration or a Done that leaves the
plan's status unchanged writes no plan event), and counters kept by the consumer would be a second
truth to keep in step with the task rows through replays and restarts. The task rows are exact
by construction, and a page of plans costs one indexed query."""

from dataclasses import dataclass

from django.db import models

from substrapp.models.fields import KEY
from substrapp.models.metadata import MetadataQuerySet

# Task status → the SDK ComputePlan field that counts it.
COUNT_FIELD_OF_STATUS = {
    "STATUS_WAITING_FOR_BUILDER_SLOT": "waiting_builder_slot_count",
    "STATUS_BUILDING": "building_count",
    "STATUS_WAITING_FOR_PARENT_TASKS": "waiting_parent_tasks_count",
    "STATUS_WAITING_FOR_EXECUTOR_SLOT": "waiting_executor_slot_count",
    "STATUS_EXECUTING": "executing_count",
    "STATUS_DONE": "done_count",
    "STATUS_FAILED": "failed_count",
    "STATUS_CANCELED": "canceled_count",
}


@dataclass
class TaskCounts:
    """A plan's tasks by status, under the SDK ComputePlan's field names (`dataclasses.asdict`)."""

    task_count: int = 0
    waiting_builder_slot_count: int = 0
    building_count: int = 0
    waiting_parent_tasks_count: int = 0
    waiting_executor_slot_count: int = 0
    executing_count: int = 0
    done_count: int = 0
    failed_count: int = 0
    canceled_count: int = 0

    def add(self, status: str, count: int) -> None:
        self.task_count += count
        field = COUNT_FIELD_OF_STATUS.get(status)
        if field is not None:
            setattr(self, field, getattr(self, field) + count)


class ComputePlan(models.Model):
    key = models.CharField(primary_key=True, **KEY)
    channel = models.CharField(max_length=100)
    name = models.CharField(max_length=100)
    owner = models.CharField(max_length=100)
    tag = models.CharField(max_length=100, blank=True)
    metadata = models.JSONField(default=dict)
    status = models.CharField(max_length=30)  # PLAN_STATUS_…
    failed_task_key = models.CharField(null=True, blank=True, **KEY)
    creation_date = models.DateTimeField()
    start_date = models.DateTimeField(null=True, blank=True)
    end_date = models.DateTimeField(null=True, blank=True)
    cancelation_date = models.DateTimeField(null=True, blank=True)
    failure_date = models.DateTimeField(null=True, blank=True)

    objects = MetadataQuerySet.as_manager()

    class Meta:
        ordering = ["creation_date", "key"]
        indexes = [
            models.Index(fields=["channel", "creation_date"], name="computeplan_list"),
            models.Index(fields=["channel", "status"], name="computeplan_status"),
        ]

    def __str__(self):
        return f"compute plan {self.key} ({self.name})"


class PlanCreator(models.Model):
    """The user of this organization who registered a plan (the web frontend's `creator`). The
    ledger knows the organization only; a plan registered elsewhere has no row here."""

    compute_plan = models.OneToOneField(
        ComputePlan, primary_key=True, on_delete=models.CASCADE, related_name="creator_record"
    )
    username = models.CharField(max_length=150, db_index=True)
