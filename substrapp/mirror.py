"""The local mirror: orchestrator asset snapshots saved as rows, idempotently.

A snapshot is an asset as the orchestrator describes it: the `asset_json` of an event, or a gRPC
answer turned into a dict by `snapshot_of`. `save_snapshots` inserts each one, or overwrites the
row of the same key with it, so saving a snapshot twice changes nothing. It writes only the
snapshot's own columns: the local ones (`*_file`, `server_path`) are left as they are, so the
consumer and the registration endpoints can both save the same asset in any order.

    save_snapshots("mychannel", "ASSET_COMPUTE_PLAN", [snapshot_of(client.register_compute_plan(...))])
"""

import concurrent.futures
import contextlib
import contextvars
import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from django.db import close_old_connections, connections, models, router, transaction
from django.utils.dateparse import parse_datetime
from google.protobuf import json_format

from orchestrator_client.pb import assets_pb2 as pb
from substrapp.models import (
    ComputePlan,
    ComputeTask,
    DataManager,
    DataSample,
    FailureReport,
    Function,
    Model,
    Organization,
    Performance,
)
from substrapp.models.bulk import insert_rows
from substrapp.models.scoping import ANSWERED, REGISTERING, hold_until_commit

logger = logging.getLogger(__name__)


def snapshot_of(message) -> dict:
    """A protobuf asset (a gRPC answer) as the snapshot dict its event would carry."""
    if isinstance(message, pb.ComputeTask):
        return _task_snapshot(message)
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def _task_snapshot(task: pb.ComputeTask) -> dict:
    """MessageToDict of a task, field by field: its generic walk of 500 answers was a fifth of
    task/bulk_create's time. tests/backend/test_mirror_snapshots.py holds the two equal."""
    snapshot = {
        "key": task.key,
        "function_key": task.function_key,
        "owner": task.owner,
        "compute_plan_key": task.compute_plan_key,
        "worker": task.worker,
        "rank": task.rank,
        "status": _enum_name(pb.ComputeTaskStatus, task.status),
        "tag": task.tag,
        "metadata": dict(task.metadata),
        "inputs": [_task_input(item) for item in task.inputs],
        "outputs": {identifier: _task_output(output) for identifier, output in task.outputs.items()},
        "parent_task_keys": list(task.parent_task_keys),
        "error_type": _enum_name(pb.ErrorType, task.error_type),
        "creation_date": task.creation_date,
        "start_date": task.start_date,
        "end_date": task.end_date,
    }
    if task.HasField("logs_permission"):
        snapshot["logs_permission"] = _permission(task.logs_permission)
    return snapshot


def _enum_name(enum, value: int) -> str | int:
    try:
        return enum.Name(value)
    except ValueError:  # a value this client does not know: MessageToDict gives the number
        return value


def _task_input(item: pb.ComputeTaskInput) -> dict:
    snapshot = {"identifier": item.identifier}
    ref = item.WhichOneof("ref")
    if ref == "asset_key":
        snapshot["asset_key"] = item.asset_key
    elif ref == "parent_task_output":
        parent = item.parent_task_output
        snapshot["parent_task_output"] = {
            "parent_task_key": parent.parent_task_key,
            "output_identifier": parent.output_identifier,
        }
    return snapshot


def _task_output(output: pb.ComputeTaskOutput) -> dict:
    snapshot = {"transient": output.transient}
    if output.HasField("permissions"):
        snapshot["permissions"] = {}
        if output.permissions.HasField("process"):
            snapshot["permissions"]["process"] = _permission(output.permissions.process)
    return snapshot


def _permission(permission: pb.Permission) -> dict:
    return {"public": permission.public, "authorized_ids": list(permission.authorized_ids)}


def _date(value: str):
    """Snapshot dates are RFC 3339 UTC text, `""` when unset."""
    return parse_datetime(value) if value else None


def _addressable(prefix: str, addressable: dict) -> dict:
    return {f"{prefix}_checksum": addressable["checksum"], f"{prefix}_address": addressable["storage_address"]}


def _error_type(value: str) -> str | None:
    return None if value in ("", "ERROR_TYPE_UNSPECIFIED") else value


def organization_fields(channel: str, snapshot: dict) -> dict:
    return {
        "channel": channel,
        "org_id": snapshot["id"],
        "address": snapshot["address"],
        "creation_date": _date(snapshot["creation_date"]),
    }


def data_manager_fields(channel: str, snapshot: dict) -> dict:
    return {
        "key": snapshot["key"],
        "channel": channel,
        "name": snapshot["name"],
        "owner": snapshot["owner"],
        "permissions": snapshot["permissions"],
        **_addressable("opener", snapshot["opener"]),
        **_addressable("description", snapshot["description"]),
        "type": snapshot["type"],
        "metadata": snapshot["metadata"],
        "logs_permission": snapshot["logs_permission"],
        "creation_date": _date(snapshot["creation_date"]),
    }


def data_sample_fields(channel: str, snapshot: dict) -> dict:
    return {
        "key": snapshot["key"],
        "channel": channel,
        "owner": snapshot["owner"],
        "checksum": snapshot["checksum"],
        "creation_date": _date(snapshot["creation_date"]),
    }


def function_fields(channel: str, snapshot: dict) -> dict:
    return {
        "key": snapshot["key"],
        "channel": channel,
        "name": snapshot["name"],
        "owner": snapshot["owner"],
        "permissions": snapshot["permissions"],
        **_addressable("description", snapshot["description"]),
        **_addressable("archive", snapshot["archive"]),
        "metadata": snapshot["metadata"],
        "inputs": snapshot["inputs"],
        "outputs": snapshot["outputs"],
        "status": snapshot["status"],
        "image": snapshot["image"],
        "creation_date": _date(snapshot["creation_date"]),
    }


PLAN_DATES = ("creation_date", "start_date", "end_date", "cancelation_date", "failure_date")


def compute_plan_fields(channel: str, snapshot: dict) -> dict:
    # task_count and done_count are left out: they may lag in plan events (models/computeplans.py).
    return {
        "key": snapshot["key"],
        "channel": channel,
        "name": snapshot["name"],
        "owner": snapshot["owner"],
        "tag": snapshot["tag"],
        "metadata": snapshot["metadata"],
        "status": snapshot["status"],
        "failed_task_key": snapshot["failed_task_key"] or None,
        **{field: _date(snapshot[field]) for field in PLAN_DATES},
    }


def compute_task_fields(channel: str, snapshot: dict) -> dict:
    return {
        "key": snapshot["key"],
        "channel": channel,
        "function_id": snapshot["function_key"],
        "compute_plan_id": snapshot["compute_plan_key"],
        "owner": snapshot["owner"],
        "worker": snapshot["worker"],
        "rank": int(snapshot["rank"]),
        "status": snapshot["status"],
        "tag": snapshot["tag"],
        "metadata": snapshot["metadata"],
        "inputs": snapshot["inputs"],
        "outputs": snapshot["outputs"],
        "logs_permission": snapshot["logs_permission"],
        "parent_task_keys": snapshot["parent_task_keys"],
        "error_type": _error_type(snapshot["error_type"]),
        "creation_date": _date(snapshot["creation_date"]),
        "start_date": _date(snapshot["start_date"]),
        "end_date": _date(snapshot["end_date"]),
    }


def model_fields(channel: str, snapshot: dict) -> dict:
    return {
        "key": snapshot["key"],
        "channel": channel,
        "compute_task_id": snapshot["compute_task_key"],
        "compute_task_output_identifier": snapshot["compute_task_output_identifier"],
        "checksum": snapshot["address"]["checksum"],
        "address": snapshot["address"]["storage_address"],
        "permissions": snapshot["permissions"],
        "owner": snapshot["owner"],
        "disabled": snapshot["disabled"],
        "creation_date": _date(snapshot["creation_date"]),
    }


def performance_fields(channel: str, snapshot: dict) -> dict:
    return {
        "channel": channel,
        "compute_task_id": snapshot["compute_task_key"],
        "compute_task_output_identifier": snapshot["compute_task_output_identifier"],
        "performance_value": float(snapshot["performance_value"]),
        "creation_date": _date(snapshot["creation_date"]),
    }


def failure_report_fields(channel: str, snapshot: dict) -> dict:
    return {
        "asset_key": snapshot["asset_key"],
        "channel": channel,
        "asset_kind": snapshot["asset_kind"],
        "error_type": snapshot["error_type"],
        "logs_checksum": snapshot["logs_address"]["checksum"],
        "logs_address": snapshot["logs_address"]["storage_address"],
        "owner": snapshot["owner"],
        "creation_date": _date(snapshot["creation_date"]),
    }


def link_data_samples(snapshots: list[dict]) -> None:
    """Makes each sample's data managers exactly its snapshot's `data_manager_keys`."""
    link = DataSample.data_managers.through
    wanted = {(s["key"], key) for s in snapshots for key in s["data_manager_keys"]}
    existing = link.objects.filter(datasample_id__in={s["key"] for s in snapshots})
    pairs = existing.values_list("pk", "datasample_id", "datamanager_id")
    stale = [pk for pk, sample, manager in pairs if (sample, manager) not in wanted]
    if stale:
        link.objects.filter(pk__in=stale).delete()
    link.objects.bulk_create(
        [link(datasample_id=sample, datamanager_id=manager) for sample, manager in sorted(wanted)],
        ignore_conflicts=True,
    )


@dataclass(frozen=True)
class AssetMirror:
    """How one asset kind is kept: its model, the columns that identify a row, the row of a
    snapshot, and what else a snapshot sets (relations)."""

    model: type[models.Model]
    unique_fields: tuple[str, ...]
    fields: Callable[[str, dict], dict]
    relate: Callable[[list[dict]], None] | None = None

    def identity(self, row: dict) -> tuple:
        return tuple(row[name] for name in self.unique_fields)


MIRRORS = {
    "ASSET_ORGANIZATION": AssetMirror(Organization, ("channel", "org_id"), organization_fields),
    "ASSET_DATA_MANAGER": AssetMirror(DataManager, ("key",), data_manager_fields),
    "ASSET_DATA_SAMPLE": AssetMirror(DataSample, ("key",), data_sample_fields, link_data_samples),
    "ASSET_FUNCTION": AssetMirror(Function, ("key",), function_fields),
    "ASSET_COMPUTE_PLAN": AssetMirror(ComputePlan, ("key",), compute_plan_fields),
    "ASSET_COMPUTE_TASK": AssetMirror(ComputeTask, ("key",), compute_task_fields),
    "ASSET_MODEL": AssetMirror(Model, ("key",), model_fields),
    "ASSET_PERFORMANCE": AssetMirror(
        Performance, ("compute_task_id", "compute_task_output_identifier"), performance_fields
    ),
    "ASSET_FAILURE_REPORT": AssetMirror(FailureReport, ("asset_key",), failure_report_fields),
}


class UnknownAssetKind(ValueError):
    pass


def save_snapshots(channel: str, asset_kind: str, snapshots: list[dict], created: bool = False) -> None:
    """Upserts snapshots of one asset kind, in one statement; for one asset, the last one wins.

    `created`: the snapshots are of assets as they were created (a registration's answers, the
    CREATED events of the same registration): an asset's row, if there is one, is at least as
    new, so they are only inserted. The API and the consumer both save a new plan's 10,000 tasks:
    the second one then skips them instead of rewriting them, and can never put a task's first
    status back over a later one."""
    try:
        mirror = MIRRORS[asset_kind]
    except KeyError:
        raise UnknownAssetKind(f"no mirror for asset kind {asset_kind!r}") from None
    # One INSERT … ON CONFLICT cannot touch a row twice: keep each asset's last snapshot.
    latest = {}
    for snapshot in snapshots:
        row = mirror.fields(channel, snapshot)
        latest[mirror.identity(row)] = (row, snapshot)
    # In key order: the API (saving what it registered) and the consumer (applying the events of
    # the same registration) upsert the same rows at once; rows locked in one order cannot
    # deadlock.
    rows = [latest[identity][0] for identity in sorted(latest)]
    if created:
        insert_rows(mirror.model, _not_saved_yet(mirror, rows), ignore_conflicts=True)
    else:
        insert_rows(
            mirror.model,
            rows,
            unique_fields=mirror.unique_fields,
            update_fields=[name for name in rows[0] if name not in mirror.unique_fields],
        )
    if mirror.relate is not None:
        mirror.relate([snapshot for _, snapshot in latest.values()])


def _not_saved_yet(mirror: AssetMirror, rows: list[dict]) -> list[dict]:
    """The rows of assets not in the mirror yet. Whichever of the API and the consumer saves a
    registration second (once the first has committed) finds its 500 tasks there with one index
    lookup each, instead of having PostgreSQL unpack and try to insert them all again. The
    insert still skips a row saved in between."""
    if mirror.unique_fields != ("key",) or len(rows) < 2:
        return rows
    keys = [row["key"] for row in rows]
    present = set(mirror.model.objects.filter(key__in=keys).values_list("key", flat=True))
    return [row for row in rows if row["key"] not in present]


# Threads that write a registration's rows behind its answer; a registration past the fourth at
# once waits for one. Each holds a database connection while it waits for the orchestrator:
# docker/gunicorn.conf.py counts them in the API's pool.
SAVERS = 4
_SAVERS = concurrent.futures.ThreadPoolExecutor(max_workers=SAVERS, thread_name_prefix="mirror-save")


@contextlib.contextmanager
def saving_behind(channel: str, asset_kind: str, created: bool = False):
    """For a registration whose rows are written behind its answer, on another connection:

        with saving_behind(channel, "ASSET_COMPUTE_TASK", created=True) as save:
            answers = orchestrator.register_tasks(...)
            save([snapshot_of(answer) for answer in answers])
            return answer_of(answers)

    The writer starts with the block and holds the channel's REGISTERING lock while the
    orchestrator writes (models/scoping.py: the consumer, which gets the events meanwhile, waits
    for the rows instead of writing them too). Handed the snapshots, it takes the ANSWERED lock
    and inserts them; the block ends once it holds that lock, and the answer goes while the rows
    are written: a user's read of the channel waits for them (`for_user`). A failed save is
    logged, and the consumer saves the same assets from their events. A block that fails, or
    hands nothing, lets the writer go with nothing written. Inside a transaction (another
    connection could not see its rows) or on SQLite (one writer at a time), `save` writes at
    once, on the caller's connection."""
    connection = connections[router.db_for_write(MIRRORS[asset_kind].model)]
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield functools.partial(save_snapshots, channel, asset_kind, created=created)
        return
    writer = _Writer()
    # The caller's context (the request id of its log lines) goes with the work.
    context = contextvars.copy_context()
    saving = _SAVERS.submit(context.run, _save_behind, channel, asset_kind, created, writer)
    writer.registering.wait()
    try:
        yield writer.hand
    except BaseException:
        writer.hand(None)
        concurrent.futures.wait([saving])  # nothing is left writing behind a failed request
        raise
    writer.hand(None)  # a block that handed nothing
    writer.answered.wait()
    saving.add_done_callback(functools.partial(_log_failure, asset_kind))


class _Writer:
    """What a registration and its writer thread tell each other."""

    def __init__(self):
        self.registering = threading.Event()  # set once the writer holds REGISTERING (or gave up)
        self.answered = threading.Event()  # set once it holds ANSWERED (or gave up)
        self.snapshots = concurrent.futures.Future()  # the snapshots to save, or None

    def hand(self, snapshots: list[dict] | None) -> None:
        if not self.snapshots.done():
            self.snapshots.set_result(snapshots)


def _save_behind(channel: str, asset_kind: str, created: bool, writer: _Writer) -> int:
    try:
        with transaction.atomic():
            hold_until_commit(REGISTERING, channel)
            writer.registering.set()
            snapshots = writer.snapshots.result()
            if not snapshots:
                return 0
            hold_until_commit(ANSWERED, channel)
            writer.answered.set()
            save_snapshots(channel, asset_kind, snapshots, created)
            return len(snapshots)
    finally:
        # A writer that could not even take the locks does not hold its caller.
        writer.registering.set()
        writer.answered.set()
        close_old_connections()  # back to the pool, or kept for CONN_MAX_AGE, as after a request


def _log_failure(asset_kind: str, saving: concurrent.futures.Future) -> None:
    error = saving.exception()
    if error is not None:
        logger.error("%s rows were not saved behind their answer; the consumer will save them: %r", asset_kind, error)
