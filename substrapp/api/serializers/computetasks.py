"""`substra.sdk.models.Task` (docs/sdk-contract.md §6.5), the tasks `bulk_create` receives, and a
task's input and output assets (§6.11)."""

import re

from rest_framework import serializers

from orchestrator_client import limits
from substrapp.api.fields import IsoDateTimeField, iso_utc, with_download
from substrapp.api.serializers.common import IdentifierDictField, MetadataField, PermissionSerializer
from substrapp.api.serializers.computeplans import seconds_between
from substrapp.api.serializers.datasets import DataManagerSerializer, DataSampleSerializer
from substrapp.api.serializers.functions import FunctionSerializer
from substrapp.api.serializers.outputs import OutModelSerializer, PerformanceSerializer
from substrapp.models import ComputeTask

# Responses


class TaskSerializer(serializers.ModelSerializer):
    function = FunctionSerializer()
    compute_plan_key = serializers.CharField(source="compute_plan_id")
    inputs = serializers.SerializerMethodField()
    outputs = serializers.SerializerMethodField()
    creation_date = IsoDateTimeField()
    start_date = IsoDateTimeField(allow_null=True)
    end_date = IsoDateTimeField(allow_null=True)
    duration = serializers.SerializerMethodField(help_text="Seconds from start to end, or to now while it runs.")
    durations = serializers.SerializerMethodField(
        help_text="Seconds of each step on this organization's worker (prepare_inputs, image, execution, "
        "save_outputs); empty for a task run elsewhere or not run yet."
    )

    class Meta:
        model = ComputeTask
        fields = ["key", "function", "owner", "compute_plan_key", "metadata", "status", "worker", "rank", "tag"]
        fields += ["creation_date", "start_date", "end_date", "error_type", "inputs", "outputs", "logs_permission"]
        fields += ["duration", "durations"]

    def to_representation(self, task):
        """The fields above, written directly: DRF's walk of 17 fields took longer than the rest
        of a 500-task answer. tests/backend/test_task_representation.py holds the two equal."""
        return {
            "key": task.key,
            "function": self.fields["function"].to_representation(task.function),
            "owner": task.owner,
            "compute_plan_key": task.compute_plan_id,
            "metadata": task.metadata,
            "status": task.status,
            "worker": task.worker,
            "rank": task.rank,
            "tag": task.tag,
            "creation_date": iso_utc(task.creation_date),
            "start_date": iso_utc(task.start_date),
            "end_date": iso_utc(task.end_date),
            "error_type": task.error_type,
            "inputs": self.get_inputs(task),
            "outputs": self.get_outputs(task),
            "logs_permission": task.logs_permission,
            "duration": self.get_duration(task),
            "durations": self.get_durations(task),
        }

    def get_duration(self, task) -> int | None:
        return seconds_between(task.start_date, task.end_date)

    def get_durations(self, task) -> dict[str, float]:
        execution = getattr(task, "execution", None)
        return execution.durations if execution is not None else {}

    def get_outputs(self, task) -> dict[str, dict]:
        """{identifier: {"permissions", "transient"}}, the permissions with `download` too."""
        return {
            identifier: {**output, "permissions": with_download(output.get("permissions") or {})}
            for identifier, output in task.outputs.items()
        }

    def get_inputs(self, task) -> list[dict]:
        """The orchestrator's inputs as the SDK's four-key items."""
        return [sdk_input(item) for item in task.inputs]


def sdk_input(item: dict) -> dict:
    parent = item.get("parent_task_output") or {}
    return {
        "identifier": item["identifier"],
        "asset_key": item.get("asset_key") or None,
        "parent_task_key": parent.get("parent_task_key"),
        "parent_task_output_identifier": parent.get("output_identifier"),
    }


ASSET_SERIALIZERS = {
    "ASSET_DATA_MANAGER": DataManagerSerializer,
    "ASSET_DATA_SAMPLE": DataSampleSerializer,
    "ASSET_MODEL": OutModelSerializer,
    "ASSET_PERFORMANCE": PerformanceSerializer,
}


class TaskAssetSerializer(serializers.Serializer):
    """An `InputAsset` or `OutputAsset`: (identifier, kind, asset row)."""

    identifier = serializers.CharField()
    kind = serializers.CharField()
    asset = serializers.SerializerMethodField()

    def get_asset(self, item) -> dict:
        return ASSET_SERIALIZERS[item["kind"]](item["asset"], context=self.context).data


# Requests


class NewTaskOutputSerializer(serializers.Serializer):
    permissions = PermissionSerializer()
    transient = serializers.BooleanField(default=False, allow_null=True)

    def to_internal_value(self, data):
        # `is_transient` is the field's name, `transient` its alias; the SDK sends the alias.
        if isinstance(data, dict) and "transient" not in data and "is_transient" in data:
            data = {**data, "transient": data["is_transient"]}
        values = super().to_internal_value(data)
        return {"permissions": dict(values["permissions"]), "transient": bool(values["transient"])}


class NewTaskInputSerializer(serializers.Serializer):
    identifier = serializers.CharField(max_length=limits.IDENTIFIER_MAX)
    asset_key = serializers.UUIDField(allow_null=True, required=False, format="hex_verbose")
    parent_task_key = serializers.UUIDField(allow_null=True, required=False, format="hex_verbose")
    parent_task_output_identifier = serializers.CharField(
        max_length=limits.IDENTIFIER_MAX, allow_null=True, required=False
    )

    def validate(self, attrs):
        has_asset = attrs.get("asset_key") is not None
        has_parent = attrs.get("parent_task_key") is not None and attrs.get("parent_task_output_identifier")
        if has_asset == bool(has_parent):
            raise serializers.ValidationError(
                "Give either asset_key, or parent_task_key and parent_task_output_identifier."
            )
        return {name: str(value) if value is not None else None for name, value in attrs.items()}


class NewTaskSerializer(serializers.Serializer):
    """A task as `bulk_create` receives it. `rank` is ignored: the orchestrator computes it."""

    key = serializers.UUIDField(format="hex_verbose")
    function_key = serializers.UUIDField(format="hex_verbose")
    compute_plan_key = serializers.UUIDField(format="hex_verbose")
    worker = serializers.CharField(max_length=limits.ORGANIZATION_MAX)
    tag = serializers.CharField(max_length=limits.TAG_MAX, allow_blank=True, allow_null=True, required=False)
    metadata = MetadataField(required=False)
    rank = serializers.IntegerField(allow_null=True, required=False)
    # The SDK sends `null` for a spec's inputs or outputs left as None: none.
    inputs = NewTaskInputSerializer(many=True, allow_null=True, required=False)
    outputs = IdentifierDictField(child=NewTaskOutputSerializer(), allow_null=True, required=False)

    def validate(self, attrs):
        attrs["inputs"] = attrs.get("inputs") or []
        attrs["outputs"] = attrs.get("outputs") or {}
        for name in ("key", "function_key", "compute_plan_key"):
            attrs[name] = str(attrs[name])
        return attrs


class BulkCreateSerializer(serializers.Serializer):
    tasks = NewTaskSerializer(many=True, allow_empty=False)

    def validate_tasks(self, tasks):
        plans = {task["compute_plan_key"] for task in tasks}
        if len(plans) > 1:
            raise serializers.ValidationError("The tasks of one request belong to one compute plan.")
        return tasks


def validated_tasks(data) -> list[dict]:
    """The tasks of a `bulk_create` body, as BulkCreateSerializer validates them. A batch in the
    plain shape the SDK sends (canonical keys, text without surrounding spaces, booleans, nulls)
    is taken in one pass over its values: DRF's fields took a quarter of the request's time on
    500 tasks. Anything else (a wrong type, a value DRF would convert or refuse) goes through the
    serializer, which converts it or says what is wrong. tests/backend/test_bulk_validation.py
    holds the pass to the serializer's answers."""
    plain = _plain_batch(data)
    if plain is not None:
        return plain
    batch = BulkCreateSerializer(data=data)
    batch.is_valid(raise_exception=True)
    return batch.validated_data["tasks"]


class NotPlain(Exception):
    """A value outside the plain shape: the serializer decides."""


CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _plain_batch(data) -> list[dict] | None:
    try:
        if type(data) is not dict or type(data.get("tasks")) is not list or not data["tasks"]:
            raise NotPlain
        tasks = [_plain_task(task) for task in data["tasks"]]
        if len({task["compute_plan_key"] for task in tasks}) > 1:
            raise NotPlain
        return tasks
    except NotPlain:
        return None


def _plain_task(task) -> dict:
    if type(task) is not dict:
        raise NotPlain
    plain = {name: _key(task.get(name)) for name in ("key", "function_key", "compute_plan_key")}
    plain["worker"] = _text(task.get("worker"), limits.ORGANIZATION_MAX)
    if "tag" in task:
        plain["tag"] = None if task["tag"] is None else _text(task["tag"], limits.TAG_MAX, blank=True)
    if "metadata" in task:
        plain["metadata"] = _metadata(task["metadata"])
    if "rank" in task:
        if task["rank"] is not None and type(task["rank"]) is not int:
            raise NotPlain
        plain["rank"] = task["rank"]
    inputs, outputs = task.get("inputs"), task.get("outputs")
    if inputs is not None and type(inputs) is not list:
        raise NotPlain
    if outputs is not None and type(outputs) is not dict:
        raise NotPlain
    plain["inputs"] = [_plain_input(item) for item in inputs or ()]
    plain["outputs"] = {_text(name, limits.IDENTIFIER_MAX): _plain_output(out) for name, out in (outputs or {}).items()}
    return plain


def _plain_input(item) -> dict:
    if type(item) is not dict:
        raise NotPlain
    plain = {"identifier": _text(item.get("identifier"), limits.IDENTIFIER_MAX)}
    for name in ("asset_key", "parent_task_key"):
        if name in item:
            plain[name] = None if item[name] is None else _key(item[name])
    if "parent_task_output_identifier" in item:
        output = item["parent_task_output_identifier"]
        plain["parent_task_output_identifier"] = None if output is None else _text(output, limits.IDENTIFIER_MAX)
    has_asset = plain.get("asset_key") is not None
    has_parent = plain.get("parent_task_key") is not None and plain.get("parent_task_output_identifier")
    if has_asset == bool(has_parent):
        raise NotPlain
    return plain


def _plain_output(output) -> dict:
    if type(output) is not dict:
        raise NotPlain
    transient = output["transient"] if "transient" in output else output.get("is_transient", False)
    permissions = output.get("permissions")
    if (transient is not None and type(transient) is not bool) or type(permissions) is not dict:
        raise NotPlain
    if set(permissions) != {"public", "authorized_ids"} or type(permissions["public"]) is not bool:
        raise NotPlain
    authorized = permissions["authorized_ids"]
    if type(authorized) is not list or len(authorized) > 1000:
        raise NotPlain
    authorized = [_text(org, limits.ORGANIZATION_MAX) for org in authorized]
    return {
        "permissions": {"public": permissions["public"], "authorized_ids": authorized},
        "transient": bool(transient),
    }


def _metadata(metadata) -> dict:
    if metadata is None:
        return {}
    if type(metadata) is not dict:
        raise NotPlain
    for value in metadata.values():
        _text(value, limits.METADATA_VALUE_MAX, blank=True)
    try:
        return limits.check_metadata(metadata)
    except limits.Refused:
        raise NotPlain from None


def _key(value) -> str:
    if type(value) is not str or not CANONICAL_UUID.fullmatch(value):
        raise NotPlain
    return value


def _text(value, max_length: int, blank: bool = False) -> str:
    """Text DRF's CharField would keep as it is (no surrounding spaces to trim) and that the one
    definition (`limits.check_text`) accepts."""
    if type(value) is not str or value.strip() != value:
        raise NotPlain
    try:
        return limits.check_text(value, "text", max_length, required=not blank)
    except limits.Refused:
        raise NotPlain from None
