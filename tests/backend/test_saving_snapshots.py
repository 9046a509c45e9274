"""`saving_snapshots` (substrapp/mirror.py): a registration's rows are written on another
connection while its answer is built, and the block ends only once they are in the mirror."""

import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from substrapp.mirror import save_snapshots, saving_snapshots
from substrapp.models import ComputePlan, Organization

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


def test_the_rows_are_written_on_another_connection_and_are_there_when_the_block_ends():
    with CaptureQueriesContext(connection) as callers:
        with saving_snapshots(CHANNEL, "ASSET_ORGANIZATION", organizations(300)):
            pass  # a registration builds its answer here
    assert saved() == {f"Org{index}MSP" for index in range(300)}
    assert not [query for query in callers.captured_queries if "INSERT" in query["sql"]]


def test_a_failed_save_fails_the_block_once_it_has_run():
    broken = organizations(2)
    broken[1]["creation_date"] = "not a date at all"  # no date: the column refuses NULL
    ran = []
    with pytest.raises(IntegrityError), saving_snapshots(CHANNEL, "ASSET_ORGANIZATION", broken):
        ran.append(True)
    assert ran == [True]
    assert saved() == set()  # one statement: nothing of the batch


def test_a_failing_block_waits_for_the_save_before_its_error_goes_on():
    with pytest.raises(RuntimeError, match="answer failed"):
        with saving_snapshots(CHANNEL, "ASSET_ORGANIZATION", organizations(200)):
            raise RuntimeError("answer failed")
    # Nothing is left writing behind the error: the rows are all there already.
    assert len(saved()) == 200


def test_inside_a_transaction_the_rows_are_saved_first_on_the_callers_connection():
    with transaction.atomic(), CaptureQueriesContext(connection) as callers:
        with saving_snapshots(CHANNEL, "ASSET_ORGANIZATION", organizations(3, "Tx")):
            # Another connection could not see this transaction's rows: they are written here,
            # before the block, and the block sees them.
            assert saved() == {"Tx0MSP", "Tx1MSP", "Tx2MSP"}
        assert [query for query in callers.captured_queries if "INSERT" in query["sql"]]
        transaction.set_rollback(True)
    assert saved() == set()


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
