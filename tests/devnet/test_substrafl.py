"""substrafl 1.0 experiments run unchanged on our network: substrafl's FedAvg of a numpy logistic
regression (examples/substrafl_fedavg), two data organizations and an aggregator, evaluation after
every round, submitted with `execute_experiment` to a devnet whose workers run functions in Docker.
substrafl's own Dockerfiles are built as they are (a user with uid 1001, a virtual environment,
`pip install` of substrafl from the package index, `apt-get`), its cloudpickled functions run in
them, and the experiment ends with the accuracies substrafl's subprocess mode computes on the
same data."""

import contextlib
import json
import subprocess
from pathlib import Path

import pytest
import substra

from devnet import network as devnet
from examples.fedavg import workflow
from examples.substrafl_fedavg import experiment

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
AGGREGATOR, DATA_ORGS = "MyOrg1MSP", ["MyOrg2MSP", "MyOrg3MSP"]
ROUNDS = 3


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    started = subprocess.run([str(REPO / "scripts" / "ensure-docker")], capture_output=True, text=True)
    assert started.returncode == 0, started.stdout + started.stderr
    state_dir = tmp_path_factory.mktemp("substrafl-devnet")
    try:
        yield devnet.up(state_dir, orgs=3, executor="docker", timeout=240)
    finally:
        devnet.down(state_dir)


@pytest.fixture(scope="module")
def clients(network):
    made = {}
    for org in network["orgs"]:
        made[org["org_id"]] = substra.Client(url=org["url"], backend_type="remote")
        made[org["org_id"]].login(org["username"], org["password"])
    return made


def by_position(accuracies: dict[tuple[str, int], float], data_org_ids: list[str]) -> dict[tuple[int, int], float]:
    """{(index of the data organization, round): accuracy}, to compare backends whose
    organizations have different ids."""
    return {(data_org_ids.index(org), round_idx): value for (org, round_idx), value in accuracies.items()}


def run_in(folder: Path, clients: dict[str, substra.Client], aggregator: str, data_orgs: list[str]) -> dict:
    files = workflow.prepare_files(folder / "files", data_orgs=len(data_orgs))
    with contextlib.chdir(folder):  # substrafl writes its temporary files under the current directory
        registered = experiment.register_datasets(clients, data_orgs, aggregator, files)
        result = experiment.run_experiment(clients[aggregator], registered, aggregator, folder / "experiment", ROUNDS)
    result["by_position"] = by_position(result["accuracies"], [org.organization_id for org in registered])
    return result


def test_a_substrafl_fedavg_experiment_ends_done_with_the_accuracies_of_substrafls_subprocess_mode(clients, tmp_path):
    local = workflow.local_clients("subprocess", 3, tmp_path / "local")
    local_aggregator, *local_data = local
    expected = run_in(tmp_path / "local", local, local_aggregator, local_data)
    assert expected["status"] == "PLAN_STATUS_DONE"

    ours = run_in(tmp_path / "network", clients, AGGREGATOR, DATA_ORGS)

    assert ours["status"] == "PLAN_STATUS_DONE", json.dumps(ours, default=str)
    assert ours["tasks"] == expected["tasks"]
    # An evaluation of each data organization's test sample after every round, round 0 included.
    assert sorted(ours["by_position"]) == [(org, r) for org in range(len(DATA_ORGS)) for r in range(ROUNDS + 1)]
    assert ours["by_position"] == pytest.approx(expected["by_position"], abs=1e-12)
    # The federation learned: the last round beats the untrained model of round 0.
    for org in range(len(DATA_ORGS)):
        assert ours["by_position"][(org, ROUNDS)] > ours["by_position"][(org, 0)] + 0.3
