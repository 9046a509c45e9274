from django.conf import settings
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action

from substrapp import computation
from substrapp.api.filtersets.outputs import ModelFilterSet
from substrapp.api.scoping import ChannelScopedViewMixin
from substrapp.api.serializers.outputs import OutModelSerializer
from substrapp.api.views.datasets import FILE_ROUTE, peer_asset
from substrapp.assetfiles import check_peer_may_process, fetch_from_owner, open_own_file
from substrapp.models import Model
from substrapp.storage import open_stored


class ModelViewSet(ChannelScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The models tasks produced in the caller's channel."""

    queryset = Model.objects.all()
    serializer_class = OutModelSerializer
    lookup_field = "key"
    filterset_class = ModelFilterSet

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], **FILE_ROUTE)
    def file(self, request, key=None):
        model = peer_asset(self)
        if model is not None:  # another organization (a worker, a backend for its user)
            check_peer_may_process(model, request.auth.org_id)
            return FileResponse(open_own_file(model, "file"), content_type="application/octet-stream")
        model = self.get_object()
        if model.owner != settings.ORG_ID:
            computation.check_model_export(model)
            stream = fetch_from_owner(model.owner, model.channel, model.address, model.checksum)
            return FileResponse(stream, content_type="application/octet-stream")
        name = computation.model_file(model)
        return FileResponse(open_stored(name), content_type="application/octet-stream")
