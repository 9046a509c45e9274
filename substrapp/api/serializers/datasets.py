"""Datasets (`/data_manager/`) and data samples (`/data_sample/`): the SDK's `Dataset` and
`DataSample` models (docs/sdk-contract.md §6.2, §6.3), and the bodies that register them."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from orchestrator_client import limits
from substrapp.api.fields import FileReferenceField, IsoDateTimeField, PermissionsField
from substrapp.api.serializers.common import MetadataField, PermissionSerializer, StrictSerializer
from substrapp.models import DataManager, DataSample


def key_list() -> serializers.ListField:
    return serializers.ListField(child=serializers.CharField(max_length=36), min_length=1, max_length=100_000)


class DataManagerSerializer(serializers.ModelSerializer):
    permissions = PermissionsField(read_only=True)
    data_sample_keys = serializers.SerializerMethodField()
    opener = FileReferenceField("opener", "data_manager-opener")
    description = FileReferenceField("description", "data_manager-description")
    creation_date = IsoDateTimeField()

    class Meta:
        model = DataManager
        fields = [
            "key",
            "name",
            "owner",
            "permissions",
            "data_sample_keys",
            "opener",
            "description",
            "type",
            "metadata",
            "logs_permission",
            "creation_date",
        ]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_data_sample_keys(self, dataset) -> list[str]:
        # Views prefetch `data_samples`: one query per page, not one per dataset.
        return [sample.key for sample in dataset.data_samples.all()]


class DatasetSpecSerializer(StrictSerializer):
    """The `json` part of `POST /data_manager/`."""

    name = serializers.CharField(max_length=limits.NAME_MAX)
    permissions = PermissionSerializer()
    logs_permission = PermissionSerializer(required=False)
    metadata = MetadataField(required=False)
    type = serializers.CharField(max_length=limits.TYPE_MAX, required=False)


class DataSampleSerializer(serializers.ModelSerializer):
    """Never `path`: the SDK checks it as a folder on the client's machine."""

    data_manager_keys = serializers.SerializerMethodField()
    creation_date = IsoDateTimeField()

    class Meta:
        model = DataSample
        fields = ["key", "owner", "data_manager_keys", "creation_date"]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_data_manager_keys(self, sample) -> list[str]:
        return [manager.key for manager in sample.data_managers.all()]


class UploadedSamplesSpecSerializer(StrictSerializer):
    """The `json` part of a multipart `POST /data_sample/`; the archives are its file parts."""

    data_manager_keys = key_list()
    followlinks = serializers.BooleanField(required=False)


class ServerSamplesSpecSerializer(StrictSerializer):
    """A JSON `POST /data_sample/`: folders already on this server, `path` or `paths`."""

    data_manager_keys = key_list()
    path = serializers.CharField(max_length=4096, required=False)
    paths = serializers.ListField(child=serializers.CharField(max_length=4096), min_length=1, required=False)
    followlinks = serializers.BooleanField(default=False)

    def validate(self, attrs):
        if ("path" in attrs) == ("paths" in attrs):
            raise serializers.ValidationError("Give either `path` or `paths`.", code="required")
        attrs["paths"] = attrs.get("paths") or [attrs.pop("path")]
        return attrs


class LinkSamplesSerializer(StrictSerializer):
    """`POST /data_sample/bulk_update/`, form-encoded with repeated fields."""

    data_manager_keys = key_list()
    data_sample_keys = key_list()


class CreatedKeySerializer(serializers.Serializer):
    key = serializers.CharField()
