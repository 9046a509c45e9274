"""Asset snapshots: the plain-dict form of each asset, with the field names of its protobuf
message. Events carry them as canonical JSON; gRPC answers are built from them."""

import json
from json.encoder import encode_basestring as _json_string  # as json.dumps(..., ensure_ascii=False)

from orchestrator.ledger.common import iso, snapshot_addressable

TASK_COLUMNS = (
    "key",
    "function_id",
    "owner",
    "compute_plan_id",
    "worker",
    "rank",
    "status",
    "tag",
    "metadata",
    "inputs",
    "outputs",
    "logs_permission",
    "parent_task_keys",
    "error_type",
    "creation_date",
    "start_date",
    "end_date",
)

TERMINAL_TASK_STATUSES = ("STATUS_DONE", "STATUS_FAILED", "STATUS_CANCELED")


def organization(row) -> dict:
    return {"id": row.org_id, "address": row.address, "creation_date": iso(row.creation_date)}


def data_manager(row) -> dict:
    return {
        "key": row.key,
        "name": row.name,
        "owner": row.owner,
        "permissions": {"process": json.loads(row.permissions)},
        "opener": snapshot_addressable(row.opener_checksum, row.opener_address),
        "description": snapshot_addressable(row.description_checksum, row.description_address),
        "type": row.type,
        "metadata": json.loads(row.metadata),
        "logs_permission": json.loads(row.logs_permission),
        "creation_date": iso(row.creation_date),
    }


def data_sample(row, data_manager_keys) -> dict:
    return {
        "key": row.key,
        "owner": row.owner,
        "checksum": row.checksum,
        "data_manager_keys": sorted(data_manager_keys),
        "creation_date": iso(row.creation_date),
    }


def function(row) -> dict:
    return {
        "key": row.key,
        "name": row.name,
        "owner": row.owner,
        "permissions": {"process": json.loads(row.permissions)},
        "description": snapshot_addressable(row.description_checksum, row.description_address),
        "archive": snapshot_addressable(row.archive_checksum, row.archive_address),
        "metadata": json.loads(row.metadata),
        "inputs": json.loads(row.inputs),
        "outputs": json.loads(row.outputs),
        "status": row.status,
        "image": row.image,
        "creation_date": iso(row.creation_date),
    }


def plan_status(row) -> str:
    if row["cancelation_date"]:
        return "PLAN_STATUS_CANCELED"
    if row["failure_date"]:
        return "PLAN_STATUS_FAILED"
    if row["task_count"] and row["done_count"] == row["task_count"]:
        return "PLAN_STATUS_DONE"
    if row["start_date"]:
        return "PLAN_STATUS_DOING"
    return "PLAN_STATUS_CREATED"


def compute_plan(row: dict) -> dict:
    """`row` holds the plan's columns (from `.values()` or a RETURNING clause)."""
    return {
        "key": row["key"],
        "name": row["name"],
        "owner": row["owner"],
        "tag": row["tag"],
        "metadata": _json(row["metadata"]),
        "status": plan_status(row),
        "task_count": row["task_count"],
        "done_count": row["done_count"],
        "failed_task_key": row["failed_task_key"],
        "creation_date": iso(row["creation_date"]),
        "start_date": iso(row["start_date"]),
        "end_date": iso(row["end_date"]),
        "cancelation_date": iso(row["cancelation_date"]),
        "failure_date": iso(row["failure_date"]),
    }


def compute_task(row: dict) -> dict:
    """`row` holds TASK_COLUMNS (from `.values()` or a RETURNING clause)."""
    return {
        "key": row["key"],
        "function_key": row["function_id"],
        "owner": row["owner"],
        "compute_plan_key": row["compute_plan_id"],
        "worker": row["worker"],
        "rank": row["rank"],
        "status": row["status"],
        "tag": row["tag"],
        "metadata": _json(row["metadata"]),
        "inputs": _json(row["inputs"]),
        "outputs": _json(row["outputs"]),
        "logs_permission": _json(row["logs_permission"]),
        "parent_task_keys": _json(row["parent_task_keys"]),
        "error_type": row["error_type"] or "ERROR_TYPE_UNSPECIFIED",
        "creation_date": iso(row["creation_date"]),
        "start_date": iso(row["start_date"]),
        "end_date": iso(row["end_date"]),
    }


def compute_task_json(row: dict) -> str:
    """canonical(compute_task(row)), built from a row whose JSON columns hold their canonical text
    (as stored): the text is put together rather than parsed and serialized again. Migration
    0005's `orchestrator_task_json` builds the same text in the database."""
    q = _json_string
    return (
        f'{{"compute_plan_key":{q(row["compute_plan_id"])},"creation_date":{q(iso(row["creation_date"]))}'
        f',"end_date":{q(iso(row["end_date"]))},"error_type":{q(row["error_type"] or "ERROR_TYPE_UNSPECIFIED")}'
        f',"function_key":{q(row["function_id"])},"inputs":{row["inputs"]},"key":{q(row["key"])}'
        f',"logs_permission":{row["logs_permission"]},"metadata":{row["metadata"]},"outputs":{row["outputs"]}'
        f',"owner":{q(row["owner"])},"parent_task_keys":{row["parent_task_keys"]},"rank":{int(row["rank"])}'
        f',"start_date":{q(iso(row["start_date"]))},"status":{q(row["status"])},"tag":{q(row["tag"])}'
        f',"worker":{q(row["worker"])}}}'
    )


def model(row) -> dict:
    return {
        "key": row.key,
        "compute_task_key": row.compute_task_id,
        "compute_task_output_identifier": row.identifier,
        "address": snapshot_addressable(row.checksum, row.address),
        "permissions": {"process": json.loads(row.permissions)},
        "owner": row.owner,
        "disabled": row.disabled,
        "creation_date": iso(row.creation_date),
    }


def performance(row) -> dict:
    return {
        "compute_task_key": row.compute_task_id,
        "compute_task_output_identifier": row.identifier,
        "performance_value": row.value,
        "creation_date": iso(row.creation_date),
    }


def failure_report(row) -> dict:
    return {
        "asset_key": row.asset_key,
        "asset_kind": row.asset_kind,
        "error_type": row.error_type,
        "logs_address": snapshot_addressable(row.logs_checksum, row.logs_address),
        "owner": row.owner,
        "creation_date": iso(row.creation_date),
    }


def _json(value):
    return json.loads(value) if isinstance(value, str) else value
