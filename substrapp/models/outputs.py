"""What tasks produce, mirrored from the orchestrator's events: models, performances and failure
reports. `Model.file` and `FailureReport.logs_file` are local: set only on the organization that
produced them (the task's worker)."""

from django.db import models

from substrapp.models.computetasks import ComputeTask
from substrapp.models.fields import KEY, local_file
from substrapp.models.scoping import ChannelScopedQuerySet


class Model(models.Model):
    key = models.CharField(primary_key=True, **KEY)
    channel = models.CharField(max_length=100)
    compute_task = models.ForeignKey(ComputeTask, on_delete=models.PROTECT, related_name="models")
    compute_task_output_identifier = models.CharField(max_length=100)
    # The snapshot's `address`: the checksum and the owner's address of the file.
    checksum = models.CharField(max_length=64)
    address = models.CharField(max_length=300)
    permissions = models.JSONField()  # {"process": {"public": bool, "authorized_ids": [org]}}
    owner = models.CharField(max_length=100)
    # A transient model deleted once its consumers ended (EVENT_ASSET_DISABLED).
    disabled = models.BooleanField(default=False)
    creation_date = models.DateTimeField()

    file = local_file("models/")

    objects = ChannelScopedQuerySet.as_manager()

    class Meta:
        ordering = ["creation_date", "key"]
        indexes = [models.Index(fields=["channel", "creation_date"], name="model_list")]

    def __str__(self):
        return f"model {self.key}"


class Performance(models.Model):
    """At most one per task output: it has no key of its own."""

    channel = models.CharField(max_length=100)
    compute_task = models.ForeignKey(ComputeTask, on_delete=models.PROTECT, related_name="performances")
    compute_task_output_identifier = models.CharField(max_length=100)
    performance_value = models.FloatField()
    creation_date = models.DateTimeField()

    objects = ChannelScopedQuerySet.as_manager()

    class Meta:
        ordering = ["creation_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["compute_task", "compute_task_output_identifier"], name="performance_once_per_output"
            )
        ]

    def __str__(self):
        return f"performance {self.compute_task_output_identifier} of task {self.compute_task_id}"


class FailureReport(models.Model):
    """Why a task or a function failed; one per failed asset, keyed by its key."""

    asset_key = models.CharField(primary_key=True, **KEY)
    channel = models.CharField(max_length=100)
    asset_kind = models.CharField(max_length=30)  # ASSET_COMPUTE_TASK or ASSET_FUNCTION
    error_type = models.CharField(max_length=30)  # BUILD_ERROR, EXECUTION_ERROR, INTERNAL_ERROR
    # The snapshot's `logs_address`: the logs stay on the reporter's backend.
    logs_checksum = models.CharField(max_length=64, blank=True)
    logs_address = models.CharField(max_length=300, blank=True)
    owner = models.CharField(max_length=100)
    creation_date = models.DateTimeField()

    logs_file = local_file("logs/")

    objects = ChannelScopedQuerySet.as_manager()

    class Meta:
        ordering = ["creation_date", "asset_key"]

    def __str__(self):
        return f"failure report of {self.asset_key}"
