"""Helpers shared by the asset families: caller identity, validation, permissions, dates."""

import functools
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils.dateparse import parse_datetime

from orchestrator.errors import OrchestratorError
from orchestrator_client import limits


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


def refusing(check):
    """`check`, from the one definition (orchestrator_client.limits), raising OrchestratorError."""

    @functools.wraps(check)
    def checked(*args, **kwargs):
        try:
            return check(*args, **kwargs)
        except limits.Refused as refused:
            raise OrchestratorError(refused.code, refused.message) from None

    return checked


# Every text received over gRPC goes through one of these before anything is written: what the
# ledger accepts, every organization's mirror can store.
check_text = refusing(limits.check_text)
check_name = refusing(limits.check_name)
check_tag = refusing(limits.check_tag)
check_identifier = refusing(limits.check_identifier)
check_organization = refusing(limits.check_organization)
check_address = refusing(limits.check_address)
check_checksum = refusing(limits.check_checksum)
check_metadata = refusing(limits.check_metadata)
check_finite = refusing(limits.check_finite)  # the snapshots are JSON, which has no NaN or infinity


def check_key(key: str, what: str = "key") -> str:
    """A UUID in its canonical hyphenated form (either case), returned in lower case."""
    lowered = key.lower() if isinstance(key, str) else ""
    if not CANONICAL_UUID.fullmatch(lowered):
        shown = key[:60] if isinstance(key, str) else key
        raise OrchestratorError("INVALID_KEY", f"{what} {shown!r} is not a UUID in its canonical form")
    return lowered


def existing_key(key: str, what: str) -> str:
    """A key to look up: anything but a stored key's form (lower-case canonical UUID) is not found,
    without a query (a NUL, which the database would refuse, included)."""
    if not isinstance(key, str) or not CANONICAL_UUID.fullmatch(key):
        raise OrchestratorError("NOT_FOUND", f"{what} {str(key)[:60]!r} not found")
    return key


def check_unique(keys, what: str = "key") -> None:
    seen = set()
    for key in keys:
        if key in seen:
            raise OrchestratorError("DUPLICATE_KEY", f"{what} {key} appears twice in the request")
        seen.add(key)


def check_addressable(addressable, what: str) -> tuple[str, str]:
    checksum = check_checksum(addressable.checksum, f"{what} checksum")
    address = check_address(addressable.storage_address, f"{what} storage address")
    return checksum, address


def check_organizations(org_ids, what: str) -> list[str]:
    return [check_organization(org_id, what) for org_id in org_ids]


def new_permission(permission, owner: str, known_orgs: set[str]) -> dict:
    """The stored form of a requested permission: the owner is always authorized."""
    authorized = set(check_organizations(permission.authorized_ids, "an authorized id"))
    unknown = authorized - known_orgs
    if unknown:
        # Substra's wording first: its clients and end-to-end suite look for it.
        raise OrchestratorError(
            "UNKNOWN_ORGANIZATION",
            f"invalid permission input values: authorized_ids names organizations unknown in the channel: "
            f"{sorted(unknown)}",
        )
    return {"public": bool(permission.public), "authorized_ids": sorted(authorized | {owner})}


def can_process(permission: dict, org: str) -> bool:
    return permission["public"] or org in permission["authorized_ids"]


def snapshot_addressable(checksum: str, address: str) -> dict:
    return {"checksum": checksum, "storage_address": address}
