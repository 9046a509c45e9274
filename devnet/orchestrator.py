"""Runs `python -m orchestrator` as a child process, with mTLS material written to a folder."""

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator_client import OrchestratorClient
from orchestrator_client.pki import Authority

REPO = Path(__file__).resolve().parent.parent


@dataclass
class OrchestratorProcess:
    """One orchestrator replica. `database_url` is a PostgreSQL URL or `sqlite:////path`."""

    state_dir: Path
    database_url: str
    channels: dict[str, list[str]]
    authority: Authority
    port: int = 0
    _process: subprocess.Popen | None = None
    _identities: dict = field(default_factory=dict)

    def write_config(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        (self.state_dir / "channels.json").write_text(json.dumps(self.channels))
        (self.state_dir / "ca.pem").write_bytes(self.authority.cert)
        server = self.authority.server_identity()
        (self.state_dir / "server.pem").write_bytes(server.cert)
        (self.state_dir / "server.key").write_bytes(server.key)

    def environment(self) -> dict:
        return {
            **os.environ,
            "ORCHESTRATOR_DATABASE_URL": self.database_url,
            "ORCHESTRATOR_DATA_DIR": str(self.state_dir),
            "ORCHESTRATOR_CHANNELS_FILE": str(self.state_dir / "channels.json"),
            "ORCHESTRATOR_TLS_CERT": str(self.state_dir / "server.pem"),
            "ORCHESTRATOR_TLS_KEY": str(self.state_dir / "server.key"),
            "ORCHESTRATOR_TLS_CLIENT_CA": str(self.state_dir / "ca.pem"),
            "PYTHONPATH": str(REPO),
        }

    def migrate(self, target: str | None = None) -> None:
        self.write_config()
        command = [sys.executable, "-m", "orchestrator", "migrate", *([target] if target else [])]
        subprocess.run(command, env=self.environment(), check=True, capture_output=True, cwd=REPO)

    def start(self, timeout: float = 30.0) -> "OrchestratorProcess":
        port_file = self.state_dir / f"port-{time.monotonic_ns()}"
        log = open(self.state_dir / "orchestrator.log", "ab")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "orchestrator", "serve", "--address", f"127.0.0.1:{self.port}",
             "--port-file", str(port_file)],
            env=self.environment(), stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not port_file.exists():
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the orchestrator did not start: see {self.state_dir / 'orchestrator.log'}")
            time.sleep(0.05)
        self.port = int(port_file.read_text())
        return self

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client(self, org: str, channel: str, **options) -> OrchestratorClient:
        if org not in self._identities:
            self._identities[org] = self.authority.organization_identity(org)
        identity = self._identities[org]
        return OrchestratorClient(
            self.address, channel, ca_cert=self.authority.cert, cert=identity.cert, key=identity.key, **options
        )
