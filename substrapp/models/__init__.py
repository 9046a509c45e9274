from substrapp.models.organizations import Organization
from substrapp.models.peers import IncomingPeer, OutgoingPeer
from substrapp.models.scoping import ChannelScopedQuerySet, channel_of
from substrapp.models.tokens import ExpiringToken
from substrapp.models.users import Role, UserChannel, is_channel_admin

__all__ = [
    "ChannelScopedQuerySet",
    "ExpiringToken",
    "IncomingPeer",
    "Organization",
    "OutgoingPeer",
    "Role",
    "UserChannel",
    "channel_of",
    "is_channel_admin",
]
