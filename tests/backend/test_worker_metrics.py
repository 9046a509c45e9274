"""The worker's metrics, counted by real Celery tasks run in this process against a real
orchestrator: tasks by outcome, failures by error type, task steps, tasks running."""

import uuid

import pytest
from kombu import Exchange, Queue
from prometheus_client import REGISTRY

from backend.celery import app
from substrapp import metrics, tasks
from tests.backend import test_compute_api as compute

pytestmark = pytest.mark.django_db(transaction=True)

# The compute API tests' network (an orchestrator of its own), world, user and eager Celery.
network, world, api, eager = compute.network, compute.world, compute.api, compute.eager


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def new_task(world, api) -> str:
    plan = compute.new_plan(api)
    key = compute.new_key()
    task = compute.sdk_task(key, world.train, plan["key"], compute.train_inputs(world), compute.MODEL_OUTPUT)
    assert compute.bulk_create(api, [task]).status_code == 200
    return key


FAILURE = {"asset_kind": "ASSET_COMPUTE_TASK", "error_type": "INTERNAL_ERROR"}


def counts() -> dict:
    return {
        "failed": sample("substra_worker_tasks_total", outcome="failed"),
        "skipped": sample("substra_worker_tasks_total", outcome="skipped"),
        "internal": sample("substra_worker_failures_total", **FAILURE),
        "prepared": sample("substra_worker_step_seconds_count", step="prepare_inputs"),
    }


def test_tasks_are_counted_by_outcome_and_failures_by_error_type(world, api, eager):
    before = counts()
    failing, ended = new_task(world, api), new_task(world, api)
    world.run(ended)

    # Docker does not answer here: the first fails with INTERNAL_ERROR once its inputs are ready.
    outcomes = [tasks.run_compute_task.apply(args=(compute.CHANNEL, key)).get() for key in (failing, ended)]

    after = counts()
    assert outcomes == ["failed", "skipped"]
    assert {name: after[name] - before[name] for name in after} == {
        "failed": 1, "skipped": 1, "internal": 1, "prepared": 1,
    }  # fmt: skip
    assert sample("substra_worker_tasks_running") == 0


def test_the_queue_depth_is_what_waits_in_the_broker():
    name = f"depth-test-{uuid.uuid4().hex}"  # a queue of the test's own, deleted after
    queue = Queue(name, Exchange(name, type="direct"), routing_key=name)
    depth = metrics.QueueDepth(app, [name])
    with app.connection_for_write() as connection:
        producer = connection.Producer()
        try:
            for message in ("first", "second"):
                producer.publish({"message": message}, exchange=queue.exchange, routing_key=name, declare=[queue])

            (waiting,) = [sample.value for family in depth.collect() for sample in family.samples]

            assert waiting == 2
        finally:
            queue(connection.default_channel).delete()


@pytest.mark.docker
def test_running_containers_are_this_organizations_running_ones_on_the_engine():
    import docker

    engine = docker.from_env(timeout=60)
    run = uuid.uuid4().hex[:12]
    org, other_org = f"metrics-{run}", f"metrics-other-{run}"
    containers = metrics.RunningContainers(org, instance=f"net-{run}")

    def start(owner: str, instance: str, *, running: bool = True):
        labels = {"substra.org": owner, "substra.instance": instance}
        options = {"entrypoint": ["sleep", "infinity"], "labels": labels, "network_mode": "none"}
        if running:
            return engine.containers.run("python:3.11-slim", detach=True, **options)
        return engine.containers.create("python:3.11-slim", **options)

    def gauge() -> list[float]:
        return [sample.value for family in containers.collect() for sample in family.samples]

    try:
        assert gauge() == [0]
        start(org, f"net-{run}")
        start(org, f"net-{run}")
        start(org, f"net-{run}", running=False)  # created, never started
        start(other_org, f"net-{run}")  # another organization on the same engine
        start(org, f"another-net-{run}")  # the same organization of another network

        assert gauge() == [2]
    finally:
        for owner in (org, other_org):
            for container in engine.containers.list(all=True, filters={"label": f"substra.org={owner}"}):
                container.remove(force=True)
    assert gauge() == [0]


def test_running_containers_give_no_sample_when_no_engine_answers(tmp_path):
    import docker

    away = docker.DockerClient(base_url=f"unix://{tmp_path / 'docker.sock'}", version="1.41", timeout=2)

    assert list(metrics.RunningContainers("MyOrg1MSP", client=away).collect()) == []
