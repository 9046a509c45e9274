"""`saving_behind` (substrapp/mirror.py): a registration's rows are written on another connection
behind its answer. The writer holds the channel's REGISTERING lock while the orchestrator writes,
and its ANSWERED lock from before the answer until its rows are committed: a user's read waits
for them, and the consumer finds them saved instead of writing them too (models/scoping.py)."""

import concurrent.futures
import logging
import threading
import time
import uuid

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from substrapp.mirror import save_snapshots, saving_behind
from substrapp.models import ComputePlan, Organization
from substrapp.models.scoping import wait_for_registrations
from tests.backend.conftest import make_user

pytestmark = pytest.mark.django_db(transaction=True)

CHANNEL = "mychannel"


def organizations(count: int, prefix: str = "Org") -> list[dict]:
    return [
        {
            "id": f"{prefix}{index}MSP",
            "address": f"http://{prefix.lower()}{index}",
            "creation_date": "2026-12-06T07:00:00Z",
        }
        for index in range(count)
    ]


def saved() -> set[str]:
    return set(Organization.objects.filter(channel=CHANNEL).values_list("org_id", flat=True))


def read_as(user) -> set[str]:
    """A user's read, on a connection of its own (a thread's)."""
    try:
        return set(Organization.objects.for_user(user).values_list("org_id", flat=True))
    finally:
        connection.close()


def test_the_rows_are_written_on_another_connection_and_a_users_read_sees_them_once_the_block_ends():
    user = make_user("reader")
    with CaptureQueriesContext(connection) as callers:
        with saving_behind(CHANNEL, "ASSET_ORGANIZATION") as save:
            save(organizations(300))  # a registration hands its answers, then builds its answer
    assert read_as(user) == {f"Org{index}MSP" for index in range(300)}
    assert not [query for query in callers.captured_queries if "INSERT" in query["sql"]]


def holding_a_row(org_id: str, holding: threading.Event, release: threading.Event) -> None:
    """Another writer's open transaction with an organization's row: an insert of the same row
    waits for it to end."""
    try:
        with transaction.atomic():
            Organization.objects.create(channel=CHANNEL, org_id=org_id, creation_date="2026-12-06T07:00:00Z")
            holding.set()
            release.wait(10)
            transaction.set_rollback(True)
    finally:
        connection.close()


def test_the_block_ends_before_the_rows_are_in_and_a_users_read_waits_for_them():
    user = make_user("reader")
    holding, release = threading.Event(), threading.Event()
    with concurrent.futures.ThreadPoolExecutor(2) as threads:
        blocker = threads.submit(holding_a_row, "Org0MSP", holding, release)
        assert holding.wait(10)
        with saving_behind(CHANNEL, "ASSET_ORGANIZATION") as save:
            save(organizations(3))
        assert saved() == set()  # the block has ended; its insert waits behind the other writer

        reader = threads.submit(read_as, user)
        time.sleep(0.5)
        assert not reader.done()  # the user's read waits for the write its answer promised
        release.set()
        assert reader.result(10) == {"Org0MSP", "Org1MSP", "Org2MSP"}
        blocker.result(10)


def waiting_for_registrations() -> bool:
    try:
        return wait_for_registrations(CHANNEL, timeout=10)
    finally:
        connection.close()


def test_the_consumer_waits_from_before_the_orchestrator_writes_until_the_rows_are_committed():
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        with saving_behind(CHANNEL, "ASSET_ORGANIZATION") as save:
            consumer = thread.submit(waiting_for_registrations)
            time.sleep(0.3)  # the orchestrator call: its events reach the consumer meanwhile
            assert not consumer.done()
            save(organizations(2))
        assert consumer.result(10) is True
        assert saved() == {"Org0MSP", "Org1MSP"}  # there when the consumer goes on


def test_the_consumers_wait_has_a_limit():
    with saving_behind(CHANNEL, "ASSET_ORGANIZATION") as save:
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(1) as thread:
            assert thread.submit(lambda: wait_for_registrations(CHANNEL, timeout=0.3)).result(10) is False
        assert 0.3 <= time.monotonic() - started < 5
        save(organizations(1))


def test_a_failing_block_lets_the_writer_go_with_nothing_written():
    user = make_user("reader")
    with pytest.raises(RuntimeError, match="the orchestrator refused"):
        with saving_behind(CHANNEL, "ASSET_ORGANIZATION"):
            raise RuntimeError("the orchestrator refused")
    assert saved() == set()
    with concurrent.futures.ThreadPoolExecutor(1) as thread:  # no lock left behind
        assert thread.submit(read_as, user).result(5) == set()
        assert thread.submit(waiting_for_registrations).result(5) is True


def test_a_failed_save_behind_the_answer_is_logged_and_does_not_fail_the_block(caplog):
    broken = organizations(2)
    broken[1]["creation_date"] = "not a date at all"  # no date: the column refuses NULL
    with caplog.at_level(logging.ERROR, logger="substrapp.mirror"):
        with saving_behind(CHANNEL, "ASSET_ORGANIZATION") as save:
            save(broken)
        deadline = time.monotonic() + 10
        while "were not saved behind their answer" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
    assert "ASSET_ORGANIZATION rows were not saved behind their answer" in caplog.text
    assert saved() == set()  # one statement: nothing of the batch


def test_inside_a_transaction_the_rows_are_saved_at_once_on_the_callers_connection():
    with transaction.atomic(), CaptureQueriesContext(connection) as callers:
        with saving_behind(CHANNEL, "ASSET_ORGANIZATION") as save:
            save(organizations(3, "Tx"))
            # Another connection could not see this transaction's rows: they are written here.
            assert saved() == {"Tx0MSP", "Tx1MSP", "Tx2MSP"}
        assert [query for query in callers.captured_queries if "INSERT" in query["sql"]]
        transaction.set_rollback(True)
    assert saved() == set()


def save_behind(snapshots: list[dict]) -> None:
    try:
        with saving_behind(CHANNEL, "ASSET_ORGANIZATION") as save:
            save(snapshots)
    finally:
        connection.close()


def test_a_read_inside_a_transaction_does_not_keep_writers_waiting_until_it_ends():
    user = make_user("reader")
    with transaction.atomic():
        assert set(Organization.objects.for_user(user).values_list("org_id", flat=True)) == set()
        # The read let the lock go at once: a write behind an answer takes it meanwhile.
        with concurrent.futures.ThreadPoolExecutor(1) as thread:
            thread.submit(save_behind, organizations(2)).result(10)


def plans(keys: list[str], name: str) -> list[dict]:
    dates = {"creation_date": "2026-12-06T07:00:00Z", "start_date": "", "end_date": "", "cancelation_date": "",
             "failure_date": ""}  # fmt: skip
    return [
        {"key": key, "name": name, "owner": "MyOrg1MSP", "tag": "", "metadata": {}, "status": "PLAN_STATUS_CREATED",
         "failed_task_key": "", **dates}
        for key in keys
    ]  # fmt: skip


def test_created_snapshots_already_in_the_mirror_are_not_inserted_again():
    keys = [str(uuid.uuid4()) for _ in range(4)]
    save_snapshots(CHANNEL, "ASSET_COMPUTE_PLAN", plans(keys[:2], "first"), created=True)

    with CaptureQueriesContext(connection) as again:
        save_snapshots(CHANNEL, "ASSET_COMPUTE_PLAN", plans(keys[:2], "second"), created=True)
    assert not [query for query in again.captured_queries if "INSERT" in query["sql"]]

    save_snapshots(CHANNEL, "ASSET_COMPUTE_PLAN", plans(keys, "third"), created=True)
    names = dict(ComputePlan.objects.values_list("key", "name"))
    assert names == {keys[0]: "first", keys[1]: "first", keys[2]: "third", keys[3]: "third"}
