"""The fault-injection suite's network and plan helpers, shared by every test of tests/faults/
(conftest.py builds the fixtures from them).

    plan_key = start_plan(net)                              # a FedAvg plan, submitted
    moment = wait_until(net, plan_key, executing_on(ORG2))  # the moment to strike
    kill(net, "MyOrg2MSP-worker"); restart(net, "MyOrg2MSP-worker")
    print(recovery_seconds(net, plan_key, moment.pending, since=restarted_at))
    check_plan_done(net, plan_key)                          # the undisturbed run's results, nothing left behind

Process names are devnet's: "orchestrator", "<org>-backend", "<org>-consumer", "<org>-worker".
"""

import contextlib
import json
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import substra
from substra.sdk.schemas import ComputePlanSpec

from devnet import network as devnet
from devnet import postgres as devnet_postgres
from examples.fedavg import workflow

ORG1, ORG2, ORG3 = "MyOrg1MSP", "MyOrg2MSP", "MyOrg3MSP"
ROUNDS = 3  # 15 tasks: long enough to strike mid-plan, short enough for the suite's budget
RECOVERY_LIMIT_SECONDS = 30.0
# Each train task lasts this much longer (fedavg.py's FEDAVG_TRAIN_PAUSE_SECONDS): with the fork
# server a FedAvg task executes for tens of milliseconds, too short a window to strike mid-task.
TRAIN_PAUSE_SECONDS = 0.5
TERMINAL = {"STATUS_DONE", "STATUS_FAILED", "STATUS_CANCELED"}
RUNNABLE = {"STATUS_WAITING_FOR_EXECUTOR_SLOT", "STATUS_EXECUTING"}


@dataclass
class FaultNetwork:
    """A live three-organization devnet (Docker executor) on private PostgreSQL and Redis."""

    state_dir: Path
    orgs: dict  # org id -> network.json's entry (url, username, password, channel)
    services: object  # tests.faults.conftest's PrivateServices: .postgres, .redis
    engine: object  # docker client
    clients: dict = field(default_factory=dict)
    assets: object = None
    files: object = None
    reference: dict = field(default_factory=dict)  # the undisturbed plan's accuracies

    @property
    def instance(self) -> str:
        return self.record()["instance"]

    def record(self) -> dict:
        return json.loads((self.state_dir / devnet.PROCESSES).read_text())

    def environment(self, org: str) -> dict:
        return json.loads((self.state_dir / org / "environment.json").read_text())

    @property
    def orchestrator_database(self) -> str:
        return self.record()["databases"][0]

    def log(self, name: str) -> str:
        return (self.state_dir / f"{name}.log").read_text(errors="replace")


def start_network(state_dir: Path, services, engine) -> FaultNetwork:
    """devnet up with --services on the private servers, Docker executor, three organizations.
    The caller restores DEVNET_REDIS_URL and devnet.postgres.ADMIN_URL afterwards."""
    os.environ["DEVNET_REDIS_URL"] = services.redis.url
    devnet_postgres.ADMIN_URL = services.postgres.admin_url  # read at each call by devnet/postgres.py
    started = devnet.up(state_dir, orgs=3, services=True, executor="docker", timeout=300)
    return FaultNetwork(state_dir, {org["org_id"]: org for org in started["orgs"]}, services, engine)


def prepare_reference(net: FaultNetwork) -> None:
    """Logs in, registers the FedAvg assets and runs a first, undisturbed plan (which builds
    the images): its accuracies are the reference every disturbed plan must reach."""
    net.clients = {org_id: login(org) for org_id, org in net.orgs.items()}
    net.files = workflow.prepare_files(net.state_dir / "fedavg", data_orgs=2, train_pause=TRAIN_PAUSE_SECONDS)
    net.assets = workflow.register_assets(net.clients, [ORG2, ORG3], ORG1, net.files)
    plan_key = start_plan(net, name="undisturbed")
    wait_for_plan(net, plan_key)
    net.reference = workflow.accuracies(net.clients[ORG1], plan_key)
    return net


def stop_network(net: FaultNetwork) -> None:
    devnet.down(net.state_dir)


def login(org: dict) -> substra.Client:
    client = substra.Client(url=org["url"], backend_type="remote")
    client.login(org["username"], org["password"])
    return client


# Plans


def start_plan(net: FaultNetwork, rounds: int = ROUNDS, name: str = "faults") -> str:
    """Submits a FedAvg plan through MyOrg1MSP (the aggregator); its key."""
    return workflow.submit_plan(net.clients[ORG1], net.assets, rounds, name=name)


def plan_spec(net: FaultNetwork, rounds: int = ROUNDS, name: str = "faults"):
    """A FedAvg plan's spec: sent twice, it is the same plan (same keys)."""
    return ComputePlanSpec(name=name, tasks=workflow.fedavg_tasks(net.assets, rounds), metadata={"rounds": str(rounds)})


def first_tasks(spec) -> set:
    """The keys of the spec's tasks without parents: once they end, the plan runs."""
    return {task.task_id for task in spec.tasks if not any(ref.parent_task_key for ref in task.inputs)}


def submit_in_background(net: FaultNetwork, spec, delay: float = 0.0) -> threading.Thread:
    """Sends `spec` from a thread, as a user would, ignoring how it ends: the caller kills
    something meanwhile."""

    def submit():
        time.sleep(delay)
        try:
            net.clients[ORG1].add_compute_plan(spec)
            thread.outcome = "accepted before the kill"
        except Exception as error:
            thread.outcome = f"interrupted: {type(error).__name__}"

    thread = threading.Thread(target=submit, daemon=True)
    thread.outcome = "still waiting"
    thread.start()
    return thread


def kill_mid_registration(net: FaultNetwork, spec, name: str) -> threading.Thread:
    """Sends `spec` from a thread and SIGKILLs `name` as soon as the ledger has the plan: the
    SDK registers the plan, then its tasks. Prints how many tasks the ledger had then."""
    with psycopg.connect(net.orchestrator_database, autocommit=True) as database:
        submitting = submit_in_background(net, spec)
        deadline = time.monotonic() + 30
        query = "SELECT count(*) FROM orchestrator_computeplan WHERE key = %s"
        while not database.execute(query, [spec.key]).fetchone()[0]:
            assert time.monotonic() < deadline, "the plan never reached the ledger"
            time.sleep(0.002)
        kill(net, name)
        tasks = database.execute(
            "SELECT count(*) FROM orchestrator_computetask WHERE compute_plan_id = %s", [spec.key]
        ).fetchone()[0]
    print(f"\n[faults] {name} killed with the plan registered and {tasks} of its {len(spec.tasks)} tasks")
    return submitting


def submit_until_accepted(net: FaultNetwork, spec, timeout: float = 60.0) -> str:
    """Sends `spec` again until the backend accepts it (it may still be starting); its key."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return net.clients[ORG1].add_compute_plan(spec).key
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def tasks_of(net: FaultNetwork, plan_key: str, org: str = ORG1) -> list:
    return net.clients[org].list_task(filters={"compute_plan_key": [plan_key]})


def status_of(task) -> str:
    return str(task.status.value)


@dataclass
class Moment:
    """What the plan looked like when a condition first held: the tasks that were To do or
    Doing then (those a fault could strand)."""

    at: float
    tasks: list
    pending: set


def wait_until(net: FaultNetwork, plan_key: str, condition, timeout: float = 180.0, poll: float = 0.02) -> Moment:
    """Polls the plan's tasks (as MyOrg1MSP's mirror has them) until `condition(tasks)`. Often:
    with the fork server a FedAvg task executes for tens of milliseconds, and a poll every 0.1 s
    missed every moment a task of MyOrg2MSP was Doing."""
    deadline = time.monotonic() + timeout
    while True:
        tasks = tasks_of(net, plan_key)
        if condition(tasks):
            pending = {task.key for task in tasks if status_of(task) in RUNNABLE}
            return Moment(time.monotonic(), tasks, pending)
        assert time.monotonic() < deadline, f"plan {plan_key}: the awaited moment never came"
        time.sleep(poll)


def executing_on(org: str, min_done: int = 0):
    """A condition: a task of `org` is Doing, after at least `min_done` tasks are Done."""

    def condition(tasks) -> bool:
        done = sum(status_of(task) == "STATUS_DONE" for task in tasks)
        return done >= min_done and any(task.worker == org and status_of(task) == "STATUS_EXECUTING" for task in tasks)

    return condition


def executing_only_on(org: str):
    """A condition: a task of `org` is Doing, and no task of another organization."""

    def condition(tasks) -> bool:
        workers = {task.worker for task in tasks if status_of(task) == "STATUS_EXECUTING"}
        return workers == {org}

    return condition


def to_do_on(org: str):
    """A condition: a task of `org` is To do (in MyOrg1MSP's mirror)."""

    def condition(tasks) -> bool:
        return any(task.worker == org and status_of(task) == "STATUS_WAITING_FOR_EXECUTOR_SLOT" for task in tasks)

    return condition


def wait_for_plan(net: FaultNetwork, plan_key: str, timeout: float = 240.0):
    """The plan once it has ended, Done or not."""
    return net.clients[ORG1].wait_compute_plan(plan_key, timeout=timeout, polling_period=0.5, raise_on_failure=False)


def recovery_seconds(net: FaultNetwork, plan_key: str, pending: set, since: float, limit=RECOVERY_LIMIT_SECONDS):
    """Seconds from `since` (the restart, time.monotonic()) until every task of `pending` has
    ended; printed, and asserted under `limit`."""
    deadline = since + limit + 30  # wait a little past the limit, to report the real figure
    while True:
        statuses = {task.key: status_of(task) for task in tasks_of(net, plan_key)}
        if all(statuses.get(key) in TERMINAL for key in pending):
            seconds = time.monotonic() - since
            break
        if time.monotonic() > deadline:
            stuck = {key: statuses.get(key) for key in pending if statuses.get(key) not in TERMINAL}
            raise AssertionError(f"plan {plan_key}: tasks not ended {limit + 30:.0f} s after the restart: {stuck}")
        time.sleep(0.2)
    print(f"\n[faults] plan {plan_key[:8]}: recovered {seconds:.1f} s after the restart ({len(pending)} tasks pending)")
    assert seconds < limit, f"recovery took {seconds:.1f} s, over {limit:.0f} s"
    return seconds


def check_plan_done(net: FaultNetwork, plan_key: str, timeout: float = 240.0) -> None:
    """The plan ends Done with the undisturbed run's accuracies; the ledger holds one model per
    model output and one performance per evaluation; no task is left unended; its containers
    are gone."""
    plan = wait_for_plan(net, plan_key, timeout)
    assert str(plan.status.value) == "PLAN_STATUS_DONE", f"plan {plan_key} ended {plan.status}"
    assert plan.task_count == plan.done_count
    assert workflow.accuracies(net.clients[ORG1], plan_key) == net.reference
    check_no_duplicates(net, plan_key)
    wait_no_containers(net, plan_key)
    wait_no_plan_folders(net, plan_key)


def check_no_duplicates(net: FaultNetwork, plan_key: str, complete: bool = True) -> None:
    """One model per model output of the plan's tasks, and (when the plan is `complete`) one
    performance per evaluation of the reference run."""
    with psycopg.connect(net.orchestrator_database) as database:
        models = database.execute(
            "SELECT m.compute_task_id, m.identifier, count(*) FROM orchestrator_model m "
            "JOIN orchestrator_computetask t ON t.key = m.compute_task_id "
            "WHERE t.compute_plan_id = %s GROUP BY 1, 2",
            [plan_key],
        ).fetchall()
        performances = database.execute(
            "SELECT count(*) FROM orchestrator_performance p JOIN orchestrator_computetask t "
            "ON t.key = p.compute_task_id WHERE t.compute_plan_id = %s",
            [plan_key],
        ).fetchone()[0]
    assert [row for row in models if row[2] != 1] == [], "an output has several models"
    if complete:
        assert models, f"plan {plan_key} has no model"
        assert performances == len(net.reference), "evaluations and performances differ in number"


def wait_no_containers(net: FaultNetwork, plan_key: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while containers := plan_containers(net, plan_key):
        names = [container["Names"] for container in containers]
        assert time.monotonic() < deadline, f"containers of ended plan {plan_key} remain: {names}"
        time.sleep(0.5)


def runs_per_task(net: FaultNetwork, plan_key: str) -> dict[str, int]:
    """{task key: how many times a worker took it (its lease's attempts)}, over every
    organization's backend."""
    runs = {}
    for org in net.orgs:
        with psycopg.connect(net.environment(org)["BACKEND_DATABASE_URL"]) as database:
            runs.update(
                database.execute(
                    "SELECT task_id, attempts FROM substrapp_taskexecution WHERE compute_plan_key = %s", [plan_key]
                ).fetchall()
            )
    return runs


def wait_no_plan_folders(net: FaultNetwork, plan_key: str, timeout: float = 20.0) -> None:
    """No organization keeps the ended plan's folder (inputs, outputs) on its worker."""
    folders = [Path(net.environment(org)["BACKEND_DATA_DIR"]) / "compute" / "plans" / plan_key for org in net.orgs]
    deadline = time.monotonic() + timeout
    while left := [folder for folder in folders if folder.exists()]:
        assert time.monotonic() < deadline, f"folders of ended plan {plan_key} remain: {left}"
        time.sleep(0.5)


def wait_for_container(net: FaultNetwork, plan_key: str, org: str, timeout: float = 120.0):
    """The running container of the plan on `org`, once there is one."""
    deadline = time.monotonic() + timeout
    while True:
        running = [c for c in plan_containers(net, plan_key) if c["Labels"].get("substra.org") == org]
        if running and running[0]["State"] == "running":
            return net.engine.containers.get(running[0]["Id"])
        assert time.monotonic() < deadline, f"no container of plan {plan_key} on {org}"
        time.sleep(0.1)


def plan_containers(net: FaultNetwork, plan_key: str) -> list[dict]:
    """The plan's containers as the engine lists them (no inspection: one may go meanwhile)."""
    labels = [f"substra.plan={plan_key}", f"substra.instance={net.instance}"]
    return net.engine.api.containers(all=True, filters={"label": labels})


def one_long_task_plan(net: FaultNetwork, seconds: float = 60.0) -> tuple[str, str]:
    """A plan of one task on MyOrg2MSP's data that sleeps `seconds` (a function of its own):
    (plan key, task key). FedAvg's tasks end too fast to strike one's container reliably."""
    from tests.compute import functions
    from tests.compute.test_compute_e2e import add_function, one_task_plan

    folder = net.state_dir / f"sleeper-{time.monotonic_ns()}"
    folder.mkdir()
    dockerfile = functions.sleeper_dockerfile(seconds)
    function_key = add_function(net.clients[ORG1], folder, "sleeper", functions.SLEEPER, dockerfile=dockerfile)
    return one_task_plan(net.clients[ORG1], net.assets, function_key, data_org=ORG2)


# Processes


def kill(net: FaultNetwork, name: str) -> None:
    """SIGKILLs the devnet's process `name` and its process group, as a crash would."""
    state_dir = net.state_dir
    record = devnet.Record(state_dir)
    entries = [entry for entry in record.data["processes"] if entry["name"] == name]
    assert entries, f"no process {name} in the devnet"
    for entry in entries:
        if devnet._same_process(entry):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(entry["pid"], signal.SIGKILL)
        devnet._wait_groups_gone([entry["pid"]], 10.0)
        record.data["processes"].remove(entry)
    record.save()


def pause(net: FaultNetwork, name: str, resume: bool = False) -> None:
    """SIGSTOPs (or, with `resume`, SIGCONTs) the devnet's process `name` and its group: it
    neither dies nor does anything meanwhile."""
    for entry in devnet.Record(net.state_dir).data["processes"]:
        if entry["name"] == name and devnet._same_process(entry):
            os.killpg(entry["pid"], signal.SIGCONT if resume else signal.SIGSTOP)


def drop_queued_work(net: FaultNetwork, org: str) -> int:
    """Empties `org`'s queues in Redis, as a hand-over that never came (or a broker that lost
    them) would leave them; how many messages went."""
    import redis

    prefix = net.environment(org)["COMPUTE_QUEUE"]
    client = redis.Redis.from_url(net.services.redis.url)
    try:
        names = [name for name in client.scan_iter(match=f"{prefix}*") if client.type(name) == b"list"]
        dropped = sum(client.llen(name) for name in names)
        if names:
            client.delete(*names)
    finally:
        client.close()
    return dropped


def restart(net: FaultNetwork, name: str) -> float:
    """Starts `name` again as the devnet started it; time.monotonic() at the start."""
    started = time.monotonic()
    if name == "orchestrator":
        _start_orchestrator(net)
        return started
    org, kind = name.rsplit("-", 1)
    devnet.start_process(net.state_dir, org, kind)  # worker, consumer or backend
    return started


def _start_orchestrator(net: FaultNetwork) -> None:
    """On its former port: the backends know it by address."""
    folder = net.state_dir / "orchestrator"
    address = net.environment(ORG1)["ORCHESTRATOR_ADDRESS"]
    env = {
        **os.environ,
        "ORCHESTRATOR_DATABASE_URL": net.orchestrator_database,
        "ORCHESTRATOR_DATA_DIR": str(folder),
        "ORCHESTRATOR_CHANNELS_FILE": str(folder / "channels.json"),
        "ORCHESTRATOR_TLS_CERT": str(folder / "server.pem"),
        "ORCHESTRATOR_TLS_KEY": str(folder / "server.key"),
        "ORCHESTRATOR_TLS_CLIENT_CA": str(folder / "ca.pem"),
        "PYTHONPATH": str(devnet.REPO),
        "ORCHESTRATOR_THREADS": os.environ.get("DEVNET_ORCHESTRATOR_THREADS", str(devnet.ORCHESTRATOR_THREADS)),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    port_file = folder / f"port-{time.monotonic_ns()}"
    command = [sys.executable, "-m", "orchestrator", "serve", "--address", address, "--port-file", str(port_file)]
    process = devnet._spawn(net.state_dir, devnet.Record(net.state_dir), "orchestrator", command, env)
    deadline = time.monotonic() + 30
    while not port_file.exists():
        assert process.poll() is None and time.monotonic() < deadline, "the orchestrator did not start again"
        time.sleep(0.05)
