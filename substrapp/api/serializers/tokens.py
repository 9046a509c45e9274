import datetime

from django.contrib.auth import authenticate
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from orchestrator_client import limits
from substrapp.api.fields import IsoDateTimeField
from substrapp.models import ExpiringToken


class LoginSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=limits.USERNAME_MAX)
    password = serializers.CharField(
        max_length=limits.PASSWORD_MAX, write_only=True, trim_whitespace=False, style={"input_type": "password"}
    )

    def validate(self, attrs):
        user = authenticate(self.context.get("request"), username=attrs["username"], password=attrs["password"])
        if user is None:
            raise serializers.ValidationError("Unable to log in with provided credentials.", code="invalid_credentials")
        return {"user": user}


class TokenSerializer(serializers.ModelSerializer):
    """A token just issued: its key is shown this once."""

    token = serializers.CharField(source="key")
    expires_at = IsoDateTimeField()
    created_at = IsoDateTimeField(source="created")

    class Meta:
        model = ExpiringToken
        fields = ["id", "token", "expires_at", "created_at"]


@extend_schema_field({"type": "string", "description": "An ISO 8601 datetime, or a date (the end of that day, UTC)."})
class ExpiryField(serializers.Field):
    """An ISO 8601 datetime, or a date meaning the end of that day in UTC (the web frontend's
    custom expiry); it must be in the future."""

    default_error_messages = {
        "invalid": "An ISO 8601 date or datetime expected.",
        "past": "This date is already past.",
    }

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        value = parse_datetime(data) if "T" in data else _end_of_day(data)
        if value is None:
            self.fail("invalid")
        if timezone.is_naive(value):
            value = value.replace(tzinfo=datetime.UTC)
        if value <= timezone.now():
            self.fail("past")
        return value


def _end_of_day(text):
    try:
        day = parse_date(text)
    except ValueError:
        return None
    if day is None or day >= datetime.date.max:
        return None
    return datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(), tzinfo=datetime.UTC)


class ApiTokenRequestSerializer(serializers.Serializer):
    """A token for a program: a note to tell it apart, and when it expires (null: after
    BACKEND_TOKEN_TTL_HOURS, as a login's)."""

    note = serializers.CharField(max_length=limits.NAME_MAX, allow_blank=True, default="")
    expires_at = ExpiryField(allow_null=True, default=None)


class ApiTokenSerializer(serializers.ModelSerializer):
    """One of the caller's tokens, without its key."""

    expires_at = IsoDateTimeField()
    created_at = IsoDateTimeField(source="created")

    class Meta:
        model = ExpiringToken
        fields = ["id", "note", "expires_at", "created_at"]


class NewApiTokenSerializer(ApiTokenSerializer):
    """A token just made: its key is shown this once."""

    token = serializers.CharField(source="key")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]


class ActiveTokensSerializer(serializers.Serializer):
    tokens = ApiTokenSerializer(many=True)
