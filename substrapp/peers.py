"""Credentials of the other organizations: the ones they use to call us (incoming) and the ones we
use to call them (outgoing). `manage.py add_peer` registers both. Peers authenticate to the file
routes with HTTP Basic (`PeerAuthentication`)."""

import hashlib
import hmac
import secrets
import threading

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BasicAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission

from orchestrator_client import limits
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


# Credentials this process has verified, so that a peer's every download does not pay the
# password hasher again (PBKDF2 with a million rounds: 0.6 s of CPU here, twice per FedAvg round on
# the aggregator's path). Keyed by the stored hash, so a new password forgets the old one; the
# value is an HMAC of the password under a key that never leaves the process.
_VERIFIED_KEY = secrets.token_bytes(32)
_VERIFIED_MAX = 256
_verified: dict[tuple[str, str], bytes] = {}
_verified_lock = threading.Lock()


def authenticate_peer(org_id: str, password: str) -> IncomingPeer | None:
    """The peer whose credentials these are, or None. A wrong password always goes through the
    hasher; the right one does once per process and stored hash."""
    peer = IncomingPeer.objects.filter(org_id=org_id).first()
    if peer is None:
        make_password(password)  # as slow as a real check: the answer time tells no org id apart
        return None
    seal = hmac.new(_VERIFIED_KEY, password.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
    known = (peer.org_id, peer.password_hash)
    with _verified_lock:
        verified = _verified.get(known)
    if verified is not None and hmac.compare_digest(verified, seal):
        return peer
    if not peer.check_password(password):
        return None
    with _verified_lock:
        if len(_verified) >= _VERIFIED_MAX:
            _verified.clear()
        _verified[known] = seal
    return peer


class PeerUser:
    """`request.user` of a call made by another organization: no Django user, no channel."""

    is_authenticated = True
    is_active = True
    is_anonymous = False
    is_staff = is_superuser = False
    pk = id = None

    def __init__(self, peer: IncomingPeer):
        self.peer = peer
        self.org_id = peer.org_id
        self.username = f"peer:{peer.org_id}"

    def __str__(self):
        return self.username


class PeerAuthentication(BasicAuthentication):
    """HTTP Basic with a peer's organization id and the password it presents to us; only the file
    routes accept it. Wrong credentials are a 401."""

    www_authenticate_realm = "peers"

    def authenticate_credentials(self, userid, password, request=None):
        try:  # the credentials come base64-encoded, past the checks of StorableInputMiddleware
            limits.check_organization(userid, "peer id")
            limits.check_text(password, "peer password", limits.PASSWORD_MAX)
        except limits.Refused:
            raise AuthenticationFailed("Invalid peer credentials.", code="invalid_credentials") from None
        peer = authenticate_peer(userid, password)
        if peer is None:
            raise AuthenticationFailed("Invalid peer credentials.", code="invalid_credentials")
        return PeerUser(peer), peer


class PeerAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = PeerAuthentication
    name = "peerBasicAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "basic", "description": "Another organization: its id and peer password."}


def peer_of(request) -> IncomingPeer | None:
    """The peer that made this (DRF) request, or None for a user."""
    return request.auth if isinstance(request.auth, IncomingPeer) else None


class IsPeer(BasePermission):
    def has_permission(self, request, view):
        return peer_of(request) is not None
