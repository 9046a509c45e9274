"""The demo's run, start to stop: `python -m examples.demo [--executor auto|docker|subprocess]
[--rounds N] [--output DIR] [--state-dir DIR] [--timeout S]`.

Exit status: 0 when the plan is done and the federated accuracy of the last round is within 2
points of the centralized baseline; 1 when the plan fails or the accuracy is off (the network's
logs are kept then, and their folder is printed); 130 when interrupted (Ctrl-C, SIGTERM, SIGHUP).
Whatever happens, everything the demo started is stopped before it exits.
"""

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import shutil
import signal
import tempfile
import time
import traceback
from pathlib import Path

import substra

from devnet import network
from examples.demo import report
from examples.demo.progress import PlanTimeout, follow_plan
from examples.fedavg import workflow

REPO = Path(__file__).resolve().parents[2]
AGGREGATOR = "MyOrg1MSP"
DATA_ORGS = ["MyOrg2MSP", "MyOrg3MSP"]
PLOT_NAME = "fedavg-accuracy.png"
TOLERANCE = 0.02  # the federated accuracy must be within 2 points of the centralized baseline
STOP_GRACE = 3.0  # idle Celery workers take several seconds to shut down on SIGTERM: SIGKILL them
NO_ISOLATION = (
    "!! WARNING: NO ISOLATION. Functions run as plain processes of the workers: no container, no\n"
    "!! network, file or user limits. Fine for this demo's public data; use Docker for anything else."
)


class DemoFailed(Exception):
    """The plan failed or its result is off; the message says how."""


def say(*parts) -> None:
    # After a SIGHUP the terminal may be gone: stopping the network matters more than telling it.
    with contextlib.suppress(OSError):
        print(*parts, flush=True)


def parse_arguments(argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m examples.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument(
        "--executor", choices=["auto", "docker", "subprocess"], default="auto",
        help=f"auto (default): Docker when a daemon answers and {workflow.BASE_IMAGE} exists, else subprocesses",
    )  # fmt: skip
    parser.add_argument("--rounds", type=int, default=10, help="FedAvg rounds (default 10: 50 tasks)")
    parser.add_argument("--output", type=Path, default=REPO / "demo-output", help="folder of the plot")
    parser.add_argument("--state-dir", type=Path, help="the network's folder, kept (default: a temporary one)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds the plan may take (default 600)")
    parser.add_argument("--keep", action="store_true",
                        help="after the plan, keep the network (and its web console) running until Ctrl-C")  # fmt: skip
    arguments = parser.parse_args(argv)
    if arguments.rounds < 1:
        parser.error("--rounds must be at least 1")
    return arguments


# Where functions run


@dataclasses.dataclass(frozen=True)
class Executor:
    kind: str  # "docker" or "subprocess", as COMPUTE_EXECUTOR
    reason: str


def choose_executor(requested: str) -> Executor:
    if requested == "subprocess":
        return Executor("subprocess", "as asked")
    problem = docker_problem()
    if problem is None:
        return Executor("docker", f"the daemon answers, {workflow.BASE_IMAGE} is there")
    if requested == "docker":
        raise DemoFailed(f"--executor docker, but {problem}")
    return Executor("subprocess", problem)


def docker_problem() -> str | None:
    """Why the Docker executor cannot run the example's functions here, or None."""
    import docker

    try:
        engine = docker.from_env(timeout=5)
        engine.ping()
    except Exception:
        return "no Docker daemon answers"
    try:
        engine.images.get(workflow.BASE_IMAGE)
    except docker.errors.ImageNotFound:
        return (
            f"Docker answers but the base image {workflow.BASE_IMAGE} is missing "
            "(scripts/ensure-docker builds it, in a minute or two)"
        )
    except Exception as error:
        return f"Docker did not list its images ({error})"
    finally:
        engine.close()
    return None


def announce(executor: Executor) -> None:
    if executor.kind == "docker":
        say(f"executor: Docker ({executor.reason}): each function runs in a container without network")
    else:
        say(f"executor: subprocesses ({executor.reason})")
        say(NO_ISOLATION)


# What was started, and how it is stopped


class Session:
    """What the demo started, so that `stop` undoes it whatever point the run reached."""

    def __init__(self, state_dir: Path | None):
        self.temporary = state_dir is None
        folder = Path(tempfile.mkdtemp(prefix="substra-demo-")) if state_dir is None else state_dir
        folder.mkdir(parents=True, exist_ok=True)
        self.state_dir = folder.resolve()
        self.clients: dict[str, substra.Client] = {}

    def stop(self, keep_logs: bool) -> None:
        """Stops the network (its task containers too) and any process left that works in its folder."""
        for client in self.clients.values():
            with contextlib.suppress(Exception):
                client.logout()
        self.clients = {}
        network.down(self.state_dir, grace=STOP_GRACE)  # its task containers too
        kill_processes(processes_in(self.state_dir))
        if keep_logs:
            say(f"the network's logs: {self.state_dir}")
        elif self.temporary:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def check_network(self) -> None:
        """Raises DemoFailed when a process of the network has stopped: the plan would wait for it
        until the timeout."""
        record = json.loads((self.state_dir / network.PROCESSES).read_text())
        for entry in record["processes"]:
            if not running(entry["pid"]):
                log = self.state_dir / f"{entry['name']}.log"
                lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
                last = f"; its last log line: {lines[-1].strip()}" if lines else ""
                raise DemoFailed(f"{entry['name']} stopped while the plan ran (log: {log}){last}")


def processes_in(state_dir: Path) -> list[int]:
    """Pids of the processes whose data folder is in `state_dir`: every devnet process, and the
    functions its workers run (the subprocess executor starts them in a session of their own, so
    stopping a worker does not stop them; they inherit its environment)."""
    prefixes = tuple(f"{name}={state_dir}/".encode() for name in ("BACKEND_DATA_DIR", "ORCHESTRATOR_DATA_DIR"))
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if any(variable.startswith(prefixes) for variable in (proc / "environ").read_bytes().split(b"\0")):
                found.append(int(proc.name))
    return found


def kill_processes(pids: list[int], timeout: float = 10.0) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while any(running(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)


def running(pid: int) -> bool:
    """Exists and is not a zombie (a dead devnet process stays one until `down` reaps it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


class Signals:
    """The first Ctrl-C (or SIGTERM, SIGHUP) interrupts the run. A later one, or one while the
    network stops, only says to wait: a second Ctrl-C must not leave processes behind."""

    NUMBERS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self):
        self.holding = False
        self.told = False

    def install(self) -> None:
        for number in self.NUMBERS:
            signal.signal(number, self._received)

    def hold(self) -> None:
        self.holding = True

    def _received(self, number, frame):
        if not self.holding:
            self.holding = True
            raise KeyboardInterrupt
        if not self.told:
            self.told = True
            say("\nstill stopping the network: a few seconds more")


def stop_everything(session: Session, signals: Signals, status: int) -> None:
    while True:
        try:
            signals.hold()
            if status == 130:
                say("\ninterrupted: stopping the network")
            session.stop(keep_logs=status not in (0, 130))
            return
        except KeyboardInterrupt:  # arrived before the signals were held: start again
            continue


# The run


def main(argv=None) -> int:
    arguments = parse_arguments(argv)
    # The SDK logs each login's expiry and each request's failure: the demo says what matters.
    logging.getLogger("substra").setLevel(logging.CRITICAL)
    signals = Signals()
    signals.install()
    started = time.monotonic()
    session = Session(arguments.state_dir)
    status = 1
    try:
        status = run(arguments, session)
    except KeyboardInterrupt:
        status = 130
    except (DemoFailed, PlanTimeout, network.DevnetError) as error:
        say(f"\ndemo failed: {error}")
    except Exception:
        traceback.print_exc()
        say("\ndemo failed: an unexpected error (above)")
    finally:
        stop_everything(session, signals, status)
    if status == 0:
        say(f"network stopped; {time.monotonic() - started:.0f} s in all")
    elif status == 130:
        say("network stopped")
    return status


def run(arguments: argparse.Namespace, session: Session) -> int:
    executor = choose_executor(arguments.executor)
    announce(executor)
    say(
        f"starting an embedded network: {AGGREGATOR} aggregates, {' and '.join(DATA_ORGS)} hold the data "
        f"(logs in {session.state_dir})"
    )
    began = time.monotonic()
    organizations = network.up(session.state_dir, orgs=3, executor=executor.kind, timeout=180)["orgs"]
    say(f"network up in {time.monotonic() - began:.0f} s")
    announce_console(organizations)
    session.clients = clients = log_in(organizations)

    files = workflow.prepare_files(session.state_dir / "fedavg", data_orgs=len(DATA_ORGS))
    assets = workflow.register_assets(clients, DATA_ORGS, AGGREGATOR, files)
    client = clients[AGGREGATOR]
    plan_key = workflow.submit_plan(client, assets, arguments.rounds, name="FedAvg demo")
    tasks = (2 * len(DATA_ORGS) + 1) * arguments.rounds
    say(f"registered the datasets, data samples and functions; submitted FedAvg: {arguments.rounds} rounds, "
        f"{tasks} tasks")  # fmt: skip
    began = time.monotonic()
    plan = follow_plan(client, plan_key, arguments.timeout, check=session.check_network)
    if plan.status != substra.models.ComputePlanStatus.done:
        raise DemoFailed(describe_failure(client, plan))
    say(f"plan done in {time.monotonic() - began:.0f} s\n")

    results = report.round_results(files, assets, workflow.accuracies(client, plan_key), arguments.rounds)
    say(report.format_table(results))
    plot = report.save_plot(results, arguments.output / PLOT_NAME)
    say(f"\nplot: {shown_path(plot)}")
    check_accuracy(results[-1])
    if arguments.keep:
        keep_running(session, organizations)
    return 0


def announce_console(organizations: list[dict]) -> None:
    """Where to watch the plan live: the aggregator's web console, and its admin's sign-in."""
    aggregator = next(org for org in organizations if org["org_id"] == AGGREGATOR)
    say(f"web console: {aggregator['url']}/  (sign in as {aggregator['username']}, password {aggregator['password']})")


def keep_running(session: Session, organizations: list[dict]) -> None:
    """--keep: the network stays up for the console until Ctrl-C, which ends the demo normally."""
    say("\n--keep: the network keeps running; every organization serves its console:")
    for org in organizations:
        say(f"  {org['org_id']}: {org['url']}/  ({org['username']}, password {org['password']})")
    say("Ctrl-C stops it")
    try:
        while True:
            time.sleep(2)
            session.check_network()
    except KeyboardInterrupt:
        return


def log_in(organizations: list[dict]) -> dict[str, substra.Client]:
    clients = {}
    for organization in organizations:
        client = substra.Client(url=organization["url"], backend_type="remote")
        client.login(organization["username"], organization["password"])
        clients[organization["org_id"]] = client
    return clients


def describe_failure(client: substra.Client, plan) -> str:
    status = str(plan.status.value).removeprefix("PLAN_STATUS_").lower()
    lines = [f"the plan is {status}: {plan.failed_count} task(s) failed, {plan.done_count} done"]
    if plan.failed_task_key:
        with contextlib.suppress(Exception):
            task = client.get_task(plan.failed_task_key)
            lines.append(f"first failure: task {task.key} ({task.function.name}) on {task.worker}")
        with contextlib.suppress(Exception):
            logs = client.get_logs(plan.failed_task_key).strip().splitlines()
            lines += ["its last log lines:", *(f"  {line}" for line in logs[-15:])]
    return "\n".join(lines)


def check_accuracy(final: report.RoundResult) -> None:
    gap = abs(final.federated - final.centralized)
    comparison = (
        f"federated accuracy {report.percent(final.federated)} after {final.round} rounds, "
        f"centralized baseline {report.percent(final.centralized)}"
    )
    if gap > TOLERANCE + 1e-9:
        raise DemoFailed(f"{comparison}: {100 * gap:.1f} points apart, more than {100 * TOLERANCE:.0f}")
    say(f"{comparison}: within {100 * TOLERANCE:.0f} points")


def shown_path(path: Path) -> str:
    path = path.resolve()
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)
