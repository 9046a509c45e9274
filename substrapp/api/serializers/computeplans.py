"""`substra.sdk.models.ComputePlan` (docs/sdk-contract.md §6.6), and the plan the SDK posts."""

import dataclasses

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from orchestrator_client import limits
from substrapp.api.fields import IsoDateTimeField
from substrapp.api.serializers.common import MetadataField
from substrapp.models import ComputePlan, ComputeTask, TaskCounts

PLAN_ENDED = ("PLAN_STATUS_DONE", "PLAN_STATUS_FAILED", "PLAN_STATUS_CANCELED")


class ComputePlanListSerializer(serializers.ListSerializer):
    """Counts the tasks of a whole page of plans in one query."""

    def to_representation(self, data):
        plans = list(data.all() if hasattr(data, "all") else data)
        self.child.context["counts"] = ComputeTask.objects.counts_by_plan([plan.key for plan in plans])
        return super().to_representation(plans)


EXTERNAL_CREATOR = "external"  # the creator of a plan registered on another organization


def seconds_between(start, end) -> int | None:
    """Whole seconds from start to end, or to now when it has not ended; None before it starts."""
    if start is None:
        return None
    return int(((end or timezone.now()) - start).total_seconds())


class ComputePlanSerializer(serializers.ModelSerializer):
    creation_date = IsoDateTimeField()
    start_date = IsoDateTimeField(allow_null=True)
    end_date = IsoDateTimeField(allow_null=True)
    estimated_end_date = serializers.SerializerMethodField()
    duration = serializers.SerializerMethodField(
        help_text="Seconds from start to end, or to now while it runs; 0 before it starts."
    )
    creator = serializers.SerializerMethodField(help_text="The user of this organization who registered it.")
    delete_intermediary_models = serializers.SerializerMethodField(
        help_text="Always false: intermediary models are deleted per output (`transient`), not per plan."
    )
    task_count = serializers.SerializerMethodField()
    waiting_builder_slot_count = serializers.SerializerMethodField()
    building_count = serializers.SerializerMethodField()
    waiting_parent_tasks_count = serializers.SerializerMethodField()
    waiting_executor_slot_count = serializers.SerializerMethodField()
    executing_count = serializers.SerializerMethodField()
    done_count = serializers.SerializerMethodField()
    failed_count = serializers.SerializerMethodField()
    canceled_count = serializers.SerializerMethodField()

    class Meta:
        model = ComputePlan
        list_serializer_class = ComputePlanListSerializer
        fields = [
            "key",
            "name",
            "owner",
            "tag",
            "metadata",
            "status",
            "failed_task_key",
            "creation_date",
            "start_date",
            "end_date",
            "estimated_end_date",
            "duration",
            "creator",
            "delete_intermediary_models",
            *(field.name for field in dataclasses.fields(TaskCounts)),
        ]

    def counts(self, plan) -> TaskCounts:
        counts = self.context.get("counts")
        if counts is None or plan.key not in counts:
            counts = self.context["counts"] = ComputeTask.objects.counts_by_plan([plan.key])
        return counts[plan.key]

    @extend_schema_field({"type": "string", "format": "date-time", "nullable": True})
    def get_estimated_end_date(self, plan) -> str | None:
        # Known once the plan has ended; no estimate is made while it runs.
        return IsoDateTimeField().to_representation(plan.end_date if plan.status in PLAN_ENDED else None)

    def get_duration(self, plan) -> int:
        # 0 before the plan starts, as Substra answers: the SDK's clients compare plans on it.
        duration = seconds_between(plan.start_date, plan.end_date)
        return 0 if duration is None else duration

    def get_creator(self, plan) -> str | None:
        record = getattr(plan, "creator_record", None)
        if record is not None:
            return record.username
        # Substra names no user of another organization: "external", which its clients check.
        return EXTERNAL_CREATOR if plan.owner != settings.ORG_ID else None

    def get_delete_intermediary_models(self, plan) -> bool:
        return False

    def get_task_count(self, plan) -> int:
        return self.counts(plan).task_count

    def get_waiting_builder_slot_count(self, plan) -> int:
        return self.counts(plan).waiting_builder_slot_count

    def get_building_count(self, plan) -> int:
        return self.counts(plan).building_count

    def get_waiting_parent_tasks_count(self, plan) -> int:
        return self.counts(plan).waiting_parent_tasks_count

    def get_waiting_executor_slot_count(self, plan) -> int:
        return self.counts(plan).waiting_executor_slot_count

    def get_executing_count(self, plan) -> int:
        return self.counts(plan).executing_count

    def get_done_count(self, plan) -> int:
        return self.counts(plan).done_count

    def get_failed_count(self, plan) -> int:
        return self.counts(plan).failed_count

    def get_canceled_count(self, plan) -> int:
        return self.counts(plan).canceled_count


class NewComputePlanSerializer(serializers.Serializer):
    """What `add_compute_plan` and `add_task` post; the embedded `tasks` come again through
    `bulk_create` and are ignored here."""

    key = serializers.UUIDField()
    name = serializers.CharField(max_length=limits.NAME_MAX)
    tag = serializers.CharField(max_length=limits.TAG_MAX, allow_blank=True, allow_null=True, default="")
    metadata = MetadataField(default=dict)

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        return {
            "key": str(values["key"]),
            "name": values["name"],
            "tag": values["tag"] or "",
            "metadata": values["metadata"] or {},
        }


class RenameSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=limits.NAME_MAX)


class PerformanceTaskSerializer(serializers.Serializer):
    key = serializers.CharField()
    rank = serializers.IntegerField()
    worker = serializers.CharField()
    round_idx = serializers.IntegerField(allow_null=True)
    function_key = serializers.CharField()


class MetricSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()


class PerformanceRowSerializer(serializers.Serializer):
    compute_task = PerformanceTaskSerializer()
    metric = MetricSerializer(help_text="The function that computed it (the web frontend's metric).")
    identifier = serializers.CharField()
    perf = serializers.FloatField()


class PlanStatisticsSerializer(serializers.Serializer):
    compute_tasks_distinct_ranks = serializers.ListField(child=serializers.IntegerField())
    compute_tasks_distinct_rounds = serializers.ListField(child=serializers.IntegerField())


class PerformancesSerializer(serializers.Serializer):
    """Every performance of a plan at once: `get_performances` never follows `next`."""

    results = PerformanceRowSerializer(many=True)
    compute_plan_statistics = PlanStatisticsSerializer(help_text="What the web frontend's chart axes need.")


class PlugSerializer(serializers.Serializer):
    identifier = serializers.CharField()
    kind = serializers.CharField()


class GraphTaskSerializer(serializers.Serializer):
    key = serializers.CharField()
    rank = serializers.IntegerField()
    worker = serializers.CharField()
    status = serializers.CharField()
    function_name = serializers.CharField()
    inputs_specs = PlugSerializer(many=True)
    outputs_specs = PlugSerializer(many=True)


class EdgeSerializer(serializers.Serializer):
    source_task_key = serializers.CharField()
    source_output_identifier = serializers.CharField()
    target_task_key = serializers.CharField()
    target_input_identifier = serializers.CharField()


class WorkflowGraphSerializer(serializers.Serializer):
    """Schema only: the view answers the dict reports.workflow_graph builds (10,000 tasks are not
    run through serializers)."""

    tasks = GraphTaskSerializer(many=True)
    edges = EdgeSerializer(many=True)
