"""The audit trail: who did what on this organization, held against the ledger.

One place records: `AuditMiddleware` (substrapp/middleware.py) hands every state-changing request
(POST, PUT, PATCH, DELETE: the API, logins, the Django admin) to `record_request` once its answer
is sent (the caller does not wait on its records); operator commands call `record_command`. A
request that acts on several assets (a batch of tasks or data samples) gives one record per asset,
under one request id.

An action that writes to the ledger (a registration, a rename, a cancel) is linked to the event it
caused, by position and hash. The event reaches this organization through the event consumer,
before or after the request's record is written; both sides take the channel cursor's row lock,
so whichever comes second makes the link:

- the consumer calls `note_ledger_events` for each batch it applies: the events about this
  organization's own assets are kept (`OwnLedgerEvent`) and linked to the records waiting for them;
- `record_request` links a new record to a kept event at once.

A CREATED event belongs to the one record that registered its asset key. For an UPDATED event (a
rename, a cancel, a link), the orchestrator tells the request which positions its call wrote
(`written_from`, `written_to`): the event is the one of the record's asset between them. A
record without them (an orchestrator that does not tell) falls back to a record of the same asset
whose request was running when the orchestrator wrote the event (give or take CLOCK_SKEW) and,
for a rename, whose new name it carries.
`verify_audit` (substrapp/management/commands/verify_audit.py) holds the two against each other.
"""

import collections
import datetime
import json
import logging
import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from orchestrator_client.pb import assets_pb2 as pb
from substrapp.models import AuditRecord, ChannelCursor, OwnLedgerEvent, channel_of
from substrapp.models.audit import ActorKind, Outcome
from substrapp.models.bulk import insert_rows, row_of

logger = logging.getLogger(__name__)

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CREATED, UPDATED = "EVENT_ASSET_CREATED", "EVENT_ASSET_UPDATED"
# Asset kinds that users register and change through this organization's API.
AUDITED_KINDS = frozenset(
    {"ASSET_DATA_MANAGER", "ASSET_DATA_SAMPLE", "ASSET_FUNCTION", "ASSET_COMPUTE_PLAN", "ASSET_COMPUTE_TASK"}
)
# Clocks of the orchestrator and of this organization may differ by this much.
CLOCK_SKEW = datetime.timedelta(seconds=5)
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
PATH_MAX = 2000


@dataclass(frozen=True)
class Action:
    name: str
    asset_kind: str = ""  # the ledger event the action writes, if it writes one
    event_kind: str = ""


# (URL name, method) -> what the request does. Others are recorded as "<METHOD> <URL name>".
ACTIONS = {
    ("api-token-auth", "POST"): Action("login"),
    ("admin:login", "POST"): Action("admin login"),
    ("me-login", "POST"): Action("web login"),
    ("me-refresh", "POST"): Action("renew web session"),
    ("me-logout", "POST"): Action("web logout"),
    ("active-api-tokens", "DELETE"): Action("revoke token"),
    ("user-list", "POST"): Action("create user"),
    ("user-detail", "DELETE"): Action("delete user"),
    ("user-detail", "PUT"): Action("change user"),
    ("user-detail", "PATCH"): Action("change user"),
    ("user-reset-password", "POST"): Action("make a password reset token"),
    ("user-set-password", "POST"): Action("set password with a reset token"),
    ("api-token", "POST"): Action("create token"),
    ("api-token", "DELETE"): Action("revoke token"),
    ("admin:auth_user_add", "POST"): Action("admin: create user"),
    ("admin:auth_user_change", "POST"): Action("admin: change user"),
    ("admin:auth_user_delete", "POST"): Action("admin: delete user"),
    ("admin:auth_user_password_change", "POST"): Action("admin: set password"),
    ("data_manager-list", "POST"): Action("register dataset", "ASSET_DATA_MANAGER", CREATED),
    ("data_manager-detail", "PUT"): Action("rename dataset", "ASSET_DATA_MANAGER", UPDATED),
    ("data_manager-detail", "PATCH"): Action("rename dataset", "ASSET_DATA_MANAGER", UPDATED),
    ("data_sample-list", "POST"): Action("register data samples", "ASSET_DATA_SAMPLE", CREATED),
    ("data_sample-bulk-update", "POST"): Action("link data samples", "ASSET_DATA_SAMPLE", UPDATED),
    ("function-list", "POST"): Action("register function", "ASSET_FUNCTION", CREATED),
    ("function-detail", "PUT"): Action("rename function", "ASSET_FUNCTION", UPDATED),
    ("function-detail", "PATCH"): Action("rename function", "ASSET_FUNCTION", UPDATED),
    ("compute_plan-list", "POST"): Action("register compute plan", "ASSET_COMPUTE_PLAN", CREATED),
    ("compute_plan-detail", "PUT"): Action("rename compute plan", "ASSET_COMPUTE_PLAN", UPDATED),
    ("compute_plan-detail", "PATCH"): Action("rename compute plan", "ASSET_COMPUTE_PLAN", UPDATED),
    ("compute_plan-cancel", "POST"): Action("cancel compute plan", "ASSET_COMPUTE_PLAN", UPDATED),
    ("task-bulk-create", "POST"): Action("register tasks", "ASSET_COMPUTE_TASK", CREATED),
}
LOGINS = frozenset({"api-token-auth", "admin:login", "me-login"})


def request_id_of(request) -> str:
    """The caller's X-Request-ID when it is a plain token, so that a client can follow its own
    request; else a new one."""
    given = request.headers.get("X-Request-ID", "")
    return given if REQUEST_ID.match(given) else uuid.uuid4().hex


# Recording a request


def record_request(
    request,
    response,
    request_id: str,
    started: datetime.datetime,
    written: Iterable[tuple[str, int, int]] = (),
    finished: datetime.datetime | None = None,
) -> None:
    """Writes the records of one state-changing request, after its answer (ready at `finished`,
    now by default); `written`: the (channel, first, last) positions its orchestrator calls
    wrote. A failure here is logged, never turned into an error for a request that has already
    done its work."""
    try:
        records = _records_of(request, response, request_id, started, finished or timezone.now())
        _write(_with_positions(records, written))
    except Exception:
        logger.exception(
            "could not write the audit record of request %s (%s %s)", request_id, request.method, request.path
        )


def record_command(action: str, actor: str, channel: str = "", asset_key: str = "") -> None:
    """A change made by an operator's command (manage.py), outside any request."""
    now = timezone.now()
    record = AuditRecord(
        time=now, finished_at=now, request_id=uuid.uuid4().hex, actor_kind=ActorKind.SYSTEM, actor=actor[:150],
        channel=channel, action=action, method="", path="manage.py", asset_key=asset_key[:150], outcome=Outcome.DONE,
    )  # fmt: skip
    _write([record])


def _records_of(request, response, request_id: str, started, finished) -> list[AuditRecord]:
    match = getattr(request, "resolver_match", None)
    url_name = match.view_name if match is not None else ""
    action = ACTIONS.get((url_name, request.method)) or Action(f"{request.method} {url_name or 'unknown route'}")
    actor_kind, actor, channel = _actor_of(request, url_name)
    status = response.status_code
    common = {
        "time": started, "finished_at": finished, "request_id": request_id, "actor_kind": actor_kind,
        "actor": actor[:150], "channel": channel or "", "action": action.name[:100], "method": request.method,
        "path": request.path[:PATH_MAX], "outcome": _outcome(url_name, status), "status_code": status,
        "error_code": _error_code(response)[:100], "expected_asset_kind": action.asset_kind,
        "expected_event_kind": action.event_kind, "expected_name": _new_name(request, action)[:200],
    }  # fmt: skip
    common = {name: _storable(value) if isinstance(value, str) else value for name, value in common.items()}
    keys = _asset_keys(request, response, match) or [""]
    return [AuditRecord(asset_key=_storable(str(key)[:150]), **common) for key in keys]


def _with_positions(records: list[AuditRecord], written: Iterable[tuple[str, int, int]]) -> list[AuditRecord]:
    spans = collections.defaultdict(list)
    for channel, first, last in written:
        spans[channel] += [first, last]
    for record in records:
        if record.is_ledger_action and spans.get(record.channel):
            record.written_from, record.written_to = min(spans[record.channel]), max(spans[record.channel])
    return records


def _storable(text: str) -> str:
    """What a refused request carried may hold a NUL or a lone surrogate (a multipart field, a
    login form): recorded with U+FFFD in their place, since PostgreSQL stores neither."""
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")


def _actor_of(request, url_name: str) -> tuple[str, str, str | None]:
    user = getattr(request, "user", None)
    if url_name in LOGINS:
        return _login_actor(request)
    if user is None or not user.is_authenticated:
        return ActorKind.ANONYMOUS, "", None
    if getattr(user, "peer", None) is not None:  # substrapp.peers.PeerUser
        return ActorKind.ORGANIZATION, user.org_id, None
    return ActorKind.USER, user.get_username(), channel_of(user)


def _login_actor(request) -> tuple[str, str, str | None]:
    """A login is the act of the user it names, whether it succeeds or not (never its password)."""
    username = _storable(str(_submitted(request).get("username", ""))[:150])
    user = get_user_model().objects.filter(username=username).select_related("membership").first()
    return ActorKind.USER, username, channel_of(user) if user is not None else None


def _submitted(request) -> dict:
    """The form or JSON fields of a request whose body is small enough to have been read."""
    content_type = request.META.get("CONTENT_TYPE", "")
    try:
        if content_type.startswith("application/json"):
            data = json.loads(request.body or b"{}")
            return data if isinstance(data, dict) else {}
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            return request.POST
    except Exception:  # an unreadable body was refused by its view already
        return {}
    return {}


def _outcome(url_name: str, status: int) -> str:
    if status >= 500:
        return Outcome.FAILED
    # The Django admin shows a form again, with a 200, when it refuses what was sent.
    refused = status >= 400 or (url_name.startswith("admin:") and status == 200)
    return Outcome.REFUSED if refused else Outcome.DONE


def _error_code(response) -> str:
    data = getattr(response, "data", None)
    if isinstance(data, dict) and response.status_code >= 400:
        return str(data.get("code", ""))
    return ""


def _new_name(request, action: Action) -> str:
    if not action.name.startswith("rename"):
        return ""
    return str(_submitted(request).get("name", ""))


def _asset_keys(request, response, match) -> list[str]:
    """The assets acted on: the one the URL names, else those the request lists (links), else
    those the answer describes (registrations)."""
    kwargs = match.kwargs if match is not None else {}
    for name in ("key", "username", "object_id"):
        if kwargs.get(name):
            return [kwargs[name]]
    if match is not None and match.view_name == "data_sample-bulk-update":
        return [str(key) for key in _submitted(request).get("data_sample_keys", []) or []]
    if response.status_code >= 400:
        return []
    data = getattr(response, "data", None)
    items = data if isinstance(data, list) else [data]
    return [str(item.get("key") or item.get("username")) for item in items if _names_an_asset(item)]


def _names_an_asset(item) -> bool:
    return isinstance(item, dict) and bool(item.get("key") or item.get("username"))


def _write(records: list[AuditRecord]) -> None:
    channels = {r.channel for r in records if r.expected_event_kind and r.outcome == Outcome.DONE and r.channel}
    with transaction.atomic():
        for channel in sorted(channels):
            _lock_channel(channel)
        # The events the consumer kept already are matched before the insert: the records are
        # written linked, in one statement, instead of inserted then updated.
        for channel in sorted(channels):
            waiting = [r for r in records if r.channel == channel and r.expected_event_kind]
            kept = OwnLedgerEvent.objects.filter(channel=channel, asset_key__in={r.asset_key for r in waiting})
            # Read as rows, not models: a batch's 500 events, only compared.
            _match(waiting, list(kept.values_list(*MATCHED_FIELDS, named=True)))
        insert_rows(AuditRecord, [row_of(record) for record in records])


def _lock_channel(channel: str) -> None:
    """The consumer holds this lock while it applies events: see the module's docstring."""
    ChannelCursor.objects.select_for_update().get_or_create(channel=channel)


# Linking records and events


def note_ledger_events(channel: str, events: Sequence, snapshots: Sequence[dict]) -> None:
    """The consumer's hook, inside the transaction that applies `events` (it holds the channel
    cursor's lock): keeps the events about this organization's own assets and links the records
    that wait for them. `snapshots`: each event's `asset_json`, as the consumer decoded it."""
    kept = (_own_event(channel, event, snapshot) for event, snapshot in zip(events, snapshots, strict=True))
    own = [event for event in kept if event is not None]
    if not own:
        return
    insert_rows(OwnLedgerEvent, [row_of(event) for event in own], ignore_conflicts=True)  # a replay keeps them once
    waiting = AuditRecord.objects.filter(
        channel=channel, ledger_position=None, outcome=Outcome.DONE, asset_key__in={e.asset_key for e in own}
    ).exclude(expected_event_kind="")
    AuditRecord.objects.link_to_events(_match(list(waiting), own))


def _own_event(channel: str, event, snapshot: dict | None = None) -> OwnLedgerEvent | None:
    asset_kind, event_kind = pb.AssetKind.Name(event.asset_kind), pb.EventKind.Name(event.event_kind)
    if asset_kind not in AUDITED_KINDS or (asset_kind == "ASSET_COMPUTE_TASK" and event_kind != CREATED):
        return None  # a task's updates are its workers' transitions, nobody's request
    if snapshot is None:
        snapshot = json.loads(event.asset_json)
    if snapshot.get("owner") != settings.ORG_ID:
        return None
    return OwnLedgerEvent(
        channel=channel, position=event.position, hash=event.hash, asset_kind=asset_kind, event_kind=event_kind,
        asset_key=event.asset_key, timestamp=parse_datetime(event.timestamp), name=str(snapshot.get("name", ""))[:200],
        status=str(snapshot.get("status", ""))[:50],
    )  # fmt: skip


# What _match reads of an event.
MATCHED_FIELDS = ("channel", "position", "hash", "asset_kind", "event_kind", "asset_key", "timestamp", "name")


def _match(records: list[AuditRecord], events: list[OwnLedgerEvent]) -> list[tuple]:
    """Links each record to the event its request caused, among `events`, on the records
    themselves; returns the links made, as (record id, event position, event hash)."""
    positions = [e.position for e in events]
    holders = AuditRecord.objects.filter(channel__in={e.channel for e in events}, ledger_position__in=positions)
    taken = set(holders.values_list("channel", "ledger_position"))
    # Each record looks only at the events of its own asset and kinds, in ledger order: a batch
    # of 500 tasks links in one pass, not 500 by 500 comparisons.
    candidates = collections.defaultdict(list)
    for event in sorted(events, key=lambda e: e.position):
        candidates[(event.channel, event.asset_key, event.asset_kind, event.event_kind)].append(event)
    links = []
    for record in sorted(records, key=lambda r: r.time):
        wanted = (record.channel, record.asset_key, record.expected_asset_kind, record.expected_event_kind)
        event = next((e for e in candidates.get(wanted, ()) if _caused(record, e, taken)), None)
        if event is not None:
            links.append((record.id, event.position, event.hash))
            record.ledger_position, record.ledger_hash = event.position, event.hash
            taken.add((event.channel, event.position))
    return links


def _caused(record: AuditRecord, event: OwnLedgerEvent, taken: set) -> bool:
    """Whether `event` is the one that the request of `record` wrote."""
    if (event.channel, event.position) in taken or record.ledger_position is not None:
        return False
    if (record.channel, record.asset_key, record.expected_asset_kind, record.expected_event_kind) != (
        event.channel, event.asset_key, event.asset_kind, event.event_kind,
    ):  # fmt: skip
        return False
    if record.written_from is not None:
        return record.written_from <= event.position <= record.written_to
    if event.event_kind == CREATED:
        return True  # an asset is created once
    during = record.time - CLOCK_SKEW <= event.timestamp <= record.finished_at + CLOCK_SKEW
    return during and (not record.expected_name or record.expected_name == event.name)


# Reading and exporting


def as_json(record: AuditRecord) -> dict:
    return {
        "id": str(record.id),
        "time": record.time.isoformat(),
        "finished_at": record.finished_at.isoformat(),
        "request_id": record.request_id,
        "actor_kind": record.actor_kind,
        "actor": record.actor,
        "channel": record.channel,
        "action": record.action,
        "method": record.method,
        "path": record.path,
        "asset_key": record.asset_key,
        "outcome": record.outcome,
        "status_code": record.status_code,
        "error_code": record.error_code,
        "ledger_position": record.ledger_position,
        "ledger_hash": record.ledger_hash or None,
    }


def json_lines(records) -> Iterator[str]:
    """One JSON object a line, in time order, read in chunks: an export never holds the whole
    trail in memory."""
    for record in records.order_by("time", "id").iterator(chunk_size=1000):
        yield json.dumps(as_json(record), sort_keys=True) + "\n"


# Holding the trail against the ledger


def verify_channel(channel: str, after: int = 0, timeout: float = 60.0) -> list[str]:
    """What does not agree between this organization's audit trail and the ledger of `channel`,
    up to the event its consumer applied last; nothing when they agree. Every event is read from
    the orchestrator and checked against the hash chain from the first one; `after` spares the
    events up to that position from needing a record (a trail started on a running network)."""
    cursor = ChannelCursor.objects.filter(channel=channel).first()
    if cursor is None or cursor.position == 0:
        return []
    events, problems = _ledger_up_to(channel, cursor, timeout)
    records = list(AuditRecord.objects.filter(channel=channel))
    problems += _events_without_record(events, records, after)
    problems += _records_without_event(events, records)
    return problems


def _ledger_up_to(channel: str, cursor: ChannelCursor, timeout: float) -> tuple[dict, list[str]]:
    from orchestrator_client.chain import ChainBroken, ChainVerifier
    from substrapp.orchestration import orchestrator_for

    events = {}
    try:
        for event in orchestrator_for(channel).subscribe(0, verifier=ChainVerifier(), timeout=timeout):
            events[event.position] = event
            if event.position >= cursor.position:
                break
    except ChainBroken as error:
        return events, [f"the ledger's hash chain is broken: {error}"]
    last = events.get(cursor.position)
    if last is None:
        return events, [
            f"the ledger gave events up to {max(events, default=0)}, this organization applied {cursor.position}"
        ]
    if last.hash != cursor.hash:
        return events, [f"event {cursor.position} has hash {last.hash}, this organization kept {cursor.hash}"]
    return events, []


def _events_without_record(events: dict, records: list[AuditRecord], after: int) -> list[str]:
    linked = {record.ledger_position for record in records}
    problems = []
    for position, event in sorted(events.items()):
        kept = _own_event(event.channel, event)
        if position > after and kept is not None and kept.event_kind == CREATED and position not in linked:
            problems.append(
                f"event {position} ({kept.asset_kind} {kept.asset_key} created by {settings.ORG_ID}) "
                "has no audit record"
            )
    return problems


def _records_without_event(events: dict, records: list[AuditRecord]) -> list[str]:
    linked = {(r.asset_key, r.expected_event_kind) for r in records if r.ledger_position is not None}
    problems = []
    for record in records:
        what = f"audit record {record.id} ({record.action} {record.asset_key} by {record.actor} at {record.time:%c})"
        if record.ledger_position is not None:
            event = events.get(record.ledger_position)
            if event is None or (event.hash, event.asset_key) != (record.ledger_hash, record.asset_key):
                problems.append(f"{what} names event {record.ledger_position}, which the ledger does not hold as such")
        elif record.is_ledger_action and not (
            record.expected_event_kind == CREATED and (record.asset_key, CREATED) in linked
        ):  # registering an asset again changes nothing: only its first registration wrote
            problems.append(f"{what} has no ledger event (not applied by the consumer yet?)")
    return problems
