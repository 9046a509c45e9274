"""substrafl's FedAvg on the breast-cancer data set, submitted with `execute_experiment` to any set
of substra Clients: our network's backends, or the SDK's local docker or subprocess backends.

    files = workflow.prepare_files(root, data_orgs=2)            # the samples of examples/fedavg
    datasets = register_datasets(clients, data_orgs, aggregator, files)
    result = run_experiment(clients[aggregator], datasets, aggregator_id, root / "experiment", rounds=3)
    result["accuracies"]   # {(organization id, round): accuracy on its test sample}

The experiment is written as substrafl's users write theirs (see `algo.py`); nothing in it knows
which backend runs it.
"""

import time
from dataclasses import dataclass
from pathlib import Path

import cloudpickle
import numpy
import substra
from substra.sdk.schemas import DataSampleSpec, DatasetSpec, Permissions
from substrafl import execute_experiment
from substrafl.dependency import Dependency
from substrafl.evaluation_strategy import EvaluationStrategy
from substrafl.nodes import AggregationNode, TestDataNode, TrainDataNode
from substrafl.strategies import FedAvg

from examples.fedavg.workflow import FedAvgFiles
from examples.substrafl_fedavg import algo

# The images must not import this repository: the algorithm and the metric travel by value.
cloudpickle.register_pickle_by_value(algo)


@dataclass(frozen=True)
class DataOrganization:
    organization_id: str
    dataset: str
    train_sample: str
    test_sample: str


def register_datasets(
    clients: dict[str, substra.Client], data_orgs: list[str], aggregator_id: str, files: FedAvgFiles
) -> list[DataOrganization]:
    """With each data organization's client (the i-th gets the i-th sample folders of `files`), its
    dataset, readable by itself and the aggregator, and its train and test samples."""
    registered = []
    for label, train, test in zip(data_orgs, files.train_samples, files.test_samples, strict=True):
        client = clients[label]
        owner = client.organization_info().organization_id
        permissions = Permissions(public=False, authorized_ids=list(dict.fromkeys([owner, aggregator_id])))
        dataset = client.add_dataset(
            DatasetSpec(
                name=f"Breast cancer ({owner}, substrafl)",
                data_opener=files.opener,
                description=files.description,
                permissions=permissions,
                logs_permission=permissions,
            )
        )
        samples = [
            client.add_data_sample(DataSampleSpec(path=folder, data_manager_keys=[dataset]), local=True)
            for folder in (train, test)
        ]
        registered.append(DataOrganization(owner, dataset, *samples))
    return registered


def build_experiment(data_orgs: list[DataOrganization], aggregator_id: str):
    """The strategy and substrafl's nodes: FedAvg of `algo`, an evaluation on every data
    organization's test sample after every round."""
    strategy = FedAvg(algo=algo.NumpyLogisticRegression(), metric_functions={"accuracy": algo.accuracy})
    train_nodes = [TrainDataNode(org.organization_id, org.dataset, [org.train_sample]) for org in data_orgs]
    test_nodes = [TestDataNode(org.organization_id, org.dataset, [org.test_sample]) for org in data_orgs]
    evaluation = EvaluationStrategy(test_data_nodes=test_nodes, eval_frequency=1)
    return strategy, train_nodes, AggregationNode(aggregator_id), evaluation


def run_experiment(
    client: substra.Client,
    data_orgs: list[DataOrganization],
    aggregator_id: str,
    experiment_folder: Path,
    rounds: int = 3,
    *,
    timeout: float = 600,
) -> dict:
    """Submit the experiment with `client` (the aggregator's) and wait for its plan: seconds from
    submission (which includes registering substrafl's functions) to the plan's end, the plan's
    status and task count, and {(organization id, round): accuracy}."""
    strategy, train_nodes, aggregation_node, evaluation = build_experiment(data_orgs, aggregator_id)
    started = time.monotonic()
    plan = execute_experiment(
        client=client,
        strategy=strategy,
        train_data_nodes=train_nodes,
        aggregation_node=aggregation_node,
        evaluation_strategy=evaluation,
        experiment_folder=Path(experiment_folder),
        num_rounds=rounds,
        # substrafl installs its own release from the package index in each image; the same numpy
        # as here, so every backend computes the same figures.
        dependencies=Dependency(pypi_dependencies=[f"numpy=={numpy.__version__}"]),
        clean_models=True,
        name="substrafl FedAvg",
    )
    plan = client.wait_compute_plan(plan.key, timeout=timeout, polling_period=0.5)
    seconds = time.monotonic() - started
    return {
        "seconds": seconds,
        "status": str(getattr(plan.status, "value", plan.status)),
        "tasks": plan.task_count,
        "plan_key": plan.key,
        "accuracies": accuracies(client, plan.key),
    }


def accuracies(client: substra.Client, plan_key: str) -> dict[tuple[str, int], float]:
    performances = client.get_performances(plan_key)
    return {
        (worker, round_idx): value
        for worker, round_idx, identifier, value in zip(
            performances.worker,
            performances.round_idx,
            performances.identifier,
            performances.performance,
            strict=True,
        )
        if identifier == "accuracy"
    }
