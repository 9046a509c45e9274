"""The calls that change an asset by request (rename, cancel, link) tell their caller the positions
of the events they wrote, in the `ledger-positions` trailing metadata: a backend's audit trail
links its records by them (substrapp/audit.py)."""

import json

import pytest

from orchestrator_client.client import ledger_writes, parse_positions
from orchestrator_client.pb import assets_pb2 as pb
from tests.conftest import ORG1
from tests.orchestrator.conftest import new_key


def test_a_rename_and_a_cancel_name_exactly_the_events_they_wrote_and_a_read_names_none(clients):
    client = clients(ORG1)
    plan = client.register_compute_plan(key=new_key(), name="plan").key

    with ledger_writes() as written:
        client.get_compute_plan(plan)
        client.rename_compute_plan(plan, "renamed plan")
        client.cancel_compute_plan(plan)

    (channel, renamed, renamed_last), (_, canceled, canceled_last) = written
    assert (channel, renamed, canceled) == ("mychannel", renamed_last, canceled_last)  # one event each
    events = {e.position: e for e in client.subscribe(after_position=renamed - 1, timeout=1)}
    assert [(e.asset_key, e.event_kind) for e in (events[renamed], events[canceled])] == [
        (plan, pb.EVENT_ASSET_UPDATED),
        (plan, pb.EVENT_ASSET_UPDATED),
    ]
    assert json.loads(events[renamed].asset_json)["name"] == "renamed plan"
    assert json.loads(events[canceled].asset_json)["status"] == "PLAN_STATUS_CANCELED"


@pytest.mark.parametrize(
    ("value", "spans"),
    [("12-14,20-20", [(12, 14), (20, 20)]), ("", []), ("12-", []), ("a-b,3-4", [(3, 4)]), ("1-2-3", []),
     ("\x00-1", []), ("9" * 50 + "-1", [])],
)  # fmt: skip
def test_only_well_formed_position_spans_are_taken(value, spans):
    assert parse_positions(value) == spans
