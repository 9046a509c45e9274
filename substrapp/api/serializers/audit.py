from rest_framework import serializers

from substrapp.api.fields import IsoDateTimeField
from substrapp.models import AuditRecord


class AuditRecordSerializer(serializers.ModelSerializer):
    time = IsoDateTimeField()
    finished_at = IsoDateTimeField()

    class Meta:
        model = AuditRecord
        fields = [
            "id", "time", "finished_at", "request_id", "actor_kind", "actor", "channel", "action", "method",
            "path", "asset_key", "outcome", "status_code", "error_code", "ledger_position", "ledger_hash",
        ]  # fmt: skip
        read_only_fields = fields
