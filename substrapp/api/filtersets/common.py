"""Filters shared by the asset families. The SDK sends a list as one comma-joined value with its
spaces removed (`key=k1,k2`): OR within a parameter, AND across parameters."""

import django_filters
from django.db import connection
from django.db.models import Q
from rest_framework.exceptions import ValidationError

from substrapp.models import ComputeTask

ORDERINGS = {"creation_date", "-creation_date"}


def split(value: str) -> list[str]:
    return [item for item in value.split(",") if item]


class ListFilter(django_filters.CharFilter):
    """`name=a,b`: the field is one of the values."""

    def filter(self, queryset, value):
        if not value:
            return queryset
        return queryset.filter(**{f"{self.field_name}__in": split(value)})


class AssetFilterSet(django_filters.FilterSet):
    """What every asset list understands: `key`, `owner`, `match`, `permissions`, `ordering`."""

    key = ListFilter(field_name="key")
    owner = ListFilter(field_name="owner")
    match = django_filters.CharFilter(method="filter_match")
    permissions = django_filters.CharFilter(method="filter_permissions")
    ordering = django_filters.CharFilter(method="filter_ordering")

    def filter_match(self, queryset, name, value):
        """Case-insensitive part of the key or the name; spaces kept, as the SDK sends them."""
        return queryset.filter(Q(key__icontains=value) | Q(name__icontains=value))

    def filter_permissions(self, queryset, name, value):
        """Assets that one of these organizations may process: public, or naming it."""
        allowed = Q(permissions__process__public=True)
        for org in split(value):
            # The text of the JSON list holds `"<org>"` exactly when the list names org.
            allowed |= Q(permissions__process__authorized_ids__icontains=f'"{org}"')
        return queryset.filter(allowed)

    def filter_ordering(self, queryset, name, value):
        if value not in ORDERINGS:
            raise ValidationError({"ordering": [f"One of {sorted(ORDERINGS)}."]})
        direction = "-" if value.startswith("-") else ""
        return queryset.order_by(value, f"{direction}key")


def tasks_using(asset_keys: list[str]):
    """The tasks having one of these assets (datasets, samples, models) among their inputs."""
    tasks = ComputeTask.objects.all()
    if connection.features.supports_json_field_contains:
        using = Q()
        for key in asset_keys:
            using |= Q(inputs__contains=[{"asset_key": key}])
        return tasks.filter(using)
    wanted = set(asset_keys)
    matching = [
        task_key
        for task_key, inputs in tasks.values_list("key", "inputs").iterator()
        if any(item.get("asset_key") in wanted for item in inputs)
    ]
    return tasks.filter(key__in=matching)


def input_asset_keys(tasks) -> set[str]:
    """The keys of the assets given to these tasks as inputs (not parents' outputs)."""
    return {
        item["asset_key"]
        for inputs in tasks.values_list("inputs", flat=True).iterator()
        for item in inputs
        if item.get("asset_key")
    }
