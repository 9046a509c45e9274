"""One plan's story read across the organizations' logs by its key: a devnet of two organizations
with LOG_FORMAT=json, a plan with a task on each, then every process's log file (where devnet
keeps it) filtered on the plan's key."""

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import substra
from substra.sdk import schemas

from tests.devnet.test_devnet import REPO
from tests.devnet.test_permissions import ARCHIVE, OPENER, eventually, task

ENDED = {"STATUS_DONE", "STATUS_FAILED", "STATUS_CANCELED"}


def devnet_json_logs(*args: str) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"}
    env["LOG_FORMAT"] = "json"
    return subprocess.run(
        [sys.executable, "-m", "devnet", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=240
    )


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("devnet-story")
    started = devnet_json_logs("up", "--orgs", "2", "--state-dir", str(state_dir))
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield state_dir, json.loads((state_dir / "network.json").read_text())["orgs"]
    finally:
        devnet_json_logs("down", "--state-dir", str(state_dir))


def register_dataset(client: substra.Client, ids: list[str], folder: Path) -> tuple[str, str]:
    """A dataset with one sample, shared with every organization: (dataset key, sample key)."""
    shared = {"public": False, "authorized_ids": ids}
    folder.mkdir()
    (folder / "opener.py").write_bytes(OPENER)
    (folder / "description.md").write_text("# data\n")
    (folder / "sample").mkdir()
    (folder / "sample" / "data.csv").write_text("x,y\n1,2\n")
    dataset = client.add_dataset(
        schemas.DatasetSpec(
            name="story data", data_opener=folder / "opener.py", description=folder / "description.md",
            permissions=shared, logs_permission=shared,
        )
    )  # fmt: skip
    sample = client.add_data_sample({"path": folder / "sample", "data_manager_keys": [dataset]}, local=True)
    return dataset, sample


def register_function(client: substra.Client, ids: list[str], folder: Path) -> str:
    (folder / "function.tar.gz").write_bytes(ARCHIVE)
    (folder / "function.md").write_text("# function\n")
    return client.add_function(
        schemas.FunctionSpec(
            name="story function", file=folder / "function.tar.gz", description=folder / "function.md",
            permissions={"public": False, "authorized_ids": ids},
            inputs=[
                schemas.FunctionInputSpec(identifier="opener", kind="ASSET_DATA_MANAGER", optional=False,
                                          multiple=False),
                schemas.FunctionInputSpec(identifier="datasamples", kind="ASSET_DATA_SAMPLE", optional=False,
                                          multiple=True),
            ],
            outputs=[schemas.FunctionOutputSpec(identifier="model", kind="ASSET_MODEL", multiple=False)],
        )
    )  # fmt: skip


def json_lines(path: Path) -> list[dict]:
    """The JSON lines of a log file; a process's own banner (Celery's, gunicorn's) is not JSON."""
    lines = []
    for text in path.read_text(errors="replace").splitlines():
        try:
            line = json.loads(text)
        except ValueError:
            continue
        if isinstance(line, dict):
            lines.append({**line, "file": path.name})
    return lines


def test_a_plans_story_reads_across_the_organizations_logs_by_its_key(network, tmp_path):
    state_dir, orgs = network
    clients = [
        substra.Client(url=o["url"], backend_type="remote", username=o["username"], password=o["password"])
        for o in orgs
    ]
    ids = [org["org_id"] for org in orgs]
    function = register_function(clients[0], ids, tmp_path)
    data = [register_dataset(client, ids, tmp_path / org) for client, org in zip(clients, ids, strict=True)]
    assert eventually(lambda: clients[0].get_dataset(data[1][0]).data_sample_keys == [data[1][1]]), "not mirrored"
    specs = [
        {"task_id": str(uuid.uuid4()), **task({"function": function, "dataset": d, "sample": s, "ids": ids}, worker)}
        for worker, (d, s) in zip(ids, data, strict=True)
    ]
    plan_key = clients[0].add_compute_plan({"key": str(uuid.uuid4()), "name": "story", "tasks": specs}).key
    keys = [spec["task_id"] for spec in specs]

    deadline = time.monotonic() + 180
    while {clients[0].get_task(key).status for key in keys} - ENDED and time.monotonic() < deadline:
        time.sleep(1)
    time.sleep(2)  # the last lines reach the files

    story = [
        line for log in sorted(state_dir.glob("*.log")) for line in json_lines(log) if line.get("plan") == plan_key
    ]
    files = {line["file"] for line in story}
    everywhere = {"orchestrator.log", *(f"{org}-{process}.log" for org in ids for process in ("consumer", "worker"))}
    assert everywhere <= files, files
    for key in keys:
        assert {"orchestrator.log"} < {line["file"] for line in story if line.get("task") == key}, key
    worker_lines = [line for line in story if line["file"].endswith("-worker.log")]
    assert all(line.get("task") in keys and line["file"].startswith(line["organization"]) for line in worker_lines)
    assert {line.get("organization") for line in story if line["file"] == "orchestrator.log"} == set(ids)
