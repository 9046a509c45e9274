"""Where a task's function runs: in a container (DockerExecutor) or, on a machine without Docker,
in a plain process (SubprocessExecutor, which isolates nothing and says so).

A plan's folder on the host holds one folder per task under `inputs/` (opener, data samples,
models and the argument file, read-only for the function) and under `outputs/` (writable). The
function sees them under `root` (`/substra_internal` in a container, the host folder itself in a
subprocess), so the substratools arguments are written with `executor.root_of(plan_dir)`.

    image = executor.prepare_image(checksum, unpack_archive)    # once per archive checksum
    result = executor.run(Execution(plan_key, plan_dir, image, task_key), should_stop)

The Docker executor keeps one container per (plan, image), started on the plan's first task and
removed by `end_plan`: each task is an exec of the image's entrypoint with `@<argument file>`,
which saves the few hundred milliseconds of a container start per task. For a `python script.py`
entrypoint, a fork server (compute/forkserver.py) in that container has imported the script's
libraries once, and each task is a fresh fork of it instead of an exec: the interpreter's start
and the imports are not paid again (`ForkedTask` is the worker's side of its socket).
"""

import collections
import contextlib
import json
import logging
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock

logger = logging.getLogger(__name__)

CONTAINER_ROOT = "/substra_internal"
ARGUMENTS = "arguments.txt"
# For images whose USER is root: Substra runs compute pods as uid/gid 1001, and Dockerfiles
# written for it (substrafl's, its end-to-end suite's) give that uid a 0700 home holding the
# function. Any fixed non-root uid is as unprivileged as another.
UNPRIVILEGED_USER = "1001:1001"
POLL_SECONDS = 0.25
KILL_SETTLE_SECONDS = 2.0  # how long a killed container may still be reported running


class BuildFailed(Exception):
    """The function's own archive does not build: a BUILD_ERROR, with the build's log."""

    def __init__(self, message: str, log: str):
        super().__init__(message)
        self.log = log


class ExecutorUnavailable(Exception):
    """The container engine failed us: an infrastructure error, worth a retry."""


@dataclass(frozen=True)
class Image:
    checksum: str
    name: str  # a Docker image tag, or the folder of the unpacked archive
    entrypoint: list[str]
    workdir: str = ""
    user: str = ""


@dataclass(frozen=True)
class Execution:
    plan_key: str
    plan_dir: Path
    image: Image
    task_key: str
    timeout: float | None = None


@dataclass
class Result:
    exit_code: int | None  # None: stopped (cancelled or timed out) before it ended
    logs: bytes
    seconds: float
    stopped: str = ""  # "cancelled" or "timeout"
    killed: "Killed | None" = None  # why the function was killed from outside, when it was


@dataclass(frozen=True)
class Killed:
    """Why a function died of something other than its own exit: `cause` is "oom" (the kernel's
    OOM killer, at the memory limit), "container" (its container was stopped or removed) or
    "signal" (a signal from outside, the container still running); `infrastructure` tells
    whether the function is to blame (no: INTERNAL_ERROR, yes: EXECUTION_ERROR)."""

    cause: str
    message: str

    @property
    def infrastructure(self) -> bool:
        return self.cause != "oom"


def signal_name(number: int) -> str:
    with contextlib.suppress(ValueError):
        return signal.Signals(number).name
    return f"signal {number}"


def killed_by_signal(exit_code: int) -> Killed | None:
    """A process killed by SIGKILL or SIGTERM (128 + n in a shell or Docker, -n from Popen) was
    killed from outside; other signals (SIGSEGV, SIGABRT...) are the function's own crash."""
    number = -exit_code if exit_code < 0 else exit_code - 128 if exit_code > 128 else 0
    if number in (signal.SIGKILL, signal.SIGTERM):
        return Killed("signal", f"the function was killed by {signal_name(number)} from outside it")
    return None


RUN_RECORD = "{task}.run"  # beside the task's output folder: what runs it, to stop it if its worker dies


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = 0  # 0: no limit
    cpus: float = 0.0
    pids: int = 0
    gpus: bool = False


def task_folders(plan_dir: Path, task_key: str) -> tuple[Path, Path]:
    """The task's input and output folders on the host, made if needed."""
    inputs, outputs = plan_dir / "inputs" / task_key, plan_dir / "outputs" / task_key
    for folder in (plan_dir / "inputs", plan_dir / "outputs"):
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o755)
    inputs.mkdir(exist_ok=True)
    shutil.rmtree(outputs, ignore_errors=True)
    outputs.mkdir()
    # The function may run as any uid (the image's own USER, or 1001): it must write here.
    outputs.chmod(0o777)
    return inputs, outputs


def write_arguments(inputs_dir: Path, arguments: list[str]) -> Path:
    """The substratools argument file: one argument a line, read with `@file`."""
    path = inputs_dir / ARGUMENTS
    path.write_text("".join(f"{argument}\n" for argument in arguments))
    return path


def entrypoint_of_dockerfile(dockerfile: Path) -> list[str]:
    """The exec-form ENTRYPOINT of a Dockerfile (`ENTRYPOINT ["python3", "f.py", ...]`)."""
    entrypoint = None
    for line in dockerfile.read_text().splitlines():
        words = line.strip().split(None, 1)
        if len(words) == 2 and words[0].upper() == "ENTRYPOINT":
            try:
                entrypoint = json.loads(words[1])
            except json.JSONDecodeError:
                raise BuildFailed("The Dockerfile's ENTRYPOINT must be in exec form", line) from None
    if not entrypoint or not all(isinstance(part, str) for part in entrypoint):
        raise BuildFailed("The Dockerfile has no ENTRYPOINT in exec form", dockerfile.read_text())
    return entrypoint


# Subprocess: the embedded mode


class SubprocessExecutor:
    """Runs the function's entrypoint as a plain process of this worker, with this Python. No
    isolation at all: the function can read and write what the worker can. For a single machine
    that has no Docker, never for data that matters."""

    def __init__(self, images_dir: Path, warm: bool = True):
        self.images_dir = Path(images_dir)
        self.images_dir.mkdir(parents=True, exist_ok=True)
        self.warm = warm  # a fork server per (plan, image) for Python entrypoints
        self._servers: dict[tuple[str, str], subprocess.Popen] = {}
        self._starts = ServerStarts()
        self._servers_lock = threading.Lock()
        logger.warning(
            "SUBPROCESS EXECUTOR: functions run as plain processes of the worker, WITHOUT ISOLATION "
            "(no container, network, file or user limits). Use Docker for anything but a demo."
        )

    def root_of(self, plan_dir: Path) -> str:
        return str(plan_dir)

    def prepare_image(self, checksum: str, unpack: Callable[[Path], None]) -> Image:
        folder = self.images_dir / checksum
        if not (folder / ".ready").exists():
            draft = self.images_dir / f".{checksum}.{os.getpid()}.{threading.get_ident()}"
            shutil.rmtree(draft, ignore_errors=True)
            draft.mkdir()
            try:
                unpack(draft)
                if not (draft / "Dockerfile").exists():
                    raise BuildFailed("The function's archive has no Dockerfile at its root", "")
                entrypoint_of_dockerfile(draft / "Dockerfile")
                (draft / ".ready").touch()
                with contextlib.suppress(OSError):  # another process got there first: same content
                    draft.rename(folder)
            finally:
                shutil.rmtree(draft, ignore_errors=True)
        entrypoint = entrypoint_of_dockerfile(folder / "Dockerfile")
        if Path(entrypoint[0]).name.startswith("python"):
            entrypoint = [sys.executable, *entrypoint[1:]]
        return Image(checksum=checksum, name=str(folder), entrypoint=entrypoint)

    def prestart(self, plan_key: str, plan_dir: Path, image: Image) -> None:
        """Starts the (plan, image)'s fork server, if its entrypoint is Python and none runs."""
        if not self.warm or not python_script(image.entrypoint):
            return
        with self._servers_lock:
            key = (plan_key, image.checksum)
            server = self._servers.get(key)
            if (server is not None and server.poll() is None) or not self._starts.may_start(key):
                return
            folder = make_server_folder(plan_dir, image)
            self._servers[key] = subprocess.Popen(
                server_command(
                    image.entrypoint, str(FORKSERVER), str(folder / SERVER_SOCKET), "--parent", str(os.getpid())
                ),
                cwd=image.name,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )

    def run(self, execution: Execution, should_stop: Callable[[], bool]) -> Result:
        arguments = execution.plan_dir / "inputs" / execution.task_key / ARGUMENTS
        started = time.monotonic()
        with open(execution.plan_dir / "outputs" / f"{execution.task_key}.log", "w+b") as log:
            forked = self._forked(execution, f"@{arguments}", log)
            if forked is None:
                exit_code, stopped = self._run_process(execution, f"@{arguments}", log, should_stop, started)
            else:
                exit_code, stopped = self._run_forked(execution, forked, should_stop, started)
            log.seek(0)
            logs = log.read()
        killed = None if stopped or exit_code == 0 else killed_by_signal(exit_code)
        return Result(None if stopped else exit_code, logs, time.monotonic() - started, stopped, killed)

    def _forked(self, execution: Execution, arguments: str, log) -> "ForkedTask | None":
        """The task started by the (plan, image)'s fork server; None (and the server started
        for the next task) when none answers."""
        image = execution.image
        if not self.warm or not python_script(image.entrypoint):
            return None
        forked = ForkedTask(server_folder(execution.plan_dir, image))
        self._starts.await_ready((execution.plan_key, image.checksum), forked.folder)
        if forked.start([arguments], {}, log):
            return forked
        self.prestart(execution.plan_key, execution.plan_dir, image)
        return None

    def _run_forked(self, execution: Execution, forked: "ForkedTask", should_stop, started: float):
        _write_run_record(execution, {"pid": forked.pid, "start_time": _process_start_time(forked.pid)})
        try:
            stopped = _wait(forked.ended, should_stop, started, execution.timeout)
        finally:
            forked.close()  # kills the task's process group if it still runs
        if not stopped and forked.exit_code is None:
            raise ExecutorUnavailable(f"the fork server running task {execution.task_key} died")
        if stopped:
            _wait_group_gone(forked.pid)
        return (128 + signal.SIGKILL if stopped else forked.exit_code), stopped

    def _run_process(self, execution: Execution, arguments: str, log, should_stop, started: float):
        process = subprocess.Popen(
            [*execution.image.entrypoint, arguments],
            cwd=execution.image.name,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _write_run_record(execution, {"pid": process.pid, "start_time": _process_start_time(process.pid)})
        try:
            stopped = _wait(_process_ended(process), should_stop, started, execution.timeout)
        except BaseException:
            # should_stop failed (its database went away, say): in a session of its own, the
            # function would run on unwatched, past any retry of its task.
            _kill_group(process)
            raise
        if stopped:
            _kill_group(process)
        return process.wait(), stopped

    def stop_stale_run(self, plan_dir: Path, task_key: str) -> bool:
        """Kills what an earlier run of the task started, if it still runs (its worker died:
        the function runs in a session of its own). True if something was stopped."""
        record = _read_run_record(plan_dir, task_key)
        pid = record.get("pid")
        if not pid or _process_start_time(pid) != record.get("start_time"):
            return False  # ended, or the pid now belongs to another process
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        return True

    def end_plan(self, plan_key: str) -> None:
        """Stops the plan's fork servers (their tasks die with them)."""
        with self._servers_lock:
            ended = [key for key in self._servers if key[0] == plan_key]
            servers = [self._servers.pop(key) for key in ended]
            self._starts.forget(ended)
        for server in servers:
            server.kill()
            server.wait()

    def plans_with_containers(self) -> list[str]:
        return []


def _write_run_record(execution: Execution, record: dict) -> None:
    path = execution.plan_dir / "outputs" / RUN_RECORD.format(task=execution.task_key)
    path.write_text(json.dumps(record))


def _read_run_record(plan_dir: Path, task_key: str) -> dict:
    try:
        return json.loads((Path(plan_dir) / "outputs" / RUN_RECORD.format(task=task_key)).read_text())
    except (OSError, ValueError):
        return {}


def _process_start_time(pid: int) -> str | None:
    """The process's start time (clock ticks since boot): tells a reused pid apart."""
    with contextlib.suppress(OSError, IndexError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    return None


def _kill_group(process: subprocess.Popen) -> None:
    """SIGKILL to the function and to whatever it started (its session is its process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _wait_group_gone(pid: int, seconds: float = 5.0) -> None:
    """Waits (a little) for a process group a fork server was told to kill to be gone."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.02)


def _wait(ended: Callable[[float], bool], should_stop: Callable[[], bool], started: float, timeout) -> str:
    """Waits until `ended(seconds)` (which blocks up to `seconds`) says the run is over: at once,
    not at the next poll. "cancelled" or "timeout" if it had to stop first."""
    while not ended(POLL_SECONDS):
        if should_stop():
            return "cancelled"
        if timeout and time.monotonic() - started > timeout:
            return "timeout"
    return ""


def _process_ended(process: subprocess.Popen) -> Callable[[float], bool]:
    def ended(seconds: float) -> bool:
        try:
            process.wait(seconds)
            return True
        except subprocess.TimeoutExpired:
            return False

    return ended


def _thread_ended(thread: threading.Thread) -> Callable[[float], bool]:
    def ended(seconds: float) -> bool:
        thread.join(seconds)
        return not thread.is_alive()

    return ended


# Warm interpreters: a fork server per (plan, image) for `python script.py` entrypoints

FORKSERVER = Path(__file__).with_name("forkserver.py")
FORKSERVER_IN_CONTAINER = "/substra_forkserver/forkserver.py"
SERVER_SOCKET = "server.sock"
SERVER_START_SECONDS = 5.0  # connecting and the server's `started` answer


def python_script(entrypoint: list[str]) -> bool:
    """Whether the entrypoint is `python[3[.N]] script.py [args...]`: what a fork server runs.
    Anything else (options to the interpreter, a shell, a binary) keeps a plain exec."""
    return (
        len(entrypoint) >= 2
        and re.fullmatch(r"python(\d+(\.\d+)?)?", Path(entrypoint[0]).name) is not None
        and entrypoint[1].endswith(".py")
    )


def server_command(entrypoint: list[str], forkserver: str, socket_path: str, *options: str) -> list[str]:
    """The entrypoint's interpreter running the fork server for the entrypoint's script."""
    return [entrypoint[0], forkserver, "--socket", socket_path, *options, *entrypoint[1:]]


def server_folder(plan_dir: Path, image: Image) -> Path:
    """Where the (plan, image)'s fork server listens, on the host."""
    return plan_dir / "forkservers" / image.checksum[:16]


def make_server_folder(plan_dir: Path, image: Image) -> Path:
    folder = server_folder(plan_dir, image)
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o777)  # the server runs as the image's user
    return folder


class ForkedTask:
    """A task run by a fork server: `start` sends it (False: no server answers, run it another
    way), `ended(seconds)` waits for its end, closing the connection kills it."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.connection: socket.socket | None = None
        self.pid = 0
        self.exit_code: int | None = None
        self.buffer = b""

    def start(self, args: list[str], env: dict, log) -> bool:
        try:
            self.connection = self._connect()
            self.connection.settimeout(SERVER_START_SECONDS)
            request = json.dumps({"args": args, "env": env}).encode() + b"\n"
            socket.send_fds(self.connection, [request], [log.fileno()])
            line = self._line()
        except OSError:
            line = b""
        if not line.startswith(b"started "):
            self.close()
            return False
        self.pid = int(line.split()[1])
        self.connection.settimeout(None)
        return True

    def _connect(self) -> socket.socket:
        # Through /proc/self/fd: a socket address holds 108 bytes, a plan's folder may be deeper.
        folder = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY)
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            connection.connect(f"/proc/self/fd/{folder}/{SERVER_SOCKET}")
        except OSError:
            connection.close()
            raise
        finally:
            os.close(folder)
        return connection

    def _line(self) -> bytes:
        while b"\n" not in self.buffer:
            chunk = self.connection.recv(4096)
            if not chunk:
                return b""
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line

    def ended(self, seconds: float) -> bool:
        """True once the task has ended (`exit_code` set) or its server died (`exit_code` None)."""
        if b"\n" not in self.buffer and not select.select([self.connection], [], [], seconds)[0]:
            return False
        try:
            line = self._line()
        except OSError:
            line = b""
        if line.startswith(b"exit "):
            self.exit_code = int(line.split()[1])
        return True

    def close(self) -> None:
        """Ends the connection: the server kills the task's process group if it still runs."""
        if self.connection is not None:
            self.connection.close()


SERVER_WARM_SECONDS = 20.0  # a task waits this long, at most, for a server started just before it
SERVER_STARTS = 3  # a server that will not stay up (an old python3, say) is given up after this


class ServerStarts:
    """When this process last started each fork server and how often: a task waits for a
    server that is warming up (rather than run a second interpreter beside it), and a server
    that keeps dying is given up (its tasks are plain runs)."""

    def __init__(self):
        self.last: dict = {}
        self.count: dict = {}

    def may_start(self, key) -> bool:
        if self.count.get(key, 0) >= SERVER_STARTS:
            return False
        self.count[key] = self.count.get(key, 0) + 1
        self.last[key] = time.monotonic()
        return True

    def await_ready(self, key, folder: Path) -> None:
        deadline = self.last.get(key, -SERVER_WARM_SECONDS) + SERVER_WARM_SECONDS
        while time.monotonic() < deadline and not server_ready(folder):
            time.sleep(0.02)

    def forget(self, keys) -> None:
        for key in keys:
            self.last.pop(key, None)
            self.count.pop(key, None)


def server_ready(folder: Path) -> bool:
    """Whether a fork server accepts connections in `folder`."""
    task = ForkedTask(folder)
    try:
        task.connection = task._connect()
    except OSError:
        return False
    task.close()
    return True


# Docker

INSTANCE_LABEL = "substra.instance"


def remove_instance_containers(instance: str) -> int:
    """Removes every container labelled with this instance; how many. Nothing without Docker."""
    try:
        import docker

        client = docker.from_env(timeout=30)
        containers = client.containers.list(all=True, filters={"label": f"{INSTANCE_LABEL}={instance}"})
    except Exception:
        return 0
    for container in containers:
        with contextlib.suppress(Exception):
            container.remove(force=True)
    return len(containers)


def _memory_cgroup(container_id: str) -> Path | None:
    """The container's memory cgroup folder, on a host that shows it (cgroup v1 or v2)."""
    for folder in (
        Path(f"/sys/fs/cgroup/memory/docker/{container_id}"),
        Path(f"/sys/fs/cgroup/memory/system.slice/docker-{container_id}.scope"),
        Path(f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope"),
        Path(f"/sys/fs/cgroup/docker/{container_id}"),
    ):
        if folder.is_dir():
            return folder
    return None


def _oom_kills(container_id: str) -> int | None:
    """How many processes the kernel's OOM killer has killed in the container (None: unknown)."""
    folder = _memory_cgroup(container_id)
    if folder is None:
        return None
    for name in ("memory.events", "memory.oom_control"):
        with contextlib.suppress(OSError):
            for line in (folder / name).read_text().splitlines():
                words = line.split()
                if len(words) == 2 and words[0] == "oom_kill":
                    return int(words[1])
    return None


def _kill_in_cgroup(pid: int | None, container_id: str) -> bool:
    """SIGKILLs `pid` if this host sees it as a process of the container; False otherwise."""
    if not pid:
        return False
    try:
        if container_id not in Path(f"/proc/{pid}/cgroup").read_text():
            return False
        os.kill(pid, signal.SIGKILL)
    except (OSError, ValueError):
        return False
    return True


@dataclass
class DockerExecutor:
    """Containers without network, as a non-root user, with inputs read-only and the limits
    given. `org` names this organization's containers apart from other organizations' on a
    shared engine; `instance`, when set, is a label on every container (a devnet's id, so that
    stopping the network removes its containers)."""

    org: str
    limits: Limits = field(default_factory=Limits)
    build_timeout: float = 1800.0
    client: object = None
    instance: str = ""
    build_dir: Path | None = None  # where build contexts are unpacked (the system's temp by default)
    warm: bool = True  # a fork server per (plan, image) container for Python entrypoints

    def __post_init__(self):
        import docker  # only where Docker is used

        self._docker = docker
        self._servers: dict[str, str] = {}  # container id -> the exec id of its fork server
        self._starts = ServerStarts()
        self._servers_lock = threading.Lock()
        # One thread at a time per container name in this process: a task's thread and a plan's
        # prestart ask for the same container, and one seeing it "created" would remove it while
        # the other starts it.
        self._naming = collections.defaultdict(threading.Lock)
        self._naming_lock = threading.Lock()
        if self.client is None:
            self.client = docker.from_env(timeout=300)

    def root_of(self, plan_dir: Path) -> str:
        return CONTAINER_ROOT

    @staticmethod
    def image_name(checksum: str) -> str:
        return f"substra-function:{checksum}"

    def prepare_image(self, checksum: str, unpack: Callable[[Path], None]) -> Image:
        """The image of a function archive, built once however many threads and processes ask
        at the same time (a file lock per checksum): an image with this tag is one built from
        this very archive."""
        name = self.image_name(checksum)
        locks = Path(self.build_dir or tempfile.gettempdir()) / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        try:
            with FileLock(locks / f"image-{checksum}.lock"):
                try:
                    image = self.client.images.get(name)
                except self._docker.errors.ImageNotFound:
                    image = self._build(name, unpack)
        except self._docker.errors.DockerException as error:
            raise ExecutorUnavailable(f"Docker failed: {error}") from error
        config = image.attrs.get("Config") or {}
        entrypoint = config.get("Entrypoint") or []
        if not entrypoint:
            raise BuildFailed("The image has no ENTRYPOINT: a function's Dockerfile must set one", "")
        return Image(checksum, name, list(entrypoint), config.get("WorkingDir") or "", config.get("User") or "")

    def _build(self, name: str, unpack: Callable[[Path], None]):
        with tempfile.TemporaryDirectory(dir=self.build_dir) as folder:
            unpack(Path(folder))
            if not (Path(folder) / "Dockerfile").exists():
                raise BuildFailed("The function's archive has no Dockerfile at its root", "")
            lines: list[str] = []
            failure = self._stream_build(folder, name, lines)
        log = "".join(lines)
        if failure:
            raise BuildFailed(failure, log)
        return self.client.images.get(name)

    def _stream_build(self, folder: str, name: str, lines: list[str]) -> str:
        """Builds, collecting the log; the error message, or "" when it built."""
        outcome = {"error": "", "done": False}

        def build():
            try:
                for chunk in self.client.api.build(path=folder, tag=name, rm=True, forcerm=True, decode=True):
                    if "stream" in chunk:
                        lines.append(chunk["stream"])
                    if "error" in chunk:
                        lines.append(chunk["error"] + "\n")
                        outcome["error"] = chunk["error"].strip()
            except self._docker.errors.DockerException as error:
                outcome["error"] = f"docker: {error}"
            outcome["done"] = True

        builder = threading.Thread(target=build, daemon=True)
        builder.start()
        builder.join(self.build_timeout)
        if not outcome["done"]:
            return f"The build took more than {self.build_timeout:.0f} s"
        return outcome["error"]

    def prestart(self, plan_key: str, plan_dir: Path, image: Image) -> None:
        """Starts the (plan, image)'s container and its fork server before a task needs them."""
        for folder in (plan_dir / "inputs", plan_dir / "outputs"):  # else Docker makes them, as root
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o755)
        try:
            self._container(Execution(plan_key, plan_dir, image, ""))
        except self._docker.errors.DockerException as error:
            raise ExecutorUnavailable(f"Docker failed: {error}") from error

    def run(self, execution: Execution, should_stop: Callable[[], bool]) -> Result:
        container = self._container(execution)
        arguments = f"{CONTAINER_ROOT}/inputs/{execution.task_key}/{ARGUMENTS}"
        if self.warm and python_script(execution.image.entrypoint):
            with open(execution.plan_dir / "outputs" / f"{execution.task_key}.log", "w+b") as log:
                forked = ForkedTask(server_folder(execution.plan_dir, execution.image))
                self._starts.await_ready(container.id, forked.folder)
                if forked.start([f"@{arguments}"], {"HOME": "/tmp"}, log):
                    return self._run_forked(container, execution, forked, log, should_stop)
            self._start_server(container, execution)  # for the next task; this one is an exec
        return self._run_exec(container, execution, arguments, should_stop)

    def _run_forked(self, container, execution: Execution, forked: ForkedTask, log, should_stop) -> Result:
        _write_run_record(execution, {"container": container.id, "forked": forked.pid})
        started = time.monotonic()
        ooms_before = _oom_kills(container.id)
        try:
            # The worker dying closes the connection too: the server then kills the task.
            stopped = _wait(forked.ended, should_stop, started, execution.timeout)
        finally:
            forked.close()
        if stopped:
            # As for an exec, the plan's container goes (a cancel stops the whole plan anyway).
            self.end_plan(execution.plan_key)
        log.seek(0)
        logs = log.read()
        if stopped:
            return Result(None, logs, time.monotonic() - started, stopped)
        exit_code = forked.exit_code
        try:
            killed = None if exit_code == 0 else self._why_killed(container.id, exit_code, ooms_before)
        except self._docker.errors.DockerException as error:
            raise ExecutorUnavailable(f"Docker failed running task {execution.task_key}: {error}") from error
        if exit_code is None and killed is None:
            raise ExecutorUnavailable(f"the fork server running task {execution.task_key} died")
        return Result(exit_code, logs, time.monotonic() - started, killed=killed)

    def _start_server(self, container, execution: Execution) -> None:
        """Starts the container's fork server (an exec that lives on) unless one is starting; a
        second one started by another worker process at the same time leaves at once."""
        image = execution.image
        with self._servers_lock:
            exec_id = self._servers.get(container.id)
            try:
                if exec_id and self.client.api.exec_inspect(exec_id).get("Running"):
                    return
                if not self._starts.may_start(container.id):
                    return
                folder = f"{CONTAINER_ROOT}/forkserver"
                exec_id = self.client.api.exec_create(
                    container.id,
                    server_command(
                        image.entrypoint, FORKSERVER_IN_CONTAINER, f"{folder}/{SERVER_SOCKET}", "--private-tmp"
                    ),
                    user=self._user(image),
                    workdir=image.workdir or None,
                    environment={"HOME": "/tmp"},
                )["Id"]
                self.client.api.exec_start(exec_id, detach=True)
            except self._docker.errors.DockerException as error:
                logger.warning("could not start the fork server of %s: %s", container.name, error)
                return
            self._servers[container.id] = exec_id

    def _run_exec(self, container, execution: Execution, arguments: str, should_stop) -> Result:
        api = self.client.api
        started = time.monotonic()
        try:
            exec_id = api.exec_create(
                container.id,
                [*execution.image.entrypoint, f"@{arguments}"],
                user=self._user(execution.image),
                workdir=execution.image.workdir or None,
                environment={"HOME": "/tmp"},
            )["Id"]
            _write_run_record(execution, {"container": container.id, "exec": exec_id})
            ooms_before = _oom_kills(container.id)
            chunks: list[bytes] = []
            reader = threading.Thread(target=lambda: chunks.extend(api.exec_start(exec_id, stream=True)), daemon=True)
            reader.start()
            stopped = _wait(_thread_ended(reader), should_stop, started, execution.timeout)
            if stopped:
                # An exec cannot be killed through the API: the plan's container goes with it
                # (a cancel stops the whole plan anyway).
                self.end_plan(execution.plan_key)
                reader.join(10)
                return Result(None, b"".join(chunks), time.monotonic() - started, stopped)
            exit_code = api.exec_inspect(exec_id)["ExitCode"]
            killed = None if exit_code == 0 else self._why_killed(container.id, exit_code, ooms_before)
        except self._docker.errors.DockerException as error:
            raise ExecutorUnavailable(f"Docker failed running task {execution.task_key}: {error}") from error
        if exit_code is None and killed is None:
            raise ExecutorUnavailable(f"the exec of task {execution.task_key} ended without an exit code")
        return Result(exit_code, b"".join(chunks), time.monotonic() - started, killed=killed)

    def _why_killed(self, container_id: str, exit_code: int | None, ooms_before: int | None) -> Killed | None:
        """From the container's state as Docker reports it (State.OOMKilled, Running) and the
        kernel's OOM kill count of its memory cgroup: what killed the function, if anything did."""
        try:
            state = self._settled_state(container_id, exit_code)
        except self._docker.errors.NotFound:
            return Killed("container", "the task's container was removed while the function ran")
        ooms_after = _oom_kills(container_id)
        oom_killed = state.get("OOMKilled") or (ooms_after or 0) > (ooms_before or 0)
        if oom_killed:
            limit = f" of {self.limits.memory_bytes} bytes" if self.limits.memory_bytes else ""
            return Killed(
                "oom", f"the function ran out of memory: killed by the kernel's OOM killer at the memory limit{limit}"
            )
        if not state.get("Running"):
            how = f"killed ({signal_name(state['ExitCode'] - 128)})" if state.get("ExitCode", 0) > 128 else "stopped"
            return Killed("container", f"the task's container was {how} while the function ran")
        return None if exit_code is None else killed_by_signal(exit_code)

    def _settled_state(self, container_id: str, exit_code: int | None) -> dict:
        """The container's state. A `docker kill` ends the exec a moment before the engine
        marks the container stopped: after a kill signal, wait for that a little."""
        state = self.client.api.inspect_container(container_id)["State"]
        deadline = time.monotonic() + KILL_SETTLE_SECONDS
        killed = exit_code is None or killed_by_signal(exit_code) is not None
        while state.get("Running") and killed and time.monotonic() < deadline:
            time.sleep(0.1)
            state = self.client.api.inspect_container(container_id)["State"]
        return state

    def stop_stale_run(self, plan_dir: Path, task_key: str) -> bool:
        """Stops the exec an earlier run of the task left running (its worker died; an exec
        outlives the `docker exec` that started it). The exec's process is killed when this
        host sees it in the container's cgroup; else the plan's container goes. True if
        something was stopped."""
        record = _read_run_record(plan_dir, task_key)
        if not record.get("exec"):
            return False
        try:
            found = self.client.api.exec_inspect(record["exec"])
        except self._docker.errors.NotFound:
            return False  # its container is gone, and the exec with it
        except self._docker.errors.DockerException as error:
            raise ExecutorUnavailable(f"Docker failed: {error}") from error
        if not found.get("Running"):
            return False
        if not _kill_in_cgroup(found.get("Pid"), record["container"]):
            with contextlib.suppress(self._docker.errors.NotFound, self._docker.errors.APIError):
                self.client.api.remove_container(record["container"], force=True)
        logger.warning(
            "task %s: stopped the run its dead worker left in container %s", task_key, record["container"][:12]
        )
        return True

    def plans_with_containers(self) -> list[str]:
        """Plans that have a container of this organization (and instance) on this engine."""
        labels = [f"substra.org={self.org}"] + ([f"{INSTANCE_LABEL}={self.instance}"] if self.instance else [])
        try:
            containers = self.client.containers.list(all=True, filters={"label": labels})
        except self._docker.errors.DockerException as error:
            raise ExecutorUnavailable(f"Docker failed: {error}") from error
        return sorted({container.labels.get("substra.plan", "") for container in containers} - {""})

    def end_plan(self, plan_key: str) -> None:
        for container in self.plan_containers(plan_key):
            with contextlib.suppress(self._docker.errors.NotFound, self._docker.errors.APIError):
                container.remove(force=True)
        with self._naming_lock:
            for name in [name for name in self._naming if f"-{plan_key.lower()}-" in name]:
                del self._naming[name]

    def plan_containers(self, plan_key: str) -> list:
        return self.client.containers.list(all=True, filters={"label": self._labels(plan_key)})

    def _labels(self, plan_key: str) -> list[str]:
        return [f"substra.org={self.org}", f"substra.plan={plan_key}"]

    def _container(self, execution: Execution):
        name = f"substra-{self.org}-{execution.plan_key}-{execution.image.checksum[:16]}".lower()
        with self._naming_lock:
            naming = self._naming[name]
        with naming:
            return self._named_container(name, execution)

    def _named_container(self, name: str, execution: Execution):
        try:
            container = self.client.containers.get(name)
            if container.status == "running":
                return container
            container.remove(force=True)
        except self._docker.errors.NotFound:
            pass
        try:
            container = self._start(name, execution)
        except self._docker.errors.APIError as error:
            if error.status_code == 409:  # another process of this worker started it just now
                return self.client.containers.get(name)
            raise ExecutorUnavailable(f"Docker could not start {name}: {error}") from error
        if self.warm and python_script(execution.image.entrypoint):
            self._start_server(container, execution)
        return container

    def _start(self, name: str, execution: Execution):
        plan_dir = execution.plan_dir
        options = {}
        if self.limits.memory_bytes:
            options["mem_limit"] = self.limits.memory_bytes
            options["memswap_limit"] = self.limits.memory_bytes
        if self.limits.cpus:
            options["nano_cpus"] = int(self.limits.cpus * 1e9)
        if self.limits.pids:
            options["pids_limit"] = self.limits.pids
        if self.limits.gpus:
            options["device_requests"] = [self._docker.types.DeviceRequest(count=-1, capabilities=[["gpu"]])]
        return self.client.containers.run(
            execution.image.name,
            name=name,
            # The container idles; each task is an exec of the image's own entrypoint.
            entrypoint=["sleep", "infinity"],
            command=[],
            detach=True,
            network_mode="none",
            user=self._user(execution.image),
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            labels={"substra.org": self.org, "substra.plan": execution.plan_key, INSTANCE_LABEL: self.instance},
            volumes={
                str(plan_dir / "inputs"): {"bind": f"{CONTAINER_ROOT}/inputs", "mode": "ro"},
                str(plan_dir / "outputs"): {"bind": f"{CONTAINER_ROOT}/outputs", "mode": "rw"},
                # The fork server: its code read-only, its socket in a folder of this (plan, image).
                str(FORKSERVER): {"bind": FORKSERVER_IN_CONTAINER, "mode": "ro"},
                str(make_server_folder(plan_dir, execution.image)): {
                    "bind": f"{CONTAINER_ROOT}/forkserver",
                    "mode": "rw",
                },
            },
            **options,
        )

    @staticmethod
    def _user(image: Image) -> str:
        """The image's own USER unless it is root, else Substra's compute uid."""
        user = image.user.strip()
        if not user or user.split(":")[0] in ("root", "0"):
            return UNPRIVILEGED_USER
        return user
