"""`substra.sdk.models.OutModel` (docs/sdk-contract.md §6.7) and performances."""

from django.urls import reverse
from rest_framework import serializers

from substrapp.addresses import public_url
from substrapp.api.fields import IsoDateTimeField, PermissionsField
from substrapp.models import Model, Performance


class FileSerializer(serializers.Serializer):
    checksum = serializers.CharField()
    storage_address = serializers.URLField()


class OutModelSerializer(serializers.ModelSerializer):
    permissions = PermissionsField(read_only=True)
    compute_task_key = serializers.CharField(source="compute_task_id")
    address = serializers.SerializerMethodField()
    creation_date = IsoDateTimeField()

    class Meta:
        model = Model
        fields = ["key", "compute_task_key", "compute_task_output_identifier", "address", "permissions", "owner"]
        fields += ["creation_date"]

    def get_address(self, model) -> FileSerializer(allow_null=True):
        # A disabled (deleted transient) model has no file any more.
        if model.disabled:
            return None
        return {
            "checksum": model.checksum,
            "storage_address": public_url(self.context["request"], reverse("model-file", args=[model.key])),
        }


class PerformanceSerializer(serializers.ModelSerializer):
    compute_task_key = serializers.CharField(source="compute_task_id")
    creation_date = IsoDateTimeField()

    class Meta:
        model = Performance
        fields = ["compute_task_key", "compute_task_output_identifier", "performance_value", "creation_date"]
