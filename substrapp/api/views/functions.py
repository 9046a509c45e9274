from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from substrapp import registration
from substrapp.api.filtersets.functions import FunctionFilterSet
from substrapp.api.schema import FUNCTION_UPLOAD
from substrapp.api.scoping import ChannelScopedViewMixin
from substrapp.api.serializers.common import AssetRenameSerializer
from substrapp.api.serializers.functions import FunctionSerializer, FunctionSpecSerializer
from substrapp.api.uploads import file_part, json_part
from substrapp.api.views.datasets import FILE_ROUTE, KEY_PATTERN, MARKDOWN, PARSERS, file_url, serve_file
from substrapp.models import Function, channel_of


class FunctionViewSet(
    ChannelScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Functions: register (multipart `json`, `file` archive with a Dockerfile, `description`),
    read, list, rename; their archive (for organizations that may process it) and description."""

    queryset = Function.objects.all()
    serializer_class = FunctionSerializer
    filterset_class = FunctionFilterSet
    parser_classes = PARSERS
    lookup_field = "key"
    lookup_value_regex = KEY_PATTERN

    @extend_schema(request={"multipart/form-data": FUNCTION_UPLOAD}, responses={201: FunctionSerializer})
    def create(self, request):
        function = registration.register_function(
            channel_of(request.user),
            json_part(request, FunctionSpecSerializer),
            archive=file_part(request, "file"),
            description=file_part(request, "description"),
            file_url=file_url(request),
        )
        return Response(self.get_serializer(function).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=AssetRenameSerializer, responses=FunctionSerializer)
    def update(self, request, key=None):
        function = self.get_object()
        rename = AssetRenameSerializer(data=request.data)
        rename.is_valid(raise_exception=True)
        registration.rename_function(function, rename.validated_data["name"])
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], **FILE_ROUTE)
    def file(self, request, key=None):
        stream = serve_file(self, "archive_file", needs_process=True)
        return FileResponse(stream, content_type="application/octet-stream")

    @extend_schema(responses={(200, "text/markdown"): OpenApiTypes.STR})
    # Not a method named `description`: DRF sets that attribute on every view from the action's docstring.
    @action(detail=True, methods=["get"], url_path="description", url_name="description", **FILE_ROUTE)
    def description_file(self, request, key=None):
        stream = serve_file(self, "description_file", needs_process=False)
        return FileResponse(stream, content_type=MARKDOWN)
