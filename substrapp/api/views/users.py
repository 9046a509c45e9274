from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.response import Response

from substrapp import accounts
from substrapp.api.errors import BadRequest
from substrapp.api.permissions import IsChannelAdmin
from substrapp.api.scoping import ChannelScopedViewMixin
from substrapp.api.serializers.common import DetailSerializer
from substrapp.api.serializers.users import UserSerializer
from substrapp.models import UserChannel


class UserViewSet(
    ChannelScopedViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The users of the caller's channel, for its admins. Superusers (operators of the whole
    organization) are out of any channel admin's reach."""

    queryset = UserChannel.objects.select_related("user").exclude(user__is_superuser=True).order_by("user__username")
    serializer_class = UserSerializer
    permission_classes = (IsChannelAdmin,)
    lookup_field = "user__username"
    lookup_url_kwarg = "username"
    lookup_value_regex = r"[\w.@+-]+"
    filterset_fields = ["role"]

    @extend_schema(responses={200: DetailSerializer})
    def destroy(self, request, *args, **kwargs):
        membership = self.get_object()
        if membership.user == request.user:
            raise BadRequest("You cannot delete your own account.", code="self_deletion")
        accounts.delete_channel_user(membership)
        # The SDK's conventions: every answer has a JSON body.
        return Response({"detail": f"User {membership.user.username} deleted."})
