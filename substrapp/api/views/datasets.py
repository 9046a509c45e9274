from django.db.models import Prefetch
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.settings import api_settings

from substrapp import registration
from substrapp.addresses import public_url
from substrapp.api.filtersets.datasets import DataManagerFilterSet, DataSampleFilterSet
from substrapp.api.parsers import CheckedJSONParser
from substrapp.api.permissions import IsChannelMember
from substrapp.api.schema import DATASET_UPLOAD, SAMPLES_UPLOAD
from substrapp.api.scoping import ChannelScopedViewMixin
from substrapp.api.serializers.common import AssetRenameSerializer, DetailSerializer
from substrapp.api.serializers.datasets import (
    CreatedKeySerializer,
    DataManagerSerializer,
    DataSampleSerializer,
    DatasetSpecSerializer,
    LinkSamplesSerializer,
    ServerSamplesSpecSerializer,
    UploadedSamplesSpecSerializer,
)
from substrapp.api.uploads import all_file_parts, file_part, json_part
from substrapp.assetfiles import check_peer_may_process, open_asset_file, open_own_file
from substrapp.models import DataManager, DataSample, channel_of
from substrapp.peers import IsPeer, PeerAuthentication, peer_of

MARKDOWN = "text/markdown; charset=utf-8"
PYTHON = "text/x-python; charset=utf-8"
PARSERS = (MultiPartParser, CheckedJSONParser, FormParser)
KEY_PATTERN = r"[^/]+"


# The file routes also accept other organizations (HTTP Basic with their peer credentials). The
# token stays first: its challenge is the one a 401 names.
FILE_ROUTE = {
    "authentication_classes": [*api_settings.DEFAULT_AUTHENTICATION_CLASSES, PeerAuthentication],
    "permission_classes": [IsPeer | IsChannelMember],
}


def peer_asset(view):
    """For a peer's call: the asset by key in any channel; None for a user's call."""
    peer = peer_of(view.request)
    if peer is None:
        return None
    return get_object_or_404(view.queryset, key=view.kwargs["key"])


def serve_file(view, field: str, needs_process: bool):
    """A user gets the file if this organization may (fetched from the owner when elsewhere); a
    peer gets this organization's own copy if the peer's organization may."""
    asset = peer_asset(view)
    if asset is None:
        return open_asset_file(view.get_object(), field, needs_process=needs_process)
    check_peer_may_process(asset, peer_of(view.request).org_id, needs_process=needs_process)
    return open_own_file(asset, field)


def file_url(request):
    """The addresses of this backend's file routes, for registering an asset's files."""
    return lambda route, key: public_url(request, reverse(route, args=[key]))


class DataManagerViewSet(
    ChannelScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Datasets: register (multipart `json`, `data_opener`, `description`), read, list, rename;
    their opener (for organizations that may process it) and description."""

    queryset = DataManager.objects.prefetch_related(Prefetch("data_samples", DataSample.objects.only("key")))
    serializer_class = DataManagerSerializer
    filterset_class = DataManagerFilterSet
    parser_classes = PARSERS
    lookup_field = "key"
    lookup_value_regex = KEY_PATTERN

    @extend_schema(request={"multipart/form-data": DATASET_UPLOAD}, responses={201: DataManagerSerializer})
    def create(self, request):
        dataset = registration.register_dataset(
            channel_of(request.user),
            json_part(request, DatasetSpecSerializer),
            opener=file_part(request, "data_opener"),
            description=file_part(request, "description"),
            file_url=file_url(request),
        )
        dataset = self.get_queryset().get(key=dataset.key)
        return Response(self.get_serializer(dataset).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=AssetRenameSerializer, responses=DataManagerSerializer)
    def update(self, request, key=None):
        dataset = self.get_object()
        rename = AssetRenameSerializer(data=request.data)
        rename.is_valid(raise_exception=True)
        registration.rename_dataset(dataset, rename.validated_data["name"])
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(responses={(200, "text/x-python"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"], **FILE_ROUTE)
    def opener(self, request, key=None):
        stream = serve_file(self, "opener_file", needs_process=True)
        return FileResponse(stream, content_type=PYTHON)

    @extend_schema(responses={(200, "text/markdown"): OpenApiTypes.STR})
    # Not a method named `description`: DRF sets that attribute on every view from the action's docstring.
    @action(detail=True, methods=["get"], url_path="description", url_name="description", **FILE_ROUTE)
    def description_file(self, request, key=None):
        stream = serve_file(self, "description_file", needs_process=False)
        return FileResponse(stream, content_type=MARKDOWN)


class DataSampleViewSet(
    ChannelScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Data samples: register uploads (multipart: `json` and one archive per sample) or folders
    on this server (JSON `path`/`paths`), link them to datasets, read and list them. Their bytes
    are never served."""

    queryset = DataSample.objects.prefetch_related(Prefetch("data_managers", DataManager.objects.only("key")))
    serializer_class = DataSampleSerializer
    filterset_class = DataSampleFilterSet
    parser_classes = PARSERS
    lookup_field = "key"
    lookup_value_regex = KEY_PATTERN

    @extend_schema(
        request={"multipart/form-data": SAMPLES_UPLOAD, "application/json": ServerSamplesSpecSerializer},
        responses={201: CreatedKeySerializer(many=True)},
    )
    def create(self, request):
        channel = channel_of(request.user)
        if request.content_type.startswith("multipart/"):
            spec = json_part(request, UploadedSamplesSpecSerializer)
            keys = registration.register_uploaded_samples(channel, spec["data_manager_keys"], all_file_parts(request))
        else:
            spec = ServerSamplesSpecSerializer(data=request.data)
            spec.is_valid(raise_exception=True)
            keys = registration.register_server_samples(channel, **spec.validated_data)
        return Response([{"key": key} for key in keys], status=status.HTTP_201_CREATED)

    @extend_schema(request=LinkSamplesSerializer, responses=DetailSerializer)
    @action(detail=False, methods=["post"])
    def bulk_update(self, request):
        links = LinkSamplesSerializer(data=request.data)
        links.is_valid(raise_exception=True)
        samples, datasets = links.validated_data["data_sample_keys"], links.validated_data["data_manager_keys"]
        registration.link_samples(channel_of(request.user), datasets, samples)
        return Response({"detail": f"{len(samples)} data samples linked to {len(datasets)} datasets."})
