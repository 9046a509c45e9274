from django.conf import settings
from rest_framework import serializers

from substrapp.api.fields import IsoDateTimeField
from substrapp.models import Organization


class OrganizationSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="org_id")
    is_current = serializers.SerializerMethodField()
    creation_date = IsoDateTimeField()

    class Meta:
        model = Organization
        fields = ["id", "address", "is_current", "creation_date"]

    def get_is_current(self, organization) -> bool:
        return organization.org_id == settings.ORG_ID
