from django.contrib.auth import authenticate
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
