from rest_framework import serializers

from orchestrator_client import limits


class DetailSerializer(serializers.Serializer):
    """The answer of an action with nothing to return but a message (the SDK wants a JSON body)."""

    detail = serializers.CharField()


class StrictSerializer(serializers.Serializer):
    """A request body in which a key the serializer does not know is an error, not ignored."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown}, code="unknown_field")
        return super().to_internal_value(data)


class PermissionSerializer(StrictSerializer):
    """The flat form of permissions in requests."""

    public = serializers.BooleanField()
    authorized_ids = serializers.ListField(
        child=serializers.CharField(max_length=limits.ORGANIZATION_MAX), max_length=1000
    )


class AssetRenameSerializer(StrictSerializer):
    """`PUT /<asset>/<key>/`: the SDK sends only the new name."""

    name = serializers.CharField(max_length=limits.NAME_MAX)


def refused_as_invalid(check, value, *args):
    """`check(value, *args)` from the one definition (orchestrator_client.limits), its refusal as
    a validation error with the same code, in lower case."""
    try:
        return check(value, *args)
    except limits.Refused as refused:
        raise serializers.ValidationError(refused.message, code=refused.code.lower()) from None


class MetadataField(serializers.DictField):
    """Metadata as the ledger stores it (limits.check_metadata). The SDK sends `null` for no
    metadata: it is `{}`."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_null", True)
        super().__init__(child=serializers.CharField(max_length=limits.METADATA_VALUE_MAX, allow_blank=True), **kwargs)

    def validate_empty_values(self, data):
        if data is None:
            return True, {}
        return super().validate_empty_values(data)

    def to_internal_value(self, data):
        return refused_as_invalid(limits.check_metadata, super().to_internal_value(data))


class IdentifierDictField(serializers.DictField):
    """An object whose keys are function input or output identifiers (limits.check_identifier)."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            for identifier in data:
                refused_as_invalid(limits.check_identifier, identifier, "identifier")
        return super().to_internal_value(data)
