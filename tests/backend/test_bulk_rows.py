"""insert_rows (substrapp/models/bulk.py): many rows in one statement, one JSON document on
PostgreSQL, with the conflict rules of bulk_create."""

import datetime

import pytest
from django.db import IntegrityError, connection, transaction

from substrapp.models import DataSample, Organization
from substrapp.models.bulk import insert_rows

CREATED = datetime.datetime(2026, 12, 6, 3, 0, 0, 123456, tzinfo=datetime.UTC)


def org(org_id: str, address: str) -> dict:
    return {"channel": "mychannel", "org_id": org_id, "address": address, "creation_date": CREATED}


def sample(key: str, checksum: str) -> dict:
    return {"key": key, "channel": "mychannel", "owner": "MyOrg1MSP", "checksum": checksum, "creation_date": CREATED}


@pytest.mark.django_db
def test_rows_are_inserted_in_one_statement_with_their_values_and_the_defaults_of_columns_left_out(
    django_assert_num_queries,
):
    rows = [sample(f"{index:08d}-0000-4000-8000-000000000000", f"sum{index}") for index in range(500)]

    with django_assert_num_queries(1):
        insert_rows(DataSample, rows)

    stored = {s.key: s for s in DataSample.objects.all()}
    assert [(stored[r["key"]].checksum, stored[r["key"]].creation_date) for r in rows] == [
        (r["checksum"], CREATED) for r in rows
    ]
    assert {(s.server_path, s.file.name) for s in stored.values()} == {(None, None)}


@pytest.mark.django_db
def test_a_conflict_is_skipped_overwritten_or_refused_as_asked():
    insert_rows(Organization, [org("MyOrg1MSP", "http://one"), org("MyOrg2MSP", "http://two")])

    insert_rows(
        Organization, [org("MyOrg1MSP", "http://skipped"), org("MyOrg3MSP", "http://three")], ignore_conflicts=True
    )
    insert_rows(
        Organization,
        [org("MyOrg2MSP", "http://moved")],
        unique_fields=("channel", "org_id"),
        update_fields=["address", "creation_date"],
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows(Organization, [org("MyOrg3MSP", "http://again")])

    addresses = dict(Organization.objects.values_list("org_id", "address"))
    assert addresses == {"MyOrg1MSP": "http://one", "MyOrg2MSP": "http://moved", "MyOrg3MSP": "http://three"}


@pytest.mark.django_db
def test_an_update_leaves_the_columns_it_does_not_name_as_they_are():
    key = "00000001-0000-4000-8000-000000000000"
    insert_rows(DataSample, [sample(key, "first")])
    DataSample.objects.filter(key=key).update(server_path="/data/sample")

    insert_rows(DataSample, [sample(key, "second")], unique_fields=("key",), update_fields=["checksum"])

    assert DataSample.objects.values_list("checksum", "server_path").get(key=key) == ("second", "/data/sample")


@pytest.mark.django_db
def test_a_value_too_long_for_its_column_is_refused_as_by_any_insert():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite does not bound text lengths")
    with pytest.raises(Exception, match="too long"):
        insert_rows(Organization, [org("x" * 101, "http://long")])


@pytest.mark.django_db
def test_a_date_the_rows_leave_out_that_saving_sets_is_now():
    from django.utils import timezone

    from substrapp.models import ChannelCursor

    before = timezone.now()
    insert_rows(ChannelCursor, [{"channel": "bulkchannel", "position": 3}])

    cursor = ChannelCursor.objects.get(channel="bulkchannel")
    assert cursor.position == 3 and before <= cursor.updated_at <= timezone.now()
