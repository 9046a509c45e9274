from rest_framework import serializers

from substrapp.models import Role


class ConfigSerializer(serializers.Serializer):
    model_export_enabled = serializers.BooleanField()


class InfoSerializer(serializers.Serializer):
    """`substra.sdk.models.OrganizationInfo`, plus the caller's username and role."""

    host = serializers.URLField()
    organization_id = serializers.CharField()
    organization_name = serializers.CharField()
    channel = serializers.CharField()
    version = serializers.CharField()
    orchestrator_version = serializers.CharField()
    config = ConfigSerializer()
    user = serializers.CharField()
    user_role = serializers.ChoiceField(choices=Role.choices)
