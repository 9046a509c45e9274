"""Credentials of the other organizations: the ones they use to call us (incoming) and the ones we
use to call them (outgoing). `manage.py add_peer` registers both."""

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction

from substrapp.models import IncomingPeer, OutgoingPeer


class PeerError(ValueError):
    pass


def register_peer(org_id: str, incoming_password: str, outgoing_password: str, url: str = "") -> bool:
    """Creates or replaces the credentials exchanged with `org_id`; True if the peer is new."""
    if not org_id or org_id == settings.ORG_ID:
        raise PeerError(f"a peer must be another organization than {settings.ORG_ID}")
    if not incoming_password or not outgoing_password:
        raise PeerError("both passwords are required")
    if url:
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError:
            raise PeerError(f"{url!r} is not an http(s) URL") from None
    with transaction.atomic():
        incoming, created = IncomingPeer.objects.select_for_update().get_or_create(org_id=org_id)
        incoming.set_password(incoming_password)
        incoming.save()
        OutgoingPeer.objects.update_or_create(org_id=org_id, defaults={"password": outgoing_password, "url": url})
    return created


def authenticate_peer(org_id: str, password: str) -> IncomingPeer | None:
    """The peer whose credentials these are, or None."""
    peer = IncomingPeer.objects.filter(org_id=org_id).first()
    if peer is None:
        make_password(password)  # as slow as a real check: the answer time tells no org id apart
        return None
    return peer if peer.check_password(password) else None
