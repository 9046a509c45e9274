"""What the web frontend reads beside the SDK's routes: profiling of tasks and functions, the
news feed, the plans' metadata keys and the performance export (substrapp/reports.py)."""

import datetime

from django.http import HttpResponse
from django_filters.utils import translate_validation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from orchestrator_client import limits
from substrapp import reports
from substrapp.api.fields import IsoDateTimeField
from substrapp.api.filtersets.common import CommaSeparatedField
from substrapp.api.filtersets.computeplans import ComputePlanFilterSet
from substrapp.models import ComputePlan, ComputeTask, DataManager, Function


class StepSerializer(serializers.Serializer):
    step = serializers.CharField()
    duration = serializers.IntegerField(help_text="Microseconds.")


class TaskProfileSerializer(serializers.Serializer):
    compute_task_key = serializers.CharField()
    task_duration = serializers.IntegerField(allow_null=True, help_text="Microseconds from start to end.")
    execution_rundown = StepSerializer(many=True)


class FunctionProfileSerializer(serializers.Serializer):
    function_key = serializers.CharField()
    duration = serializers.IntegerField(allow_null=True, help_text="Microseconds.")
    execution_rundown = StepSerializer(many=True)


class TaskProfilingView(generics.RetrieveAPIView):
    """The steps of one task of the caller's channel, timed by this organization's worker."""

    queryset = ComputeTask.objects.select_related("execution")
    lookup_field = "key"
    filter_backends = []

    def get_queryset(self):
        return super().get_queryset().for_user(self.request.user)

    @extend_schema(responses=TaskProfileSerializer)
    def get(self, request, key):
        return Response(TaskProfileSerializer(reports.task_profile(self.get_object())).data)


class FunctionProfilingView(generics.RetrieveAPIView):
    """How long the function's image took to build here."""

    queryset = Function.objects.all()
    lookup_field = "key"
    filter_backends = []

    def get_queryset(self):
        return super().get_queryset().for_user(self.request.user)

    @extend_schema(responses=FunctionProfileSerializer)
    def get(self, request, key):
        return Response(FunctionProfileSerializer(reports.function_profile(self.get_object())).data)


class UtcDateTimeField(serializers.DateTimeField):
    """In UTC: PostgreSQL refuses offsets beyond ±15:59 that Python accepts, and a date near year
    1 or 9999 may not exist in UTC (as the list filters' dates, filtersets/common.py)."""

    def to_internal_value(self, value):
        parsed = super().to_internal_value(value)
        try:
            return parsed.astimezone(datetime.UTC)
        except OverflowError:
            self.fail("invalid", format="ISO 8601")


class NewsQuerySerializer(serializers.Serializer):
    timestamp_after = UtcDateTimeField(required=False)
    timestamp_before = UtcDateTimeField(required=False)
    important_news_only = serializers.BooleanField(required=False, default=False)
    ordering = serializers.ChoiceField(choices=["timestamp", "-timestamp"], required=False, default="-timestamp")


class NewsItemSerializer(serializers.Serializer):
    asset_kind = serializers.ChoiceField(choices=["ASSET_COMPUTE_PLAN", "ASSET_DATA_MANAGER"])
    asset_key = serializers.CharField()
    name = serializers.CharField()
    status = serializers.CharField()
    timestamp = IsoDateTimeField()
    detail = serializers.DictField()


class NewsFeedView(generics.ListAPIView):
    """What happened to the channel's plans and datasets, newest first by default."""

    serializer_class = NewsItemSerializer
    filter_backends = []

    @extend_schema(parameters=[NewsQuerySerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        query = NewsQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        wanted = query.validated_data
        return reports.news_feed(
            ComputePlan.objects.for_user(self.request.user),
            DataManager.objects.for_user(self.request.user),
            after=wanted.get("timestamp_after"),
            before=wanted.get("timestamp_before"),
            important_only=wanted["important_news_only"],
            newest_first=wanted["ordering"] == "-timestamp",
        )


class ComputePlanMetadataView(APIView):
    """Every metadata key of the channel's plans (the frontend offers them as columns)."""

    @extend_schema(responses={(200, "application/json"): {"type": "array", "items": {"type": "string"}}})
    def get(self, request):
        return Response(reports.metadata_keys(ComputePlan.objects.for_user(request.user)))


class ExportQuerySerializer(serializers.Serializer):
    # Room for a hundred keys; more is no spreadsheet anyone reads.
    metadata_columns = serializers.CharField(
        required=False, default="", max_length=100 * (limits.METADATA_KEY_MAX + 1), allow_blank=True
    )

    def validate_metadata_columns(self, value):
        columns = CommaSeparatedField(required=False).clean(value) or []
        for column in columns:
            if len(column) > limits.METADATA_KEY_MAX:
                raise serializers.ValidationError(f"A metadata key is at most {limits.METADATA_KEY_MAX} characters.")
        return columns


class PerformanceExportView(APIView):
    """The performances of the plans that the compute plan list's filters (all of them, as on
    /compute_plan/) select, as CSV."""

    @extend_schema(
        parameters=[ExportQuerySerializer],
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request):
        query = ExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        plans = ComputePlanFilterSet(request.query_params, queryset=ComputePlan.objects.for_user(request.user))
        if not plans.is_valid():
            raise translate_validation(plans.errors)
        body = reports.performance_csv(plans.qs, query.validated_data["metadata_columns"])
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="performances.csv"'
        return response
