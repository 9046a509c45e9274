from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from substrapp.addresses import public_url
from substrapp.api.permissions import AnonymousOrChannelMember
from substrapp.api.serializers.info import InfoSerializer, PublicInfoSerializer
from substrapp.channels import get_channel


class InfoView(APIView):
    """This organization, its versions, and the caller's channel and role. Anyone may ask (the
    web frontend's login page names the organization): a caller without credentials gets the
    organization's name and address only; refused credentials are still a 401, and a user of no
    channel still a 403."""

    permission_classes = (AnonymousOrChannelMember,)

    @extend_schema(responses=InfoSerializer)
    def get(self, request):
        if request.user.is_anonymous:
            return Response(PublicInfoSerializer(_public_info(request)).data)
        membership = request.user.membership
        channel = get_channel(membership.channel)
        info = {
            **_public_info(request),
            "channel": channel.name,
            "version": settings.VERSION,
            "orchestrator_version": settings.ORCHESTRATOR_VERSION,
            "config": {"model_export_enabled": channel.model_export_enabled},
            "user": request.user.get_username(),
            "user_role": membership.role,
        }
        return Response(InfoSerializer(info).data)


def _public_info(request) -> dict:
    return {
        "host": public_url(request, f"{settings.URL_PREFIX}/"),
        "organization_id": settings.ORG_ID,
        "organization_name": settings.ORG_NAME,
        # No external identity provider: the login page shows the password form alone.
        "auth": {},
    }
