"""The transitions that workers call most, as one database function call each on PostgreSQL
(migration 0005): a task claimed (EXECUTING), and a task Done with its models.

Each call is one statement in autocommit: the function checks, writes, builds the events and
appends them under the channel head's lock, and the statement commits, so locks are held for the
time of the statement only and no Python runs while they are held. It covers the common case only
and answers None, having written nothing, for anything else (a refusal, a retried output, a
performance, an output of another task, a malformed request): the general path in
`computetasks` then runs, with the same checks and errors as ever. The result is the same either
way: the same rows, the same events in the same order, the same snapshots byte for byte."""

import json

from django.db import connection, transaction

from orchestrator.errors import OrchestratorError
from orchestrator.ledger.common import CANONICAL_UUID, Caller, check_addressable, now
from orchestrator.notifier import notifier


def available() -> bool:
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def start_task(caller: Caller, key: str) -> dict | None:
    return _call("SELECT orchestrator_start_task(%s, %s, %s, %s)", [caller.channel, caller.org, key, now()], caller)


def finish_task(caller: Caller, key: str, models) -> dict | None:
    entries = _model_entries(key, models)
    if entries is None:
        return None
    return _call(
        "SELECT orchestrator_finish_task(%s, %s, %s, %s, %s)",
        [caller.channel, caller.org, key, now(), json.dumps(entries)],
        caller,
    )


def _model_entries(key: str, models) -> list[list[str]] | None:
    """The models as the function takes them, or None when one is not in the common form (the
    general path then tells what is wrong with it)."""
    entries, seen = [], set()
    for new in models:
        model_key = new.key.lower()
        if new.compute_task_key != key or not CANONICAL_UUID.fullmatch(model_key) or model_key in seen:
            return None
        seen.add(model_key)
        try:
            checksum, address = check_addressable(new.address, "model address")
        except OrchestratorError:
            return None
        entries.append([model_key, new.compute_task_output_identifier, checksum, address])
    return entries


def _call(sql: str, params: list, caller: Caller) -> dict | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        (snapshot,) = cursor.fetchone()
    if snapshot is None:
        return None
    channel = caller.channel
    transaction.on_commit(lambda: notifier.wake(channel))  # at once: the statement has committed
    return json.loads(snapshot)
