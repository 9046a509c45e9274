import datetime

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from substrapp.addresses import public_url


class IsoDateTimeField(serializers.DateTimeField):
    """ISO 8601 in UTC with a `+00:00` offset. DRF writes `Z`, which Python 3.10's
    `datetime.fromisoformat` (SDK login on 3.10) refuses."""

    def to_representation(self, value):
        return iso_utc(value)


def iso_utc(value: datetime.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(datetime.UTC).isoformat()


@extend_schema_field(
    {
        "type": "object",
        "properties": {"checksum": {"type": "string"}, "storage_address": {"type": "string", "format": "uri"}},
        "required": ["checksum", "storage_address"],
    }
)
class FileReferenceField(serializers.Field):
    """An asset's file as the SDK reads it, `{checksum, storage_address}`, the address being the
    route of this backend that serves it (`route`, a URL name taking the asset's key)."""

    def __init__(self, prefix: str, route: str, **kwargs):
        self.prefix = prefix
        self.route = route
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, asset):
        address = public_url(self.context["request"], reverse(self.route, args=[asset.key]))
        return {"checksum": getattr(asset, f"{self.prefix}_checksum"), "storage_address": address}


def with_download(permissions: dict) -> dict:
    """The ledger keeps who may process an asset; whoever may process it may download its files
    too (the file routes check exactly that). The web frontend reads both."""
    return {**permissions, "download": permissions.get("download", permissions.get("process"))}


PERMISSION_SCHEMA = {
    "type": "object",
    "properties": {"public": {"type": "boolean"}, "authorized_ids": {"type": "array", "items": {"type": "string"}}},
}


@extend_schema_field({"type": "object", "properties": {"process": PERMISSION_SCHEMA, "download": PERMISSION_SCHEMA}})
class PermissionsField(serializers.JSONField):
    """An asset's `permissions` as read: `process`, and `download` for the web frontend."""

    def to_representation(self, value):
        return with_download(value)
