from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from substrapp import computation, reports
from substrapp.api.filtersets.computeplans import ComputePlanFilterSet
from substrapp.api.scoping import ChannelScopedViewMixin
from substrapp.api.serializers.computeplans import (
    ComputePlanSerializer,
    NewComputePlanSerializer,
    PerformancesSerializer,
    RenameSerializer,
    WorkflowGraphSerializer,
)
from substrapp.models import ComputePlan, PlanCreator, channel_of


class ComputePlanViewSet(
    ChannelScopedViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """The caller's channel's compute plans; registered, renamed and canceled through the
    orchestrator."""

    queryset = ComputePlan.objects.select_related("creator_record")
    serializer_class = ComputePlanSerializer
    lookup_field = "key"
    filterset_class = ComputePlanFilterSet

    @extend_schema(request=NewComputePlanSerializer, responses={201: ComputePlanSerializer})
    def create(self, request):
        spec = NewComputePlanSerializer(data=request.data)
        spec.is_valid(raise_exception=True)
        plan = computation.register_compute_plan(channel_of(request.user), **spec.validated_data)
        # The first to register it is its creator: the same plan sent again by another keeps it.
        PlanCreator.objects.get_or_create(compute_plan=plan, defaults={"username": request.user.get_username()})
        plan = self.get_queryset().get(key=plan.key)
        return Response(self.get_serializer(plan).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=RenameSerializer, responses=ComputePlanSerializer)
    def update(self, request, key=None):
        rename = RenameSerializer(data=request.data)
        rename.is_valid(raise_exception=True)
        plan = computation.rename_compute_plan(self.get_object(), rename.validated_data["name"])
        return Response(self.get_serializer(plan).data)

    @extend_schema(request=None, responses=ComputePlanSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, key=None):
        plan = computation.cancel_compute_plan(self.get_object())
        return Response(self.get_serializer(plan).data)

    @extend_schema(responses=PerformancesSerializer)
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def perf(self, request, key=None):
        plan = self.get_object()
        answer = {
            "results": computation.performance_rows(plan),
            "compute_plan_statistics": computation.plan_statistics(plan),
        }
        return Response(PerformancesSerializer(answer).data)

    @extend_schema(responses=WorkflowGraphSerializer)
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def workflow_graph(self, request, key=None):
        """Every task and every parent-to-child edge of the plan, for the frontend to lay out."""
        return Response(reports.workflow_graph(self.get_object()))
