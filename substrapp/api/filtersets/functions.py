import django_filters

from substrapp.api.filtersets.common import AssetFilterSet, split, tasks_using
from substrapp.models import ComputeTask, Function


class FunctionFilterSet(AssetFilterSet):
    compute_plan_key = django_filters.CharFilter(method="filter_compute_plan")
    dataset_key = django_filters.CharFilter(method="filter_input_assets")
    data_sample_key = django_filters.CharFilter(method="filter_input_assets")

    class Meta:
        model = Function
        fields = []

    def filter_compute_plan(self, queryset, name, value):
        """Functions of tasks of these plans."""
        tasks = ComputeTask.objects.filter(compute_plan_id__in=split(value))
        return queryset.filter(key__in=tasks.values("function_id"))

    def filter_input_assets(self, queryset, name, value):
        """Functions of tasks that were given these datasets or samples."""
        return queryset.filter(key__in=tasks_using(split(value)).values("function_id"))
