"""Filters shared by every list. The SDK sends a list as one comma-joined value with its spaces
removed (`key=k1,k2`): OR within a parameter, AND across parameters; the web frontend sends the
same, plus date ranges (`<date>_after`, `<date>_before`) and more orderings.

Every value is checked by its form field, so a bad one (unknown choice, not an integer, bad
metadata JSON, unknown ordering) is a 400 in the API's one error shape, the same on every list."""

import datetime

import django_filters
from django import forms
from django.db import connection
from django.db.models import DurationField, ExpressionWrapper, F, Q
from drf_spectacular.utils import extend_schema_field

from orchestrator_client import limits
from substrapp.models import ComputeTask

METADATA_TESTS = ("is", "contains", "exists")
METADATA_SHAPE = 'a JSON list of {"key", "type": "is"|"contains"|"exists", "value"} expected.'

# The run time of a plan or a task, for `ordering=duration` and the duration filters.
DURATION = ExpressionWrapper(F("end_date") - F("start_date"), output_field=DurationField())


def split(value: str) -> list[str]:
    return [item for item in value.split(",") if item]


class CommaSeparatedField(forms.CharField):
    """`a,b` as ["a", "b"], each item checked by `item_field` when given."""

    def __init__(self, *args, item_field: forms.Field | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.item_field = item_field

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        items = split(value)
        return [self.item_field.clean(item) for item in items] if self.item_field else items


@extend_schema_field({"type": "string", "description": "Comma-separated values, any of them."})
class ListFilter(django_filters.Filter):
    """`name=a,b`: the field is one of the values."""

    field_class = CommaSeparatedField

    def filter(self, queryset, value):
        if not value:
            return queryset
        return queryset.filter(**{f"{self.field_name}__in": value})


class ChoiceListFilter(ListFilter):
    """`status=A,B` among `choices`."""

    def __init__(self, *args, choices, **kwargs):
        item = forms.ChoiceField(choices=[(choice, choice) for choice in choices])
        super().__init__(*args, item_field=item, **kwargs)
        self.choices = list(choices)


class IntegerListFilter(ListFilter):
    """`rank=0,1`."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, item_field=forms.IntegerField(min_value=0, max_value=2**31 - 1), **kwargs)


class MetadataField(forms.CharField):
    """The SDK's `metadata` filter: a JSON list of {"key", "type", "value"} items."""

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        try:
            items = limits.loads(value, field="metadata")
        except limits.Refused as refused:
            raise forms.ValidationError(f"{refused.message}; {METADATA_SHAPE}", code=refused.code.lower()) from None
        if not (isinstance(items, list) and all(_is_metadata_test(item) for item in items)):
            raise forms.ValidationError(METADATA_SHAPE, code="invalid")
        return items


def _is_metadata_test(item) -> bool:
    return (
        isinstance(item, dict)
        and isinstance(item.get("key"), str)
        and item.get("type") in METADATA_TESTS
        and (item["type"] == "exists" or isinstance(item.get("value"), str))
    )


@extend_schema_field(
    {
        "type": "string",
        "description": 'JSON: [{"key": "...", "type": "is"|"contains"|"exists", "value": "..."}], ANDed.',
    }
)
class MetadataFilter(django_filters.Filter):
    field_class = MetadataField

    def filter(self, queryset, value):
        for item in value or ():
            queryset = queryset.where_metadata(item["key"], item["type"], item.get("value", ""))
        return queryset


class UtcDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 date or datetime, in UTC: PostgreSQL refuses offsets beyond ±15:59 that Python
    accepts (up to ±23:59), and a date near year 1 or 9999 may not exist in UTC."""

    def to_python(self, value):
        parsed = super().to_python(value)
        try:
            return parsed and parsed.astimezone(datetime.UTC)
        except OverflowError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class UtcDateTimeRangeField(django_filters.fields.RangeField):
    widget = django_filters.widgets.DateRangeWidget

    def __init__(self, *args, **kwargs):
        super().__init__((UtcDateTimeField(), UtcDateTimeField()), *args, **kwargs)


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """One bound of a date range (`lookup_expr` gte or lt), read as UtcDateTimeField does."""

    field_class = UtcDateTimeField


class DateRangeFilter(django_filters.IsoDateTimeFromToRangeFilter):
    """`<name>_after` and `<name>_before`, both included, as the web frontend sends them."""

    field_class = UtcDateTimeRangeField


def with_run_time(queryset):
    """`run_time`: end_date - start_date, null until the row has ended."""
    return queryset if "run_time" in queryset.query.annotations else queryset.annotate(run_time=DURATION)


@extend_schema_field({"type": "integer", "minimum": 0, "maximum": 10**9})
class DurationFilter(django_filters.NumberFilter):
    """`duration_min`, `duration_max`: seconds from start to end, bounds included, as the web
    frontend sends them. What has not ended has no duration and never matches."""

    field_class = forms.IntegerField

    def __init__(self, lookup_expr: str):
        super().__init__(lookup_expr=lookup_expr, min_value=0, max_value=10**9)

    def filter(self, queryset, value):
        if value is None:
            return queryset
        bound = datetime.timedelta(seconds=value)
        return with_run_time(queryset).filter(**{f"run_time__{self.lookup_expr}": bound})


class SortingFilter(django_filters.OrderingFilter):
    """`ordering=[-]<field>` among `fields`; then by key, in the same direction. Unset dates come
    last either way, so that a page boundary never moves with them. The field `run_time` is
    computed (end_date - start_date)."""

    def filter(self, queryset, value):
        value = [param for param in value or () if param]  # `ordering=,` names no field
        if not value:
            return queryset
        if any(self.param_map[param.lstrip("-")] == "run_time" for param in value):
            queryset = with_run_time(queryset)
        descending = value[0].startswith("-")
        order = [self._order_by(param) for param in value]
        return queryset.order_by(*order, "-key" if descending else "key")

    def _order_by(self, param: str):
        field = self.param_map[param.lstrip("-")]
        if param.startswith("-"):
            return F(field).desc(nulls_last=True)
        return F(field).asc(nulls_last=True)


def sorting(*params: str, **renamed: str) -> SortingFilter:
    """The `ordering` filter over these parameters (`renamed`: parameter=model field)."""
    fields = {param: param for param in params} | {param: field for param, field in renamed.items()}
    return SortingFilter(fields=[(field, param) for param, field in fields.items()])


class ListFilterSet(django_filters.FilterSet):
    """What every list understands: `key`, `owner`, `match` (case-insensitive part of one of
    `match_fields`), `ordering`."""

    match_fields = ("key", "name")

    key = ListFilter(field_name="key")
    owner = ListFilter(field_name="owner")
    match = django_filters.CharFilter(method="filter_match")
    ordering = sorting("creation_date")

    def filter_match(self, queryset, name, value):
        """Spaces kept, as the SDK sends them."""
        found = Q()
        for field in self.match_fields:
            found |= Q(**{f"{field}__icontains": value})
        return queryset.filter(found)


class AssetFilterSet(ListFilterSet):
    """Assets with permissions: also `permissions`."""

    permissions = django_filters.CharFilter(method="filter_permissions")
    ordering = sorting("creation_date", "name", "owner")

    def filter_permissions(self, queryset, name, value):
        """Assets that one of these organizations may process: public, or naming it."""
        allowed = Q(permissions__process__public=True)
        for org in split(value):
            # The text of the JSON list holds `"<org>"` exactly when the list names org.
            allowed |= Q(permissions__process__authorized_ids__icontains=f'"{org}"')
        return queryset.filter(allowed)


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
