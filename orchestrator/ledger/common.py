"""Helpers shared by the asset families: caller identity, validation, permissions, dates."""

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils.dateparse import parse_datetime

from orchestrator.errors import OrchestratorError

NAME_MAX = 100
TAG_MAX = 100
TYPE_MAX = 30
METADATA_MAX_ENTRIES = 100
METADATA_KEY_MAX = 50
METADATA_VALUE_MAX = 100
ADDRESS_MAX = 300


@dataclass(frozen=True)
class Caller:
    """Who calls: the organization of the verified certificate, in the channel it asked for."""

    org: str
    channel: str


def now() -> datetime:
    return datetime.now(UTC)


def iso(value) -> str:
    """A date as RFC 3339 UTC text; accepts what either database driver returns."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(document) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def check_key(key: str, what: str = "key") -> str:
    """A UUID in its canonical hyphenated form (either case), returned in lower case."""
    lowered = key.lower() if isinstance(key, str) else ""
    if not CANONICAL_UUID.fullmatch(lowered):
        raise OrchestratorError("INVALID_KEY", f"{what} {key!r} is not a UUID in its canonical form")
    return lowered


def check_unique(keys, what: str = "key") -> None:
    seen = set()
    for key in keys:
        if key in seen:
            raise OrchestratorError("DUPLICATE_KEY", f"{what} {key} appears twice in the request")
        seen.add(key)


def check_name(name: str, what: str = "name", required: bool = True) -> str:
    if required and not name:
        raise OrchestratorError("INVALID_FIELD", f"{what} is required")
    if len(name) > NAME_MAX:
        raise OrchestratorError("LIMIT_EXCEEDED", f"{what} is longer than {NAME_MAX} characters")
    return name


def check_metadata(metadata) -> dict:
    metadata = dict(metadata)
    if len(metadata) > METADATA_MAX_ENTRIES:
        raise OrchestratorError("LIMIT_EXCEEDED", f"metadata has more than {METADATA_MAX_ENTRIES} entries")
    for key, value in metadata.items():
        if not key or len(key) > METADATA_KEY_MAX:
            raise OrchestratorError("LIMIT_EXCEEDED", f"metadata key {key[:60]!r} is empty or too long")
        if "__" in key:
            raise OrchestratorError("INVALID_FIELD", f"metadata key {key!r} must not contain '__'")
        if len(value) > METADATA_VALUE_MAX:
            raise OrchestratorError("LIMIT_EXCEEDED", f"metadata value of {key!r} is too long")
    return metadata


def check_addressable(addressable, what: str) -> tuple[str, str]:
    checksum, address = addressable.checksum, addressable.storage_address
    if not checksum or len(checksum) > 64 or not address or len(address) > ADDRESS_MAX:
        raise OrchestratorError("INVALID_FIELD", f"{what} needs a checksum and a storage address")
    return checksum, address


def new_permission(permission, owner: str, known_orgs: set[str]) -> dict:
    """The stored form of a requested permission: the owner is always authorized."""
    authorized = set(permission.authorized_ids)
    unknown = authorized - known_orgs
    if unknown:
        raise OrchestratorError(
            "UNKNOWN_ORGANIZATION", f"authorized_ids names organizations unknown in the channel: {sorted(unknown)}"
        )
    return {"public": bool(permission.public), "authorized_ids": sorted(authorized | {owner})}


def can_process(permission: dict, org: str) -> bool:
    return permission["public"] or org in permission["authorized_ids"]


def snapshot_addressable(checksum: str, address: str) -> dict:
    return {"checksum": checksum, "storage_address": address}
