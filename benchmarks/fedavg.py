"""FedAvg benchmark: the same 50-task plan on our network and on the substra SDK's local modes.

    .venv/bin/python benchmarks/fedavg.py [--rounds 10] [--skip-sdk] [--skip-subprocess] [--services]

The plan is examples/fedavg (2 data organizations + an aggregator, numpy logistic regression,
5 tasks a round: 2 trains, 1 aggregate, 2 evaluates). In one run it measures:

- `network_docker_s`: a three-organization devnet (`executor="docker"`, after
  `scripts/ensure-docker`): the assets are registered once, a first plan builds the images
  (warm-up, `network_docker_first_plan_s`), then a second plan is timed from the SDK's
  `add_compute_plan` call to the plan's `end_date` (set by the orchestrator when the last task is
  Done; same host clock). Each plan gets containers of its own: the timed plan starts one per
  (organization, image), the images being built.
- `sdk_docker_s`, `sdk_subprocess_s`: `workflow.run_local` in the SDK's local `docker` and
  `subprocess` modes, second of two runs (the first builds the SDK's images); the SDK runs the
  plan inside `add_compute_plan`, so submit -> done is exact.
- `network_subprocess_s`: the devnet again with `executor="subprocess"`, same warm-up logic.
- per task of the timed docker plan, from `GET /task/<key>/` on its worker's backend:
  overhead = (end_date - start_date) - durations["execution"] (p50, p95), the p50 of each step,
  `dispatch` = start_date - latest end_date of its parents (p50, p95: from a parent's Done to the
  child's claim, queueing behind its worker's other task included), and `claim_latency` = the same
  from max(latest parent end, end of the previous task on the same worker) (a free worker only),
  split with the workers' Celery logs into `hand_over` (-> the message received) and
  `received_to_claim`; `critical_path`: the makespan split along the chain of tasks that set it.

Progress goes to stderr; the last stdout line is one JSON object. Targets: ratio_to_sdk_docker =
network_docker_s / sdk_docker_s <= 0.5; overhead_p50_ms <= 100. `--services` runs the devnets
on PostgreSQL, Redis (the Celery broker) and S3 (scripts/ensure-services starts PostgreSQL and
Redis; SeaweedFS comes with requirements-dev.txt); without it, SQLite, files and kombu's
filesystem broker. Every network is stopped, and its plans' containers removed, on exit, on
error, on Ctrl-C and on SIGTERM. `--keep-logs DIR` keeps the devnets' logs and the timed plan's
tasks as served. Figures and analysis: docs/compute.md, "Benchmark".
"""

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import substra  # noqa: E402

from devnet import network  # noqa: E402
from examples.fedavg import workflow  # noqa: E402

ENDED = {"PLAN_STATUS_DONE", "PLAN_STATUS_FAILED", "PLAN_STATUS_CANCELED"}
STEPS = ("prepare_inputs", "image", "execution", "save_outputs")
TARGETS = {"ratio_to_sdk_docker": 0.5, "overhead_p50_ms": 100.0}
WARMUP = "second of two plans (the first builds the images); network: same network and assets"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float | None:
    """Nearest rank, as in benchmarks/backend.py."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, round(q * len(ordered)) - 1)]


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def script(name: str) -> None:
    result = subprocess.run([str(REPO / "scripts" / name)], capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"scripts/{name} failed:\n{result.stdout}{result.stderr}")


def status_of(plan) -> str:
    return str(getattr(plan.status, "value", plan.status))


def wait_plan(client: substra.Client, key: str, timeout: float, period: float):
    deadline = time.monotonic() + timeout
    while True:
        plan = client.get_compute_plan(key)
        if status_of(plan) in ENDED:
            if status_of(plan) != "PLAN_STATUS_DONE":
                raise RuntimeError(f"plan {key} ended {status_of(plan)}")
            return plan
        if time.monotonic() > deadline:
            raise RuntimeError(f"plan {key} not done after {timeout:.0f} s ({plan.done_count}/{plan.task_count})")
        time.sleep(period)


def timed_plan(client, assets, rounds: int, name: str, args, plans: list[str]) -> tuple[str, dict]:
    """Submits a plan (its key appended to `plans` at once) and waits for it:
    (key, {submit_s, seen_done_s, to_end_date_s, wall_start})."""
    wall_start = datetime.now(UTC)
    start = time.perf_counter()
    key = workflow.submit_plan(client, assets, rounds, name=name)
    plans.append(key)
    submitted = time.perf_counter() - start
    plan = wait_plan(client, key, args.timeout, args.poll)
    seen = time.perf_counter() - start
    to_end = (plan.end_date - wall_start).total_seconds() if plan.end_date else seen
    return key, {"submit_s": submitted, "seen_done_s": seen, "to_end_date_s": to_end, "wall_start": wall_start}


# Per-task figures from the workers' backends


def raw_tasks(clients: dict[str, substra.Client], aggregator: str, plan_key: str) -> list[dict]:
    """Each task of the plan as its worker's backend serves it (with its `durations`)."""
    tasks = clients[aggregator].list_task(filters={"compute_plan_key": [plan_key]})
    return [clients[task.worker]._backend._client.get("task", task.key) for task in tasks]


def _date(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


RECEIVED = re.compile(r"^(\S+ \S+) INFO celery\.worker\.strategy Task substrapp\.run_compute_task\[\S+\] received")


def received_times(state: Path, worker: str) -> list[datetime]:
    """When `worker`'s Celery worker received each run_compute_task message (its log, local time)."""
    path = state / f"{worker}-worker.log"
    if not path.exists():
        return []
    times = []
    for line in path.read_text(errors="replace").splitlines():
        match = RECEIVED.match(line)
        if match:
            times.append(datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").astimezone(UTC))
    return times


def task_figures(tasks: list[dict], received: dict[str, list[datetime]] | None = None) -> dict:
    """Per-task figures. `received`: per worker, when its Celery worker received each task
    message; it splits the claim latency into the hand-over (a parent Done -> the message at a
    free worker: event stream, consumer, broker) and the claim itself (lease, orchestrator call)."""
    received = received or {}
    by_key = {task["key"]: task for task in tasks}
    for task in tasks:
        task["_start"], task["_end"] = _date(task["start_date"]), _date(task["end_date"])
    overheads, unaccounted, dispatch, claim, hand_over, claiming = [], [], [], [], [], []
    steps = {step: [] for step in STEPS}
    by_worker: dict[str, list[dict]] = {}
    for task in tasks:
        by_worker.setdefault(task["worker"], []).append(task)
    for mine in by_worker.values():
        mine.sort(key=lambda task: task["_start"])
        for previous, task in zip([None, *mine], mine, strict=False):
            task["_previous_end"] = previous["_end"] if previous else None
    for task in tasks:
        durations = task.get("durations") or {}
        wall = (task["_end"] - task["_start"]).total_seconds()
        if "execution" in durations:
            overheads.append(wall - durations["execution"])
            unaccounted.append(wall - sum(durations.get(step, 0.0) for step in STEPS))
        for step in STEPS:
            if step in durations:
                steps[step].append(durations[step])
        parents = {item["parent_task_key"] for item in task["inputs"] if item.get("parent_task_key")}
        if parents:
            ready = max(by_key[parent]["_end"] for parent in parents)
            dispatch.append((task["_start"] - ready).total_seconds())
            free = max(ready, task["_previous_end"]) if task["_previous_end"] else ready
            claim.append((task["_start"] - free).total_seconds())
            # The message this claim answered: the last one its worker received before it (with
            # one process and acks after the run, a worker holds one message at a time).
            before = [at for at in received.get(task["worker"], []) if at <= task["_start"]]
            if before and before[-1] >= free - timedelta(milliseconds=5):
                hand_over.append((before[-1] - free).total_seconds())
                claiming.append((task["_start"] - before[-1]).total_seconds())
    return {
        "overhead_p50_ms": ms(percentile(overheads, 0.5)),
        "overhead_p95_ms": ms(percentile(overheads, 0.95)),
        "steps_p50_ms": {step: ms(percentile(values, 0.5)) for step, values in steps.items()},
        "unaccounted_p50_ms": ms(percentile(unaccounted, 0.5)),
        "task_wall_p50_ms": ms(percentile([(task["_end"] - task["_start"]).total_seconds() for task in tasks], 0.5)),
        "dispatch_p50_ms": ms(percentile(dispatch, 0.5)),
        "dispatch_p95_ms": ms(percentile(dispatch, 0.95)),
        "claim_latency_p50_ms": ms(percentile(claim, 0.5)),
        "claim_latency_p95_ms": ms(percentile(claim, 0.95)),
        "hand_over_p50_ms": ms(percentile(hand_over, 0.5)),
        "hand_over_p95_ms": ms(percentile(hand_over, 0.95)),
        "received_to_claim_p50_ms": ms(percentile(claiming, 0.5)),
        "tasks_with_durations": len(overheads),
    }


def critical_path(tasks: list[dict], submitted_at: datetime) -> dict:
    """The chain of tasks that set the plan's end, walked back from the last task to end: each
    task's start was gated by the later of its parents' ends and the end of the task its worker
    ran before it ("busy" when that task is not one of its parents: its worker ran another task
    of the plan first). Call after `task_figures` (it sets the dates). The makespan, submit ->
    last end, splits into: submit -> first claim, the chain's task walls (execution and the rest),
    and the gaps between a gating end and the next claim (hand-over, claim)."""
    if not tasks:
        return {}
    by_key = {task["key"]: task for task in tasks}
    previous_of = {}
    for task in tasks:
        mine = sorted((t for t in tasks if t["worker"] == task["worker"]), key=lambda t: t["_start"])
        index = mine.index(task)
        previous_of[task["key"]] = mine[index - 1] if index else None
    task = max(tasks, key=lambda t: t["_end"])
    chain, gaps, busy = [], [], 0
    while task is not None:
        chain.append(task)
        parents = [by_key[item["parent_task_key"]] for item in task["inputs"] if item.get("parent_task_key")]
        candidates = parents + ([previous_of[task["key"]]] if previous_of[task["key"]] else [])
        gate = max(candidates, key=lambda t: t["_end"], default=None)
        if gate is not None:
            gaps.append((task["_start"] - gate["_end"]).total_seconds())
            busy += gate not in parents
        task = gate
    chain.reverse()
    execution = sum((t.get("durations") or {}).get("execution", 0.0) for t in chain)
    walls = sum((t["_end"] - t["_start"]).total_seconds() for t in chain)
    return {
        "tasks": len(chain),
        "busy_hops": busy,
        "makespan_s": round((chain[-1]["_end"] - submitted_at).total_seconds(), 3),
        "submit_to_first_claim_s": round((chain[0]["_start"] - submitted_at).total_seconds(), 3),
        "execution_s": round(execution, 3),
        "task_overhead_s": round(walls - execution, 3),
        "gaps_s": round(sum(gaps), 3),
        "gap_p50_ms": ms(percentile(gaps, 0.5)),
    }


# The runs


def run_network(executor: str, args, files: workflow.FedAvgFiles, workdir: Path) -> dict:
    state = workdir / f"devnet-{executor}"
    log(f"devnet: 3 organizations, executor={executor}, services={args.services}")
    clients: dict[str, substra.Client] = {}
    plans: list[str] = []
    try:
        started = network.up(state, orgs=3, services=args.services, executor=executor, timeout=300)
        orgs = {org["org_id"]: org for org in started["orgs"]}
        for org_id, org in orgs.items():
            clients[org_id] = substra.Client(url=org["url"], backend_type="remote")
            clients[org_id].login(org["username"], org["password"])
        aggregator, *data_orgs = sorted(orgs)
        assets = workflow.register_assets(clients, data_orgs, aggregator, files)
        client = clients[aggregator]
        log(f"{executor}: warm-up plan (builds the images)")
        _, warmup = timed_plan(client, assets, args.rounds, f"fedavg warm-up {executor}", args, plans)
        log(f"{executor}: warm-up done in {warmup['to_end_date_s']:.1f} s; timed plan")
        key, timed = timed_plan(client, assets, args.rounds, f"fedavg timed {executor}", args, plans)
        log(f"{executor}: timed plan done in {timed['to_end_date_s']:.1f} s (seen {timed['seen_done_s']:.1f} s)")
        tasks = raw_tasks(clients, aggregator, key)
        received = {org: received_times(state, org) for org in orgs}
        scores = workflow.accuracies(client, key)
        if args.keep_logs:
            kept = Path(args.keep_logs) / f"devnet-{executor}"
            kept.mkdir(parents=True, exist_ok=True)
            for path in state.glob("*.log"):
                shutil.copy(path, kept / path.name)
            (kept / "tasks.json").write_text(json.dumps(tasks, indent=1, default=str))
        return {
            "seconds": timed["to_end_date_s"],
            "seen_done_s": timed["seen_done_s"],
            "submit_s": timed["submit_s"],
            "first_plan_s": warmup["to_end_date_s"],
            "tasks": len(tasks),
            "accuracy": workflow.pooled_accuracy(files, assets, scores, args.rounds),
            "figures": task_figures(tasks, received),
            "critical_path": critical_path(tasks, timed["wall_start"]),
        }
    finally:
        for client in clients.values():
            with contextlib.suppress(Exception):  # a plan submitted as we were interrupted
                plans += [plan.key for plan in client.list_compute_plan() if plan.key not in plans]
            with contextlib.suppress(Exception):
                client.logout()
        log(f"stopping the {executor} devnet")
        stop_network(state)
        remove_containers(plans)


def stop_network(state: Path) -> None:
    """`network.down`, not to be interrupted by a second Ctrl-C."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        network.down(state)
    finally:
        signal.signal(signal.SIGINT, previous)


def remove_containers(plans: list[str]) -> None:
    """The plans' containers: a worker removes them when it runs the plan's `end_plan`, which a
    network stopped right after the plan (or during it) may never do."""
    if not plans:
        return
    import docker

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        engine = docker.from_env()
        for key in plans:
            for container in engine.containers.list(all=True, filters={"label": f"substra.plan={key}"}):
                with contextlib.suppress(docker.errors.APIError):
                    container.remove(force=True)
    except docker.errors.DockerException as error:
        log(f"could not remove the plans' containers: {error}")
    finally:
        signal.signal(signal.SIGINT, previous)


def run_sdk(mode: str, rounds: int, workdir: Path) -> dict:
    log(f"SDK local {mode}: warm-up run")
    first = workflow.run_local(mode, workdir / f"sdk-{mode}-warmup", rounds)
    log(f"SDK local {mode}: warm-up {first['seconds']:.1f} s; timed run")
    second = workflow.run_local(mode, workdir / f"sdk-{mode}-timed", rounds)
    log(f"SDK local {mode}: {second['seconds']:.1f} s")
    return {"seconds": second["seconds"], "first_s": first["seconds"], "tasks": second["tasks"]}


def commit() -> str:
    """HEAD, with "+dirty" when tracked files differ from it (the run used the work tree)."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=REPO, capture_output=True)
    return head.stdout.strip() + ("+dirty" if dirty.returncode else "")


def _terminate(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def rounded(value, digits: int = 3):
    return None if value is None else round(value, digits)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--skip-sdk", action="store_true", help="skip the SDK's local modes")
    parser.add_argument("--skip-subprocess", action="store_true", help="skip both subprocess runs")
    parser.add_argument("--services", action="store_true", help="devnets on PostgreSQL, Redis and S3")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds for one plan to end")
    parser.add_argument("--poll", type=float, default=0.2, help="seconds between plan status polls")
    parser.add_argument("--keep-logs", metavar="DIR", help="copy the devnets' logs and task JSON there")
    args = parser.parse_args()
    # Ctrl-C and SIGTERM stop the run through the `finally`s that stop the networks, even when
    # the shell that started it in the background made it ignore SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate)
    load_before = [round(x, 2) for x in os.getloadavg()]
    log("scripts/ensure-docker")
    script("ensure-docker")
    if args.services:
        log("scripts/ensure-services")
        script("ensure-services")
    workdir = Path(tempfile.mkdtemp(prefix="bench-fedavg-"))
    try:
        files = workflow.prepare_files(workdir / "files", data_orgs=2)
        baseline = workflow.centralized_baseline(files, args.rounds)
        docker_net = run_network("docker", args, files, workdir)
        sdk_docker = sdk_subprocess = net_subprocess = None
        if not args.skip_sdk:
            sdk_docker = run_sdk("docker", args.rounds, workdir)
            if not args.skip_subprocess:
                sdk_subprocess = run_sdk("subprocess", args.rounds, workdir)
        if not args.skip_subprocess:
            net_subprocess = run_network("subprocess", args, files, workdir)
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(workdir, ignore_errors=True)
    figures = docker_net["figures"]
    ratio = docker_net["seconds"] / sdk_docker["seconds"] if sdk_docker else None
    result = {
        "network_docker_s": rounded(docker_net["seconds"]),
        "sdk_docker_s": rounded(sdk_docker and sdk_docker["seconds"]),
        "sdk_subprocess_s": rounded(sdk_subprocess and sdk_subprocess["seconds"]),
        "network_subprocess_s": rounded(net_subprocess and net_subprocess["seconds"]),
        "ratio_to_sdk_docker": rounded(ratio),
        "overhead_p50_ms": figures["overhead_p50_ms"],
        "overhead_p95_ms": figures["overhead_p95_ms"],
        "steps_p50_ms": figures["steps_p50_ms"],
        "dispatch_p50_ms": figures["dispatch_p50_ms"],
        "dispatch_p95_ms": figures["dispatch_p95_ms"],
        "claim_latency_p50_ms": figures["claim_latency_p50_ms"],
        "claim_latency_p95_ms": figures["claim_latency_p95_ms"],
        "hand_over_p50_ms": figures["hand_over_p50_ms"],
        "hand_over_p95_ms": figures["hand_over_p95_ms"],
        "received_to_claim_p50_ms": figures["received_to_claim_p50_ms"],
        "unaccounted_p50_ms": figures["unaccounted_p50_ms"],
        "task_wall_p50_ms": figures["task_wall_p50_ms"],
        "accuracy": round(docker_net["accuracy"], 4),
        "baseline": round(baseline, 4),
        "tasks": docker_net["tasks"],
        "rounds": args.rounds,
        "network_docker_seen_done_s": rounded(docker_net["seen_done_s"]),
        "network_docker_submit_s": rounded(docker_net["submit_s"]),
        "network_docker_first_plan_s": rounded(docker_net["first_plan_s"]),
        "sdk_docker_first_s": rounded(sdk_docker and sdk_docker["first_s"]),
        "critical_path": docker_net["critical_path"],
        "network_subprocess_figures": net_subprocess and net_subprocess["figures"],
        "network_subprocess_critical_path": net_subprocess and net_subprocess["critical_path"],
        "warmup": WARMUP,
        "services": args.services,
        "targets": TARGETS,
        "met": {
            "ratio_to_sdk_docker": None if ratio is None else ratio <= TARGETS["ratio_to_sdk_docker"],
            "overhead_p50_ms": figures["overhead_p50_ms"] <= TARGETS["overhead_p50_ms"],
        },
        "commit": commit(),
        "loadavg_before": load_before,
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
