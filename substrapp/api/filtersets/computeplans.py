import django_filters
from django.db.models import Q

from substrapp.api.filtersets.common import (
    ChoiceListFilter,
    DateRangeFilter,
    DurationFilter,
    ListFilter,
    ListFilterSet,
    MetadataFilter,
    sorting,
    split,
    tasks_using,
)
from substrapp.models import ComputePlan, ComputeTask

PLAN_STATUSES = [
    "PLAN_STATUS_UNKNOWN",
    "PLAN_STATUS_CREATED",
    "PLAN_STATUS_DOING",
    "PLAN_STATUS_DONE",
    "PLAN_STATUS_FAILED",
    "PLAN_STATUS_CANCELED",
]


class ComputePlanFilterSet(ListFilterSet):
    status = ChoiceListFilter(choices=PLAN_STATUSES)
    metadata = MetadataFilter()
    worker = django_filters.CharFilter(method="filter_worker")
    # The web frontend's creator filter: usernames of this organization (PlanCreator).
    creator = ListFilter(field_name="creator_record__username")
    function_key = django_filters.CharFilter(method="filter_function")
    dataset_key = django_filters.CharFilter(method="filter_input_assets")
    data_sample_key = django_filters.CharFilter(method="filter_input_assets")
    creation_date = DateRangeFilter()
    start_date = DateRangeFilter()
    end_date = DateRangeFilter()
    duration_min = DurationFilter(lookup_expr="gte")
    duration_max = DurationFilter(lookup_expr="lte")
    ordering = sorting("creation_date", "start_date", "end_date", "status", "name", "owner", duration="run_time")

    class Meta:
        model = ComputePlan
        fields = []

    def filter_worker(self, queryset, name, value):
        """Plans having a task on one of these organizations."""
        return with_tasks(queryset, Q(worker__in=split(value)))

    def filter_function(self, queryset, name, value):
        return with_tasks(queryset, Q(function__in=split(value)))

    def filter_input_assets(self, queryset, name, value):
        """Plans having a task given one of these datasets or samples."""
        return queryset.filter(key__in=tasks_using(split(value)).values("compute_plan"))


def with_tasks(plans, condition: Q):
    return plans.filter(key__in=ComputeTask.objects.filter(condition).values("compute_plan"))
