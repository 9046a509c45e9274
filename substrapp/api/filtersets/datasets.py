import django_filters

from substrapp.api.filtersets.common import AssetFilterSet, ListFilter, input_asset_keys, sorting, split
from substrapp.models import ComputeTask, DataManager, DataSample


class UsedByTasksFilterSet(AssetFilterSet):
    """Assets given as inputs to the tasks of some plans, or of some functions."""

    compute_plan_key = django_filters.CharFilter(method="filter_compute_plan")
    function_key = django_filters.CharFilter(method="filter_function")

    def filter_compute_plan(self, queryset, name, value):
        tasks = ComputeTask.objects.filter(compute_plan_id__in=split(value))
        return queryset.filter(key__in=input_asset_keys(tasks))

    def filter_function(self, queryset, name, value):
        tasks = ComputeTask.objects.filter(function_id__in=split(value))
        return queryset.filter(key__in=input_asset_keys(tasks))


class DataManagerFilterSet(UsedByTasksFilterSet):
    data_sample_key = ListFilter(field_name="data_samples__key", distinct=True)

    class Meta:
        model = DataManager
        fields = []


class DataSampleFilterSet(UsedByTasksFilterSet):
    match_fields = ("key",)  # samples have no name

    dataset_key = ListFilter(field_name="data_managers__key", distinct=True)
    ordering = sorting("creation_date", "owner")
    permissions = None  # samples carry no permissions; the SDK does not send this one for them

    class Meta:
        model = DataSample
        fields = []
