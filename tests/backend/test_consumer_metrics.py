"""The event consumer's Prometheus metrics, scraped over HTTP while a real consumer follows a real
orchestrator: the events applied and the positions agree with the ledger, and a consumer stuck on
an event it cannot apply shows a lag that grows (the refusal is a real CHECK constraint)."""

import socket
import threading
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from substrapp import metrics
from substrapp.consumer import consume
from tests.backend import test_consumer_stall as stall
from tests.conftest import ORG2
from tests.orchestrator.conftest import new_key

pytestmark = pytest.mark.django_db(transaction=True)

CHANNEL = "mychannel"
# The stall test's world (an orchestrator of the test's own) and its mirror that refuses a plan.
world, refusing_mirror = stall.world, stall.refusing_mirror
REFUSED_NAME, following, wait_for = stall.REFUSED_NAME, stall.following, stall.wait_for


@pytest.fixture(scope="module")
def metrics_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    metrics.serve_metrics(port)
    return port


def scrape(port: int, name: str, **labels) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def ledger_head(world) -> int:
    return max(event.position for event in world.client(ORG2).subscribe(0, timeout=2))


def test_after_a_drain_the_events_applied_and_the_positions_equal_the_ledgers(world, metrics_port):
    applied_before = scrape(metrics_port, "substra_consumer_events_applied_total", channel=CHANNEL)
    world.plan()

    consume(CHANNEL, stop_when_idle=True, idle_seconds=1.0)

    head = ledger_head(world)
    applied = scrape(metrics_port, "substra_consumer_events_applied_total", channel=CHANNEL) - applied_before
    assert applied == head
    assert scrape(metrics_port, "substra_consumer_applied_position", channel=CHANNEL) == head
    assert scrape(metrics_port, "substra_consumer_verified_position", channel=CHANNEL) == head
    assert scrape(metrics_port, "substra_consumer_lag_events", channel=CHANNEL) == 0
    assert scrape(metrics_port, "substra_consumer_lag_seconds", channel=CHANNEL) == 0


def test_a_stuck_consumers_lag_grows_until_it_applies_the_event(world, refusing_mirror, metrics_port):
    world.plan()
    consume(CHANNEL, stop_when_idle=True, idle_seconds=1.0)
    restarts_before = scrape(metrics_port, "substra_consumer_restarts_total", channel=CHANNEL)
    world.client(ORG2).register_compute_plan(key=new_key(), name=REFUSED_NAME)
    stop = threading.Event()
    thread = following(stop)
    try:
        wait_for(lambda: scrape(metrics_port, "substra_consumer_lag_events", channel=CHANNEL) >= 1, what="a lag")
        first = scrape(metrics_port, "substra_consumer_lag_seconds", channel=CHANNEL)
        wait_for(
            lambda: scrape(metrics_port, "substra_consumer_lag_seconds", channel=CHANNEL) > first + 1, what="growth"
        )
        assert scrape(metrics_port, "substra_consumer_restarts_total", channel=CHANNEL) > restarts_before

        refusing_mirror()  # the constraint goes: the consumer applies the event at its next retry
        wait_for(lambda: scrape(metrics_port, "substra_consumer_lag_events", channel=CHANNEL) == 0, what="catching up")
    finally:
        stop.set()
        thread.join(timeout=60)
    assert scrape(metrics_port, "substra_consumer_applied_position", channel=CHANNEL) == ledger_head(world)
    assert scrape(metrics_port, "substra_consumer_lag_seconds", channel=CHANNEL) == 0
