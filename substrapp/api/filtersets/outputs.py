from substrapp.api.filtersets.common import AssetFilterSet, ListFilter, sorting
from substrapp.models import Model


class ModelFilterSet(AssetFilterSet):
    match_fields = ("key",)  # models have no name

    compute_task_key = ListFilter(field_name="compute_task_id")
    ordering = sorting("creation_date", "owner")

    class Meta:
        model = Model
        fields = []
