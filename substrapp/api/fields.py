import datetime

from rest_framework import serializers


class IsoDateTimeField(serializers.DateTimeField):
    """ISO 8601 in UTC with a `+00:00` offset. DRF writes `Z`, which Python 3.10's
    `datetime.fromisoformat` (SDK login on 3.10) refuses."""

    def to_representation(self, value):
        if value is None:
            return None
        return value.astimezone(datetime.UTC).isoformat()
