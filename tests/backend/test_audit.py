"""The audit trail: every state-changing request is recorded with its actor, the records are read
(never changed) by the channel's admins through the API and the Django admin, and, against a real
orchestrator, each ledger action holds its event's position and hash so that `verify_audit` holds
the trail against the hash chain."""

import datetime
import json

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.management import CommandError, call_command
from django.core.signals import request_finished
from django.db import close_old_connections, connection
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from orchestrator_client.pb import assets_pb2 as pb
from substrapp import audit
from substrapp.consumer import consume
from substrapp.middleware import AuditMiddleware
from substrapp.models import AuditRecord
from substrapp.models.audit import AuditRecordIsReadOnly
from tests.backend.conftest import PASSWORD, client_of, make_user
from tests.backend.network import orchestrator_of_its_own
from tests.backend.registering import Backend
from tests.backend.test_datasets_api import add_dataset
from tests.orchestrator.conftest import new_key

CHANNEL = "mychannel"


def records(**filters) -> list[AuditRecord]:
    return list(AuditRecord.objects.filter(**filters).order_by("time"))


def login(client, username, password):
    return client.post("/api-token-auth/", {"username": username, "password": password})


# Logins, tokens and users


@pytest.mark.django_db
def test_a_login_and_a_failed_login_are_recorded_as_the_user_they_name(client, user):
    assert login(client, "bob", PASSWORD).status_code == 200
    assert login(client, "bob", "wrong password").status_code == 400

    done, refused = records(action="login")
    assert (done.actor_kind, done.actor, done.channel, done.outcome) == ("USER", "bob", CHANNEL, "DONE")
    assert (refused.actor, refused.outcome, refused.error_code) == ("bob", "REFUSED", "invalid_credentials")
    assert "wrong password" not in json.dumps([audit.as_json(r) for r in records()])


@pytest.mark.django_db
def test_a_refused_login_carrying_a_nul_in_a_multipart_form_is_recorded_with_it_replaced(client, user):
    # The test client posts multipart forms, which the input middleware leaves to the views.
    assert login(client, "bo\x00b", "x").status_code == 400

    (refused,) = records(action="login")
    assert (refused.actor, refused.outcome) == ("bo\ufffdb", "REFUSED")


@pytest.mark.django_db
def test_a_revoked_token_is_recorded_with_its_owner(client, user):
    token = login(client, "bob", PASSWORD).json()
    bearer = f"Token {token['token']}"

    assert client.delete(f"/active-api-tokens/?id={token['id']}", HTTP_AUTHORIZATION=bearer).status_code == 200

    (revoked,) = records(action="revoke token")
    assert (revoked.actor, revoked.channel, revoked.outcome) == ("bob", CHANNEL, "DONE")


@pytest.mark.django_db
def test_an_admin_creating_and_deleting_a_user_is_recorded_with_the_user_as_asset(admin):
    api = client_of(admin)

    created = api.post("/users/", {"username": "dave", "password": "a long passphrase 77", "role": "USER"})
    deleted = api.delete("/users/dave/")

    assert (created.status_code, deleted.status_code) == (201, 200), created.json()
    assert [(r.action, r.actor, r.asset_key, r.outcome) for r in records(actor="alice")] == [
        ("create user", "alice", "dave", "DONE"),
        ("delete user", "alice", "dave", "DONE"),
    ]


@pytest.mark.django_db
def test_a_user_refused_user_management_is_recorded_as_refused(user):
    answer = client_of(user).post("/users/", {"username": "eve", "password": "a long passphrase 77"})

    (refused,) = records(actor="bob", action="create user")
    assert (answer.status_code, refused.outcome, refused.status_code, refused.asset_key) == (403, "REFUSED", 403, "")


@pytest.mark.django_db
def test_every_answer_carries_its_request_id_and_a_clean_given_one_is_kept(client, user):
    answer = client.post("/api-token-auth/", {"username": "bob", "password": PASSWORD}, HTTP_X_REQUEST_ID="trace-42")
    hostile = client.post("/api-token-auth/", {"username": "bob", "password": PASSWORD}, HTTP_X_REQUEST_ID="a b\x00")

    assert answer["X-Request-ID"] == "trace-42"
    assert hostile["X-Request-ID"] != "a b\x00" and len(hostile["X-Request-ID"]) == 32
    assert {r.request_id for r in records(action="login")} == {"trace-42", hostile["X-Request-ID"]}


@pytest.mark.django_db
def test_a_request_is_recorded_once_its_answer_is_sent_not_before():
    request = RequestFactory().post("/somewhere/", HTTP_X_REQUEST_ID="sent-first")
    request.user = AnonymousUser()

    response = AuditMiddleware(lambda request: HttpResponse(status=201))(request)

    assert response["X-Request-ID"] == "sent-first"
    assert not records(request_id="sent-first")
    request_finished.disconnect(close_old_connections)  # as the test client does: keep the test's connection
    try:
        response.close()  # what the server does after the last byte of the answer
    finally:
        request_finished.connect(close_old_connections)
    assert [(r.method, r.path, r.status_code, r.outcome) for r in records(request_id="sent-first")] == [
        ("POST", "/somewhere/", 201, "DONE")
    ]


@pytest.mark.django_db
def test_an_operator_command_is_recorded(db):
    call_command("create_admin", username="frank", password="a long passphrase 77", channel=CHANNEL)

    (made,) = records(action="create admin")
    assert (made.actor_kind, made.actor, made.asset_key) == ("SYSTEM", "manage.py create_admin", "frank")


# Reading, never changing


@pytest.mark.django_db
def test_admins_read_their_channels_trail_and_others_do_not(client, admin, user, other_admin):
    login(client, "bob", PASSWORD)
    login(client, "charlie", PASSWORD)

    mine = client_of(admin).get("/audit/", {"action": "login"}).json()
    theirs = client_of(other_admin).get("/audit/", {"action": "login"}).json()
    plain = client_of(user).get("/audit/")

    assert [r["actor"] for r in mine["results"]] == ["bob"]
    assert [r["actor"] for r in theirs["results"]] == ["charlie"]
    assert (plain.status_code, plain.json()["code"]) == (403, "permission_denied")


@pytest.mark.django_db
def test_the_trails_time_filters_take_any_offset_python_reads_or_refuse_it(client, admin, user):
    login(client, "bob", PASSWORD)
    api = client_of(admin)

    # -22:13 is beyond what PostgreSQL accepts (±15:59): compared in UTC, it is no 500.
    later = api.get("/audit/", {"action": "login", "time_after": "2999-01-09T23:00:00-22:13"})
    earlier = api.get("/audit/", {"action": "login", "time_after": "2000-01-09T11:00:00-22:13"})
    nowhere = api.get("/audit/", {"time_before": "0001-01-01T00:00:00+23:00"})

    assert (later.status_code, later.json()["results"]) == (200, [])
    assert [r["actor"] for r in earlier.json()["results"]] == ["bob"]
    assert (nowhere.status_code, nowhere.json()["code"]) == (400, "invalid")


@pytest.mark.django_db
def test_the_trail_is_exported_as_json_lines(client, admin, user):
    login(client, "bob", PASSWORD)
    login(client, "bob", "wrong")

    answer = client_of(admin).get("/audit/export/", {"actor": "bob"})
    lines = [json.loads(line) for line in b"".join(answer.streaming_content).decode().splitlines()]

    assert answer["Content-Type"] == "application/x-ndjson"
    assert [(line["action"], line["outcome"]) for line in lines] == [("login", "DONE"), ("login", "REFUSED")]


@pytest.mark.django_db
def test_the_export_command_writes_json_lines(client, user, capsys):
    login(client, "bob", PASSWORD)

    call_command("export_audit", channel=CHANNEL)

    (line,) = capsys.readouterr().out.splitlines()
    assert (json.loads(line)["actor"], json.loads(line)["action"]) == ("bob", "login")


@pytest.mark.django_db
def test_a_record_cannot_be_changed_or_deleted_through_the_api(client, admin, user):
    login(client, "bob", PASSWORD)
    (record,) = records(actor="bob")
    api = client_of(admin)

    answers = [
        api.put(f"/audit/{record.id}/", {"actor": "mallory"}, format="json"),
        api.patch(f"/audit/{record.id}/", {"actor": "mallory"}, format="json"),
        api.delete(f"/audit/{record.id}/"),
        api.post("/audit/", {"actor": "mallory", "action": "login"}, format="json"),
    ]

    assert [(a.status_code, a.json()["code"]) for a in answers] == [(405, "method_not_allowed")] * 4
    assert AuditRecord.objects.get(id=record.id).actor == "bob"
    assert AuditRecord.objects.filter(actor="mallory").count() == 0


@pytest.mark.django_db
def test_a_record_cannot_be_changed_or_deleted_through_the_admin_even_by_a_superuser(client, user):
    login(client, "bob", PASSWORD)
    (record,) = records(actor="bob")
    root = make_user("root", channel=None, is_superuser=True, is_staff=True)
    client.force_login(root)
    base = f"/admin/substrapp/auditrecord/{record.id}"

    listed = client.get("/admin/substrapp/auditrecord/")
    shown = client.get(f"{base}/change/")
    changed = client.post(f"{base}/change/", {"actor": "mallory"})
    deleted = client.post(f"{base}/delete/", {"post": "yes"})
    bulk = client.post(
        "/admin/substrapp/auditrecord/", {"action": "delete_selected", "_selected_action": [record.id], "post": "yes"}
    )

    assert (listed.status_code, shown.status_code) == (200, 200)
    assert "bob" in listed.content.decode() and "delete_selected" not in listed.content.decode()
    assert (changed.status_code, deleted.status_code) == (403, 403)
    assert bulk.status_code in (200, 302)
    assert AuditRecord.objects.get(id=record.id).actor == "bob"
    assert client.get("/admin/substrapp/auditrecord/add/").status_code == 403


@pytest.mark.django_db
def test_the_application_refuses_to_change_or_delete_a_record(client, user):
    login(client, "bob", PASSWORD)
    (record,) = records(actor="bob")
    record.actor = "mallory"

    attempts = [
        record.save,
        record.delete,
        AuditRecord.objects.all().delete,
        lambda: AuditRecord.objects.filter(id=record.id).update(actor="mallory"),
    ]

    for attempt in attempts:
        with pytest.raises(AuditRecordIsReadOnly):
            attempt()
    assert AuditRecord.objects.get(id=record.id).actor == "bob"


@pytest.mark.django_db
def test_a_batch_of_records_is_linked_in_one_statement_and_a_linked_record_never_again(user, django_assert_num_queries):
    now = timezone.now()
    batch = [
        AuditRecord(time=now, finished_at=now, request_id="batch", actor_kind="USER", actor="bob", channel=CHANNEL,
                    action="register tasks", method="POST", path="/task/bulk_create/", asset_key=new_key(),
                    outcome="DONE", expected_asset_kind="ASSET_COMPUTE_TASK", expected_event_kind=audit.CREATED)
        for _ in range(501)
    ]  # fmt: skip
    AuditRecord.objects.bulk_create(batch)
    links = [(record.id, 10 + index, f"{index:064x}") for index, record in enumerate(batch[:500])]

    with django_assert_num_queries(1):
        assert AuditRecord.objects.link_to_events(links) == 500
    assert AuditRecord.objects.link_to_events([(batch[0].id, 9999, "f" * 64)]) == 0

    linked = {r.id: (r.ledger_position, r.ledger_hash) for r in AuditRecord.objects.filter(request_id="batch")}
    assert [linked[record.id] for record in batch] == [(p, h) for _, p, h in links] + [(None, "")]


# Against the ledger


@pytest.fixture
def network(tmp_path_factory, authority):
    """An orchestrator of the test's own: its ledger holds only what the test does."""
    with orchestrator_of_its_own(tmp_path_factory.mktemp("audit"), authority) as (clients, _):
        yield clients


@pytest.fixture
def backend(network, settings, authority, tmp_path):
    made = Backend(network, settings, authority, tmp_path)
    yield made
    made.close()


def drain():
    consume(CHANNEL, stop_when_idle=True, idle_seconds=1.0)


def register_rename_and_cancel_a_plan(api) -> str:
    key = new_key()
    assert api.post("/compute_plan/", {"key": key, "name": "plan"}, format="json").status_code == 201
    assert api.put(f"/compute_plan/{key}/", {"name": "renamed plan"}, format="json").status_code == 200
    assert api.post(f"/compute_plan/{key}/cancel/").status_code == 200
    return key


@pytest.mark.django_db(transaction=True)
def test_registrations_renames_and_cancels_hold_their_ledger_events_and_verify_audit_agrees(backend, capsys):
    api = client_of(make_user("bob"))
    dataset = add_dataset(api)
    plan = register_rename_and_cancel_a_plan(api)

    drain()

    trail = [(r.actor, r.action, r.asset_key, r.outcome) for r in records(actor="bob")]
    assert trail == [
        ("bob", "register dataset", dataset["key"], "DONE"),
        ("bob", "register compute plan", plan, "DONE"),
        ("bob", "rename compute plan", plan, "DONE"),
        ("bob", "cancel compute plan", plan, "DONE"),
    ]
    events = {e.position: e for e in backend.network.orchestrator.client("MyOrg1MSP", CHANNEL).subscribe(timeout=2)}
    for record in records(actor="bob"):
        event = events[record.ledger_position]
        assert (event.asset_key, event.hash) == (record.asset_key, record.ledger_hash)
    assert len({r.ledger_position for r in records(actor="bob")}) == 4
    call_command("verify_audit", channel=[CHANNEL])
    assert "mychannel: agrees with the ledger" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_a_record_written_after_the_consumer_applied_its_event_is_linked_too(backend, monkeypatch):
    recorded = audit.record_request

    def consumer_first(*args):
        drain()  # the event is applied before the request's record is written
        recorded(*args)

    monkeypatch.setattr(audit, "record_request", consumer_first)
    api = client_of(make_user("bob"))
    plan = register_rename_and_cancel_a_plan(api)

    linked = records(actor="bob", asset_key=plan)
    assert [r.ledger_position is not None for r in linked] == [True, True, True]
    call_command("verify_audit", channel=[CHANNEL])


@pytest.mark.django_db(transaction=True)
def test_a_rename_and_a_cancel_hold_the_events_their_own_calls_wrote_whatever_this_hosts_clock_says(
    backend, monkeypatch
):
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + datetime.timedelta(hours=1))  # no clock compared
    api = client_of(make_user("bob"))
    plan = register_rename_and_cancel_a_plan(api)

    drain()

    events = {e.position: e for e in backend.network.orchestrator.client("MyOrg1MSP", CHANNEL).subscribe(timeout=2)}
    registered, renamed, canceled = records(actor="bob", asset_key=plan)
    for record in (renamed, canceled):
        assert record.written_from <= record.ledger_position <= record.written_to, record.action
        assert events[record.ledger_position].hash == record.ledger_hash
    assert json.loads(events[renamed.ledger_position].asset_json)["name"] == "renamed plan"
    assert events[canceled.ledger_position].event_kind == pb.EVENT_ASSET_UPDATED
    assert registered.ledger_position < renamed.ledger_position < canceled.ledger_position
    call_command("verify_audit", channel=[CHANNEL])


@pytest.mark.django_db(transaction=True)
def test_verify_audit_reports_a_removed_record_and_a_forged_link(backend, capsys):
    api = client_of(make_user("bob"))
    plan = register_rename_and_cancel_a_plan(api)
    drain()
    registered, renamed = records(action="register compute plan")[0], records(action="rename compute plan")[0]
    call_command("verify_audit")

    with connection.cursor() as cursor:  # tampering below the application
        cursor.execute("DELETE FROM substrapp_auditrecord WHERE id = %s", [registered.id.hex])
    with pytest.raises(CommandError, match="disagree in 1 places"):
        call_command("verify_audit")
    removed = capsys.readouterr().err
    with connection.cursor() as cursor:
        cursor.execute("UPDATE substrapp_auditrecord SET ledger_hash = %s WHERE id = %s", ["0" * 64, renamed.id.hex])
    with pytest.raises(CommandError, match="disagree in 2 places"):
        call_command("verify_audit")
    forged = capsys.readouterr().err

    assert (
        f"event {registered.ledger_position} (ASSET_COMPUTE_PLAN {plan} created by MyOrg1MSP) has no audit record"
        in removed
    )
    assert f"audit record {renamed.id} (rename compute plan {plan} by bob" in forged
