from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action

from substrapp import computation
from substrapp.api import listfilters
from substrapp.api.scoping import ChannelScopedViewMixin
from substrapp.api.serializers.outputs import OutModelSerializer
from substrapp.models import Model
from substrapp.storage import open_stored


class ModelViewSet(ChannelScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The models tasks produced in the caller's channel."""

    queryset = Model.objects.all()
    serializer_class = OutModelSerializer
    lookup_field = "key"
    filter_backends = [listfilters.ListFilterBackend, listfilters.PermissionsFilterBackend, listfilters.OrderingBackend]
    list_filters = {"key": "key", "compute_task_key": "compute_task", "owner": "owner"}
    ordering_fields = ("creation_date",)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def file(self, request, key=None):
        name = computation.model_file(self.get_object())
        return FileResponse(open_stored(name), content_type="application/octet-stream")
