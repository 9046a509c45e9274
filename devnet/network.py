"""A local network: one orchestrator and N organizations (backend + event consumer), started as
detached processes whose pids are kept in `DIR/processes.json`, so that another process (`down`)
stops them. `python -m devnet up|down` drives it (devnet/__main__.py).

Each backend API runs under gunicorn with the image's config (docker/gunicorn.conf.py), bounded
processes, threads and database connections, as in production (API_PROCESSES, API_THREADS).

Embedded (default): SQLite files and filesystem storage under DIR. `services=True`: a fresh
PostgreSQL database per component (devnet/postgres.py) and a SeaweedFS S3 server (devnet/s3.py).
"""

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from compute.executors import remove_instance_containers
from devnet.orchestrator import OrchestratorProcess
from devnet.s3 import S3Server, free_ports
from orchestrator_client.pki import Authority

REPO = Path(__file__).resolve().parent.parent
CHANNEL = "mychannel"
PROCESSES = "processes.json"
NETWORK = "network.json"
METRICS = "metrics.json"  # the /metrics URL of every process
PEERS = "peers.json"  # the peer credentials exchanged between the organizations
# Bounds on database connections (PostgreSQL allows 100 here): per backend API, at most
# API_PROCESSES x API_THREADS; the orchestrator, ORCHESTRATOR_THREADS plus one per channel and one.
API_PROCESSES, API_THREADS = 2, 4
ORCHESTRATOR_THREADS = 16


class DevnetError(RuntimeError):
    """Something did not start; the message names the log to read."""


def org_ids(count: int) -> list[str]:
    return [f"MyOrg{i}MSP" for i in range(1, count + 1)]


# The record of what was started (processes.json), written after each start.


class Record:
    def __init__(self, state_dir: Path):
        self.path = state_dir / PROCESSES
        self.data = json.loads(self.path.read_text()) if self.path.exists() else {}
        self.data.setdefault("processes", [])
        self.data.setdefault("databases", [])
        self.data.setdefault("s3", None)

    def save(self) -> None:
        draft = self.path.with_suffix(".tmp")
        draft.write_text(json.dumps(self.data, indent=2))
        draft.replace(self.path)

    def add_process(self, name: str, pid: int) -> None:
        self.data["processes"].append({"name": name, "pid": pid, "start_time": _start_time(pid)})
        self.save()

    def add_database(self, url: str) -> None:
        self.data["databases"].append(url)
        self.save()


def _start_time(pid: int) -> str | None:
    """The process's start time (clock ticks since boot): tells a reused pid apart."""
    with contextlib.suppress(OSError, IndexError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    return None


def _spawn(
    state_dir: Path, record: Record, name: str, command: list[str], env: dict, nice: int = 0
) -> subprocess.Popen:
    """Starts `command` in a session of its own (Ctrl-C and the end of `up` do not reach it),
    output to DIR/<name>.log, and records its pid. `nice`: its CPU priority, lower from 1 to 19."""
    with open(state_dir / f"{name}.log", "ab") as log:
        process = subprocess.Popen(
            command, env=env, cwd=REPO, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    if nice:
        lower_priority(process.pid, nice)
    record.add_process(name, process.pid)
    return process


# The devnet's compute workers share the machine with the API, the orchestrator and the consumer:
# they run at a lower CPU priority, so that a task running does not slow a registration or a
# page (a real network runs its workers on nodes of their own). They still take every core the
# rest leaves idle. DEVNET_WORKER_NICE=0 runs them as the rest.
WORKER_NICE = int(os.environ.get("DEVNET_WORKER_NICE", "10"))


def lower_priority(pid: int, nice: int) -> None:
    """The process's nice value (its children, the Celery pool, inherit it), and its session's:
    with the kernel's autogroups each session competes as one, and a process's own nice value
    only counts against the processes of its session."""
    os.setpriority(os.PRIO_PROCESS, pid, nice)
    with contextlib.suppress(OSError):  # a kernel without autogroups: the nice value is enough
        Path(f"/proc/{pid}/autogroup").write_text(str(nice))


# up


def up(
    state_dir: Path | str,
    orgs: int = 2,
    services: bool = False,
    timeout: float = 120.0,
    executor: str = "auto",
    workers: bool = True,
) -> dict:
    """Starts the network and returns what network.json holds. On failure, stops what it started
    and raises DevnetError. `executor`: where workers run functions (COMPUTE_EXECUTOR: docker,
    subprocess, or auto: Docker when a daemon answers). Without `workers`, nothing builds or runs
    (to measure the API alone)."""
    state_dir = Path(state_dir).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    if (state_dir / PROCESSES).exists() and Record(state_dir).data["processes"]:
        raise DevnetError(f"a network is already recorded in {state_dir}: run `python -m devnet down` first")
    (state_dir / NETWORK).unlink(missing_ok=True)
    record = Record(state_dir)
    record.save()
    try:
        network = _up(state_dir, record, org_ids(orgs), services, time.monotonic() + timeout, executor, workers)
    except BaseException:
        down(state_dir, grace=5.0)
        raise
    (state_dir / NETWORK).write_text(json.dumps(network, indent=2))
    return network


def _up(
    state_dir: Path, record: Record, orgs: list[str], services: bool, deadline: float, executor: str, workers: bool
) -> dict:
    authority = Authority.create()
    # Queues are named apart per network: several networks may share one Redis.
    network_id = secrets.token_hex(4)
    record.data["instance"] = f"devnet-{network_id}"
    record.save()
    s3 = None
    if services:
        from devnet.postgres import create_database

        s3 = S3Server(state_dir / "s3")
        record.data["s3"] = str(s3.folder)
        record.save()
        s3.start()
        orchestrator_db = create_database("devnet_orchestrator")
        record.add_database(orchestrator_db)
        backend_dbs = {}
        for org in orgs:
            backend_dbs[org] = create_database("devnet_backend")
            record.add_database(backend_dbs[org])
    else:
        orchestrator_db = f"sqlite:///{state_dir / 'orchestrator' / 'orchestrator.sqlite3'}"
        backend_dbs = {}

    orchestrator = OrchestratorProcess(state_dir / "orchestrator", orchestrator_db, {CHANNEL: orgs}, authority)
    _run(orchestrator.migrate, "orchestrator migration", state_dir / "orchestrator")
    port_file = state_dir / "orchestrator" / "port"
    port_file.unlink(missing_ok=True)
    env = orchestrator.environment()
    env.pop("DJANGO_SETTINGS_MODULE", None)
    # Each thread may hold a database connection: bounded, with the backends', well under
    # PostgreSQL's max_connections (100 by default).
    env["ORCHESTRATOR_THREADS"] = os.environ.get("DEVNET_ORCHESTRATOR_THREADS", str(ORCHESTRATOR_THREADS))
    metrics = _metrics_ports(state_dir, orgs)
    env["ORCHESTRATOR_METRICS_PORT"] = str(metrics["orchestrator"])
    process = _spawn(
        state_dir, record, "orchestrator",
        [sys.executable, "-m", "orchestrator", "serve", "--address", "127.0.0.1:0", "--port-file", str(port_file)],
        env,
    )  # fmt: skip
    while not port_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise DevnetError(f"the orchestrator did not start: see {state_dir / 'orchestrator.log'}")
        time.sleep(0.05)
    orchestrator.port = int(port_file.read_text())

    ports = dict(zip(orgs, free_ports(len(orgs)), strict=True))
    urls = {org: f"http://127.0.0.1:{ports[org]}" for org in orgs}
    passwords = {org: secrets.token_urlsafe(18) for org in orgs}
    # Passwords go as --option=value: a token may start with "-".
    # One password per direction: peer_passwords[(a, b)] is what a presents when it calls b.
    peer_passwords = {(a, b): secrets.token_urlsafe(24) for a in orgs for b in orgs if a != b}
    envs = {
        org: _backend_environment(state_dir, authority, orchestrator, org, urls[org], backend_dbs.get(org), s3)
        for org in orgs
    }
    for org in orgs:
        envs[org].update(_api_server_environment(state_dir / org, ports[org]))
    for org in orgs:
        envs[org].update(_worker_environment(network_id, org, executor, services))

    def set_up(org: str) -> None:
        commands = [
            ["migrate", "--noinput"],
            ["create_admin", "--username=admin", f"--password={passwords[org]}", f"--channel={CHANNEL}"],
        ]
        commands += [
            ["add_peer", f"--org-id={other}", f"--incoming-password={peer_passwords[(other, org)]}",
             f"--outgoing-password={peer_passwords[(org, other)]}", f"--url={urls[other]}"]
            for other in orgs
            if other != org
        ]  # fmt: skip
        manage_all(envs[org], state_dir, org, commands)

    with ThreadPoolExecutor(max_workers=len(orgs)) as pool:
        list(pool.map(set_up, orgs))
    # For tests and operators calling a backend as a peer: [{"from", "to", "password"}], mode 600.
    peers_file = state_dir / PEERS
    peers_file.touch(mode=0o600)
    peers_file.write_text(
        json.dumps([{"from": a, "to": b, "password": password} for (a, b), password in peer_passwords.items()])
    )

    # The backend does not register its organization: the devnet does, with the org's identity.
    for org in orgs:
        client = orchestrator.client(org, CHANNEL)
        try:
            client.register_organization(urls[org])
        finally:
            with contextlib.suppress(Exception):
                client.close()

    servers = {}
    for org in orgs:
        measured = {process: _metrics_environment(state_dir / org, process, metrics[org]) for process in metrics[org]}
        servers[org] = _spawn(
            state_dir, record, f"{org}-backend", backend_command(), {**envs[org], **measured["api"]}
        )  # fmt: skip
        consume = [sys.executable, "manage.py", "consume_events"]
        _spawn(state_dir, record, f"{org}-consumer", consume, {**envs[org], **measured["consumer"]})
        _save_environment(state_dir, org, envs[org])
        if workers:
            worker_env = {**envs[org], **measured["worker"]}
            _spawn(state_dir, record, f"{org}-worker", worker_command(org, worker_env), worker_env, WORKER_NICE)

    for org in orgs:
        _wait_login(urls[org], "admin", passwords[org], servers[org], state_dir / f"{org}-backend.log", deadline)
    for entry in record.data["processes"]:
        if not _alive(entry["pid"]):
            raise DevnetError(f"{entry['name']} exited: see {state_dir / (entry['name'] + '.log')}")

    return {
        "orchestrator": {"address": orchestrator.address},
        "orgs": [
            {"org_id": org, "url": urls[org], "username": "admin", "password": passwords[org], "channel": CHANNEL}
            for org in orgs
        ],
    }


def _metrics_ports(state_dir: Path, orgs: list[str]) -> dict:
    """A Prometheus metrics port for the orchestrator and for each organization's API, consumer
    and worker, written to DIR/metrics.json as their /metrics URLs."""
    free = iter(free_ports(1 + 3 * len(orgs)))
    ports = {org: {process: next(free) for process in ("api", "consumer", "worker")} for org in orgs}
    ports["orchestrator"] = next(free)
    urls = {
        "orchestrator": f"http://127.0.0.1:{ports['orchestrator']}/metrics",
        "orgs": {org: {p: f"http://127.0.0.1:{port}/metrics" for p, port in ports[org].items()} for org in orgs},
    }
    (state_dir / METRICS).write_text(json.dumps(urls, indent=2))
    return ports


def _metrics_environment(folder: Path, process: str, ports: dict) -> dict:
    """The variables that make one process serve its metrics (docs/operator-guide.md, "Metrics")."""
    variable = {"api": "BACKEND_API_METRICS_PORT", "consumer": "BACKEND_CONSUMER_METRICS_PORT"}
    env = {variable.get(process, "BACKEND_WORKER_METRICS_PORT"): str(ports[process])}
    if process != "consumer":  # several processes each: they add up their counts in a folder
        env["PROMETHEUS_MULTIPROC_DIR"] = str(folder / f"{process}-metrics")
    return env


def _backend_environment(state_dir, authority, orchestrator, org, url, database_url, s3) -> dict:
    folder = state_dir / org
    folder.mkdir(parents=True, exist_ok=True)
    identity = authority.organization_identity(org)
    for name, pem in [("ca.pem", authority.cert), ("org.pem", identity.cert), ("org.key", identity.key)]:
        (folder / name).write_bytes(pem)
    (folder / "org.key").chmod(0o600)
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith(("BACKEND_", "ORCHESTRATOR_"))},
        "DJANGO_SETTINGS_MODULE": "backend.settings",
        "PYTHONPATH": str(REPO),
        "PYTHONUNBUFFERED": "1",
        "BACKEND_DATA_DIR": str(folder),
        "BACKEND_ORG_ID": org,
        "BACKEND_CHANNELS": json.dumps({CHANNEL: {"model_export_enabled": True, "restricted": False}}),
        "BACKEND_PUBLIC_URL": url,
        "ORCHESTRATOR_ADDRESS": orchestrator.address,
        "ORCHESTRATOR_TLS_CA": str(folder / "ca.pem"),
        "ORCHESTRATOR_TLS_CERT": str(folder / "org.pem"),
        "ORCHESTRATOR_TLS_KEY": str(folder / "org.key"),
    }
    # Folders whose data samples may be registered in place (`add_data_sample(..., local=False)`).
    if os.environ.get("BACKEND_SERVER_DATA_ROOTS"):
        env["BACKEND_SERVER_DATA_ROOTS"] = os.environ["BACKEND_SERVER_DATA_ROOTS"]
    if database_url:
        env["BACKEND_DATABASE_URL"] = database_url
    if s3 is not None:
        env.update(s3.backend_environment(org.lower()))
    return env


def _api_server_environment(folder: Path, port: int) -> dict:
    """The backend API as in the image: gunicorn with docker/gunicorn.conf.py, bounded processes
    and threads, database connections pooled (one per thread at most, docker/gunicorn.conf.py),
    idle ones closed within seconds."""
    (folder / "static").mkdir(parents=True, exist_ok=True)
    return {
        "BACKEND_HTTP_ADDRESS": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(API_PROCESSES),
        "GUNICORN_THREADS": str(API_THREADS),
        "GUNICORN_CONTROL_SOCKET": str(folder / "gunicorn.ctl"),
        "STATIC_FILES_DIR": str(folder / "static"),
        "BACKEND_DATABASE_POOL_MAX_IDLE": "2",
    }


def backend_command() -> list[str]:
    """The backend API server; its address and bounds come from the environment."""
    return [sys.executable, "-m", "gunicorn", "-c", str(REPO / "docker" / "gunicorn.conf.py")]


def _worker_environment(network_id: str, org: str, executor: str, services: bool) -> dict:
    env = {
        "COMPUTE_EXECUTOR": executor,
        "COMPUTE_QUEUE": f"devnet-{network_id}.{org}.compute",
        "COMPUTE_BUILD_QUEUE": f"devnet-{network_id}.{org}.builds",
        "COMPUTE_INSTANCE": f"devnet-{network_id}",
    }
    if services:
        env["CELERY_BROKER_URL"] = os.environ.get("DEVNET_REDIS_URL", "redis://127.0.0.1:6379/0")
    return env


def _save_environment(state_dir: Path, org: str, env: dict) -> None:
    """Kept (mode 600: it names the key files) so that a process of `org` can be started again."""
    path = state_dir / org / "environment.json"
    path.touch(mode=0o600)
    path.write_text(json.dumps(env))


def kill_process(state_dir: Path | str, org: str, kind: str) -> None:
    """SIGKILLs `org`'s `kind` process ("worker" or "consumer") and every process of its group,
    as a crash would."""
    state_dir = Path(state_dir).resolve()
    record = Record(state_dir)
    for entry in [e for e in record.data["processes"] if e["name"] == f"{org}-{kind}"]:
        if _same_process(entry):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(entry["pid"], signal.SIGKILL)
        _wait_groups_gone([entry["pid"]], 10.0)
        record.data["processes"].remove(entry)
    record.save()


def start_process(state_dir: Path | str, org: str, kind: str, node: str = "") -> None:
    """Starts `org`'s `kind` process ("worker", "consumer" or "backend") again, with the
    environment the network gave it. A worker with a `node` name is another worker of the
    organization."""
    state_dir = Path(state_dir).resolve()
    env = json.loads((state_dir / org / "environment.json").read_text())
    commands = {"consumer": [sys.executable, "manage.py", "consume_events"], "backend": backend_command()}
    command = worker_command(org, env, node) if kind == "worker" else commands[kind]
    _spawn(state_dir, Record(state_dir), f"{org}-{kind}", command, env, WORKER_NICE if kind == "worker" else 0)


def worker_command(org: str, env: dict, node: str = "") -> list[str]:
    """The Celery worker of `org`: its task queue and its build queue (and one of its own)."""
    queues = f"{env['COMPUTE_QUEUE']},{env['COMPUTE_BUILD_QUEUE']}"
    name = f"{org}-{node}@%h" if node else f"{org}@%h"
    return [
        sys.executable, "-m", "celery", "-A", "backend", "worker", "-Q", queues, "-n", name,
        "--concurrency", os.environ.get("WORKER_CONCURRENCY", "1"), "--loglevel", "INFO", "--without-gossip",
        "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip


def manage_all(env: dict, state_dir: Path, org: str, commands: list[list[str]]) -> None:
    """Several `manage.py` commands for `org` in one process (devnet/setup_org.py), output
    appended to DIR/<org>-setup.log."""
    log_path = state_dir / f"{org}-setup.log"
    with open(log_path, "ab") as log:
        result = subprocess.run(
            [sys.executable, "-m", "devnet.setup_org"], env=env, cwd=REPO, input=json.dumps(commands).encode(),
            stdout=log, stderr=subprocess.STDOUT, timeout=300,
        )  # fmt: skip
    if result.returncode:
        raise DevnetError(f"setting up {org} failed: see {log_path}")


def _run(function, what: str, log_folder: Path) -> None:
    try:
        function()
    except subprocess.CalledProcessError as error:
        log = log_folder / "migrate.log"
        log.write_bytes((error.stdout or b"") + (error.stderr or b""))
        raise DevnetError(f"{what} failed: see {log}") from None


def _wait_login(url, username, password, process, log_path, deadline) -> None:
    body = urllib.parse.urlencode({"username": username, "password": password}).encode()
    last = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DevnetError(f"the backend at {url} exited: see {log_path}")
        try:
            with urllib.request.urlopen(f"{url}/api-token-auth/", data=body, timeout=5) as answer:
                if "token" in json.loads(answer.read()):
                    return
        except (urllib.error.URLError, OSError, ValueError) as error:
            last = error
        time.sleep(0.2)
    raise DevnetError(f"the backend at {url} did not accept the admin's login ({last}): see {log_path}")


# down


def down(state_dir: Path | str, grace: float = 10.0) -> None:
    """Stops everything recorded in DIR/processes.json; does nothing when there is nothing."""
    state_dir = Path(state_dir).resolve()
    if not (state_dir / PROCESSES).exists():
        return
    record = Record(state_dir)
    # Consumers and backends first, then the orchestrator they talk to.
    entries = list(reversed(record.data["processes"]))
    ours = [entry["pid"] for entry in entries if _same_process(entry)]
    for pid in ours:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
    survivors = _wait_groups_gone(ours, grace)
    for pid in survivors:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    left = _wait_groups_gone(survivors, 10.0)
    if left:
        raise DevnetError(f"processes survived SIGKILL: {left}")
    record.data["processes"] = []
    record.save()
    # Task containers outlive their worker: the plan's end_plan may not have run.
    if record.data.get("instance"):
        remove_instance_containers(record.data["instance"])
    if record.data["s3"]:
        S3Server.stop_recorded(record.data["s3"], grace=grace)
        record.data["s3"] = None
        record.save()
    if record.data["databases"]:
        from devnet.postgres import drop_database

        for url in list(record.data["databases"]):
            drop_database(url)
            record.data["databases"].remove(url)
            record.save()
    (state_dir / PROCESSES).unlink(missing_ok=True)


def _same_process(entry: dict) -> bool:
    """Still the process we started (not a reused pid)?"""
    return _alive(entry["pid"]) and _start_time(entry["pid"]) == entry.get("start_time")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError, IndexError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def _group_alive(pgid: int) -> bool:
    # Our own children (when `up` fails and cleans up) must be reaped, else they stay zombies.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pgid, os.WNOHANG)
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A group whose leader is a zombie and has no other member is gone for our purpose.
    return _alive(pgid) or _group_members(pgid)


def _group_members(pgid: int) -> bool:
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


def _wait_groups_gone(pgids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        left = [pgid for pgid in pgids if _group_alive(pgid)]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.1)
