from django.conf import settings
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from substrapp import computation
from substrapp.api.filtersets.computetasks import TaskFilterSet
from substrapp.api.scoping import ChannelScopedViewMixin
from substrapp.api.serializers.computetasks import (
    BulkCreateSerializer,
    TaskAssetSerializer,
    TaskSerializer,
    validated_tasks,
)
from substrapp.api.views.datasets import FILE_ROUTE, peer_asset
from substrapp.assetfiles import check_peer_in_channel, fetch_from_owner
from substrapp.models import ComputePlan, ComputeTask, channel_of
from substrapp.storage import open_stored

TEXT = "text/plain; charset=utf-8"


class TaskViewSet(ChannelScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The caller's channel's compute tasks; registered in batches through the orchestrator."""

    queryset = ComputeTask.objects.select_related("function", "execution")
    serializer_class = TaskSerializer
    lookup_field = "key"
    filterset_class = TaskFilterSet

    @extend_schema(request=BulkCreateSerializer, responses=TaskSerializer(many=True))
    @action(detail=False, methods=["post"], url_path="bulk_create", filter_backends=[])
    def bulk_create(self, request):
        def represent(tasks):
            return self.get_serializer(tasks, many=True).data

        return Response(computation.register_tasks(channel_of(request.user), validated_tasks(request.data), represent))

    @extend_schema(responses=TaskAssetSerializer(many=True))
    @action(detail=True, methods=["get"], filter_backends=[])
    def input_assets(self, request, key=None):
        return self._assets(computation.task_input_assets(self.get_object()))

    @extend_schema(
        parameters=[OpenApiParameter("identifier", str, description="one output of the task")],
        responses=TaskAssetSerializer(many=True),
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def output_assets(self, request, key=None):
        identifier = request.query_params.get("identifier")
        return self._assets(computation.task_output_assets(self.get_object(), identifier))

    @extend_schema(responses={(200, "text/plain"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"], filter_backends=[], **FILE_ROUTE)
    def logs(self, request, key=None):
        """The logs of a failed task, per its dataset's logs permission. They stay where the task
        ran (or where its image failed to build): another organization's are fetched from there
        with this organization's peer credentials, and served only if their checksum matches."""
        task = peer_asset(self)
        if task is not None:  # another organization's backend, for its user
            check_peer_in_channel(task, request.auth.org_id)
            report = computation.failure_report_of(task, request.auth.org_id)
            return FileResponse(open_stored(computation.own_task_logs(report)), content_type=TEXT)
        task = self.get_object()
        report = computation.failure_report_of(task)
        if report.owner != settings.ORG_ID:
            stream = fetch_from_owner(report.owner, task.channel, f"/task/{task.key}/logs/", report.logs_checksum)
            return FileResponse(stream, content_type=TEXT)
        return FileResponse(open_stored(computation.own_task_logs(report)), content_type=TEXT)

    def _assets(self, rows):
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(
            TaskAssetSerializer(page, many=True, context=self.get_serializer_context()).data
        )


class PlanTaskViewSet(TaskViewSet):
    """`/compute_plan/<key>/task/`: the tasks of one plan of the caller's channel, with every
    filter and ordering of the task list. A plan of another channel is a 404."""

    def get_queryset(self):
        plan = get_object_or_404(ComputePlan.objects.for_user(self.request.user), key=self.kwargs["compute_plan_key"])
        return super().get_queryset().filter(compute_plan=plan)
