"""Snapshot texts put together from stored canonical columns equal canonical(snapshot)."""

from datetime import UTC, datetime

from orchestrator import snapshots
from orchestrator.ledger.common import canonical

TRICKY = 'tâche "quoted" \\ back\tslash\n\x01\x1f\x7f ✓ \u2028'


def test_a_task_text_built_from_its_stored_columns_is_its_canonical_snapshot():
    values = {
        "key": "0b5c1f0e-7d1a-4c37-9d0f-5d3c1c1f1a01",
        "function_id": "0b5c1f0e-7d1a-4c37-9d0f-5d3c1c1f1a02",
        "owner": "MyOrg1MSP",
        "compute_plan_id": "0b5c1f0e-7d1a-4c37-9d0f-5d3c1c1f1a03",
        "worker": TRICKY,
        "rank": 12,
        "status": "STATUS_WAITING_FOR_PARENT_TASKS",
        "tag": TRICKY,
        "metadata": {"b": TRICKY, "a": "1"},
        "inputs": [
            {"identifier": "opener", "asset_key": "k"},
            {"identifier": "models", "parent_task_output": {"parent_task_key": "p", "output_identifier": "model"}},
        ],
        "outputs": {"model": {"permissions": {"process": {"public": False, "authorized_ids": ["a", "b"]}},
                              "transient": True}},
        "logs_permission": {"public": True, "authorized_ids": []},
        "parent_task_keys": ["p", TRICKY],
        "error_type": "",
        "creation_date": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        "start_date": None,
        "end_date": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    }  # fmt: skip
    columns = ("metadata", "inputs", "outputs", "logs_permission", "parent_task_keys")
    row = {**values, **{column: canonical(values[column]) for column in columns}}
    assert snapshots.compute_task_json(row) == canonical(snapshots.compute_task(values))
    row["error_type"] = values["error_type"] = "EXECUTION_ERROR"
    assert snapshots.compute_task_json(row) == canonical(snapshots.compute_task(values))
