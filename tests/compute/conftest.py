"""What the compute tests share: a Docker Engine, started and given the local base image by
scripts/ensure-docker as `make test` does."""

import subprocess
from pathlib import Path

import pytest

import docker

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def docker_client():
    result = subprocess.run(
        [str(REPO / "scripts" / "ensure-docker")], capture_output=True, text=True, timeout=850, stdin=subprocess.DEVNULL
    )
    if result.returncode != 0:
        pytest.fail(f"scripts/ensure-docker exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    client = docker.from_env(timeout=120)
    yield client
    client.close()
