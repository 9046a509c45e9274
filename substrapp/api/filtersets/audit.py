"""Filters of the audit trail: by actor, action, outcome, asset, request and time."""

import django_filters

from substrapp.api.filtersets.common import UtcDateTimeFilter
from substrapp.models import AuditRecord


class AuditRecordFilterSet(django_filters.FilterSet):
    time_after = UtcDateTimeFilter(field_name="time", lookup_expr="gte")
    time_before = UtcDateTimeFilter(field_name="time", lookup_expr="lt")

    class Meta:
        model = AuditRecord
        fields = ["actor", "actor_kind", "action", "outcome", "asset_key", "request_id"]
