"""substrafl benchmark (not `substrafl.py`: the script's folder comes first on sys.path and would
shadow substrafl): the same substrafl experiment on our network and on substrafl's own local
modes (the substra SDK's local docker and subprocess backends), in one run.

    .venv/bin/python benchmarks/substrafl_fedavg.py [--rounds 10] [--skip-sdk-docker | --only-sdk-docker]

The experiment is examples/substrafl_fedavg: substrafl's FedAvg of a numpy logistic regression on
the breast-cancer data of examples/fedavg, 2 data organizations and an aggregator, an evaluation
on each data organization's test sample after every round (round 0 included), submitted with
`execute_experiment`. Each backend runs it twice with the same clients and datasets; the second
run is timed (the first builds the images: substrafl's archives change with every submission, as
its cloudpickled functions do, so the second run's builds hit Docker's layer cache up to substrafl's
`pip install` and redo only the last layers — on every backend alike). Seconds are from the
`execute_experiment` call (which registers substrafl's functions and the plan) to the SDK seeing
the plan done (polling every 0.5 s on the network; the SDK's local modes run the plan inside the
call).

- `network_docker_s`: a three-organization devnet (SQLite, files, `executor="docker"`, after
  `scripts/ensure-docker`).
- `sdk_docker_s`, `sdk_subprocess_s`: substrafl on `substra.Client(backend_type="docker" |
  "subprocess")`, one client per organization.

Progress goes to stderr; the last stdout line is one JSON object, which also says whether every
backend computed the same accuracies. Targets, FedAvg's (docs/compute.md): network_docker_s at
most 0.3 times sdk_docker_s, and below sdk_subprocess_s. Figures: docs/compute.md, "substrafl".
"""

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import substra  # noqa: E402

from devnet import network  # noqa: E402
from examples.fedavg import workflow  # noqa: E402
from examples.substrafl_fedavg import experiment  # noqa: E402

TARGETS = {"ratio_to_sdk_docker": 0.3, "ratio_to_sdk_subprocess": 1.0}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def twice(folder: Path, clients: dict[str, substra.Client], aggregator: str, data_orgs: list[str], rounds: int):
    """The experiment twice on the same datasets: (first run, second run)."""
    files = workflow.prepare_files(folder / "files", data_orgs=len(data_orgs))
    with contextlib.chdir(folder):  # substrafl writes its temporary files under the current directory
        registered = experiment.register_datasets(clients, data_orgs, aggregator, files)
        runs = [
            experiment.run_experiment(clients[aggregator], registered, aggregator, folder / f"run{i}", rounds)
            for i in (1, 2)
        ]
    ids = [org.organization_id for org in registered]
    for run in runs:
        if run["status"] != "PLAN_STATUS_DONE":
            raise RuntimeError(f"plan {run['plan_key']} ended {run['status']}")
        run["by_position"] = {(ids.index(org), r): value for (org, r), value in run["accuracies"].items()}
    return runs


def local_mode(mode: str, root: Path, rounds: int):
    folder = root / f"sdk-{mode}"
    clients = workflow.local_clients(mode, 3, folder)
    aggregator, *data = clients
    log(f"substrafl on the SDK's local {mode} mode")
    # substrafl's images run as uid 1001, and the SDK's docker mode mounts output folders that it
    # creates as the current user: as root (here), 0755 folders that uid 1001 cannot write into.
    umask = os.umask(0) if mode == "docker" else None
    try:
        return twice(folder, clients, aggregator, data, rounds)
    finally:
        if umask is not None:
            os.umask(umask)


def network_docker(root: Path, rounds: int):
    subprocess.run([str(REPO / "scripts" / "ensure-docker")], check=True, capture_output=True)
    state = root / "devnet"
    log("starting a three-organization devnet (docker executor)")
    started = network.up(state, orgs=3, executor="docker", timeout=240)
    try:
        clients = {}
        for org in started["orgs"]:
            clients[org["org_id"]] = substra.Client(url=org["url"], backend_type="remote")
            clients[org["org_id"]].login(org["username"], org["password"])
        aggregator, *data = sorted(clients)
        log("substrafl on our network")
        return twice(root / "network", clients, aggregator, data, rounds)
    finally:
        network.down(state)


def summary(name: str, runs) -> dict:
    first, second = runs
    return {
        f"{name}_s": round(second["seconds"], 2),
        f"{name}_first_run_s": round(first["seconds"], 2),
        f"{name}_tasks": second["tasks"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--skip-sdk-docker", action="store_true", help="only the SDK's subprocess mode")
    parser.add_argument("--only-sdk-docker", action="store_true", help="only the SDK's docker mode (a check)")
    args = parser.parse_args()
    results, accuracies = {"rounds": args.rounds}, {}
    with tempfile.TemporaryDirectory(prefix="bench-substrafl-") as tmp:
        root = Path(tmp)
        backends = [
            ("sdk_subprocess", lambda: local_mode("subprocess", root, args.rounds)),
            ("sdk_docker", lambda: local_mode("docker", root, args.rounds)),
            ("network_docker", lambda: network_docker(root, args.rounds)),
        ]
        if args.skip_sdk_docker:
            backends = [backend for backend in backends if backend[0] != "sdk_docker"]
        if args.only_sdk_docker:
            backends = [backend for backend in backends if backend[0] == "sdk_docker"]
        for name, run in backends:
            try:
                runs = run()
            except Exception as error:  # one backend failing leaves the others' figures
                log(f"{name} failed: {error}")
                results[f"{name}_error"] = str(error)[:300]
                continue
            results.update(summary(name, runs))
            accuracies[name] = runs[1]["by_position"]
            log(f"{name}: {runs[1]['seconds']:.1f} s (first run {runs[0]['seconds']:.1f} s)")
    if "sdk_subprocess" not in accuracies or "network_docker" not in accuracies:  # a partial run
        print(json.dumps(results))
        raise SystemExit(1)
    reference = accuracies["sdk_subprocess"]
    results["same_accuracies"] = all(acc == reference for acc in accuracies.values())
    last = [value for (org, r), value in reference.items() if r == args.rounds]
    results["final_accuracy_mean"] = round(sum(last) / len(last), 4)
    if "sdk_docker_s" in results and "network_docker_s" in results:
        results["ratio_to_sdk_docker"] = round(results["network_docker_s"] / results["sdk_docker_s"], 3)
    results["ratio_to_sdk_subprocess"] = round(results["network_docker_s"] / results["sdk_subprocess_s"], 3)
    results["targets"] = TARGETS
    print(json.dumps(results))


if __name__ == "__main__":
    main()
