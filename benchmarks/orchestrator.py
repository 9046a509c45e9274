"""Orchestrator benchmark: a 10,000-task federated plan registered, then run, over a real
orchestrator process (mTLS, fresh PostgreSQL database).

    .venv/bin/python benchmarks/orchestrator.py [--workers 10] [--rounds 1000] [--batch 500]
        [--replicas 1] [--subscribers 10] [--separate-outputs] [--verify-chain]
        [--py-spy-dir DIR [--py-spy-mode cpu|idle|gil]]

Progress goes to stderr; the last stdout line is one JSON object with `register_10k_s`,
`transitions_per_s`, `event_lag_p95_ms` and context: counts, latency percentiles per call, CPU
seconds of the orchestrator(s), PostgreSQL and this process per phase, deadlocks, load average.
The benchmark's own clients (10 driver threads in this process, 10 subscriber threads in a
process of their own) run on the same machine as the orchestrator and PostgreSQL: on 2 cores their
CPU (`cpu_s_run.bench`, `cpu_s_run.subscribers`) is part of what limits the figures.

The network: organizations MyOrg1MSP..MyOrg10MSP in one channel. Each holds one data manager
and one data sample (its data never leaves it). MyOrg1MSP owns a train function and an aggregate
function (both READY; only train is used by the plan) and the compute plan.

The plan ("decentralized FedAvg", all-to-all fan-in): `rounds` x `workers` train tasks. Task
(r, i) runs on organization i with its data manager and sample as inputs; for r > 0 it also takes
as `models` the `model` output of all `workers` tasks of round r - 1. With 10 workers and 1,000
rounds: 10,000 tasks, 99,900 parent edges, fan-in and fan-out 10. Every model may be processed by
all organizations. Tasks are registered round by round in batches of `batch` tasks (500, as the
substra SDK does), sequentially, by the plan owner: `register_10k_s` is the wall time of the
20 RegisterTasks calls (messages built client-side inside the timing, task dicts before it).

Running: one driver thread per organization, each with its own client, runs its task of each
round as a worker does: ApplyTaskAction EXECUTING, then ApplyTaskAction DONE carrying the task's
model (`complete_task`: the model is registered in the Done's transaction), then waits on a
barrier for the other 9 (the next round's tasks become To do only when all 10 parents are Done).
`transitions_per_s` = (EXECUTING + DONE calls) / wall time of the run, i.e. 20,000 transitions.
With `--separate-outputs` the model is registered by its own RegisterModels call before DONE; the
10,000 registrations are then not counted as transitions but their time is in the wall time
(`writes_per_s` counts every write).

Event lag: 10 subscribers (one per organization, own client, own thread, all in one process apart
from the drivers, so that their CPU and GIL do not slow the drivers' calls) follow the channel's
events with `OrchestratorClient.subscribe` (SubscribeToEventBatches) from the end of registration
and note the monotonic arrival time of each event. For every event produced by a driver's call
(task -> EXECUTING, task -> DONE, model created), lag = arrival time minus the time the call
returned to the driver (CLOCK_MONOTONIC, which both processes share). The commit precedes the
return, so this under-states commit-to-delivery lag slightly and can be negative (the stream can
beat the unary answer); `event_lag_from_send_*` gives the upper bound (arrival minus call start).
Children unblocked by a DONE (-> To do) are not matched: the caller cannot tell which DONE did it.
`event_lag_p95_ms` is the p95 over all matched events of all subscribers.

Options for diagnosis: `--replicas N` starts N orchestrator processes on the database (they share
events through LISTEN/NOTIFY): subscribers use the last, drivers the others. `--subscribers 0`
measures writes alone. `--verify-chain` recomputes the event hash chain from the database at the
end. `--py-spy-dir` records the (first) orchestrator with py-spy (`.venv/bin/pip install py-spy`),
one raw flame file per phase.
"""

import argparse
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402

from devnet.orchestrator import OrchestratorProcess  # noqa: E402
from devnet.postgres import create_database, drop_database  # noqa: E402
from orchestrator_client.chain import ChainVerifier  # noqa: E402
from orchestrator_client.pb import assets_pb2 as pb  # noqa: E402
from orchestrator_client.pki import Authority  # noqa: E402

CHANNEL = "mychannel"
ADDRESS = {"checksum": "0" * 64, "storage_address": "http://backend/file"}
EXECUTING, DONE = "TASK_ACTION_EXECUTING", "TASK_ACTION_DONE"
STATUS_MARK = '"status":"'


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def new_key() -> str:
    return str(uuid.uuid4())


def permission(orgs, public=False) -> dict:
    return {"public": public, "authorized_ids": list(orgs)}


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU of every running postgres process (backends live as long as their connections)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    total += cpu_seconds(int(entry.name))
            except OSError:
                continue
    return total


class CpuMeter:
    def __init__(self, server_pids: list[int]):
        self.server_pids = server_pids
        self.subscriber_pids: list[int] = []

    def sample(self) -> dict:
        return {
            "wall": time.monotonic(),
            "server": sum(cpu_seconds(pid) for pid in self.server_pids),
            "postgres": postgres_cpu_seconds(),
            "bench": time.process_time(),
            "subscribers": sum(cpu_seconds(pid) for pid in self.subscriber_pids),
        }

    @staticmethod
    def delta(before: dict, after: dict) -> dict:
        return {name: round(after[name] - before[name], 2) for name in before}


class Subscriber(threading.Thread):
    """Follows the channel's events and notes (arrival ns, asset key, what happened) for each."""

    def __init__(self, client, after_position: int):
        super().__init__(name=f"subscriber-{client.channel}", daemon=True)
        self.client = client
        self.after_position = after_position
        self.records: list[tuple[int, str, str]] = []
        self.first_event = threading.Event()
        self.plan_done = threading.Event()
        self.error: BaseException | None = None
        self.last_position = after_position

    def run(self) -> None:
        events = self.client.subscribe(after_position=self.after_position)
        task_kind, plan_kind = pb.ASSET_COMPUTE_TASK, pb.ASSET_COMPUTE_PLAN
        try:
            for event in events:
                arrival = time.monotonic_ns()
                self.first_event.set()
                self.last_position = event.position
                if event.asset_kind in (task_kind, plan_kind):
                    text = event.asset_json
                    start = text.find(STATUS_MARK) + len(STATUS_MARK)
                    what = text[start : text.find('"', start)]
                else:
                    what = pb.EventKind.Name(event.event_kind)
                self.records.append((arrival, event.asset_key, what))
                if event.asset_kind == plan_kind and what == "PLAN_STATUS_DONE":
                    self.plan_done.set()
                    return
        except BaseException as error:
            self.error = error
        finally:
            events.close()
            self.first_event.set()
            self.plan_done.set()


def follow_events(address: str, ca: bytes, identities: dict, after_position: int, pipe) -> None:
    """The subscribers' process: one Subscriber thread per organization, each with its own client.
    Tells the parent "live" once every stream has delivered an event, then, when every subscriber
    has seen the plan Done (or after "stop"), sends back each one's records and error."""
    from orchestrator_client import OrchestratorClient

    clients = [
        OrchestratorClient(address, CHANNEL, ca_cert=ca, cert=cert, key=key) for cert, key in identities.values()
    ]
    subscribers = [Subscriber(client, after_position) for client in clients]
    for subscriber in subscribers:
        subscriber.start()
    for subscriber in subscribers:
        subscriber.first_event.wait(30)
    pipe.send(("live", [repr(s.error) if s.error else None for s in subscribers]))
    if pipe.recv() == "finish":
        deadline = time.monotonic() + 60
        for subscriber in subscribers:
            subscriber.plan_done.wait(max(0.0, deadline - time.monotonic()))
    for client in clients:
        client.close()
    pipe.send(("records", [(s.records, repr(s.error) if s.error else None) for s in subscribers]))


class SubscriberProcess:
    """The subscribers run in a process of their own, so that their CPU and GIL do not slow the
    drivers' calls down. Arrival times are CLOCK_MONOTONIC, which every process shares: lags are
    computed against the drivers' call times as when they were threads of this process."""

    def __init__(self, network: "Network", orgs: list[str], replica: int, after_position: int):
        process = network.processes[replica]
        identities = {}
        for org in orgs:
            identity = network.authority.organization_identity(org)
            identities[org] = (identity.cert, identity.key)
        context = multiprocessing.get_context("spawn")  # gRPC does not survive fork
        self._pipe, child = context.Pipe()
        self._process = context.Process(
            target=follow_events,
            args=(process.address, network.authority.cert, identities, after_position, child),
            daemon=True,
        )
        self.count = len(orgs)

    @property
    def pid(self) -> int:
        return self._process.pid

    def start(self) -> None:
        self._process.start()
        if not self._pipe.poll(60):
            raise RuntimeError("the subscribers did not start")
        _, errors = self._pipe.recv()
        if any(errors):
            raise RuntimeError(f"a subscriber did not start: {errors}")

    def finish(self, wait_for_plan: bool = True) -> list[tuple[list, str | None]]:
        """Each subscriber's (records, error), once it has seen the plan Done."""
        self._pipe.send("finish" if wait_for_plan else "stop")
        if not self._pipe.poll(120):
            raise RuntimeError("the subscribers did not report")
        _, results = self._pipe.recv()
        self._process.join(10)
        return results

    def stop(self) -> None:
        if self._process.is_alive():
            self._process.kill()


class Network:
    """`replicas` orchestrator processes over one database (they share events through NOTIFY)."""

    def __init__(self, workers: int, replicas: int = 1):
        self.orgs = [f"MyOrg{i}MSP" for i in range(1, workers + 1)]
        self.owner = self.orgs[0]
        self.state_dir = Path(tempfile.mkdtemp(prefix="bench-orchestrator-"))
        self.url = create_database("orchestrator_bench")
        authority = self.authority = Authority.create()
        self.processes = [
            OrchestratorProcess(self.state_dir / f"replica{i}", self.url, {CHANNEL: self.orgs}, authority)
            for i in range(replicas)
        ]
        self.clients: list = []

    @property
    def process(self) -> OrchestratorProcess:
        return self.processes[0]

    @property
    def pids(self) -> list[int]:
        return [process._process.pid for process in self.processes]

    def start(self) -> None:
        self.process.migrate()
        for process in self.processes:
            process.write_config()
            process.start()

    def client(self, org: str, replica: int = 0):
        client = self.processes[replica].client(org, CHANNEL)
        self.clients.append(client)
        return client

    def head_position(self) -> int:
        with psycopg.connect(self.url) as conn:
            (position,) = conn.execute("SELECT position FROM orchestrator_channelhead WHERE channel = %s", [CHANNEL])
            return position[0]

    def database_stats(self) -> dict:
        """Deadlocks (retried by the orchestrator), commits and rollbacks of the benchmark database."""
        with psycopg.connect(self.url) as conn:
            row = conn.execute(
                "SELECT deadlocks, xact_commit, xact_rollback FROM pg_stat_database WHERE datname = current_database()"
            ).fetchone()
        return dict(zip(("deadlocks", "commits", "rollbacks"), row, strict=True))

    def verify_chain(self) -> int:
        """Recomputes the hash chain of every event in the database; returns the last position."""
        names = ["channel", "position", "asset_kind", "event_kind", "asset_key", "timestamp", "asset_json"]
        names += ["prev_hash", "hash"]
        verifier = ChainVerifier()
        with psycopg.connect(self.url) as conn, conn.cursor(name="events") as cursor:
            cursor.execute(
                f"SELECT {', '.join(names)} FROM orchestrator_event WHERE channel = %s ORDER BY position", [CHANNEL]
            )
            for row in cursor:
                verifier.verify(SimpleNamespace(**dict(zip(names, row, strict=True))))
        return verifier.position

    def close(self) -> None:
        for client in self.clients:
            client.close()
        for process in self.processes:
            process.stop()
        drop_database(self.url)
        shutil.rmtree(self.state_dir, ignore_errors=True)


def set_up_assets(network: Network) -> dict:
    """Organizations, one data manager and sample per organization, train and aggregate functions."""
    clients = {org: network.client(org) for org in network.orgs}
    for org, client in clients.items():
        client.register_organization(f"http://{org.lower()}.backend")
    data = {}
    for org, client in clients.items():
        manager = client.register_data_manager(
            key=new_key(),
            name=f"{org} data",
            new_permissions=permission([network.owner]),
            opener=ADDRESS,
            description=ADDRESS,
            type="csv",
            logs_permission=permission([network.owner]),
        ).key
        (sample,) = client.register_data_samples(
            [{"key": new_key(), "checksum": "1" * 64, "data_manager_keys": [manager]}]
        )
        data[org] = (manager, sample.key)
    owner = clients[network.owner]
    functions = {}
    for name, inputs in (
        (
            "train",
            {
                "opener": {"kind": "ASSET_DATA_MANAGER"},
                "datasamples": {"kind": "ASSET_DATA_SAMPLE", "multiple": True},
                "models": {"kind": "ASSET_MODEL", "multiple": True, "optional": True},
            },
        ),
        ("aggregate", {"models": {"kind": "ASSET_MODEL", "multiple": True}}),
    ):
        key = owner.register_function(
            key=new_key(),
            name=name,
            new_permissions=permission(network.orgs),
            description=ADDRESS,
            archive=ADDRESS,
            inputs=inputs,
            outputs={"model": {"kind": "ASSET_MODEL"}},
        ).key
        owner.apply_function_action(key, "FUNCTION_ACTION_READY", image=f"{name}:{key}")
        functions[name] = key
    return {"clients": clients, "data": data, "functions": functions}


def build_plan(network: Network, assets: dict, plan_key: str, rounds: int) -> list[list[dict]]:
    """rounds x workers train tasks; each task of round r takes the models of all of round r - 1."""
    model_output = {"permissions": {"process": permission(network.orgs)}, "transient": False}
    plan: list[list[dict]] = []
    for r in range(rounds):
        previous = [task["key"] for task in plan[r - 1]] if r else []
        round_tasks = []
        for org in network.orgs:
            manager, sample = assets["data"][org]
            round_tasks.append(
                {
                    "key": new_key(),
                    "function_key": assets["functions"]["train"],
                    "compute_plan_key": plan_key,
                    "worker": org,
                    "inputs": [
                        {"identifier": "opener", "asset_key": manager},
                        {"identifier": "datasamples", "asset_key": sample},
                        *(
                            {
                                "identifier": "models",
                                "parent_task_output": {"parent_task_key": p, "output_identifier": "model"},
                            }
                            for p in previous
                        ),
                    ],
                    "outputs": {"model": model_output},
                }
            )
        plan.append(round_tasks)
    return plan


def register(client, tasks: list[dict], batch: int) -> tuple[float, list[float]]:
    durations = []
    start = time.monotonic()
    for offset in range(0, len(tasks), batch):
        t0 = time.monotonic()
        registered = client.register_tasks(tasks[offset : offset + batch])
        durations.append(time.monotonic() - t0)
        assert len(registered) == len(tasks[offset : offset + batch])
    return time.monotonic() - start, durations


class Driver(threading.Thread):
    """One worker organization: runs its task of each round, then waits for the round to end."""

    def __init__(self, client, index: int, plan: list[list[dict]], barrier: threading.Barrier, separate_outputs=False):
        super().__init__(name=f"driver-{index}", daemon=True)
        self.separate_outputs = separate_outputs
        self.client = client
        self.index = index
        self.plan = plan
        self.barrier = barrier
        # (asset key, what) -> (call start ns, call return ns)
        self.calls: dict[tuple[str, str], tuple[int, int]] = {}
        self.latencies: dict[str, list[float]] = {"executing": [], "model": [], "done": []}
        self.error: BaseException | None = None

    def run(self) -> None:
        clock = time.monotonic_ns
        try:
            for round_tasks in self.plan:
                key = round_tasks[self.index]["key"]
                t0 = clock()
                self.client.apply_task_action(key, EXECUTING)
                t1 = clock()
                model_key = new_key()
                model = {"key": model_key, "compute_task_output_identifier": "model", "address": ADDRESS}
                if self.separate_outputs:
                    self.client.register_models([model | {"compute_task_key": key}])
                    t2 = clock()
                    self.client.apply_task_action(key, DONE)
                else:
                    # How a worker completes a task: its outputs and the Done in one transaction.
                    self.client.complete_task(key, models=[model])
                    t2 = t1
                t3 = clock()
                self.calls[key, "STATUS_EXECUTING"] = (t0, t1)
                self.calls[model_key, "EVENT_ASSET_CREATED"] = (t1, t2)
                self.calls[key, "STATUS_DONE"] = (t2, t3)
                if not self.separate_outputs:  # the model's event comes from the completing call
                    self.calls[model_key, "EVENT_ASSET_CREATED"] = (t2, t3)
                self.latencies["executing"].append((t1 - t0) / 1e6)
                self.latencies["model"].append((t2 - t1) / 1e6)
                self.latencies["done"].append((t3 - t2) / 1e6)
                self.barrier.wait()
        except threading.BrokenBarrierError:
            pass
        except BaseException as error:
            self.error = error
            self.barrier.abort()


def rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def summary(values: list[float], digits: int = 2) -> dict:
    return {
        "p50": rounded(percentile(values, 50), digits),
        "p95": rounded(percentile(values, 95), digits),
        "p99": rounded(percentile(values, 99), digits),
        "max": rounded(max(values) if values else None, digits),
    }


class Profiler:
    """Optional: py-spy records the orchestrator process during one phase."""

    def __init__(self, directory: str, pid: int, mode: str = "cpu"):
        self.directory = Path(directory) if directory else None
        self.pid = pid
        self.mode = mode
        self.process = None

    def start(self, phase: str) -> None:
        if self.directory is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        command = [py_spy, "record", "--pid", str(self.pid), "--rate", "200", "--threads"]
        command += {"cpu": [], "idle": ["--idle"], "gil": ["--gil"]}[self.mode]
        command += ["--format", "raw", "--output", str(self.directory / f"{phase}.txt"), "--nonblocking"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(2)  # SIGINT: py-spy writes its output
            self.process.wait(timeout=60)
            self.process = None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="orchestrator processes on the database; with 2 or more, subscribers use the last one "
        "and drivers the others",
    )
    parser.add_argument("--subscribers", type=int, default=10, help="event subscribers (0: no lag measured)")
    parser.add_argument("--verify-chain", action="store_true", help="recompute the event hash chain at the end")
    parser.add_argument(
        "--separate-outputs",
        action="store_true",
        help="register each model with its own call before DONE, instead of completing the task with it",
    )
    parser.add_argument("--py-spy-dir", default="", help="record the server with py-spy, one file per phase")
    parser.add_argument(
        "--py-spy-mode",
        choices=("cpu", "idle", "gil"),
        default="cpu",
        help="py-spy samples running threads (cpu), all threads (idle: wall clock), or the GIL holder (gil)",
    )
    args = parser.parse_args()

    network = Network(args.workers, args.replicas)
    subscriber_replica = args.replicas - 1
    driver_replicas = max(1, args.replicas - 1)
    result: dict = {}
    subscribers: SubscriberProcess | None = None
    try:
        network.start()
        meter = CpuMeter(network.pids)
        profiler = Profiler(args.py_spy_dir, network.pids[0], args.py_spy_mode)
        addresses = ", ".join(process.address for process in network.processes)
        log(f"orchestrator on {addresses}, database {network.url.rsplit('/', 1)[1]}")
        assets = set_up_assets(network)
        owner = assets["clients"][network.owner]
        plan_key = owner.register_compute_plan(key=new_key(), name="benchmark").key
        plan = build_plan(network, assets, plan_key, args.rounds)
        tasks = [task for round_tasks in plan for task in round_tasks]
        edges = sum(len(t["inputs"]) - 2 for t in tasks)

        log(f"registering {len(tasks)} tasks ({edges} edges) in batches of {args.batch}")
        profiler.start("register")
        cpu_before = meter.sample()
        register_s, batch_s = register(owner, tasks, args.batch)
        cpu_register = CpuMeter.delta(cpu_before, meter.sample())
        profiler.stop()
        log(f"registered in {register_s:.2f}s (batches {summary(batch_s, 3)} s); cpu {cpu_register}")

        # Subscribers start one event before the end of registration: that event tells they are live.
        head = network.head_position()
        if args.subscribers:
            subscribers = SubscriberProcess(network, network.orgs[: args.subscribers], subscriber_replica, head - 1)
            subscribers.start()
            meter.subscriber_pids.append(subscribers.pid)

        drivers_clients = [network.client(org, i % driver_replicas) for i, org in enumerate(network.orgs)]
        barrier = threading.Barrier(len(network.orgs))
        drivers = [Driver(client, i, plan, barrier, args.separate_outputs) for i, client in enumerate(drivers_clients)]
        log(f"running {len(tasks)} tasks with {len(drivers)} drivers and {args.subscribers} subscribers")
        profiler.start("run")
        cpu_before = meter.sample()
        start = time.monotonic()
        for driver in drivers:
            driver.start()
        for driver in drivers:
            driver.join()
        run_s = time.monotonic() - start
        cpu_run = CpuMeter.delta(cpu_before, meter.sample())
        profiler.stop()
        for driver in drivers:
            if driver.error is not None:
                raise RuntimeError(f"{driver.name} failed") from driver.error
        transitions = 2 * len(tasks)
        log(f"ran in {run_s:.2f}s: {transitions / run_s:.0f} transitions/s; cpu {cpu_run}")

        followed = subscribers.finish() if subscribers else []
        final_plan = owner.get_compute_plan(plan_key)

        calls = {}
        for driver in drivers:
            calls.update(driver.calls)
        lags, lags_from_send, unmatched, per_subscriber_p95 = [], [], 0, []
        for records, _ in followed:
            mine = []
            for arrival, key, what in records:
                call = calls.get((key, what))
                if call is None:
                    unmatched += 1
                    continue
                mine.append((arrival - call[1]) / 1e6)
                lags_from_send.append((arrival - call[0]) / 1e6)
            per_subscriber_p95.append(rounded(percentile(mine, 95)))
            lags += mine
        expected = len(calls) * len(followed)
        latencies = {name: [v for d in drivers for v in d.latencies[name]] for name in drivers[0].latencies}
        result = {
            "register_10k_s": round(register_s, 3),
            "transitions_per_s": round(transitions / run_s, 1),
            "event_lag_p95_ms": rounded(percentile(lags, 95)),
            "tasks": len(tasks),
            "edges": edges,
            "workers": len(network.orgs),
            "rounds": args.rounds,
            "batch": args.batch,
            "replicas": args.replicas,
            "subscribers": len(followed),
            "register_batch_s": summary(batch_s, 3),
            "run_s": round(run_s, 2),
            "transitions": transitions,
            "writes_per_s": round((3 if args.separate_outputs else 2) * len(tasks) / run_s, 1),
            "call_latency_ms": {name: summary(values) for name, values in latencies.items()},
            "event_lag_ms": summary(lags),
            "event_lag_from_send_ms": summary(lags_from_send),
            "event_lag_negative": sum(1 for lag in lags if lag < 0),
            "event_lag_p95_per_subscriber_ms": per_subscriber_p95,
            "events_matched": len(lags),
            "events_expected": expected,
            "events_seen": sum(len(records) for records, _ in followed),
            "events_unmatched": unmatched,
            "subscriber_errors": [error for _, error in followed if error],
            "plan_status": pb.ComputePlanStatus.Name(final_plan.status),
            "plan_done_count": final_plan.done_count,
            "cpu_s_register": cpu_register,
            "cpu_s_run": cpu_run,
            "database": network.database_stats(),
            "cores": os.cpu_count(),
            "loadavg": [round(x, 2) for x in os.getloadavg()],
        }
        if len(lags) != expected:
            log(f"warning: {len(lags)} of {expected} driver events reached the subscribers")
        if args.verify_chain:
            result["chain_verified_to"] = network.verify_chain()
            log(f"hash chain verified up to event {result['chain_verified_to']}")
    finally:
        if subscribers:
            subscribers.stop()
        network.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
