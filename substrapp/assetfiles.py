"""The files of datasets, functions and models (openers, archives, descriptions, model files), as
the API serves them.

    with open_asset_file(dataset, "opener_file", needs_process=True) as stream: ...

Only the owner holds an asset's files. For an asset of another organization, this backend fetches
the file from the owner's backend with its outgoing peer credentials (`fetch_from_owner`), checks
its SHA-256 against the mirror before serving a byte, and serves it from a temporary copy. The
owner serves its file routes to peers (HTTP Basic, `substrapp.peers.PeerAuthentication`) that may
process the asset (`check_peer_may_process`).
"""

import hashlib
import tempfile
from typing import BinaryIO
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings

from substrapp.models import Organization, OutgoingPeer
from substrapp.storage import open_stored

CHUNK = 1024 * 1024
# Connect and read timeouts of a call to another organization, in seconds.
PEER_TIMEOUT = (10, 120)


class FileAccessDenied(Exception):
    """This organization may not process the asset (the API answers 403)."""

    code = "permission_denied"


class FileElsewhere(Exception):
    """The owner's copy cannot be had: no credentials for it, it cannot be reached, it refused
    our credentials, or the file it sent is not the one registered (the API answers 502)."""

    code = "file_elsewhere"


class OwnerNotFound(Exception):
    """The owner says it has no such file (the API answers 404)."""


def can_process(asset, org: str | None = None) -> bool:
    """Whether organization `org` (this one by default) may use the asset in its tasks."""
    org = org or settings.ORG_ID
    process = asset.permissions["process"]
    return asset.owner == org or process["public"] or org in process["authorized_ids"]


def check_peer_may_process(asset, org_id: str, needs_process: bool = True) -> None:
    """On the owner: a peer gets a file only if its organization is in the asset's channel and
    (but for descriptions) may process the asset."""
    check_peer_in_channel(asset, org_id)
    if needs_process and not can_process(asset, org_id):
        raise FileAccessDenied(f"{org_id} has no process permission on {asset.key}.")


def check_peer_in_channel(asset, org_id: str) -> None:
    if not Organization.objects.filter(channel=asset.channel, org_id=org_id).exists():
        raise FileAccessDenied(f"{org_id} is not in the channel of {asset.key}.")


# The checksum and the owner's address of each file field, in the mirror.
_ADDRESSABLE = {
    "opener_file": ("opener_checksum", "opener_address"),
    "description_file": ("description_checksum", "description_address"),
    "archive_file": ("archive_checksum", "archive_address"),
    "file": ("checksum", "address"),
}


def open_asset_file(asset, field: str, needs_process: bool) -> BinaryIO:
    """A stream of the file in `asset.<field>`; FileNotFoundError if this owner lost it. For an
    asset of another organization, the owner's copy, checked."""
    if needs_process and not can_process(asset):
        raise FileAccessDenied(f"{settings.ORG_ID} has no process permission on {asset.key}.")
    checksum_field, address_field = _ADDRESSABLE[field]
    if asset.owner != settings.ORG_ID:
        return fetch_from_owner(
            asset.owner, asset.channel, getattr(asset, address_field), getattr(asset, checksum_field)
        )
    return open_own_file(asset, field)


def open_own_file(asset, field: str) -> BinaryIO:
    """This organization's copy of `asset.<field>`; FileNotFoundError (404) if it holds none:
    peers are never served files of a third organization."""
    stored = getattr(asset, field)
    if asset.owner != settings.ORG_ID or not stored or getattr(asset, "disabled", False):
        raise FileNotFoundError(field)
    return open_stored(stored.name)


def owner_base_url(owner: str, channel: str) -> tuple[OutgoingPeer, str]:
    """Our credentials for `owner` and its base URL: the peer's, else the address it registered."""
    peer = OutgoingPeer.objects.filter(org_id=owner).first()
    if peer is None:
        raise FileElsewhere(f"The file is held by {owner}, and this organization has no credentials for it.")
    if peer.url:
        return peer, peer.url
    organization = Organization.objects.filter(channel=channel, org_id=owner).exclude(address="").first()
    if organization is None:
        raise FileElsewhere(f"The file is held by {owner}, whose address is unknown here.")
    return peer, organization.address


def fetch_from_owner(owner: str, channel: str, address: str, checksum: str) -> BinaryIO:
    """The file at the owner's `address` (only its path is used, on the owner's known base URL),
    downloaded with our outgoing credentials into a temporary file whose SHA-256 must be
    `checksum`. Nothing is served before the whole file is checked."""
    copy = tempfile.SpooledTemporaryFile(max_size=8 * CHUNK)
    try:
        download_from_owner(owner, channel, address, checksum, copy)
    except BaseException:
        copy.close()
        raise
    copy.seek(0)
    return copy


def download_from_owner(owner: str, channel: str, address: str, checksum: str, sink: BinaryIO) -> None:
    """Writes the owner's file into `sink` as it arrives, hashing it on the way: one write and
    one SHA-256 pass, whatever its size (the worker downloads models straight into its cache).
    FileElsewhere if its SHA-256 is not `checksum`: the caller must then drop what `sink` holds."""
    peer, base = owner_base_url(owner, channel)
    url = urljoin(base.rstrip("/") + "/", urlsplit(address).path.lstrip("/"))
    try:
        answer = requests.get(url, auth=(settings.ORG_ID, peer.password), stream=True, timeout=PEER_TIMEOUT)
    except requests.RequestException as error:
        raise FileElsewhere(f"{owner} could not be reached for the file: {error}") from None
    with answer:
        _check_answer(owner, answer.status_code)
        digest, size = hashlib.sha256(), 0
        try:
            for chunk in answer.iter_content(CHUNK):
                size += len(chunk)
                if size > settings.PEER_FILE_MAX_BYTES:
                    raise FileElsewhere(f"The file sent by {owner} is over {settings.PEER_FILE_MAX_BYTES} bytes.")
                digest.update(chunk)
                sink.write(chunk)
        except requests.RequestException as error:
            raise FileElsewhere(f"The transfer of the file from {owner} broke: {error}") from None
    if digest.hexdigest() != checksum:
        raise FileElsewhere(
            f"The file sent by {owner} does not match its registered checksum "
            f"(expected {checksum}, got {digest.hexdigest()}): refused."
        )


def _check_answer(owner: str, status: int) -> None:
    if status == 403:
        raise FileAccessDenied(f"{owner} refused the file: {settings.ORG_ID} may not process it.")
    if status == 404:
        raise OwnerNotFound(f"{owner} does not hold the file.")
    if status == 401:
        raise FileElsewhere(f"{owner} refused this organization's peer credentials.")
    if status != 200:
        raise FileElsewhere(f"{owner} answered {status} for the file.")
