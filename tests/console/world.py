"""Mirror rows for the console's server-side tests: what the event consumer would have written
(the console reads only the mirror, and the orchestrator only to cancel and to re-walk the chain)."""

import datetime
import uuid

from django.utils import timezone

from substrapp.models import ComputePlan, ComputeTask, DataManager, Function, Performance

PUBLIC = {"public": True, "authorized_ids": []}


def key() -> str:
    return str(uuid.uuid4())


def function(channel="mychannel", owner="MyOrg1MSP", name="train", permissions=None) -> Function:
    return Function.objects.create(
        key=key(),
        channel=channel,
        name=name,
        owner=owner,
        permissions={"process": permissions or PUBLIC},
        description_checksum="0" * 64,
        description_address="",
        archive_checksum="0" * 64,
        archive_address="",
        inputs={"models": {"kind": "ASSET_MODEL", "multiple": True, "optional": True}},
        outputs={"model": {"kind": "ASSET_MODEL", "multiple": False}},
        status="FUNCTION_STATUS_READY",
        creation_date=timezone.now(),
    )


def dataset(channel="mychannel", owner="MyOrg2MSP", name="hospital", permissions=None) -> DataManager:
    return DataManager.objects.create(
        key=key(),
        channel=channel,
        name=name,
        owner=owner,
        permissions={"process": permissions or PUBLIC},
        opener_checksum="0" * 64,
        opener_address="",
        description_checksum="0" * 64,
        description_address="",
        type="csv",
        logs_permission=PUBLIC,
        creation_date=timezone.now(),
    )


def plan(name="fedavg", channel="mychannel", owner="MyOrg1MSP", status="PLAN_STATUS_DOING", **fields) -> ComputePlan:
    return ComputePlan.objects.create(
        key=key(), channel=channel, name=name, owner=owner, status=status, creation_date=timezone.now(), **fields
    )


def tasks(
    plan: ComputePlan, rounds: int, workers=("MyOrg2MSP", "MyOrg3MSP"), status="STATUS_DONE"
) -> list[ComputeTask]:
    """A chain of rounds: on each round one task per worker, each with the previous round's tasks
    as parents; every task has a performance `accuracy` that grows with the round."""
    func = function(channel=plan.channel)
    made, previous = [], []
    start = timezone.now() - datetime.timedelta(minutes=10)
    for round_idx in range(rounds):
        current = []
        for i, worker in enumerate(workers):
            task = ComputeTask.objects.create(
                key=key(),
                channel=plan.channel,
                function=func,
                compute_plan=plan,
                owner=plan.owner,
                worker=worker,
                rank=round_idx,
                status=status,
                metadata={"round_idx": str(round_idx + 1)},
                logs_permission=PUBLIC,
                parent_task_keys=[t.key for t in previous],
                creation_date=start + datetime.timedelta(seconds=round_idx),
            )
            Performance.objects.create(
                channel=plan.channel,
                compute_task=task,
                compute_task_output_identifier="accuracy",
                performance_value=0.5 + 0.04 * round_idx + 0.01 * i,
                creation_date=timezone.now(),
            )
            current.append(task)
        made += current
        previous = current
    return made
