import django_filters
from django.db.models import F

from substrapp.models import Role, UserChannel


class UserOrdering(django_filters.OrderingFilter):
    """`ordering=[-]username|role|creation_date` (when the user joined); ties by username, so that
    pages never overlap. The web frontend carries the ordering of the page it comes from
    (`-creation_date` from the plans) over to the users page."""

    def filter(self, queryset, value):
        value = [param for param in value or () if param]  # `ordering=,` names no field
        if not value:
            return queryset
        return queryset.order_by(*(self.get_ordering_value(param) for param in value), F("user__username").asc())


class UserFilterSet(django_filters.FilterSet):
    """The web frontend's users page and creator filter: `match` (part of the username, any
    case), `role`, `ordering`."""

    match = django_filters.CharFilter(field_name="user__username", lookup_expr="icontains")
    role = django_filters.ChoiceFilter(choices=Role.choices)
    ordering = UserOrdering(
        fields=(("user__username", "username"), ("role", "role"), ("user__date_joined", "creation_date"))
    )

    class Meta:
        model = UserChannel
        fields = []
