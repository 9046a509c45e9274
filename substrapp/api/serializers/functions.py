"""Functions (`/function/`): the SDK's `Function` model (docs/sdk-contract.md §6.4) and the body
that registers one."""

from rest_framework import serializers

from orchestrator_client import limits
from substrapp.api.fields import FileReferenceField, IsoDateTimeField, PermissionsField
from substrapp.api.serializers.common import (
    IdentifierDictField,
    MetadataField,
    PermissionSerializer,
    StrictSerializer,
)
from substrapp.models import Function

INPUT_KINDS = ["ASSET_DATA_MANAGER", "ASSET_DATA_SAMPLE", "ASSET_MODEL"]
OUTPUT_KINDS = ["ASSET_MODEL", "ASSET_PERFORMANCE"]
# Identifiers with a meaning of their own for the tasks (substratools).
RESERVED_INPUTS = {"ASSET_DATA_MANAGER": "opener", "ASSET_DATA_SAMPLE": "datasamples"}


class FunctionSerializer(serializers.ModelSerializer):
    permissions = PermissionsField(read_only=True)
    description = FileReferenceField("description", "function-description")
    archive = FileReferenceField("archive", "function-file")
    creation_date = IsoDateTimeField()

    class Meta:
        model = Function
        fields = [
            "key",
            "name",
            "owner",
            "permissions",
            "metadata",
            "creation_date",
            "inputs",
            "outputs",
            "status",
            "description",
            "archive",
        ]

    def to_representation(self, function):
        # Nested in a task, the same function comes with each task of a page or a batch (500
        # tasks, one function): it is written once per answer, its file routes reversed once.
        written = self.__dict__.setdefault("_written", {})
        if function.key not in written:
            written[function.key] = super().to_representation(function)
        return written[function.key]


class FunctionInputSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=INPUT_KINDS)
    multiple = serializers.BooleanField(default=False)
    optional = serializers.BooleanField(default=False)


class FunctionOutputSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=OUTPUT_KINDS)
    multiple = serializers.BooleanField(default=False)


class FunctionSpecSerializer(StrictSerializer):
    """The `json` part of `POST /function/`."""

    name = serializers.CharField(max_length=limits.NAME_MAX)
    permissions = PermissionSerializer()
    metadata = MetadataField(required=False)
    inputs = IdentifierDictField(child=FunctionInputSerializer())
    outputs = IdentifierDictField(child=FunctionOutputSerializer())

    def validate_inputs(self, inputs):
        for identifier, spec in inputs.items():
            reserved = RESERVED_INPUTS.get(spec["kind"])
            if reserved is not None and identifier != reserved:
                raise serializers.ValidationError(f"An input of kind {spec['kind']} must be named {reserved!r}.")
            if reserved is None and identifier in {*RESERVED_INPUTS.values(), "chainkeys"}:
                raise serializers.ValidationError(f"{identifier!r} is reserved for another kind of input.")
        opener = inputs.get("opener")
        if opener is not None and (opener["multiple"] or opener["optional"]):
            raise serializers.ValidationError("The opener input is single and required.")
        return inputs

    def validate_outputs(self, outputs):
        for identifier, spec in outputs.items():
            if spec["kind"] == "ASSET_PERFORMANCE" and spec["multiple"]:
                raise serializers.ValidationError(f"Performance output {identifier!r} cannot be multiple.")
        return outputs
