"""`python -m devnet up/down` end to end: a real network of two organizations (orchestrator,
backends, consumers), driven with the real substra SDK. One network for the module: it takes
seconds to start."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import substra

REPO = Path(__file__).resolve().parents[2]


def devnet(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, "-m", "devnet", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


def recorded_pids(state_dir: Path) -> list[int]:
    return [entry["pid"] for entry in json.loads((state_dir / "processes.json").read_text())["processes"]]


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def eventually(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.3)


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("devnet")
    started = devnet("up", "--orgs", "2", "--state-dir", str(state_dir))
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        pids = recorded_pids(state_dir)
        yield state_dir, json.loads((state_dir / "network.json").read_text()), pids
    finally:
        devnet("down", "--state-dir", str(state_dir))


def client(org: dict) -> substra.Client:
    return substra.Client(url=org["url"], backend_type="remote", username=org["username"], password=org["password"])


def test_network_json_is_as_documented(network):
    _, described, pids = network
    assert set(described) == {"orchestrator", "orgs"}
    assert described["orchestrator"]["address"].startswith("127.0.0.1:")
    assert [org["org_id"] for org in described["orgs"]] == ["MyOrg1MSP", "MyOrg2MSP"]
    for org in described["orgs"]:
        assert set(org) == {"org_id", "url", "username", "password", "channel"}
        assert org["channel"] == "mychannel"
    assert len(pids) == 7  # orchestrator, and a backend, a consumer and a worker per organization
    assert all(running(pid) for pid in pids)


def test_the_sdk_sees_the_organization_and_the_channel(network):
    _, described, _ = network
    info = client(described["orgs"][0]).organization_info()
    assert info.organization_id == "MyOrg1MSP"
    assert info.channel == "mychannel"
    assert info.config.model_export_enabled is True


def test_the_consumer_mirrors_both_organizations(network):
    _, described, _ = network
    sdk = client(described["orgs"][0])
    listed = eventually(lambda: {org.id for org in sdk.list_organization()} == {"MyOrg1MSP", "MyOrg2MSP"})
    assert listed, sdk.list_organization()


def test_a_dataset_added_on_org1_reaches_org2(network, tmp_path):
    _, described, _ = network
    opener = tmp_path / "opener.py"
    opener.write_text("import substratools as tools\n")
    description = tmp_path / "description.md"
    description.write_text("# A dataset\n")
    spec = substra.sdk.schemas.DatasetSpec(
        name="devnet dataset",
        data_opener=opener,
        description=description,
        permissions={"public": False, "authorized_ids": ["MyOrg2MSP"]},
        logs_permission={"public": False, "authorized_ids": []},
    )
    key = client(described["orgs"][0]).add_dataset(spec)
    org2 = client(described["orgs"][1])
    assert eventually(lambda: key in {dataset.key for dataset in org2.list_dataset()}), "not mirrored on org 2"
    dataset = org2.get_dataset(key)
    assert dataset.owner == "MyOrg1MSP"
    assert dataset.name == "devnet dataset"


def test_a_consumer_killed_and_restarted_completes_the_mirror_without_duplicates(network, tmp_path):
    from devnet.network import kill_process, start_process

    state_dir, described, _ = network
    org1, org2 = client(described["orgs"][0]), client(described["orgs"][1])
    kill_process(state_dir, "MyOrg2MSP", "consumer")
    (tmp_path / "opener.py").write_text("import substratools as tools\n")
    (tmp_path / "description.md").write_text("# While org 2's consumer was down\n")
    keys = [
        org1.add_dataset(
            substra.sdk.schemas.DatasetSpec(
                name=f"while down {index}",
                data_opener=tmp_path / "opener.py",
                description=tmp_path / "description.md",
                permissions={"public": True, "authorized_ids": []},
                logs_permission={"public": False, "authorized_ids": []},
            )
        )
        for index in range(3)
    ]
    time.sleep(1)
    assert not set(keys) & {dataset.key for dataset in org2.list_dataset()}, "mirrored with no consumer"

    start_process(state_dir, "MyOrg2MSP", "consumer")

    listed = eventually(lambda: set(keys) <= {dataset.key for dataset in org2.list_dataset()})
    assert listed, "the restarted consumer did not catch up"
    names = [dataset.name for dataset in org2.list_dataset() if dataset.key in keys]
    assert sorted(names) == ["while down 0", "while down 1", "while down 2"]


def test_down_leaves_no_process_and_is_idempotent(network):
    state_dir, _, _ = network
    pids = recorded_pids(state_dir)  # a process restarted by a test has a new pid
    stopped = devnet("down", "--state-dir", str(state_dir))
    assert stopped.returncode == 0, stopped.stderr
    assert [pid for pid in pids if running(pid)] == []
    assert not (state_dir / "processes.json").exists()
    again = devnet("down", "--state-dir", str(state_dir))
    assert again.returncode == 0, again.stderr
