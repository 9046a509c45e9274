from django.conf import settings
from rest_framework.permissions import BasePermission

from substrapp.models import channel_of, is_channel_admin


class IsChannelMember(BasePermission):
    """The default: an authenticated user of one of this organization's channels. Anonymous
    callers get a 401 (DRF asks them to authenticate), users in no channel a 403."""

    message = "Your account belongs to no channel of this organization."

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and channel_of(user) in settings.CHANNELS)


class IsChannelAdmin(IsChannelMember):
    """Users management: admins of the channel only."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        self.message = "Only admins of the channel may do this."
        return is_channel_admin(request.user)


class AnonymousOrChannelMember(IsChannelMember):
    """A view that answers callers without credentials too (the public part of /info/)."""

    def has_permission(self, request, view):
        return bool(request.user is None or request.user.is_anonymous) or super().has_permission(request, view)
