from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action

from substrapp import audit
from substrapp.api.filtersets.audit import AuditRecordFilterSet
from substrapp.api.permissions import IsChannelAdmin
from substrapp.api.scoping import ChannelScopedViewMixin
from substrapp.api.serializers.audit import AuditRecordSerializer
from substrapp.models import AuditRecord


class AuditRecordViewSet(ChannelScopedViewMixin, viewsets.ReadOnlyModelViewSet):
    """The audit trail of the caller's channel, for its admins: read and exported, never changed
    (the routes answer 405 to any other method)."""

    queryset = AuditRecord.objects.all()
    serializer_class = AuditRecordSerializer
    permission_classes = (IsChannelAdmin,)
    filterset_class = AuditRecordFilterSet

    @extend_schema(responses={(200, "application/x-ndjson"): OpenApiTypes.STR})
    @action(detail=False, methods=["get"], pagination_class=None)
    def export(self, request):
        """The filtered records as JSON lines, oldest first."""
        records = self.filter_queryset(self.get_queryset())
        response = StreamingHttpResponse(audit.json_lines(records), content_type="application/x-ndjson")
        response["Content-Disposition"] = 'attachment; filename="audit.jsonl"'
        return response
