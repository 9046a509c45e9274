from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from substrapp.addresses import public_url
from substrapp.api.serializers.info import InfoSerializer
from substrapp.channels import get_channel


class InfoView(APIView):
    """This organization, its versions, and the caller's channel and role."""

    @extend_schema(responses=InfoSerializer)
    def get(self, request):
        membership = request.user.membership
        channel = get_channel(membership.channel)
        info = {
            "host": public_url(request, "/"),
            "organization_id": settings.ORG_ID,
            "organization_name": settings.ORG_NAME,
            "channel": channel.name,
            "version": settings.VERSION,
            "orchestrator_version": settings.ORCHESTRATOR_VERSION,
            "config": {"model_export_enabled": channel.model_export_enabled},
            "user": request.user.get_username(),
            "user_role": membership.role,
        }
        return Response(InfoSerializer(info).data)
