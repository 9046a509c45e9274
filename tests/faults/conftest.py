"""Fixtures of the fault-injection suite (`make test-faults`, marker `faults`): one live devnet
for the whole suite, on PostgreSQL and Redis servers of its own (tests here restart them), with
SeaweedFS S3 and the Docker executor. Helpers: tests/faults/faultnet.py."""

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

import devnet.postgres
import docker
from tests.faults import faultnet
from tests.faults.services import PrivatePostgres, PrivateRedis

REPO = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(config, items):
    """Every test here is `faults` (and `docker`); they run only when asked for with `-m faults`
    (`make test-faults`): each kills processes of a live network for minutes."""
    asked = "faults" in (config.getoption("markexpr") or "")
    for item in items:
        if "tests/faults/" not in str(item.fspath):
            continue
        item.add_marker(pytest.mark.faults)
        item.add_marker(pytest.mark.docker)
        # The first test also waits for the network and its reference plan.
        item.add_marker(pytest.mark.timeout(900))
        if not asked:
            item.add_marker(pytest.mark.skip(reason="fault injection: run with `make test-faults` (-m faults)"))


@dataclass
class PrivateServices:
    postgres: PrivatePostgres
    redis: PrivateRedis


@pytest.fixture(scope="session")
def docker_engine():
    started = subprocess.run([str(REPO / "scripts" / "ensure-docker")], capture_output=True, text=True)
    assert started.returncode == 0, started.stdout + started.stderr
    return docker.from_env()


@pytest.fixture(scope="session")
def private_services(tmp_path_factory):
    """PostgreSQL and Redis of the suite's own: `.postgres.restart(pause)`, `.redis.restart(pause)`."""
    # Not under pytest's temporary folder: the postgres user could not reach it.
    postgres = PrivatePostgres().start()
    try:
        redis = PrivateRedis(tmp_path_factory.mktemp("faults-redis")).start()
    except BaseException:
        postgres.remove()
        raise
    yield PrivateServices(postgres, redis)
    redis.remove()
    postgres.remove()


@pytest.fixture(scope="session")
def fault_network(tmp_path_factory, private_services, docker_engine):
    """A live devnet (three organizations, FedAvg assets registered, a first plan run for the
    reference results) shared by the suite: each test leaves it with every process running."""
    saved = os.environ.get("DEVNET_REDIS_URL"), devnet.postgres.ADMIN_URL
    try:
        net = faultnet.start_network(tmp_path_factory.mktemp("faults-devnet"), private_services, docker_engine)
    except BaseException:
        _restore(saved)
        raise
    instance = net.instance
    try:
        faultnet.prepare_reference(net)
        yield net
    finally:
        faultnet.stop_network(net)
        _restore(saved)
    left = docker_engine.containers.list(all=True, filters={"label": f"substra.instance={instance}"})
    assert not left, f"containers left after the network stopped: {[c.name for c in left]}"


def _restore(saved) -> None:
    """Other suites of the same session use the shared servers again."""
    redis_url, devnet.postgres.ADMIN_URL = saved
    if redis_url is None:
        os.environ.pop("DEVNET_REDIS_URL", None)
    else:
        os.environ["DEVNET_REDIS_URL"] = redis_url
