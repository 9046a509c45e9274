from rest_framework import serializers

from substrapp.models import Role


class ConfigSerializer(serializers.Serializer):
    model_export_enabled = serializers.BooleanField()


class PublicInfoSerializer(serializers.Serializer):
    """What anyone may read: the organization, and how to log in (`auth`, as the web frontend's
    login page reads it: empty without an external identity provider)."""

    host = serializers.URLField()
    organization_id = serializers.CharField()
    organization_name = serializers.CharField()
    auth = serializers.DictField()


class InfoSerializer(PublicInfoSerializer):
    """`substra.sdk.models.OrganizationInfo`, plus the caller's username and role."""

    channel = serializers.CharField()
    version = serializers.CharField()
    orchestrator_version = serializers.CharField()
    config = ConfigSerializer()
    user = serializers.CharField()
    user_role = serializers.ChoiceField(choices=Role.choices)
