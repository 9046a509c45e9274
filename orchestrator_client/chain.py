"""The hash chain of a channel's events: each event's hash covers its content and the previous
event's hash. The orchestrator computes it; every consumer recomputes it to detect tampering.

    content_digest = sha256_hex(json [channel, asset_kind, event_kind, asset_key, asset_json])
    hash           = sha256_hex(f"{prev_hash}|{position}|{timestamp}|{content_digest}")

The content digest needs no position, so the orchestrator computes it before it takes the
channel's lock; only the short link is computed under the lock (by the database itself on
PostgreSQL)."""

import hashlib
import json

GENESIS_HASH = "0" * 64


class ChainBroken(Exception):
    """An event does not follow the chain kept so far: rewritten, removed or reordered."""


def content_digest(*, channel, asset_kind, event_kind, asset_key, asset_json) -> str:
    content = [channel, asset_kind, event_kind, asset_key, asset_json]
    return hashlib.sha256(json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()


def link_hash(*, prev_hash: str, position: int, timestamp: str, digest: str) -> str:
    return hashlib.sha256(f"{prev_hash}|{position}|{timestamp}|{digest}".encode()).hexdigest()


def event_hash(*, channel, position, asset_kind, event_kind, asset_key, timestamp, asset_json, prev_hash) -> str:
    digest = content_digest(
        channel=channel, asset_kind=asset_kind, event_kind=event_kind, asset_key=asset_key, asset_json=asset_json
    )
    return link_hash(prev_hash=prev_hash, position=position, timestamp=timestamp, digest=digest)


class ChainVerifier:
    """Follows one channel's events in order; `verify` raises ChainBroken on the first bad link."""

    def __init__(self, position: int = 0, last_hash: str = GENESIS_HASH):
        self.position = position
        self.last_hash = last_hash

    def verify(self, event) -> None:
        if event.position != self.position + 1:
            raise ChainBroken(f"expected event {self.position + 1}, got {event.position}")
        if event.prev_hash != self.last_hash:
            raise ChainBroken(f"event {event.position} does not follow the hash of event {self.position}")
        recomputed = event_hash(
            channel=event.channel,
            position=event.position,
            asset_kind=_enum_name(event, "asset_kind"),
            event_kind=_enum_name(event, "event_kind"),
            asset_key=event.asset_key,
            timestamp=event.timestamp,
            asset_json=event.asset_json,
            prev_hash=event.prev_hash,
        )
        if recomputed != event.hash:
            raise ChainBroken(f"event {event.position} was altered: its content does not match its hash")
        self.position = event.position
        self.last_hash = event.hash


def _enum_name(event, field: str) -> str:
    """Hashes cover enum names, not numbers: works on a protobuf Event and on a plain object."""
    value = getattr(event, field)
    if isinstance(value, str):
        return value
    return event.DESCRIPTOR.fields_by_name[field].enum_type.values_by_number[value].name
