"""An event the local mirror refuses stalls the consumer loudly, without skipping it: it keeps its
position, retries, shows the stall in /health/ and `consumer_status`, and goes on by itself once
the event can be applied. The refusal is real: a CHECK constraint of the backend's PostgreSQL."""

import logging
import threading
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from substrapp.consumer import consume
from substrapp.models import ChannelCursor, ComputePlan
from substrapp.orchestration import close_orchestrator_clients
from tests.backend.network import orchestrator_of_its_own, point_backend_at
from tests.conftest import ORG2
from tests.orchestrator.conftest import World, new_key

pytestmark = pytest.mark.django_db(transaction=True)

CHANNEL = "mychannel"
REFUSED_NAME = "a plan the mirror refuses"


@pytest.fixture
def world(settings, authority, tmp_path):
    with orchestrator_of_its_own(tmp_path / "orchestrator", authority) as (clients, _):
        point_backend_at(settings, clients.orchestrator, authority, tmp_path)
        yield World(clients)
    close_orchestrator_clients()


@pytest.fixture
def refusing_mirror():
    """The mirror's plan table refuses plans of one name, until the test drops the constraint."""
    table = ComputePlan._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT refused_by_test CHECK (name <> %s)", [REFUSED_NAME])

    def accept():
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS refused_by_test")

    yield accept
    accept()


def following(stop: threading.Event) -> threading.Thread:
    def follow():
        try:
            consume(CHANNEL, stop=stop)
        finally:
            connection.close()

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    return thread


def wait_for(condition, timeout=30.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def stalled_cursor():
    return ChannelCursor.objects.filter(channel=CHANNEL, stalled_since__isnull=False).first()


def test_an_event_the_mirror_refuses_stalls_the_consumer_visibly_until_it_can_be_applied(
    world, refusing_mirror, client, caplog
):
    caplog.set_level(logging.ERROR, logger="substrapp.consumer")
    stop = threading.Event()
    thread = following(stop)
    try:
        wait_for(lambda: ChannelCursor.objects.filter(channel=CHANNEL, position__gt=0).exists(), what="a first batch")
        refused = world.client(ORG2).register_compute_plan(key=new_key(), name=REFUSED_NAME).key
        wait_for(lambda: stalled_cursor() is not None, what="the stall to be recorded")
        stall = stalled_cursor()
        assert stall.stalled_position == stall.position + 1
        assert "refused_by_test" in stall.stalled_error
        assert f"STALLED at event {stall.stalled_position}" in caplog.text

        # Later events wait behind it: nothing is skipped.
        later = world.client(ORG2).register_compute_plan(key=new_key(), name="a later plan").key
        time.sleep(3)
        assert ChannelCursor.objects.get(channel=CHANNEL).position == stall.position
        assert not ComputePlan.objects.filter(key__in=[refused, later]).exists()
        retries = caplog.text.count(f"STALLED at event {stall.stalled_position}")
        assert retries >= 2, "the consumer does not try the event again"
        # It is visible: in /health/ (without the reason) and in the management command.
        health = client.get("/health/").json()
        assert health["stalled_channels"] == [
            {"channel": CHANNEL, "position": stall.stalled_position, "since": stall.stalled_since.isoformat()}
        ]
        with pytest.raises(CommandError, match="stalled channels: mychannel"):
            call_command("consumer_status")

        refusing_mirror()  # the operator fixes the cause
        wait_for(lambda: ComputePlan.objects.filter(key=later).exists(), timeout=45, what="the consumer to go on")
        assert ComputePlan.objects.filter(key=refused, name=REFUSED_NAME).exists()
        assert stalled_cursor() is None
        assert client.get("/health/").json()["stalled_channels"] == []
        call_command("consumer_status")
    finally:
        stop.set()
        thread.join(40)
