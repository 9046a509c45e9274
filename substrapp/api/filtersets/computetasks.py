from substrapp.api.filtersets.common import (
    ChoiceListFilter,
    DateRangeFilter,
    DurationFilter,
    IntegerListFilter,
    ListFilter,
    ListFilterSet,
    MetadataFilter,
    sorting,
)
from substrapp.models import ComputeTask, TaskStatus


class TaskFilterSet(ListFilterSet):
    match_fields = ("key", "function__name")

    worker = ListFilter(field_name="worker")
    rank = IntegerListFilter(field_name="rank")
    status = ChoiceListFilter(field_name="status", choices=TaskStatus.values)
    compute_plan_key = ListFilter(field_name="compute_plan_id")
    function_key = ListFilter(field_name="function_id")
    metadata = MetadataFilter()
    creation_date = DateRangeFilter()
    start_date = DateRangeFilter()
    end_date = DateRangeFilter()
    duration_min = DurationFilter(lookup_expr="gte")
    duration_max = DurationFilter(lookup_expr="lte")
    ordering = sorting(
        "creation_date",
        "start_date",
        "end_date",
        "status",
        "rank",
        "owner",
        "worker",
        "function__name",
        compute_plan_key="compute_plan_id",
        duration="run_time",
    )

    class Meta:
        model = ComputeTask
        fields = []
