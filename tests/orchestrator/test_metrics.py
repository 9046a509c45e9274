"""The orchestrator's Prometheus metrics (ORCHESTRATOR_METRICS_PORT), scraped from a real
orchestrator process after real calls: they agree with what happened."""

import socket
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

import orchestrator_client
from devnet.orchestrator import OrchestratorProcess
from devnet.postgres import create_database, drop_database
from tests.conftest import CHANNELS, ORG1, ORG2, ORG3
from tests.orchestrator.conftest import ADDRESS, World, new_key


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def measured(tmp_path, authority, monkeypatch):
    """An orchestrator of its own serving its metrics, and its metrics port."""
    port = free_port()
    monkeypatch.setenv("ORCHESTRATOR_METRICS_PORT", str(port))
    url = create_database("orchestrator_metrics")
    process = OrchestratorProcess(tmp_path, url, CHANNELS, authority)
    process.migrate()
    process.start()
    try:
        yield process, port
    finally:
        process.stop()
        drop_database(url)


class Clients:
    def __init__(self, process):
        self.orchestrator = process
        self.made = {}
        for org in (ORG1, ORG2, ORG3):
            self(org).register_organization(f"http://{org.lower()}.backend")

    def __call__(self, org, channel="mychannel"):
        if (org, channel) not in self.made:
            self.made[org, channel] = self.orchestrator.client(org, channel)
        return self.made[org, channel]


def scrape(port: int) -> dict[tuple, float]:
    """{(sample name, sorted labels): value} of every sample served."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_transitions_events_and_streams_agree_with_what_happened(measured):
    process, port = measured
    clients = Clients(process)
    world = World(clients)
    plan = world.plan()
    task, failing = clients(ORG2).register_tasks([world.train_task(plan), world.train_task(plan)])
    world.run(task.key)
    clients(ORG1).apply_task_action(failing.key, "TASK_ACTION_EXECUTING")
    clients(ORG1).register_failure_report(
        asset_key=failing.key, asset_kind="ASSET_COMPUTE_TASK", error_type="EXECUTION_ERROR", logs_address=ADDRESS
    )
    with pytest.raises(orchestrator_client.NotFound):
        clients(ORG1).get_task(new_key())
    stream = clients(ORG3).subscribe(0, timeout=30)
    first = next(stream)  # the stream is open while it is read

    samples = scrape(port)
    stream.close()

    assert first.position == 1
    assert value(samples, "orchestrator_requests_total", method="RegisterComputePlan", code="OK") == 1
    assert value(samples, "orchestrator_requests_total", method="GetTask", code="NOT_FOUND") == 1
    assert value(samples, "orchestrator_requests_total", method="RegisterOrganization", code="OK") == 3
    assert value(samples, "orchestrator_request_seconds_count", method="RegisterTasks") == 1
    assert value(samples, "orchestrator_database_seconds_count", method="RegisterTasks") == 1
    assert value(samples, "orchestrator_database_seconds_sum", method="RegisterTasks") > 0
    assert value(samples, "orchestrator_task_transitions_total", action="TASK_ACTION_EXECUTING") == 2
    assert value(samples, "orchestrator_task_transitions_total", action="TASK_ACTION_DONE") == 1
    failed = {"asset_kind": "ASSET_COMPUTE_TASK", "error_type": "EXECUTION_ERROR"}
    assert value(samples, "orchestrator_failures_total", **failed) == 1
    assert value(samples, "orchestrator_function_actions_total", action="FUNCTION_ACTION_READY") == 3
    head = max(event.position for event in clients(ORG1).subscribe(0, timeout=2))
    assert value(samples, "orchestrator_events_written_total", channel="mychannel") == head
    assert value(samples, "orchestrator_open_event_streams") == 1


def test_a_closed_stream_is_no_longer_counted_open(measured):
    process, port = measured
    stream = Clients(process)(ORG1).subscribe(0, timeout=30)
    next(stream)
    stream.close()

    deadline = time.monotonic() + 10
    while value(scrape(port), "orchestrator_open_event_streams") > 0 and time.monotonic() < deadline:
        time.sleep(0.2)

    assert value(scrape(port), "orchestrator_open_event_streams") == 0
