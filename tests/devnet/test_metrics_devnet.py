"""Every process's metrics on a live devnet of two organizations (the URLs in DIR/metrics.json):
after a plan with a task on each organization, they agree with what happened; with a consumer
stopped, the ledger runs ahead of what it applied."""

import json
import os
import signal
import time
import urllib.request
import uuid

import pytest
import substra
from prometheus_client.parser import text_string_to_metric_families

from tests.devnet.test_devnet import devnet
from tests.devnet.test_permissions import eventually, task
from tests.devnet.test_plan_story import ENDED, register_dataset, register_function

CHANNEL = "mychannel"


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("devnet-metrics")
    # As in production: PostgreSQL for the ledger and the backends, S3 for their files.
    started = devnet("up", "--orgs", "2", "--services", "--state-dir", str(state_dir))
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


def run_plan(clients, ids, folder) -> list:
    """A plan of orgs[0] with a task on each organization's data; its tasks once ended."""
    function = register_function(clients[0], ids, folder)
    data = [register_dataset(client, ids, folder / org) for client, org in zip(clients, ids, strict=True)]
    assert eventually(lambda: clients[0].get_dataset(data[1][0]).data_sample_keys == [data[1][1]]), "not mirrored"
    specs = [
        {"task_id": str(uuid.uuid4()), **task({"function": function, "dataset": d, "sample": s, "ids": ids}, worker)}
        for worker, (d, s) in zip(ids, data, strict=True)
    ]
    clients[0].add_compute_plan({"key": str(uuid.uuid4()), "name": "measured", "tasks": specs})
    deadline = time.monotonic() + 180
    while True:
        ended = [clients[0].get_task(spec["task_id"]) for spec in specs]
        if {t.status for t in ended} <= ENDED or time.monotonic() > deadline:
            return ended
        time.sleep(1)


def test_each_process_metrics_agree_with_the_plan_and_a_stopped_consumer_falls_behind(network, tmp_path):
    state_dir, orgs = network
    urls = json.loads((state_dir / "metrics.json").read_text())
    clients = [
        substra.Client(url=o["url"], backend_type="remote", username=o["username"], password=o["password"])
        for o in orgs
    ]
    ids = [org["org_id"] for org in orgs]

    ended = run_plan(clients, ids, tmp_path)

    assert {t.status for t in ended} <= ENDED
    orchestrator = scrape(urls["orchestrator"])
    head = value(orchestrator, "orchestrator_events_written_total", channel=CHANNEL)
    done = sum(t.status == "STATUS_DONE" for t in ended)
    assert value(orchestrator, "orchestrator_task_transitions_total", action="TASK_ACTION_EXECUTING") == 2
    assert value(orchestrator, "orchestrator_task_transitions_total", action="TASK_ACTION_DONE") == done
    for org in ids:
        consumer_url = urls["orgs"][org]["consumer"]
        assert eventually(
            lambda u=consumer_url: value(scrape(u), "substra_consumer_applied_position", channel=CHANNEL) == head
        )
        consumer = scrape(consumer_url)
        assert value(consumer, "substra_consumer_events_applied_total", channel=CHANNEL) == head
        assert value(consumer, "substra_consumer_lag_events", channel=CHANNEL) == 0
        assert value(consumer, "substra_consumer_lag_seconds", channel=CHANNEL) == 0
        worker = scrape(urls["orgs"][org]["worker"])
        own = [t for t in ended if t.worker == org]
        handled = {
            outcome: value(worker, "substra_worker_tasks_total", outcome=outcome) for outcome in ("done", "failed")
        }
        assert handled == {
            "done": sum(t.status == "STATUS_DONE" for t in own), "failed": sum(t.status == "STATUS_FAILED" for t in own)
        }  # fmt: skip
        depths = [v for (name, _), v in worker.items() if name == "substra_worker_queue_depth"]
        assert len(depths) == 2  # its task and build queues, emptied once the plan's end is handled
        assert eventually(lambda u=urls["orgs"][org]["worker"]: queues_empty(scrape(u))), depths
        assert value(worker, "substra_worker_cache_misses_total") >= 1  # its task's opener and sample
        running = lambda u=urls["orgs"][org]["worker"]: value(scrape(u), "substra_worker_tasks_running")  # noqa: E731
        assert eventually(lambda r=running: r() == 0)  # a duplicate message may still be on its way out
    builder = scrape(urls["orgs"][ids[0]]["worker"])
    assert value(builder, "substra_worker_image_builds_total", outcome="built") == 1
    api = scrape(urls["orgs"][ids[0]]["api"])
    assert value(api, "substra_api_requests_total", view="compute_plan-list", method="POST", status="201") == 1

    stopped = next(
        p
        for p in json.loads((state_dir / "processes.json").read_text())["processes"]
        if p["name"] == f"{ids[1]}-consumer"
    )
    os.kill(stopped["pid"], signal.SIGSTOP)  # stopped, not gone: `devnet down` ends it
    try:
        clients[0].add_compute_plan({"key": str(uuid.uuid4()), "name": "while stopped"})
        new_head = value(scrape(urls["orchestrator"]), "orchestrator_events_written_total", channel=CHANNEL)
        running = urls["orgs"][ids[0]]["consumer"]
        assert eventually(
            lambda: value(scrape(running), "substra_consumer_applied_position", channel=CHANNEL) == new_head
        )
        with pytest.raises(OSError):  # a stopped consumer answers no scrape: Prometheus marks it down
            urllib.request.urlopen(urls["orgs"][ids[1]]["consumer"], timeout=2)
        assert new_head > head  # the ledger moves on without it: ConsumerBehindTheLedger fires
    finally:
        os.kill(stopped["pid"], signal.SIGCONT)
    assert eventually(
        lambda: (
            value(scrape(urls["orgs"][ids[1]]["consumer"]), "substra_consumer_applied_position", channel=CHANNEL)
            == new_head
        )
    )
