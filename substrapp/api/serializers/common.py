from rest_framework import serializers


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
    authorized_ids = serializers.ListField(child=serializers.CharField(max_length=100), max_length=1000)


class AssetRenameSerializer(StrictSerializer):
    """`PUT /<asset>/<key>/`: the SDK sends only the new name."""

    name = serializers.CharField(max_length=100)


class MetadataField(serializers.DictField):
    def __init__(self, **kwargs):
        super().__init__(child=serializers.CharField(max_length=100, allow_blank=True), **kwargs)
