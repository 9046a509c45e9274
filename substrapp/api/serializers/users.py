from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from orchestrator_client import limits
from substrapp import accounts
from substrapp.api.errors import Conflict
from substrapp.api.fields import IsoDateTimeField
from substrapp.models import Role, UserChannel, channel_of


class UserSerializer(serializers.ModelSerializer):
    """A user of the caller's channel; created in that channel."""

    username = serializers.CharField(
        source="user.username", max_length=limits.USERNAME_MAX, validators=[UnicodeUsernameValidator()]
    )
    password = serializers.CharField(
        max_length=limits.PASSWORD_MAX, write_only=True, trim_whitespace=False, style={"input_type": "password"}
    )
    role = serializers.ChoiceField(choices=Role.choices, default=Role.USER)
    date_joined = IsoDateTimeField(source="user.date_joined", read_only=True)
    email = serializers.CharField(source="user.email", read_only=True, help_text="Empty when unknown.")

    class Meta:
        model = UserChannel
        fields = ["username", "password", "role", "channel", "email", "date_joined"]
        read_only_fields = ["channel"]

    def validate(self, attrs):
        username = attrs["user"]["username"]
        if get_user_model().objects.filter(username=username).exists():
            raise Conflict(f"The username {username} is taken.", key=username)
        try:
            password_validation.validate_password(attrs["password"], get_user_model()(username=username))
        except DjangoValidationError as error:
            raise serializers.ValidationError({"password": error.messages}) from None
        return attrs

    def create(self, validated_data):
        channel = channel_of(self.context["request"].user)
        return accounts.create_channel_user(
            validated_data["user"]["username"], validated_data["password"], channel, validated_data["role"]
        )


class RoleChangeSerializer(serializers.Serializer):
    """A user's new role (the web frontend sends `{"role"}` alone)."""

    role = serializers.ChoiceField(choices=Role.choices)


class ResetTokenSerializer(serializers.Serializer):
    reset_password_token = serializers.CharField()


class TokenQuerySerializer(serializers.Serializer):
    token = serializers.CharField(max_length=limits.NAME_MAX)


class NewPasswordSerializer(TokenQuerySerializer):
    password = serializers.CharField(
        max_length=limits.PASSWORD_MAX, write_only=True, trim_whitespace=False, style={"input_type": "password"}
    )
