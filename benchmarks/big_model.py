"""Models of gigabytes: a task's model of `--gib` GiB (4 by default) travels from a data organization
to the aggregator and back on a two-organization devnet, and every process's resident memory is
sampled all along.

    .venv/bin/python benchmarks/big_model.py [--gib 4] [--state-dir DIR]

A plan of three tasks, each function a few lines of substratools (`FUNCTION` below):

1. `produce` on MyOrg2MSP (the data organization) writes the model: 1 MiB blocks of fixed random
   bytes, each stamped with its index, so a block lost, repeated or moved changes the SHA-256;
2. `relay` on MyOrg1MSP (the aggregator) gets it (from MyOrg2MSP's backend with its peer
   credentials and the permission check, checksum checked, into its asset cache), checks its
   SHA-256 against the expected one, and writes it again as its own model;
3. `check` on MyOrg2MSP gets that model back the same way and saves performance 1.0 only if its
   SHA-256 is the expected one.

Figures, from the tasks' `durations` as the backends serve them: a leg is the producer's
`save_outputs` (the model streamed into storage, hashed) plus the consumer's `prepare_inputs`
(the peer download, its checksum, the cache); `legs_mb_per_s` = 2 x size / the two legs. Peak RSS
(MiB) of every process of the network (orchestrator, each organization's backend and its gunicorn
workers, consumer, Celery worker and its pool, the functions run as plain processes), sampled from
/proc every 0.2 s. The devnet runs its functions as subprocesses (`executor="subprocess"`): the
path of a model (storage, peer transfer, checksum, cache) is the same as with Docker, where the
cache entry is mounted read-only instead. Progress goes to stderr; the last stdout line is JSON.
Targets (issue 14): every process under 300 MiB, at least 200 MB/s.
"""

import argparse
import contextlib
import hashlib
import io
import json
import os
import sys
import tarfile
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import substra  # noqa: E402
from substra.sdk.schemas import (  # noqa: E402
    AssetKind,
    ComputePlanSpec,
    ComputePlanTaskSpec,
    ComputeTaskOutputSpec,
    FunctionInputSpec,
    FunctionOutputSpec,
    FunctionSpec,
    InputRef,
    Permissions,
)

from devnet import network  # noqa: E402

AGGREGATOR, DATA_ORG = "MyOrg1MSP", "MyOrg2MSP"
BLOCK = 1024 * 1024
TARGETS = {"peak_rss_mib": 300, "legs_mb_per_s": 200}

FUNCTION = """
import hashlib
import shutil

import substratools as tools

BLOCKS = {blocks}
EXPECTED = "{expected}"


def block(index):
    seed = hashlib.sha256(str(index % 64).encode()).digest() * 32768
    return index.to_bytes(8, "big") + seed[8:]


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


@tools.register
def produce(inputs, outputs, task_properties):
    with open(outputs["model"], "wb") as file:
        for index in range(BLOCKS):
            file.write(block(index))


@tools.register
def relay(inputs, outputs, task_properties):
    if sha256_of(inputs["model"]) != EXPECTED:
        raise ValueError("the model arrived altered")
    shutil.copyfile(inputs["model"], outputs["model"])


@tools.register
def check(inputs, outputs, task_properties):
    tools.save_performance(1.0 if sha256_of(inputs["model"]) == EXPECTED else 0.0, outputs["performance"])


if __name__ == "__main__":
    tools.execute()
"""
# A relative entrypoint: the subprocess executor runs it in the unpacked archive.
DOCKERFILE = (
    "FROM python:3.11-slim\nWORKDIR /function\nCOPY big.py .\n"
    'ENTRYPOINT ["python3", "big.py", "--function-name", "{name}"]\n'
)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def block(index: int) -> bytes:
    """The producer's block `index` (the same code as in FUNCTION)."""
    seed = hashlib.sha256(str(index % 64).encode()).digest() * 32768
    return index.to_bytes(8, "big") + seed[8:]


def expected_sha256(blocks: int) -> str:
    digest = hashlib.sha256()
    for index in range(blocks):
        digest.update(block(index))
    return digest.hexdigest()


def archive(folder: Path, name: str, source: str) -> Path:
    path = folder / f"{name}.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for member, content in (("Dockerfile", DOCKERFILE.format(name=name)), ("big.py", source)):
            data = content.encode()
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def register_functions(client: substra.Client, folder: Path, source: str) -> dict[str, str]:
    (folder / "description.md").write_text("# big model\n")
    model_in = FunctionInputSpec(identifier="model", kind=AssetKind.model, multiple=False, optional=False)
    model_out = FunctionOutputSpec(identifier="model", kind=AssetKind.model, multiple=False)
    performance = FunctionOutputSpec(identifier="performance", kind=AssetKind.performance, multiple=False)
    shapes = {"produce": ([], model_out), "relay": ([model_in], model_out), "check": ([model_in], performance)}
    return {
        name: client.add_function(
            FunctionSpec(
                name=f"big model {name}",
                description=folder / "description.md",
                file=archive(folder, name, source),
                permissions=Permissions(public=True, authorized_ids=[]),
                inputs=inputs,
                outputs=[output],
            )
        )
        for name, (inputs, output) in shapes.items()
    }


def plan_tasks(functions: dict[str, str]) -> list[ComputePlanTaskSpec]:
    both = Permissions(public=False, authorized_ids=[AGGREGATOR, DATA_ORG])
    ids = {name: str(uuid.uuid4()) for name in ("produce", "relay", "check")}

    def task(name, worker, parent, output):
        inputs = (
            []
            if parent is None
            else [InputRef(identifier="model", parent_task_key=ids[parent], parent_task_output_identifier="model")]
        )
        return ComputePlanTaskSpec(
            task_id=ids[name],
            function_key=functions[name],
            worker=worker,
            inputs=inputs,
            outputs={
                output: ComputeTaskOutputSpec(
                    permissions=Permissions(public=True, authorized_ids=[]) if output == "performance" else both
                )
            },
        )

    return [
        task("produce", DATA_ORG, None, "model"),
        task("relay", AGGREGATOR, "produce", "model"),
        task("check", DATA_ORG, "relay", "performance"),
    ]


class RssSampler:
    """Peak VmRSS (bytes) of every descendant of `roots`, by process name, sampled every 0.2 s."""

    def __init__(self, roots: dict[int, str]):
        self.roots = roots
        self.peaks: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self):
        while not self._stop.wait(0.2):
            for pid, name in self._processes().items():
                rss = _rss(pid)
                if rss is not None:
                    self.peaks[name] = max(self.peaks.get(name, 0), rss)

    def _processes(self) -> dict[int, str]:
        parents = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    stat = Path(f"/proc/{entry}/stat").read_text()
                    parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
        named = dict(self.roots)
        changed = True
        while changed:
            changed = False
            for pid, parent in parents.items():
                if pid not in named and parent in named:
                    named[pid] = _child_name(named[parent], pid)
                    changed = True
        return named


def _child_name(parent: str, pid: int) -> str:
    with contextlib.suppress(OSError):
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if b"--function-name" in cmdline:
            return f"{parent.split(' ')[0]} function {cmdline[cmdline.index(b'--function-name') + 1].decode()}"
    return f"{parent.split(' ')[0]} child"


def _rss(pid: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return None


def run(state: Path, gib: float) -> dict:
    blocks = int(gib * 1024)
    size = blocks * BLOCK
    log(f"expected SHA-256 of {size} bytes")
    expected = expected_sha256(blocks)
    source = FUNCTION.format(blocks=blocks, expected=expected)
    log("starting a two-organization devnet (subprocess executor)")
    started = network.up(state / "devnet", orgs=2, executor="subprocess", timeout=240)
    try:
        clients = {}
        for org in started["orgs"]:
            clients[org["org_id"]] = substra.Client(url=org["url"], backend_type="remote")
            clients[org["org_id"]].login(org["username"], org["password"])
        records = json.loads((state / "devnet" / "processes.json").read_text())["processes"]
        roots = {entry["pid"]: entry["name"] for entry in records}
        functions = register_functions(clients[AGGREGATOR], state, source)
        with RssSampler(roots) as sampler:
            start = time.monotonic()
            key = (
                clients[AGGREGATOR].add_compute_plan(ComputePlanSpec(name="big model", tasks=plan_tasks(functions))).key
            )
            plan = clients[AGGREGATOR].wait_compute_plan(key, timeout=3600, polling_period=1, raise_on_failure=False)
            wall = time.monotonic() - start
        return figures(clients, key, plan, size, wall, sampler.peaks)
    finally:
        network.down(state / "devnet")


def figures(clients, key, plan, size: int, wall: float, peaks: dict[str, int]) -> dict:
    tasks = {}
    for task in clients[AGGREGATOR].list_task(filters={"compute_plan_key": [key]}):
        served = clients[task.worker]._backend._client.get("task", task.key)
        tasks[served["function"]["name"].removeprefix("big model ")] = served
    durations = {name: task.get("durations") or {} for name, task in tasks.items()}
    legs = [
        durations["produce"].get("save_outputs", 0) + durations["relay"].get("prepare_inputs", 0),
        durations["relay"].get("save_outputs", 0) + durations["check"].get("prepare_inputs", 0),
    ]
    performance = clients[AGGREGATOR].get_performances(key).performance
    mib = {name: round(value / BLOCK, 1) for name, value in sorted(peaks.items())}
    return {
        "bytes": size,
        "status": str(getattr(plan.status, "value", plan.status)),
        "arrived_intact": performance == [1.0],
        "plan_s": round(wall, 1),
        "legs_s": [round(leg, 1) for leg in legs],
        "legs_mb_per_s": round(2 * size / 1e6 / sum(legs), 1) if all(legs) else None,
        "durations": durations,
        "peak_rss_mib": mib,
        "max_peak_rss_mib": max(mib.values()),
        "targets": TARGETS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gib", type=float, default=4.0)
    parser.add_argument("--state-dir", type=Path, help="default: a temporary folder, removed after")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        state = args.state_dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-big-model-")))
        result = run(state, args.gib)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
