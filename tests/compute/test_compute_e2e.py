"""The compute path end to end, on a live network of three organizations with PostgreSQL, Redis,
S3 storage (SeaweedFS), a real orchestrator over mTLS and the Docker engine, driven with the
substra 1.0 SDK. MyOrg1MSP aggregates and submits; MyOrg2MSP and MyOrg3MSP hold the data."""

import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import substra
from substra.sdk.schemas import (
    AssetKind,
    ComputePlanSpec,
    ComputePlanTaskSpec,
    ComputeTaskOutputSpec,
    DataSampleSpec,
    FunctionInputSpec,
    FunctionOutputSpec,
    FunctionSpec,
    InputRef,
    Permissions,
)

import docker
from devnet import network as devnet
from examples.fedavg import workflow
from tests.compute import functions

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
ORG1, ORG2, ORG3 = "MyOrg1MSP", "MyOrg2MSP", "MyOrg3MSP"


@pytest.fixture(scope="module")
def docker_engine():
    started = subprocess.run([str(REPO / "scripts" / "ensure-docker")], capture_output=True, text=True)
    assert started.returncode == 0, started.stdout + started.stderr
    return docker.from_env()


@pytest.fixture(scope="module")
def network(tmp_path_factory, docker_engine):
    state_dir = tmp_path_factory.mktemp("compute-devnet")
    server_data = state_dir / "server-data"  # where samples may be registered in place
    server_data.mkdir()
    os.environ["BACKEND_SERVER_DATA_ROOTS"] = str(server_data)
    try:
        started = devnet.up(state_dir, orgs=3, services=True, executor="docker", timeout=240)
    finally:
        del os.environ["BACKEND_SERVER_DATA_ROOTS"]
    instance = json.loads((state_dir / "processes.json").read_text())["instance"]
    try:
        yield {
            "state_dir": state_dir,
            "server_data": server_data,
            "orgs": {org["org_id"]: org for org in started["orgs"]},
        }
    finally:
        devnet.down(state_dir)
    # Stopping the network removes its task containers, whether their plans' end ran or not.
    assert not docker_engine.containers.list(all=True, filters={"label": f"substra.instance={instance}"})


@pytest.fixture(scope="module")
def clients(network):
    made = {}
    for org_id, org in network["orgs"].items():
        made[org_id] = substra.Client(url=org["url"], backend_type="remote")
        made[org_id].login(org["username"], org["password"])
    return made


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return workflow.prepare_files(tmp_path_factory.mktemp("fedavg"), data_orgs=2)


@pytest.fixture(scope="module")
def assets(clients, files):
    return workflow.register_assets(clients, [ORG2, ORG3], ORG1, files)


def add_function(client, folder: Path, name: str, source: str, dockerfile: str = functions.DOCKERFILE) -> str:
    (folder / "description.md").write_text(f"# {name}\n")
    spec = FunctionSpec(
        name=name,
        description=folder / "description.md",
        file=functions.archive(folder, name, source, dockerfile),
        permissions=Permissions(public=True, authorized_ids=[]),
        inputs=[
            FunctionInputSpec(identifier="opener", kind=AssetKind.data_manager, multiple=False, optional=False),
            FunctionInputSpec(identifier="datasamples", kind=AssetKind.data_sample, multiple=True, optional=False),
        ],
        outputs=[FunctionOutputSpec(identifier="model", kind=AssetKind.model, multiple=False)],
    )
    return client.add_function(spec)


def readable_by(*orgs: str) -> Permissions:
    return Permissions(public=False, authorized_ids=list(orgs))


def one_task_plan(client, assets, function_key: str, data_org: str = ORG2, sample: str = "") -> tuple[str, str]:
    """A plan of one task of `function_key` on `data_org`'s train sample (or `sample`): (plan
    key, task key)."""
    task_key = str(uuid.uuid4())
    task = ComputePlanTaskSpec(
        task_id=task_key,
        function_key=function_key,
        worker=data_org,
        inputs=[
            InputRef(identifier="opener", asset_key=assets.datasets[data_org]),
            InputRef(identifier="datasamples", asset_key=sample or assets.train_samples[data_org]),
        ],
        outputs={"model": ComputeTaskOutputSpec(permissions=readable_by(ORG1, data_org))},
    )
    plan = client.add_compute_plan(ComputePlanSpec(name=f"one task of {function_key[:8]}", tasks=[task]))
    return plan.key, task_key


def wait_for_status(client, task_key: str, status: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while str(client.get_task(task_key).status.value) != status:
        assert time.monotonic() < deadline, f"task {task_key} never reached {status}"
        time.sleep(0.2)


def plan_containers(engine, plan_key: str, org: str = ORG2) -> list:
    return engine.containers.list(all=True, filters={"label": [f"substra.org={org}", f"substra.plan={plan_key}"]})


def test_a_fedavg_plan_over_three_organizations_reaches_done_with_its_performances(clients, assets, files):
    rounds = 5
    plan_key = workflow.submit_plan(clients[ORG1], assets, rounds, name="fedavg e2e")

    plan = clients[ORG1].wait_compute_plan(plan_key, timeout=600, polling_period=1)

    assert str(plan.status.value) == "PLAN_STATUS_DONE"
    assert plan.task_count == plan.done_count == 5 * rounds
    scores = workflow.accuracies(clients[ORG1], plan_key)
    assert sorted(scores) == sorted((org, r) for org in (ORG2, ORG3) for r in range(1, rounds + 1))
    federated = workflow.pooled_accuracy(files, assets, scores, rounds)
    assert federated > 0.9
    assert abs(federated - workflow.centralized_baseline(files, rounds)) <= 0.02
    # Each worker recorded the steps of the tasks it ran; other organizations see none.
    train = next(
        task
        for task in clients[ORG2].list_task(filters={"compute_plan_key": [plan_key]})
        if task.worker == ORG2 and task.metadata.get("round_idx") == "2"
    )
    raw = clients[ORG2]._backend._client.get(substra.sdk.schemas.Type.Task.to_server(), train.key)
    assert set(raw["durations"]) == {"prepare_inputs", "image", "execution", "save_outputs"}
    elsewhere = clients[ORG1]._backend._client.get(substra.sdk.schemas.Type.Task.to_server(), train.key)
    assert elsewhere["durations"] == {}


def test_a_failing_function_gives_an_execution_error_and_its_logs(clients, assets, tmp_path):
    function_key = add_function(clients[ORG1], tmp_path, "failing", functions.FAILING)
    plan_key, task_key = one_task_plan(clients[ORG1], assets, function_key)

    task = clients[ORG1].wait_task(task_key, timeout=300, polling_period=1, raise_on_failure=False)

    assert str(task.status.value) == "STATUS_FAILED"
    assert str(task.error_type.value) == "EXECUTION_ERROR"
    logs = clients[ORG2].get_logs(task_key)
    assert "deliberate failure inside the function" in logs
    assert "about to fail, on purpose" in logs
    # The dataset's logs permission names the aggregator too: its backend fetches them from ORG2.
    assert clients[ORG1].get_logs(task_key) == logs
    with pytest.raises(substra.exceptions.AuthorizationError):
        clients[ORG3].get_logs(task_key)
    assert str(clients[ORG1].get_compute_plan(plan_key).status.value) == "PLAN_STATUS_FAILED"


def test_a_broken_dockerfile_gives_a_build_error_with_the_build_log(clients, assets, tmp_path):
    function_key = add_function(
        clients[ORG1], tmp_path, "broken", functions.SLEEPER, dockerfile=functions.BROKEN_DOCKERFILE
    )
    _, task_key = one_task_plan(clients[ORG1], assets, function_key)

    task = clients[ORG1].wait_task(task_key, timeout=300, polling_period=1, raise_on_failure=False)

    assert str(task.status.value) == "STATUS_FAILED"
    assert str(task.error_type.value) == "BUILD_ERROR"
    assert str(clients[ORG1].get_function(function_key).status.value) == "FUNCTION_STATUS_FAILED"
    # The owner of the function built it: its backend keeps the build's log, which the task's
    # worker's backend fetches from there.
    assert "this build breaks on purpose" in clients[ORG1].get_logs(task_key)
    assert clients[ORG2].get_logs(task_key) == clients[ORG1].get_logs(task_key)


def test_cancelling_a_plan_stops_its_running_task_within_five_seconds(clients, assets, tmp_path, docker_engine):
    function_key = add_function(
        clients[ORG1], tmp_path, "long", functions.SLEEPER, dockerfile=functions.sleeper_dockerfile(120)
    )
    plan_key, task_key = one_task_plan(clients[ORG1], assets, function_key)
    wait_for_status(clients[ORG1], task_key, "STATUS_EXECUTING")
    deadline = time.monotonic() + 120  # claimed first, then its image is built and its container started
    while not plan_containers(docker_engine, plan_key):
        assert time.monotonic() < deadline, "the task's container never started"
        time.sleep(0.2)
    time.sleep(1)  # the function is running in it

    cancelled_at = time.monotonic()
    clients[ORG1].cancel_compute_plan(plan_key)
    while plan_containers(docker_engine, plan_key):
        assert time.monotonic() - cancelled_at < 5.0, "the task's container still runs 5 s after the cancel"
        time.sleep(0.1)

    wait_for_status(clients[ORG2], task_key, "STATUS_CANCELED", timeout=10)
    assert str(clients[ORG1].get_compute_plan(plan_key).status.value) == "PLAN_STATUS_CANCELED"


def test_the_function_runs_without_network_as_non_root_with_read_only_inputs(clients, assets, tmp_path):
    function_key = add_function(clients[ORG1], tmp_path, "probe", functions.PROBE)
    _, task_key = one_task_plan(clients[ORG1], assets, function_key)
    clients[ORG1].wait_task(task_key, timeout=300, polling_period=1)

    path = clients[ORG2].download_model_from_task(task_key, "model", tmp_path)
    seen = json.loads(Path(path).read_text())

    assert seen["interfaces"] == ["lo"]
    assert seen["uid"] != 0 and seen["gid"] != 0
    assert not seen["can_write_opener"]
    assert not seen["can_write_sample"]
    assert not seen["can_create_in_inputs"]
    assert seen["can_write_output"]
    # The model left ORG2 only for an authorized organization: ORG1's backend fetched it for its user.
    (tmp_path / "org1").mkdir()
    copy = clients[ORG1].download_model_from_task(task_key, "model", tmp_path / "org1")
    assert Path(copy).read_bytes() == Path(path).read_bytes()


def test_a_worker_killed_mid_task_recovers_and_the_task_ends_done(network, clients, assets, tmp_path):
    function_key = add_function(
        clients[ORG1], tmp_path, "killed", functions.SLEEPER, dockerfile=functions.sleeper_dockerfile(6)
    )
    _, task_key = one_task_plan(clients[ORG1], assets, function_key)
    wait_for_status(clients[ORG1], task_key, "STATUS_EXECUTING")

    devnet.kill_process(network["state_dir"], ORG2, "worker")
    time.sleep(1)
    assert str(clients[ORG2].get_task(task_key).status.value) == "STATUS_EXECUTING"
    devnet.start_process(network["state_dir"], ORG2, "worker")

    task = clients[ORG1].wait_task(task_key, timeout=180, polling_period=1)
    assert str(task.status.value) == "STATUS_DONE"
    path = clients[ORG2].download_model_from_task(task_key, "model", tmp_path)
    assert json.loads(Path(path).read_text()) == {"slept": True}


def test_transient_models_are_deleted_once_their_consumers_have_ended(clients, assets):
    tasks = workflow.fedavg_tasks(assets, rounds=2)
    trains = [task for task in tasks if "local" in task.outputs]
    for task in trains:
        task.outputs["local"].is_transient = True
    plan = clients[ORG1].add_compute_plan(ComputePlanSpec(name="transient locals", tasks=tasks))
    clients[ORG1].wait_compute_plan(plan.key, timeout=300, polling_period=1)

    def deleted(task) -> bool:
        output = clients[ORG1].get_task_output_asset(task.task_id, "local")
        return output.asset.address is None

    deadline = time.monotonic() + 30
    while not all(deleted(task) for task in trains):
        assert time.monotonic() < deadline, "transient models were not deleted after their plan ended"
        time.sleep(0.5)
    # The shared models were not transient: they stay.
    aggregate = next(task for task in tasks if "shared" in task.outputs)
    assert clients[ORG1].get_task_output_asset(aggregate.task_id, "shared").asset.address is not None


def wait_for_worker_nodes(database_url: str, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as database:
        while database.execute("SELECT count(*) FROM substrapp_workernode").fetchone()[0] < count:
            assert time.monotonic() < deadline, f"{count} workers did not come up in {timeout} s"
            time.sleep(0.5)


def test_a_plans_tasks_stay_with_the_worker_that_holds_its_container(network, clients, assets):
    """Two workers read MyOrg2MSP's queue: once one has run a task of the plan, the plan's next
    tasks there go to it (its container and cache), not to whichever worker is free."""
    devnet.start_process(network["state_dir"], ORG2, "worker", node="second")
    env = json.loads((network["state_dir"] / ORG2 / "environment.json").read_text())
    try:
        # Both workers up before the plan: a worker starting at the devnet's lower CPU priority on
        # a busy machine could otherwise come up after the plan has ended.
        wait_for_worker_nodes(env["BACKEND_DATABASE_URL"], 2)
        plan_key = workflow.submit_plan(clients[ORG1], assets, 3, name="affinity")
        clients[ORG1].wait_compute_plan(plan_key, timeout=300, polling_period=1)
        with psycopg.connect(env["BACKEND_DATABASE_URL"]) as database:
            holders = database.execute(
                "SELECT e.ran_on FROM substrapp_taskexecution e "
                "JOIN substrapp_computetask t ON t.key = e.task_id WHERE t.compute_plan_id = %s AND t.worker = %s",
                [plan_key, ORG2],
            ).fetchall()
            nodes = [row[0] for row in database.execute("SELECT name FROM substrapp_workernode").fetchall()]
    finally:
        devnet.kill_process(network["state_dir"], ORG2, "worker")
        devnet.start_process(network["state_dir"], ORG2, "worker")
    assert len(nodes) == 2
    assert len(holders) == 6  # a train and an evaluate per round
    # The first train went to whichever worker was free; every later task of the plan followed it.
    assert len({ran_on for (ran_on,) in holders}) == 1


def test_a_sample_registered_by_server_path_is_read_in_place_by_its_task(network, clients, assets, files, tmp_path):
    folder = network["server_data"] / "train-copy"
    shutil.copytree(files.train_samples[0], folder)
    sample = clients[ORG2].add_data_sample(
        DataSampleSpec(path=folder, data_manager_keys=[assets.datasets[ORG2]]), local=False
    )
    function_key = add_function(clients[ORG1], tmp_path, "reads-in-place", functions.PROBE)

    _, task_key = one_task_plan(clients[ORG1], assets, function_key, sample=sample)
    task = clients[ORG1].wait_task(task_key, timeout=300, polling_period=1)

    assert str(task.status.value) == "STATUS_DONE"
    seen = json.loads(Path(clients[ORG2].download_model_from_task(task_key, "model", tmp_path)).read_text())
    assert not seen["can_write_sample"]  # a copy in the cache, read-only, never the original
    assert (folder / "x.npy").exists() and os.access(folder / "x.npy", os.W_OK)
