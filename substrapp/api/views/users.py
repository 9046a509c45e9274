from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from substrapp import accounts
from substrapp.api.errors import BadRequest
from substrapp.api.filtersets.users import UserFilterSet
from substrapp.api.permissions import IsChannelAdmin, IsChannelMember
from substrapp.api.schema import ErrorSerializer
from substrapp.api.scoping import ChannelScopedViewMixin
from substrapp.api.serializers.common import DetailSerializer
from substrapp.api.serializers.users import (
    NewPasswordSerializer,
    ResetTokenSerializer,
    RoleChangeSerializer,
    TokenQuerySerializer,
    UserSerializer,
)
from substrapp.models import UserChannel

# Anyone may read the channel's users (the web frontend's creator filter lists them); changing
# them is for its admins. Resetting one's password is for whoever holds the token an admin made.
MEMBER_ACTIONS = {"list", "retrieve"}
TOKEN_ACTIONS = {"verify_token", "set_password"}


class UserViewSet(
    ChannelScopedViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The users of the caller's channel. Superusers (operators of the whole organization) are out
    of any channel admin's reach."""

    queryset = UserChannel.objects.select_related("user").exclude(user__is_superuser=True).order_by("user__username")
    serializer_class = UserSerializer
    lookup_field = "user__username"
    lookup_url_kwarg = "username"
    lookup_value_regex = r"[\w.@+-]+"
    filterset_class = UserFilterSet

    def get_permissions(self):
        if self.action in TOKEN_ACTIONS:
            return [AllowAny()]
        return [IsChannelMember()] if self.action in MEMBER_ACTIONS else [IsChannelAdmin()]

    def get_authenticators(self):
        # The password reset link is opened logged out; a stale session must not refuse it.
        return [] if getattr(self, "action", None) in TOKEN_ACTIONS else super().get_authenticators()

    @extend_schema(request=RoleChangeSerializer, responses=UserSerializer)
    def update(self, request, *args, **kwargs):
        membership = self.get_object()
        change = RoleChangeSerializer(data=request.data)
        change.is_valid(raise_exception=True)
        if membership.user == request.user:
            raise BadRequest("You cannot change your own role.", code="self_role_change")
        accounts.change_role(membership, change.validated_data["role"])
        return Response(UserSerializer(membership, context=self.get_serializer_context()).data)

    @extend_schema(request=RoleChangeSerializer, responses=UserSerializer)
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    @extend_schema(responses={200: DetailSerializer})
    def destroy(self, request, *args, **kwargs):
        membership = self.get_object()
        if membership.user == request.user:
            raise BadRequest("You cannot delete your own account.", code="self_deletion")
        accounts.delete_channel_user(membership)
        # The SDK's conventions: every answer has a JSON body.
        return Response({"detail": f"User {membership.user.username} deleted."})

    @extend_schema(request=None, responses=ResetTokenSerializer)
    @action(detail=True, methods=["post"])
    def reset_password(self, request, username=None):
        """A token for the user to choose a new password with (the admin passes the link on)."""
        membership = self.get_object()
        return Response({"reset_password_token": accounts.password_reset_token(membership.user)})

    @extend_schema(parameters=[TokenQuerySerializer], responses={200: DetailSerializer, 404: ErrorSerializer})
    @action(detail=True, methods=["get"])
    def verify_token(self, request, username=None):
        query = TokenQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        _user_for_reset(username, query.validated_data["token"])
        return Response({"detail": "The token is valid."})

    @extend_schema(request=NewPasswordSerializer, responses={200: DetailSerializer, 404: ErrorSerializer})
    @action(detail=True, methods=["post"])
    def set_password(self, request, username=None):
        body = NewPasswordSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = _user_for_reset(username, body.validated_data["token"])
        try:
            password_validation.validate_password(body.validated_data["password"], user)
        except DjangoValidationError as error:
            raise serializers.ValidationError({"password": error.messages}) from None
        accounts.set_password(user, body.validated_data["password"])
        return Response({"detail": "Password changed: log in."})


def _user_for_reset(username, token):
    user = accounts.user_for_reset(username, token)
    if user is None:
        raise BadRequest("This reset link is invalid or expired: ask an admin for a new one.", code="invalid_token")
    return user


class UsersAwaitingApprovalView(generics.ListAPIView):
    """Users that signed in through an external identity provider and wait for an admin. There is
    no such provider here: always an empty page."""

    permission_classes = (IsChannelAdmin,)
    serializer_class = UserSerializer
    queryset = UserChannel.objects.none()
    filter_backends = []
