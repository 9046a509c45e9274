from rest_framework.generics import ListAPIView

from substrapp.api.scoping import ChannelScopedViewMixin
from substrapp.api.serializers.organizations import OrganizationSerializer
from substrapp.models import Organization


class OrganizationListView(ChannelScopedViewMixin, ListAPIView):
    """The organizations of the caller's channel, as a bare array (the SDK reads no pages here)."""

    queryset = Organization.objects.all()
    serializer_class = OrganizationSerializer
    pagination_class = None
