from orchestrator import snapshots
from orchestrator.errors import OrchestratorError
from orchestrator.events import recording, retry_on_conflict
from orchestrator.ledger import cascades
from orchestrator.ledger.common import (
    Caller,
    canonical,
    check_key,
    check_metadata,
    check_name,
    check_tag,
    existing_key,
    now,
)
from orchestrator.models import ComputePlan


@retry_on_conflict
def register_compute_plan(caller: Caller, new) -> dict:
    key = check_key(new.key)
    spec = {
        "channel": caller.channel,
        "owner": caller.org,
        "name": check_name(new.name),
        "tag": check_tag(new.tag),
        "metadata": canonical(check_metadata(new.metadata)),
    }
    with recording(caller.channel) as events:
        existing = ComputePlan.objects.filter(key=key).values("channel", "owner", "name", "tag", "metadata").first()
        if existing is not None:
            if existing != spec:
                raise OrchestratorError("CONFLICT", f"compute plan {key} already exists with a different content")
            return get_compute_plan(caller, key)
        ComputePlan.objects.create(key=key, creation_date=now(), **spec)
        snapshot = snapshots.compute_plan(cascades.plan_row(key))
        events.created("ASSET_COMPUTE_PLAN", key, snapshot)
        return snapshot


def get_compute_plan(caller: Caller, key: str) -> dict:
    return snapshots.compute_plan(_plan_row(caller, key))


@retry_on_conflict
def rename_compute_plan(caller: Caller, key: str, name: str) -> dict:
    name = check_name(name)
    with recording(caller.channel) as events:
        key = _owned_plan(caller, key)["key"]
        ComputePlan.objects.filter(key=key).update(name=name)
        snapshot = snapshots.compute_plan(cascades.plan_row(key))
        events.updated("ASSET_COMPUTE_PLAN", key, snapshot)
        return snapshot


@retry_on_conflict
def cancel_compute_plan(caller: Caller, key: str) -> dict:
    """Cancels every task of the plan that has not ended, in one statement. Cancelling a canceled
    plan changes nothing; a plan that is done or failed cannot be canceled."""
    with recording(caller.channel) as events:
        status = snapshots.plan_status(_owned_plan(caller, key))
        if status == "PLAN_STATUS_CANCELED":
            return get_compute_plan(caller, key)
        if status in ("PLAN_STATUS_DONE", "PLAN_STATUS_FAILED"):
            raise OrchestratorError("INVALID_TRANSITION", f"compute plan {key} is {status}, it cannot be canceled")
        return snapshots.compute_plan(cascades.end_plan(key, events))


def _plan_row(caller: Caller, key: str) -> dict:
    key = existing_key(key, "compute plan")
    row = ComputePlan.objects.filter(key=key, channel=caller.channel).values(*cascades.PLAN_COLUMNS).first()
    if row is None:
        raise OrchestratorError("NOT_FOUND", f"compute plan {key} not found")
    return row


def _owned_plan(caller: Caller, key: str) -> dict:
    row = _plan_row(caller, key)
    if row["owner"] != caller.org:
        raise OrchestratorError("PERMISSION_DENIED", f"only its owner {row['owner']} may change compute plan {key}")
    return row
