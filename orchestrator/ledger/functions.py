"""Functions: an archive (code and Dockerfile) with declared inputs and outputs, and the status of
its image build, which gates the tasks that use it."""

import json

from orchestrator import snapshots
from orchestrator.errors import OrchestratorError
from orchestrator.events import recording, retry_on_conflict
from orchestrator.ledger import cascades
from orchestrator.ledger.common import (
    Caller,
    canonical,
    check_addressable,
    check_identifier,
    check_key,
    check_metadata,
    check_name,
    check_text,
    existing_key,
    new_permission,
    now,
)
from orchestrator.ledger.datasets import _existing_or_conflict
from orchestrator.ledger.organizations import known_organizations
from orchestrator.models import Function
from orchestrator_client.limits import IMAGE_MAX

INPUT_KINDS = {"ASSET_DATA_MANAGER", "ASSET_DATA_SAMPLE", "ASSET_MODEL"}
OUTPUT_KINDS = {"ASSET_MODEL", "ASSET_PERFORMANCE"}

# action -> (statuses it may leave, status it reaches)
FUNCTION_TRANSITIONS = {
    "FUNCTION_ACTION_BUILDING": ({"FUNCTION_STATUS_WAITING"}, "FUNCTION_STATUS_BUILDING"),
    "FUNCTION_ACTION_READY": ({"FUNCTION_STATUS_WAITING", "FUNCTION_STATUS_BUILDING"}, "FUNCTION_STATUS_READY"),
    "FUNCTION_ACTION_CANCELED": ({"FUNCTION_STATUS_WAITING", "FUNCTION_STATUS_BUILDING"}, "FUNCTION_STATUS_CANCELED"),
}


@retry_on_conflict
def register_function(caller: Caller, new) -> dict:
    key = check_key(new.key)
    description = check_addressable(new.description, "description")
    archive = check_addressable(new.archive, "archive")
    row = Function(
        key=key,
        channel=caller.channel,
        owner=caller.org,
        name=check_name(new.name),
        description_checksum=description[0],
        description_address=description[1],
        archive_checksum=archive[0],
        archive_address=archive[1],
        permissions=canonical(new_permission(new.new_permissions, caller.org, known_organizations(caller.channel))),
        metadata=canonical(check_metadata(new.metadata)),
        inputs=canonical(_inputs(new.inputs)),
        outputs=canonical(_outputs(new.outputs)),
        status="FUNCTION_STATUS_WAITING",
        creation_date=now(),
    )
    with recording(caller.channel) as events:
        existing = Function.objects.filter(key=key).first()
        if existing is not None:
            return _existing_or_conflict(existing, row, _spec_of, snapshots.function)
        row.save(force_insert=True)
        snapshot = snapshots.function(row)
        events.created("ASSET_FUNCTION", key, snapshot)
        return snapshot


def get_function(caller: Caller, key: str) -> dict:
    return snapshots.function(_function(caller, key))


@retry_on_conflict
def rename_function(caller: Caller, key: str, name: str) -> dict:
    with recording(caller.channel) as events:
        row = _owned_function(caller, key)
        row.name = check_name(name)
        row.save(update_fields=["name"])
        snapshot = snapshots.function(row)
        events.updated("ASSET_FUNCTION", key, snapshot)
        return snapshot


@retry_on_conflict
def apply_function_action(caller: Caller, key: str, action: str, image: str = "") -> dict:
    """The owner's builder reports the image build; tasks waiting on the function follow it."""
    if action not in FUNCTION_TRANSITIONS:
        raise OrchestratorError("INVALID_FIELD", f"unknown function action {action}")
    check_text(image, "image", IMAGE_MAX)
    allowed_from, target = FUNCTION_TRANSITIONS[action]
    with recording(caller.channel) as events:
        row = _owned_function(caller, key)
        if row.status not in allowed_from:
            raise OrchestratorError("INVALID_TRANSITION", f"function {key} is {row.status}, cannot apply {action}")
        row.status = target
        if target == "FUNCTION_STATUS_READY":
            row.image = image
        row.save(update_fields=["status", "image"])
        events.updated("ASSET_FUNCTION", key, snapshots.function(row))
        if target == "FUNCTION_STATUS_BUILDING":
            cascades.start_building_tasks(key, events)
        elif target == "FUNCTION_STATUS_READY":
            cascades.release_built_tasks(key, events)
        else:
            cascades.end_tasks_of_function(key, "STATUS_CANCELED", "", events)
        return snapshots.function(row)


def _inputs(inputs) -> dict:
    result = {}
    for identifier, spec in inputs.items():
        check_identifier(identifier, "input identifier")
        kind = _kind_name(spec)
        if kind not in INPUT_KINDS:
            raise OrchestratorError("INVALID_FIELD", f"input {identifier!r} has kind {kind}, not an input kind")
        result[identifier] = {"kind": kind, "multiple": spec.multiple, "optional": spec.optional}
    return result


def _outputs(outputs) -> dict:
    result = {}
    for identifier, spec in outputs.items():
        check_identifier(identifier, "output identifier")
        kind = _kind_name(spec)
        if kind not in OUTPUT_KINDS:
            raise OrchestratorError("INVALID_FIELD", f"output {identifier!r} has kind {kind}, not an output kind")
        if kind == "ASSET_PERFORMANCE" and spec.multiple:
            raise OrchestratorError("INVALID_FIELD", f"performance output {identifier!r} cannot be multiple")
        result[identifier] = {"kind": kind, "multiple": spec.multiple}
    return result


def _kind_name(spec) -> str:
    return spec.DESCRIPTOR.fields_by_name["kind"].enum_type.values_by_number[spec.kind].name


def _spec_of(row) -> dict:
    snapshot = snapshots.function(row)
    snapshot.pop("status"), snapshot.pop("image")
    return snapshot


def _function(caller: Caller, key: str, for_update: bool = False) -> Function:
    key = existing_key(key, "function")
    rows = Function.objects.filter(key=key, channel=caller.channel)
    row = (rows.select_for_update() if for_update else rows).first()
    if row is None:
        raise OrchestratorError("NOT_FOUND", f"function {key} not found")
    return row


def _owned_function(caller: Caller, key: str) -> Function:
    row = _function(caller, key, for_update=True)
    if row.owner != caller.org:
        raise OrchestratorError("PERMISSION_DENIED", f"only its owner {row.owner} may change function {key}")
    return row


def function_io(row_inputs: str, row_outputs: str) -> tuple[dict, dict]:
    return json.loads(row_inputs), json.loads(row_outputs)
