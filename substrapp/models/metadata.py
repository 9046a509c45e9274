"""Filtering on `metadata`, the `{str: str}` JSON object that data scientists put on plans and tasks
(the SDK's `metadata` filter: `is`, `contains`, `exists`, ANDed)."""

from django.db import connections
from django.db.models.fields.json import KT
from django.db.models.lookups import IContains

from substrapp.models.scoping import ChannelScopedQuerySet


class MetadataQuerySet(ChannelScopedQuerySet):
    def where_metadata(self, key: str, test: str, value: str = "") -> "MetadataQuerySet":
        """Rows whose metadata[key] `is` value, `contains` it (case-insensitive), or `exists`."""
        if test == "exists":
            return self.filter(metadata__has_key=key)
        if test == "contains":
            return self.filter(IContains(KT(f"metadata__{key}"), value))
        if test == "is":
            return self._where_metadata_is(key, value)
        raise ValueError(f"unknown metadata test {test!r} (is, contains, exists)")

    def _where_metadata_is(self, key: str, value: str) -> "MetadataQuerySet":
        # On PostgreSQL, `@>` uses the GIN index on metadata (migration 0002); SQLite has no
        # containment lookup on JSON, and compares the key's value instead.
        if connections[self.db].vendor == "postgresql":
            return self.filter(metadata__contains={key: value})
        return self.filter(**{f"metadata__{key}": value})
