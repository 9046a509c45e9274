"""What no peer shows: the ledger's integrity as this organization sees it, and its own workers.

The consumer verifies every event against the hash chain as it applies it and keeps the last
link in ChannelCursor. The check on demand re-walks the channel's events from the first one,
as the orchestrator serves them now, and compares them with the chain: an event rewritten in
the orchestrator's database after this organization applied it breaks the chain at that event."""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from orchestrator_client.chain import ChainBroken, ChainVerifier
from substrapp.models import ChannelCursor, ComputeTask, Organization, TaskExecution, TaskStatus, WorkerNode
from substrapp.orchestration import orchestrator_for

# A re-walk reads the whole channel; this bounds how long a page waits for it.
RECHECK_SECONDS = 60.0


@dataclass
class ChainCheck:
    channel: str
    intact: bool
    checked_up_to: int  # the last position whose link was verified
    kept_position: int  # where this organization's consumer is
    message: str


def kept_chain(channel: str) -> ChannelCursor:
    """The last event this organization verified and applied, or the genesis if none yet."""
    return ChannelCursor.objects.filter(channel=channel).first() or ChannelCursor(channel=channel)


def recheck_chain(channel: str) -> ChainCheck:
    """Re-walks the channel's events from the first up to the position this organization kept,
    verifying every link, and compares the last hash with the one kept."""
    cursor = kept_chain(channel)
    verifier = ChainVerifier()
    if cursor.position == 0:
        # Nothing applied yet: nothing to compare, and the stream would wait for a first event.
        return ChainCheck(channel, True, 0, 0, "This organization has applied no event of this channel yet.")
    try:
        for event in orchestrator_for(channel).subscribe(0, verifier=verifier, timeout=RECHECK_SECONDS):
            if event.position >= cursor.position:
                break
    except ChainBroken as error:
        reason = str(error)
        return ChainCheck(channel, False, verifier.position, cursor.position, f"{reason[:1].upper()}{reason[1:]}.")
    return _compare_with_kept(channel, verifier, cursor)


def _compare_with_kept(channel: str, verifier: ChainVerifier, cursor: ChannelCursor) -> ChainCheck:
    if verifier.position < cursor.position:
        message = (
            f"The orchestrator served events up to {verifier.position} only, "
            f"but this organization applied up to {cursor.position}: events are missing."
        )
        return ChainCheck(channel, False, verifier.position, cursor.position, message)
    if verifier.last_hash != cursor.hash:
        message = f"Event {cursor.position} has hash {verifier.last_hash} now, but {cursor.hash} when it was applied."
        return ChainCheck(channel, False, verifier.position, cursor.position, message)
    message = f"Every event from 1 to {cursor.position} follows the chain; the last hash matches the one kept."
    return ChainCheck(channel, True, verifier.position, cursor.position, message)


def channel_organizations(channel: str) -> list[Organization]:
    return list(Organization.objects.for_channel(channel).order_by("org_id"))


def worker_rows() -> list[dict]:
    """This organization's Celery workers, their last heartbeat, and the tasks they hold."""
    stale_after = datetime.timedelta(seconds=settings.COMPUTE_LEASE_SECONDS)
    now = timezone.now()
    running = _leases_by_host(
        TaskExecution.objects.exclude(holder="").values_list("holder", "task_id", "compute_plan_key", "channel")
    )
    return [
        {
            "name": node.name,
            "queue": node.queue,
            "heartbeat": node.heartbeat,
            "alive": now - node.heartbeat <= stale_after,
            "tasks": running.get(_host_of(node.name), []),
        }
        for node in WorkerNode.objects.order_by("name")
    ]


def _host_of(node_name: str) -> str:
    """Celery names a node org@host; a lease names its holder host:pid."""
    return node_name.split("@", 1)[-1]


def _leases_by_host(rows) -> dict[str, list[dict]]:
    """Leases by worker host."""
    held = {}
    for holder, task, plan, channel in rows:
        host = holder.rsplit(":", 1)[0]
        held.setdefault(host, []).append({"task": task, "plan": plan, "channel": channel})
    return held


def queue_summary(channel: str) -> dict:
    """The tasks of the channel that this organization runs: waiting for a worker, and running."""
    mine = ComputeTask.objects.for_channel(channel).filter(worker=settings.ORG_ID)
    waiting = mine.filter(status=TaskStatus.WAITING_FOR_EXECUTOR_SLOT).order_by("creation_date", "key")
    return {
        "waiting_count": waiting.count(),
        "waiting": list(waiting.values("key", "compute_plan_id", "rank")[:50]),
        "executing": list(
            mine.filter(status=TaskStatus.EXECUTING)
            .order_by("start_date")
            .values("key", "compute_plan_id", "rank")[:50]
        ),
    }
