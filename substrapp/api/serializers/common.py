from rest_framework import serializers


class DetailSerializer(serializers.Serializer):
    """The answer of an action with nothing to return but a message (the SDK wants a JSON body)."""

    detail = serializers.CharField()
