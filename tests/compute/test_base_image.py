"""The Docker engine and the local python:3.11-slim base image that compute builds functions on.

No container registry is reachable here: scripts/ensure-docker starts an engine (installing it when
missing) and docker/build-base-image builds the base image from Debian packages. These tests check
that what Substra functions need really works on it: an unmodified function Dockerfile builds (pip
reaches the package index), the function runs as the task user with no network, and a container
without network cannot reach even this machine."""

import json
import socket
import subprocess
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BASE_IMAGE = "python:3.11-slim"

# Building the base image from Debian packages takes about a minute, the first time only.
pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]

FUNCTION_DOCKERFILE = """\
FROM python:3.11-slim
RUN pip install substratools==1.0.0 numpy
COPY function.py .
ENTRYPOINT ["python3", "function.py", "--function-name", "train"]
"""

FUNCTION_PY = """\
import json

import numpy as np
import substratools as tools


@tools.register
def train(inputs, outputs, task_properties):
    total = int(np.arange(task_properties["rank"] + 1).sum())
    with open(outputs["model"], "w") as f:
        json.dump({"sum": total, "numpy": np.__version__}, f)


if __name__ == "__main__":
    tools.execute()
"""


@pytest.fixture(scope="module", autouse=True)
def base_image_is_built(docker_client):
    """The shared Docker fixture (tests/compute/conftest.py) ran scripts/ensure-docker: the
    daemon answers and the base image it builds is there."""
    assert docker_client.ping()
    assert docker_client.images.get(BASE_IMAGE)


@pytest.fixture
def function_image(docker_client, tmp_path):
    (tmp_path / "Dockerfile").write_text(FUNCTION_DOCKERFILE)
    (tmp_path / "function.py").write_text(FUNCTION_PY)
    tag = f"substra-test-function-{uuid.uuid4().hex[:12]}:latest"
    # nocache: pip must really reach the package index through the base image's CA bundle.
    image, _ = docker_client.images.build(path=str(tmp_path), tag=tag, rm=True, forcerm=True, nocache=True)
    yield image
    docker_client.images.remove(image.id, force=True)


def test_unmodified_substra_dockerfile_builds_and_runs_as_task_user_without_network(
    docker_client, function_image, tmp_path
):
    assert function_image.attrs["Config"]["Entrypoint"] == ["python3", "function.py", "--function-name", "train"]
    work = tmp_path / "task"
    (work / "out").mkdir(parents=True)
    (work / "out").chmod(0o777)  # the task runs as uid 1001, as substrafl's images do
    # With a read-only root file system, substratools' default workspace folders (/chainkeys/, /model/
    # beside function.py) cannot be made: the task names them in the writable mount.
    (work / "args").write_text(
        "\n".join(
            [
                "--task-properties",
                json.dumps({"rank": 4}),
                "--inputs",
                json.dumps([{"id": "chainkeys", "value": "/task/out/chainkeys", "multiple": False}]),
                "--outputs",
                json.dumps([{"id": "model", "value": "/task/out/model", "multiple": False}]),
                "--log-path",
                "/task/out/function.log",
            ]
        )
    )
    docker_client.containers.run(
        function_image.id,
        ["@/task/args"],
        volumes={str(work): {"bind": "/task", "mode": "rw"}},
        user="1001:1001",
        network_mode="none",
        read_only=True,
        mem_limit="512m",
        pids_limit=64,
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        remove=True,
    )
    model = json.loads((work / "out" / "model").read_text())
    assert model["sum"] == 10
    assert model["numpy"].split(".")[0].isdigit()


def test_base_image_has_ssl_venv_and_adduser(docker_client):
    script = (
        "python3 -c 'import ssl, venv; print(ssl.OPENSSL_VERSION)' && "
        "adduser --help >/dev/null && "
        "addgroup --gid 1001 sfgroup >/dev/null && "
        "adduser --disabled-password --gecos '' --uid 1001 --gid 1001 sfuser >/dev/null && id -u sfuser && "
        "python3 -m venv /tmp/venv && /tmp/venv/bin/python -c 'import sys; print(sys.prefix)' && "
        "python --version && pip --version"
    )
    output = docker_client.containers.run(BASE_IMAGE, ["sh", "-ec", script], remove=True).decode()
    lines = output.splitlines()
    assert lines[0].startswith("OpenSSL 3")
    assert lines[1] == "1001"
    assert lines[2] == "/tmp/venv"
    assert lines[3].startswith("Python 3.11")
    assert lines[4].startswith("pip ")
    config = docker_client.images.get(BASE_IMAGE).attrs["Config"]
    assert config["Cmd"] == ["python3"]
    assert "PIP_CERT=/etc/ssl/certs/ca-certificates.crt" in config["Env"]


def host_address_on_the_bridge(docker_client) -> str:
    """This machine's address on the default bridge's interface, as the kernel has it (`ip`):
    engines differ in what their IPAM configuration reports (Debian's 20.10 gives no gateway)."""
    options = docker_client.networks.get("bridge").attrs.get("Options") or {}
    interface = options.get("com.docker.network.bridge.name", "docker0")
    shown = subprocess.run(["ip", "-4", "-o", "addr", "show", "dev", interface], capture_output=True, text=True)
    words = shown.stdout.split()
    assert "inet" in words, f"the bridge {interface} has no IPv4 address: {shown.stdout}{shown.stderr}"
    return words[words.index("inet") + 1].split("/")[0]


def test_network_none_cannot_reach_this_machine(docker_client):
    """A listener on every address of this machine: a container on the default bridge reaches it
    at the host's bridge address (the control), one run with --network none cannot, and has no
    interface but loopback."""
    gateway = host_address_on_the_bridge(docker_client)
    probe = (
        "import os, socket, sys\n"
        "print(sorted(os.listdir('/sys/class/net')))\n"
        "try:\n"
        "    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5).close()\n"
        "    print('connected')\n"
        "except OSError as error:\n"
        "    print('failed', type(error).__name__)\n"
    )

    def run(listener: socket.socket, *network: str) -> list[str]:
        port = str(listener.getsockname()[1])
        result = subprocess.run(
            ["docker", "run", "--rm", *network, BASE_IMAGE, "python3", "-c", probe, gateway, port],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()

    def pending_connections(listener: socket.socket) -> int:
        listener.setblocking(False)
        count = 0
        while True:
            try:
                conn, _ = listener.accept()
            except BlockingIOError:
                return count
            conn.close()
            count += 1

    # The kernel completes a connection into the listen backlog: no accepting thread is needed.
    with socket.create_server(("0.0.0.0", 0)) as listener:
        bridged = run(listener)
        assert bridged[1] == "connected"
        assert pending_connections(listener) == 1
    with socket.create_server(("0.0.0.0", 0)) as listener:
        isolated = run(listener, "--network", "none")
        assert pending_connections(listener) == 0
    assert isolated[0] == "['lo']"
    assert isolated[1].startswith("failed")
