"""Private PostgreSQL and Redis servers for the fault-injection suite: tests here restart them,
which must never touch the machine's shared servers (other suites run against those)."""

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import redis

from devnet.s3 import free_ports


def _postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (apt-get install postgresql)")
    return found[-1]


def _as_postgres(command: list[str], **options) -> subprocess.CompletedProcess:
    """PostgreSQL refuses to run as root: its tools run as the `postgres` user."""
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    return subprocess.run(command, check=True, capture_output=True, text=True, **options)


class PrivatePostgres:
    """A PostgreSQL cluster of its own in a temporary folder, on a free port, trusting local
    connections. `restart(pause)` stops it (every connection breaks), waits, and starts it."""

    def __init__(self, folder: Path | None = None):
        self.folder = Path(folder or tempfile.mkdtemp(prefix="faults-postgres-"))
        self.data = self.folder / "data"
        self.port = free_ports(1)[0]
        self.log = self.folder / "postgres.log"

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> "PrivatePostgres":
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        if not self.data.exists():
            initdb = _postgres_bin("initdb")
            _as_postgres([initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"])
        self._pg_ctl("start", "-w", "-t", "60", "-l", str(self.log), "-o", self._options())
        return self

    def _options(self) -> str:
        # Three organizations' backends, consumers and workers and the orchestrator share it.
        return f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off"

    def stop(self, mode: str = "fast") -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._pg_ctl("stop", "-w", "-t", "60", "-m", mode)

    def restart(self, pause: float = 2.0) -> None:
        """Down for `pause` seconds, as an operator's restart (or a crash, with mode immediate)."""
        self.stop()
        time.sleep(pause)
        self._pg_ctl("start", "-w", "-t", "60", "-l", str(self.log), "-o", self._options())

    def answers(self) -> bool:
        try:
            with psycopg.connect(self.admin_url, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def remove(self) -> None:
        self.stop(mode="immediate")
        shutil.rmtree(self.folder, ignore_errors=True)

    def _pg_ctl(self, *arguments: str) -> None:
        _as_postgres([_postgres_bin("pg_ctl"), "-D", str(self.data), *arguments])


class PrivateRedis:
    """A Redis server of its own that keeps nothing on disk (as the shared one): a restart loses
    every queued message. `restart(pause)` SIGKILLs it, waits, and starts it on the same port."""

    def __init__(self, folder: Path | None = None):
        self.folder = Path(folder or tempfile.mkdtemp(prefix="faults-redis-"))
        self.port = free_ports(1)[0]
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "PrivateRedis":
        log = open(self.folder / "redis.log", "ab")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start: see {self.folder / 'redis.log'}")
            time.sleep(0.1)
        return self

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def restart(self, pause: float = 2.0) -> None:
        self.kill()
        time.sleep(pause)
        self.start()

    def answers(self) -> bool:
        try:
            return redis.Redis(port=self.port, socket_timeout=1).ping()
        except redis.RedisError:
            return False

    def remove(self) -> None:
        self.kill()
        shutil.rmtree(self.folder, ignore_errors=True)
