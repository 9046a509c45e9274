"""The hash chain of a channel's events: each event's hash covers its content and the previous
event's hash. The orchestrator computes it; every consumer recomputes it to detect tampering."""

import hashlib
import json

GENESIS_HASH = "0" * 64


class ChainBroken(Exception):
    """An event does not follow the chain kept so far: rewritten, removed or reordered."""


def event_hash(*, channel, position, asset_kind, event_kind, asset_key, timestamp, asset_json, prev_hash) -> str:
    content = [channel, position, asset_kind, event_kind, asset_key, timestamp, asset_json, prev_hash]
    canonical = json.dumps(content, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


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
