"""The SDK's list filters and orderings (docs/sdk-contract.md §5.2, §5.3), as DRF filter backends
that views configure declaratively:

    list_filters = {"key": "key", "owner": "owner", "compute_plan_key": "compute_plan_id"}
    choice_filters = {"status": TaskStatus.values}
    int_filters = ("rank",)
    relation_filters = {"worker": plans_with_a_task_on}   # callable(queryset, values) -> queryset
    ordering_fields = ("creation_date", "start_date", "end_date")

A list filter is comma-separated values, ORed; different parameters are ANDed. Duplicated
parameters (the SDK appends them again to every `next`) are identical: the last one is read.
"""

import json

from django.db.models import F
from rest_framework.filters import BaseFilterBackend

from substrapp.api.errors import BadRequest

METADATA_TESTS = ("is", "contains", "exists")


def values_of(request, name: str) -> list[str] | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    return [value for value in raw.split(",") if value]


class ListFilterBackend(BaseFilterBackend):
    def filter_queryset(self, request, queryset, view):
        for name, field in getattr(view, "list_filters", {}).items():
            values = values_of(request, name)
            if values is None:
                continue
            _check_choices(name, values, getattr(view, "choice_filters", {}).get(name))
            if name in getattr(view, "int_filters", ()):
                values = _integers(name, values)
            queryset = queryset.filter(**{f"{field}__in": values})
        for name, relate in getattr(view, "relation_filters", {}).items():
            values = values_of(request, name)
            if values is not None:
                queryset = relate(queryset, values)
        return queryset


def _check_choices(name, values, choices):
    unknown = [value for value in values if choices is not None and value not in choices]
    if unknown:
        raise BadRequest(f"{name}: unknown value {', '.join(unknown)}; one of {', '.join(choices)}.")


def _integers(name, values):
    try:
        return [int(value) for value in values]
    except ValueError:
        raise BadRequest(f"{name}: integers expected, got {','.join(values)}.") from None


class MetadataFilterBackend(BaseFilterBackend):
    """`metadata=[{"key", "type": "is"|"contains"|"exists", "value"}]`, ANDed."""

    def filter_queryset(self, request, queryset, view):
        raw = request.query_params.get("metadata")
        if raw is None:
            return queryset
        for item in _metadata_items(raw):
            queryset = queryset.where_metadata(item["key"], item["type"], item.get("value", ""))
        return queryset


def _metadata_items(raw: str) -> list[dict]:
    try:
        items = json.loads(raw)
    except ValueError:
        raise BadRequest("metadata: not JSON.") from None
    valid = isinstance(items, list) and all(
        isinstance(item, dict)
        and isinstance(item.get("key"), str)
        and item.get("type") in METADATA_TESTS
        and (item["type"] == "exists" or isinstance(item.get("value"), str))
        for item in items
    )
    if not valid:
        raise BadRequest('metadata: a list of {"key", "type": "is"|"contains"|"exists", "value"} expected.')
    return items


class OrderingBackend(BaseFilterBackend):
    """`ordering=[-]<field>` among the view's `ordering_fields`; then by key. Unset dates come
    last either way, so that a page boundary never moves with them."""

    def filter_queryset(self, request, queryset, view):
        ordering = request.query_params.get("ordering")
        if not ordering:
            return queryset
        field = ordering.removeprefix("-")
        if field not in view.ordering_fields:
            raise BadRequest(f"ordering: one of {', '.join(view.ordering_fields)}, with - for descending.")
        if ordering.startswith("-"):
            return queryset.order_by(F(field).desc(nulls_last=True), "-key")
        return queryset.order_by(F(field).asc(nulls_last=True), "key")


class MatchFilterBackend(BaseFilterBackend):
    """`match=<text>`: the text in the name or the key, case-insensitive."""

    def filter_queryset(self, request, queryset, view):
        text = request.query_params.get("match")
        if not text:
            return queryset
        return queryset.filter(name__icontains=text) | queryset.filter(key__icontains=text)


class PermissionsFilterBackend(BaseFilterBackend):
    """`permissions=<org>,...`: assets that one of these organizations may process."""

    def filter_queryset(self, request, queryset, view):
        orgs = values_of(request, "permissions")
        if orgs is None:
            return queryset
        allowed = queryset.filter(permissions__contains={"process": {"public": True}})
        for org in orgs:
            allowed = allowed | queryset.filter(permissions__contains={"process": {"authorized_ids": [org]}})
        return allowed
