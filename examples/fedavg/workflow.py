"""Federated averaging on the breast-cancer data set with the substra SDK, against any Client.

    files = prepare_files(root, data_orgs=2)
    assets = register_assets(clients, ["org1", "org2"], "aggregator", files)
    plan_key = submit_plan(clients["aggregator"], assets, rounds=10)
    clients["aggregator"].wait_compute_plan(plan_key)
    accuracies(clients["aggregator"], plan_key)      # {(org, round): accuracy}

`clients` maps a label to a Client logged in to that organization. Labels are usually the
organizations' ids; the ids the tasks use (workers, permissions) are always the ones the clients
report with `organization_info()`, so one client may also stand for several labels (in the SDK's
local modes, say): its organization then plays all those parts.

Rounds are numbered from 1: round r trains from the shared model of round r - 1 (zeros for r = 1),
aggregates, and evaluates the new shared model on each data organization's test sample.
"""

import contextlib
import dataclasses
import shutil
import time
import uuid
import zipfile
from pathlib import Path

import numpy as np
import substra
from sklearn.datasets import load_breast_cancer
from substra.sdk.schemas import (
    AssetKind,
    ComputePlanSpec,
    ComputePlanTaskSpec,
    ComputeTaskOutputSpec,
    DataSampleSpec,
    DatasetSpec,
    FunctionInputSpec,
    FunctionOutputSpec,
    FunctionSpec,
    InputRef,
    Permissions,
)

from examples.fedavg import fedavg
from examples.fedavg.opener import BreastCancerOpener

HERE = Path(__file__).parent
FUNCTIONS = ("train", "aggregate", "evaluate")
SEED = 42
TEST_FRACTION = 0.25
BASE_IMAGE = "python:3.11-slim"
REQUIREMENTS = "substratools==1.0.0 numpy==2.4.6"

DOCKERFILE = """FROM {base_image}
RUN pip install {requirements}
WORKDIR /function
COPY fedavg.py .
{environment}ENTRYPOINT ["python3", "fedavg.py", "--function-name", "{name}"]
"""

FUNCTION_DESCRIPTION = """# FedAvg: {name}

Federated averaging of a logistic regression in plain numpy (see `fedavg.py`: a model is an `.npz`
file with `coef`, `intercept` and `n_samples`).

- `train`: {epochs} epochs of full-batch gradient descent (learning rate {learning_rate}) from the
  shared model, or from zeros without one;
- `aggregate`: average of the local models weighted by their number of training rows;
- `evaluate`: accuracy of the shared model on the test data samples.
"""


@dataclasses.dataclass(frozen=True)
class FedAvgFiles:
    """What `prepare_files` wrote. Index i of the sample lists is the i-th data organization."""

    root: Path
    opener: Path
    description: Path
    archives: dict[str, Path]  # "train", "aggregate", "evaluate" -> zip archive
    function_descriptions: dict[str, Path]
    train_samples: list[Path]  # data sample folders
    test_samples: list[Path]


@dataclasses.dataclass(frozen=True)
class FedAvgAssets:
    """Keys of the registered assets. Labels are the keys of the `clients` given to `register_assets`."""

    aggregator: str  # label
    data_orgs: list[str]  # labels, in the order of the files' samples
    organization_ids: dict[str, str]  # label -> organization id reported by its client
    datasets: dict[str, str]  # data org label -> dataset key
    train_samples: dict[str, str]  # data org label -> data sample key
    test_samples: dict[str, str]
    functions: dict[str, str]  # "train", "aggregate", "evaluate" -> function key

    def worker(self, label: str) -> str:
        return self.organization_ids[label]


# Files


def split_data(data_orgs: int = 2, *, seed: int = SEED, test_fraction: float = TEST_FRACTION):
    """Per data organization, ((x_train, y_train), (x_test, y_test)).

    The rows are split per label, with a fixed seed, into a pooled train part and a pooled test part,
    which are then dealt out evenly between the organizations. The features are standardized with
    the mean and standard deviation of the pooled train part: no statistic of the test rows is used.
    (A real federation would compute these two statistics with a federated mean, which gives the
    same figures.)
    """
    if data_orgs < 1:
        raise ValueError("at least one data organization is needed")
    x, y = load_breast_cancer(return_X_y=True)
    rng = np.random.default_rng(seed)
    train_parts = [[] for _ in range(data_orgs)]
    test_parts = [[] for _ in range(data_orgs)]
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        n_test = round(len(rows) * test_fraction)
        for org, chunk in enumerate(np.array_split(rows[:n_test], data_orgs)):
            test_parts[org].append(chunk)
        for org, chunk in enumerate(np.array_split(rows[n_test:], data_orgs)):
            train_parts[org].append(chunk)
    train_rows = [rng.permutation(np.concatenate(parts)) for parts in train_parts]
    test_rows = [rng.permutation(np.concatenate(parts)) for parts in test_parts]
    pooled_train = x[np.concatenate(train_rows)]
    mean, std = pooled_train.mean(axis=0), pooled_train.std(axis=0)
    return [
        (((x[train] - mean) / std, y[train]), ((x[test] - mean) / std, y[test]))
        for train, test in zip(train_rows, test_rows, strict=True)
    ]


def _write_sample(folder: Path, x: np.ndarray, y: np.ndarray) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", y)
    return folder


def _write_zip(path: Path, members: dict[str, bytes]) -> Path:
    """A zip whose bytes depend on its members only (fixed dates), so that the archive's checksum,
    hence the docker image the SDK's local docker mode tags with it, is the same from run to run."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return path


def dockerfile(
    name: str, *, base_image: str = BASE_IMAGE, requirements: str = REQUIREMENTS, train_pause: float = 0.0
) -> str:
    environment = f"ENV FEDAVG_TRAIN_PAUSE_SECONDS={train_pause!r}\n" if train_pause else ""
    return DOCKERFILE.format(base_image=base_image, requirements=requirements, name=name, environment=environment)


def prepare_files(root: Path, data_orgs: int = 2, *, seed: int = SEED, train_pause: float = 0.0) -> FedAvgFiles:
    """Write under `root` one train and one test sample folder per data organization, the opener and
    its description, and one zip archive (Dockerfile + fedavg.py) per function. `train_pause`
    seconds are added to each train task (fedavg.py's FEDAVG_TRAIN_PAUSE_SECONDS)."""
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    train_samples, test_samples = [], []
    for org, ((x_train, y_train), (x_test, y_test)) in enumerate(split_data(data_orgs, seed=seed)):
        train_samples.append(_write_sample(root / "data" / f"org{org + 1}" / "train", x_train, y_train))
        test_samples.append(_write_sample(root / "data" / f"org{org + 1}" / "test", x_test, y_test))

    dataset_dir = root / "dataset"
    dataset_dir.mkdir(exist_ok=True)
    opener = Path(shutil.copyfile(HERE / "opener.py", dataset_dir / "opener.py"))
    description = Path(shutil.copyfile(HERE / "description.md", dataset_dir / "description.md"))

    functions_dir = root / "functions"
    functions_dir.mkdir(exist_ok=True)
    source = (HERE / "fedavg.py").read_bytes()
    archives, descriptions = {}, {}
    for name in FUNCTIONS:
        archives[name] = _write_zip(
            functions_dir / f"{name}.zip",
            {"Dockerfile": dockerfile(name, train_pause=train_pause).encode(), "fedavg.py": source},
        )
        descriptions[name] = functions_dir / f"{name}.md"
        descriptions[name].write_text(
            FUNCTION_DESCRIPTION.format(name=name, epochs=fedavg.EPOCHS, learning_rate=fedavg.LEARNING_RATE)
        )
    return FedAvgFiles(
        root=root,
        opener=opener,
        description=description,
        archives=archives,
        function_descriptions=descriptions,
        train_samples=train_samples,
        test_samples=test_samples,
    )


# Registration


def _private(*organization_ids: str) -> Permissions:
    return Permissions(public=False, authorized_ids=list(dict.fromkeys(organization_ids)))


def _function_specs(files: FedAvgFiles, permissions: Permissions) -> dict[str, FunctionSpec]:
    def model(identifier, *, multiple=False, optional=False):
        return FunctionInputSpec(identifier=identifier, kind=AssetKind.model, multiple=multiple, optional=optional)

    opener = FunctionInputSpec(identifier="opener", kind=AssetKind.data_manager, multiple=False, optional=False)
    datasamples = FunctionInputSpec(identifier="datasamples", kind=AssetKind.data_sample, multiple=True, optional=False)
    inputs = {
        "train": [opener, datasamples, model("shared", optional=True)],
        "aggregate": [model("models", multiple=True)],
        "evaluate": [opener, datasamples, model("shared")],
    }
    outputs = {
        "train": FunctionOutputSpec(identifier="local", kind=AssetKind.model, multiple=False),
        "aggregate": FunctionOutputSpec(identifier="shared", kind=AssetKind.model, multiple=False),
        "evaluate": FunctionOutputSpec(identifier="performance", kind=AssetKind.performance, multiple=False),
    }
    return {
        name: FunctionSpec(
            name=f"FedAvg {name}",
            description=files.function_descriptions[name],
            file=files.archives[name],
            permissions=permissions,
            inputs=inputs[name],
            outputs=[outputs[name]],
        )
        for name in FUNCTIONS
    }


def register_assets(
    clients: dict[str, substra.Client], data_orgs: list[str], aggregator: str, files: FedAvgFiles
) -> FedAvgAssets:
    """Register, with each data organization's client, its dataset and its train and test samples
    (the i-th label of `data_orgs` gets the i-th sample folders of `files`), and, with the
    aggregator's client, the three functions.

    Permissions: the functions can be processed by every organization of the federation; a dataset
    by its owner and the aggregator (who submits the plan and reads the logs of failed tasks).
    Data samples follow their dataset's permissions in the substra 1.0 model.
    """
    if len(data_orgs) != len(files.train_samples):
        raise ValueError(f"{len(data_orgs)} data organizations for {len(files.train_samples)} prepared samples")
    labels = [aggregator, *data_orgs]
    missing = [label for label in labels if label not in clients]
    if missing:
        raise ValueError(f"no client for {missing}")

    organization_ids: dict[str, str] = {}
    ids_by_client: dict[int, str] = {}
    for label in labels:
        client = clients[label]
        if id(client) not in ids_by_client:
            ids_by_client[id(client)] = client.organization_info().organization_id
        organization_ids[label] = ids_by_client[id(client)]
    everyone = _private(*(organization_ids[label] for label in labels))

    datasets, train_samples, test_samples = {}, {}, {}
    for label, train_folder, test_folder in zip(data_orgs, files.train_samples, files.test_samples, strict=True):
        client = clients[label]
        dataset_permissions = _private(organization_ids[label], organization_ids[aggregator])
        datasets[label] = client.add_dataset(
            DatasetSpec(
                name=f"Breast cancer ({label})",
                data_opener=files.opener,
                description=files.description,
                permissions=dataset_permissions,
                logs_permission=dataset_permissions,
            )
        )
        train_samples[label] = client.add_data_sample(
            DataSampleSpec(path=train_folder, data_manager_keys=[datasets[label]]), local=True
        )
        test_samples[label] = client.add_data_sample(
            DataSampleSpec(path=test_folder, data_manager_keys=[datasets[label]]), local=True
        )

    functions = {
        name: clients[aggregator].add_function(spec) for name, spec in _function_specs(files, everyone).items()
    }
    return FedAvgAssets(
        aggregator=aggregator,
        data_orgs=list(data_orgs),
        organization_ids=organization_ids,
        datasets=datasets,
        train_samples=train_samples,
        test_samples=test_samples,
        functions=functions,
    )


# The compute plan


def _output_of(task_id: str, output: str, *, identifier: str) -> InputRef:
    return InputRef(identifier=identifier, parent_task_key=task_id, parent_task_output_identifier=output)


def fedavg_tasks(assets: FedAvgAssets, rounds: int) -> list[ComputePlanTaskSpec]:
    """The tasks of `rounds` rounds, in dependency order: per round, one train per data organization,
    one aggregate, one evaluate per data organization; (2 * data orgs + 1) * rounds tasks.

    Output permissions: a local model can be processed by its data organization and the aggregator;
    a shared model by the aggregator and every data organization; performances are public (the SDK
    requires it). Every task has metadata `round_idx` (str of the round, from 1) and, for per-organization
    tasks, `organization` (the label), which `accuracies` reads.
    """
    if rounds < 1:
        raise ValueError("at least one round is needed")
    aggregator = assets.worker(assets.aggregator)
    shared_permissions = _private(aggregator, *(assets.worker(org) for org in assets.data_orgs))
    tasks: list[ComputePlanTaskSpec] = []
    shared_task: str | None = None
    for r in range(1, rounds + 1):
        local_tasks = []
        for org in assets.data_orgs:
            inputs = [
                InputRef(identifier="opener", asset_key=assets.datasets[org]),
                InputRef(identifier="datasamples", asset_key=assets.train_samples[org]),
            ]
            if shared_task is not None:
                inputs.append(_output_of(shared_task, "shared", identifier="shared"))
            task_id = str(uuid.uuid4())
            local_tasks.append(task_id)
            tasks.append(
                ComputePlanTaskSpec(
                    task_id=task_id,
                    function_key=assets.functions["train"],
                    worker=assets.worker(org),
                    inputs=inputs,
                    outputs={"local": ComputeTaskOutputSpec(permissions=_private(assets.worker(org), aggregator))},
                    metadata={"round_idx": str(r), "organization": org},
                )
            )
        shared_task = str(uuid.uuid4())
        tasks.append(
            ComputePlanTaskSpec(
                task_id=shared_task,
                function_key=assets.functions["aggregate"],
                worker=aggregator,
                inputs=[_output_of(task, "local", identifier="models") for task in local_tasks],
                outputs={"shared": ComputeTaskOutputSpec(permissions=shared_permissions)},
                metadata={"round_idx": str(r)},
            )
        )
        for org in assets.data_orgs:
            tasks.append(
                ComputePlanTaskSpec(
                    task_id=str(uuid.uuid4()),
                    function_key=assets.functions["evaluate"],
                    worker=assets.worker(org),
                    inputs=[
                        InputRef(identifier="opener", asset_key=assets.datasets[org]),
                        InputRef(identifier="datasamples", asset_key=assets.test_samples[org]),
                        _output_of(shared_task, "shared", identifier="shared"),
                    ],
                    outputs={
                        "performance": ComputeTaskOutputSpec(permissions=Permissions(public=True, authorized_ids=[]))
                    },
                    metadata={"round_idx": str(r), "organization": org},
                )
            )
    return tasks


def submit_plan(client: substra.Client, assets: FedAvgAssets, rounds: int, name: str = "fedavg") -> str:
    """Register the compute plan of `rounds` rounds with its tasks; returns its key."""
    spec = ComputePlanSpec(
        name=name, tasks=fedavg_tasks(assets, rounds), metadata={"rounds": str(rounds), "example": "fedavg"}
    )
    return client.add_compute_plan(spec).key


def accuracies(client: substra.Client, plan_key: str) -> dict[tuple[str, int], float]:
    """{(data organization label, round): accuracy} of the plan's done evaluate tasks.

    The label is the task's `organization` metadata (see `fedavg_tasks`), or its worker for a task
    without one. One `list_task` call maps the performances' task keys to those labels.
    """
    performances = client.get_performances(plan_key)
    labels = {
        task.key: task.metadata.get("organization", task.worker)
        for task in client.list_task(filters={"compute_plan_key": [plan_key]})
    }
    return {
        (labels.get(task_key, worker), round_idx): float(value)
        for task_key, worker, round_idx, value in zip(
            performances.task_key, performances.worker, performances.round_idx, performances.performance, strict=True
        )
    }


def pooled_accuracy(files: FedAvgFiles, assets: FedAvgAssets, scores: dict[tuple[str, int], float], r: int) -> float:
    """The accuracy of round r's shared model on the pooled test data: the organizations'
    accuracies weighted by their number of test rows."""
    sizes = [len(np.load(folder / "y.npy")) for folder in files.test_samples]
    return sum(n * scores[(org, r)] for org, n in zip(assets.data_orgs, sizes, strict=True)) / sum(sizes)


# Baseline and runs


def centralized_baseline(files: FedAvgFiles, rounds: int = 10, *, epochs: int = fedavg.EPOCHS) -> float:
    """The same logistic regression, trained in this process on the pooled train samples for the same
    total number of epochs (rounds x epochs, same learning rate); its accuracy on the pooled test samples."""
    opener = BreastCancerOpener()
    train = opener.get_data([str(folder) for folder in files.train_samples])
    test = opener.get_data([str(folder) for folder in files.test_samples])
    model = fedavg.fit(fedavg.zeros(train["x"].shape[1]), train["x"], train["y"], epochs=rounds * epochs)
    return fedavg.accuracy(model, test["x"], test["y"])


def run(
    clients: dict[str, substra.Client],
    data_orgs: list[str],
    aggregator: str,
    files: FedAvgFiles,
    rounds: int = 10,
    *,
    name: str = "fedavg",
    timeout: float | None = None,
    polling_period: float = 0.5,
) -> dict:
    """Register the assets, submit the plan with the aggregator's client and wait for it.

    Returns {"seconds": submit -> done wall time, "accuracy": the last round's accuracy on the pooled
    test data, "tasks": number of tasks, "plan_key", "accuracies": {(org, round): accuracy},
    "mean_accuracy": plain mean of the last round's per-organization accuracies, "baseline": the
    centralized baseline's accuracy for as many epochs, "status": the plan's final status}.
    """
    assets = register_assets(clients, data_orgs, aggregator, files)
    client = clients[aggregator]
    start = time.perf_counter()
    plan_key = submit_plan(client, assets, rounds, name=name)
    plan = client.wait_compute_plan(plan_key, timeout=timeout, polling_period=polling_period)
    seconds = time.perf_counter() - start
    scores = accuracies(client, plan_key)
    last = [scores[(org, rounds)] for org in data_orgs]
    return {
        "seconds": seconds,
        "accuracy": pooled_accuracy(files, assets, scores, rounds),
        "mean_accuracy": sum(last) / len(last),
        "baseline": centralized_baseline(files, rounds),
        "tasks": plan.task_count,
        "status": str(getattr(plan.status, "value", plan.status)),
        "plan_key": plan_key,
        "accuracies": scores,
    }


def local_clients(mode: str, count: int, workdir: Path) -> dict[str, substra.Client]:
    """`count` clients of the SDK's local backend, keyed by the organization id each reports.

    The local backends share one in-memory database, each being a new organization (MyOrg<n>MSP,
    n counted per process). Each keeps its files in `local-worker/` under the current directory when
    it is made, hence the temporary change of directory to `workdir`.
    """
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    with contextlib.chdir(workdir):
        made = [substra.Client(backend_type=mode) for _ in range(count)]
    return {client.organization_info().organization_id: client for client in made}


def run_local(mode: str, root: Path, rounds: int = 10, *, data_orgs: int = 2) -> dict:
    """The whole plan with the SDK's own local backend, mode "subprocess" or "docker": one client
    per organization (an aggregator and `data_orgs` data organizations). See `run` for the result."""
    if mode not in ("subprocess", "docker"):
        raise ValueError(f"unknown local mode {mode!r}")
    root = Path(root).resolve()
    files = prepare_files(root / "files", data_orgs)
    clients = local_clients(mode, data_orgs + 1, root)
    aggregator, *data = clients
    return run(clients, data, aggregator, files, rounds, polling_period=0.1)


if __name__ == "__main__":
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description="Run the FedAvg example with the SDK's local backend.")
    parser.add_argument("--mode", default="subprocess", choices=["subprocess", "docker"])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--data-orgs", type=int, default=2)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fedavg-") as tmp:
        result = run_local(arguments.mode, Path(tmp), arguments.rounds, data_orgs=arguments.data_orgs)
    print(
        f"{arguments.mode}: {result['tasks']} tasks in {result['seconds']:.1f} s, "
        f"accuracy {result['accuracy']:.4f} (centralized {result['baseline']:.4f})"
    )
