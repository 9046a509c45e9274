"""Every process's metrics on a live devnet of three organizations (the URLs in DIR/metrics.json),
Docker executor, PostgreSQL, Redis and S3: after the FedAvg example's plan (examples/fedavg, 10
rounds: 50 tasks), they agree with what happened; with a consumer stopped, the ledger runs ahead
of what it applied, further with each action."""

import json
import os
import signal
import subprocess
import time
import urllib.request
import uuid

import pytest
import substra
from prometheus_client.parser import text_string_to_metric_families

from examples.fedavg import workflow
from tests.devnet.test_devnet import REPO, devnet
from tests.devnet.test_permissions import eventually

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]

CHANNEL = "mychannel"
ROUNDS = 10  # the example's plan: 2 trains, 1 aggregate and 2 evaluates a round
PLAN_ENDED = {"PLAN_STATUS_DONE", "PLAN_STATUS_FAILED", "PLAN_STATUS_CANCELED"}


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    ensured = subprocess.run([str(REPO / "scripts" / "ensure-docker")], capture_output=True, text=True)
    assert ensured.returncode == 0, ensured.stdout + ensured.stderr
    state_dir = tmp_path_factory.mktemp("devnet-metrics")
    # As in production: PostgreSQL for the ledger and the backends, S3 for their files, Docker.
    started = devnet(
        "up", "--orgs", "3", "--services", "--executor", "docker", "--state-dir", str(state_dir), timeout=300
    )
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield state_dir, json.loads((state_dir / "network.json").read_text())["orgs"]
    finally:
        devnet("down", "--state-dir", str(state_dir))


def scrape(url: str) -> dict:
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def queues_empty(samples: dict) -> bool:
    return all(v == 0 for (name, _), v in samples.items() if name == "substra_worker_queue_depth")


def head_of(urls: dict) -> float:
    return value(scrape(urls["orchestrator"]), "orchestrator_events_written_total", channel=CHANNEL)


def applied(consumer_url: str) -> float:
    return value(scrape(consumer_url), "substra_consumer_applied_position", channel=CHANNEL)


def run_fedavg(clients: dict, aggregator: str, data_orgs: list[str], folder, worker_urls: dict):
    """The example's plan, registered and submitted as the demo does, and waited for; the plan
    once ended, and the most containers each worker reported running meanwhile."""
    files = workflow.prepare_files(folder, data_orgs=len(data_orgs))
    assets = workflow.register_assets(clients, data_orgs, aggregator, files)
    key = workflow.submit_plan(clients[aggregator], assets, ROUNDS, name="measured")
    most_containers = dict.fromkeys(worker_urls, 0.0)
    deadline = time.monotonic() + 600
    while True:
        plan = clients[aggregator].get_compute_plan(key)
        if str(getattr(plan.status, "value", plan.status)) in PLAN_ENDED or time.monotonic() > deadline:
            return plan, most_containers
        for org, url in worker_urls.items():  # a plan's containers live from its first task to its end
            running = value(scrape(url), "substra_worker_running_containers")
            most_containers[org] = max(most_containers[org], running)
        time.sleep(0.5)


def test_each_process_metrics_agree_with_a_fedavg_plan_and_a_stopped_consumer_falls_behind(network, tmp_path):
    state_dir, orgs = network
    urls = json.loads((state_dir / "metrics.json").read_text())
    clients = {
        o["org_id"]: substra.Client(url=o["url"], backend_type="remote", username=o["username"], password=o["password"])
        for o in orgs
    }
    aggregator, *data_orgs = sorted(clients)
    workers = {org: urls["orgs"][org]["worker"] for org in clients}

    plan, most_containers = run_fedavg(clients, aggregator, data_orgs, tmp_path / "fedavg", workers)

    assert str(getattr(plan.status, "value", plan.status)) == "PLAN_STATUS_DONE"
    assert (plan.task_count, plan.done_count) == (5 * ROUNDS, 5 * ROUNDS)
    orchestrator = scrape(urls["orchestrator"])
    for action in ("TASK_ACTION_EXECUTING", "TASK_ACTION_DONE"):
        assert value(orchestrator, "orchestrator_task_transitions_total", action=action) == 5 * ROUNDS
    assert value(orchestrator, "orchestrator_function_actions_total", action="FUNCTION_ACTION_READY") == 3
    assert not [key for key in orchestrator if key[0] == "orchestrator_failures_total"]

    for org in clients:  # the events applied equal the ledger's position, and nothing waits
        consumer_url = urls["orgs"][org]["consumer"]
        assert eventually(lambda u=consumer_url: applied(u) == head_of(urls), timeout=60)
        consumer, head = scrape(consumer_url), head_of(urls)
        assert value(consumer, "substra_consumer_applied_position", channel=CHANNEL) == head
        assert value(consumer, "substra_consumer_verified_position", channel=CHANNEL) == head
        assert value(consumer, "substra_consumer_events_applied_total", channel=CHANNEL) == head
        assert value(consumer, "substra_consumer_lag_events", channel=CHANNEL) == 0
        assert value(consumer, "substra_consumer_lag_seconds", channel=CHANNEL) == 0

    ran = {aggregator: ROUNDS, **dict.fromkeys(data_orgs, 2 * ROUNDS)}  # each data org: a train and an evaluate a round
    images = {aggregator: 1, **dict.fromkeys(data_orgs, 2)}  # aggregate; train and evaluate
    for org, url in workers.items():
        assert eventually(lambda u=url: queues_empty(scrape(u)), timeout=60)
        # a duplicate message may still be on its way out; the plan's end removes its containers
        assert eventually(lambda u=url: value(scrape(u), "substra_worker_tasks_running") == 0, timeout=60)
        assert eventually(lambda u=url: value(scrape(u), "substra_worker_running_containers") == 0, timeout=60)
        worker = scrape(url)
        assert value(worker, "substra_worker_tasks_total", outcome="done") == ran[org]
        assert value(worker, "substra_worker_tasks_total", outcome="failed") == 0
        assert value(worker, "substra_worker_step_seconds_count", step="execution") == ran[org]
        assert not [key for key in worker if key[0] == "substra_worker_failures_total"]
        assert 1 <= most_containers[org] <= images[org], (org, most_containers)
        assert value(worker, "substra_worker_cache_misses_total") >= 1  # its inputs, fetched once
        if org in data_orgs:  # the opener, fetched by the first task, is found by every later one
            assert value(worker, "substra_worker_cache_hits_total") >= ran[org] - 1
    builder = scrape(workers[aggregator])  # the functions' owner builds their images
    assert value(builder, "substra_worker_image_builds_total", outcome="built") == 3
    assert value(builder, "substra_worker_image_build_seconds_count") == 3
    api = scrape(urls["orgs"][aggregator]["api"])
    assert value(api, "substra_api_requests_total", view="compute_plan-list", method="POST", status="201") == 1

    stopped_org = data_orgs[0]
    stopped = next(
        p
        for p in json.loads((state_dir / "processes.json").read_text())["processes"]
        if p["name"] == f"{stopped_org}-consumer"
    )
    left_at = applied(urls["orgs"][stopped_org]["consumer"])
    os.kill(stopped["pid"], signal.SIGSTOP)  # stopped, not gone: `devnet down` ends it
    try:
        behind = []
        for _ in range(2):
            clients[aggregator].add_compute_plan({"key": str(uuid.uuid4()), "name": "while stopped"})
            head = head_of(urls)
            running = urls["orgs"][aggregator]["consumer"]
            assert eventually(lambda u=running, h=head: applied(u) == h)  # the others follow
            behind.append(head - left_at)
        with pytest.raises(OSError):  # a stopped consumer answers no scrape: Prometheus marks it down
            urllib.request.urlopen(urls["orgs"][stopped_org]["consumer"], timeout=2)
        assert 0 < behind[0] < behind[1]  # the ledger moves on without it: ConsumerBehindTheLedger fires
    finally:
        os.kill(stopped["pid"], signal.SIGCONT)
    assert eventually(lambda: applied(urls["orgs"][stopped_org]["consumer"]) == head_of(urls), timeout=60)
