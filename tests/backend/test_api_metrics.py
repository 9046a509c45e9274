"""The backend API's Prometheus metrics, from the image's gunicorn configuration: two worker
processes answer, gunicorn's master serves the sum of their counts on BACKEND_API_METRICS_PORT."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.backend.conftest import CHANNELS, DATA_DIR, DATABASE_URL
from tests.conftest import ORG1

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str, **request) -> int:
    try:
        return urllib.request.urlopen(urllib.request.Request(url, **request), timeout=10).status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def api_server(transactional_db, tmp_path):
    """gunicorn with docker/gunicorn.conf.py over the test database (emptied after: the server writes
    to it, an audit record for one), as (API URL, metrics port)."""
    port, metrics_port = free_port(), free_port()
    env = {
        **{name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"},
        "BACKEND_DATABASE_URL": DATABASE_URL, "BACKEND_DATA_DIR": DATA_DIR, "BACKEND_ORG_ID": ORG1,
        "BACKEND_CHANNELS": json.dumps(CHANNELS), "BACKEND_HTTP_ADDRESS": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "2", "BACKEND_API_METRICS_PORT": str(metrics_port),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"), "GUNICORN_CONTROL_SOCKET": str(tmp_path / "ctl"),
    }  # fmt: skip
    log = open(tmp_path / "gunicorn.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(REPO / "docker" / "gunicorn.conf.py")],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if get(f"{url}/health/") and get(f"http://127.0.0.1:{metrics_port}/metrics") == 200:
                break
        except OSError:
            pass
        assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
        time.sleep(0.3)
    try:
        yield url, metrics_port
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def samples(port: int) -> dict:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def count(scraped, name, **labels) -> float:
    return scraped.get((name, tuple(sorted(labels.items()))), 0.0)


def test_the_api_counts_requests_by_view_and_status_across_its_worker_processes(api_server):
    url, metrics_port = api_server
    before = samples(metrics_port)

    statuses = [get(f"{url}/info/") for _ in range(12)]
    refused = get(f"{url}/api-token-auth/", data=b"username=nobody&password=wrong", method="POST")
    unknown = get(f"{url}/no/such/route/")

    after = samples(metrics_port)
    info = {"view": "info", "method": "GET", "status": "200"}
    login = {"view": "api-token-auth", "method": "POST", "status": "400"}
    assert (set(statuses), refused, unknown) == ({200}, 400, 404)
    assert (
        count(after, "substra_api_requests_total", **info) - count(before, "substra_api_requests_total", **info) == 12
    )
    assert (
        count(after, "substra_api_requests_total", **login) - count(before, "substra_api_requests_total", **login) == 1
    )
    assert count(after, "substra_api_requests_total", view="unknown", method="GET", status="404") >= 1
    assert count(after, "substra_api_request_seconds_count", view="info", method="GET") >= 12
