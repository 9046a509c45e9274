"""The seed's permissions summary table, on a live network of three organizations driven with the
real substra SDK: orgA owns a dataset and a function shared with orgB ({public: False,
authorized_ids: [orgA, orgB]}); orgC is in the channel but not authorized. Files of orgA reach
orgB's users through orgB's backend, which fetches them from orgA with its peer credentials."""

import io
import json
import tarfile
import time
import uuid

import pytest
import requests
import substra
from substra.sdk import exceptions, schemas

from tests.devnet.test_devnet import devnet

OPENER = b"import substratools as tools\n# the opener of orgA\n"
# A function that builds (the workers build every registered function), on the local base image.
ARCHIVE_FILES = {
    "Dockerfile": b'FROM python:3.11-slim\nCOPY train.py /train.py\nENTRYPOINT ["python3", "/train.py"]\n',
    "train.py": b"print('train')\n",
}


def tar_gz_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


ARCHIVE = tar_gz_of(ARCHIVE_FILES)


def eventually(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except exceptions.NotFound:
            value = None
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.3)


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("devnet3")
    started = devnet("up", "--orgs", "3", "--state-dir", str(state_dir))
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield {
            "orgs": json.loads((state_dir / "network.json").read_text())["orgs"],
            "peers": json.loads((state_dir / "peers.json").read_text()),
        }
    finally:
        devnet("down", "--state-dir", str(state_dir))


@pytest.fixture(scope="module")
def clients(network):
    made = [
        substra.Client(url=org["url"], backend_type="remote", username=org["username"], password=org["password"])
        for org in network["orgs"]
    ]
    yield made
    for client in made:
        client.logout()


@pytest.fixture(scope="module")
def assets(network, clients, tmp_path_factory):
    """orgA's dataset (with one sample) and function, shared with orgB, mirrored everywhere."""
    org_a, org_b, _ = (org["org_id"] for org in network["orgs"])
    shared = {"public": False, "authorized_ids": [org_a, org_b]}
    folder = tmp_path_factory.mktemp("assets")
    (folder / "opener.py").write_bytes(OPENER)
    (folder / "description.md").write_text("# orgA's data\n")
    (folder / "function.tar.gz").write_bytes(ARCHIVE)
    (folder / "sample").mkdir()
    (folder / "sample" / "data.csv").write_text("x,y\n1,2\n")
    a = clients[0]
    dataset = a.add_dataset(
        schemas.DatasetSpec(
            name="orgA dataset", data_opener=folder / "opener.py", description=folder / "description.md",
            permissions=shared, logs_permission=shared,
        )
    )  # fmt: skip
    sample = a.add_data_sample({"path": folder / "sample", "data_manager_keys": [dataset]}, local=True)
    function = a.add_function(
        schemas.FunctionSpec(
            name="orgA function", file=folder / "function.tar.gz", description=folder / "description.md",
            permissions=shared,
            inputs=[
                schemas.FunctionInputSpec(identifier="opener", kind="ASSET_DATA_MANAGER", optional=False,
                                          multiple=False),
                schemas.FunctionInputSpec(identifier="datasamples", kind="ASSET_DATA_SAMPLE", optional=False,
                                          multiple=True),
            ],
            outputs=[schemas.FunctionOutputSpec(identifier="model", kind="ASSET_MODEL", multiple=False)],
        )
    )  # fmt: skip
    for client in clients[1:]:
        assert eventually(lambda c=client: c.get_dataset(dataset).data_sample_keys == [sample]), "dataset not mirrored"
        assert eventually(lambda c=client: c.get_function(function)), "function not mirrored"
    return {"dataset": dataset, "sample": sample, "function": function, "ids": (org_a, org_b)}


def task(assets, worker: str) -> dict:
    return {
        "function_key": assets["function"],
        "worker": worker,
        "inputs": [
            {"identifier": "opener", "asset_key": assets["dataset"]},
            {"identifier": "datasamples", "asset_key": assets["sample"]},
        ],
        "outputs": {"model": {"permissions": {"public": False, "authorized_ids": list(assets["ids"])}}},
    }


@pytest.mark.parametrize("org", [0, 1], ids=["orgA owner", "orgB authorized"])
def test_authorized_users_export_the_opener_and_the_function_archive(network, clients, assets, org, tmp_path):
    client = clients[org]
    opener = client.download_dataset(assets["dataset"], tmp_path)
    archive = client.download_function(assets["function"], tmp_path)
    assert open(opener, "rb").read() == OPENER
    assert open(archive, "rb").read() == ARCHIVE
    assert client.describe_dataset(assets["dataset"]) == "# orgA's data\n"


def test_an_unauthorized_organization_exports_nothing(clients, assets, tmp_path):
    org_c = clients[2]
    with pytest.raises(exceptions.AuthorizationError):
        org_c.download_dataset(assets["dataset"], tmp_path)
    with pytest.raises(exceptions.AuthorizationError):
        org_c.download_function(assets["function"], tmp_path)


def test_no_route_serves_data_sample_bytes(network, clients, assets):
    assert not any(hasattr(client, "download_data_sample") for client in clients)
    for org, client in zip(network["orgs"], clients, strict=True):
        headers = {"Authorization": f"Token {client._token}", "Accept": "application/json;version=0.0"}
        for suffix in ("file/", "data/", "download/"):
            answer = requests.get(f"{org['url']}/data_sample/{assets['sample']}/{suffix}", headers=headers, timeout=10)
            assert answer.status_code == 404, (org["org_id"], suffix, answer.status_code)


def test_orgB_runs_tasks_on_the_dataset_on_orgA_only(clients, assets):
    org_a, org_b = assets["ids"]
    b = clients[1]
    key = b.add_task(task(assets, worker=org_a))
    assert b.get_task(key).worker == org_a
    # The data stay with their owner: a worker that may not process them is a 403, as on Substra.
    with pytest.raises(exceptions.AuthorizationError):
        b.add_task(task(assets, worker=org_b))


def test_orgC_cannot_use_the_dataset(network, clients, assets):
    org_a = assets["ids"][0]
    with pytest.raises((exceptions.InvalidRequest, exceptions.AuthorizationError)):
        clients[2].add_task(task(assets, worker=org_a))


def peer_password(network, caller: str, callee: str) -> str:
    return next(p["password"] for p in network["peers"] if (p["from"], p["to"]) == (caller, callee))


def test_the_owner_serves_peers_with_permission_only(network, assets):
    org_a, org_b, org_c = network["orgs"]
    opener = f"{org_a['url']}/data_manager/{assets['dataset']}/opener/"
    archive = f"{org_a['url']}/function/{assets['function']}/file/"

    def as_peer(url, org, password):
        return requests.get(url, auth=(org["org_id"], password), timeout=10)

    b_password = peer_password(network, org_b["org_id"], org_a["org_id"])
    assert as_peer(opener, org_b, b_password).content == OPENER
    assert as_peer(archive, org_b, b_password).content == ARCHIVE
    assert as_peer(opener, org_b, "wrong").status_code == 401
    assert as_peer(opener, {"org_id": "NoSuchOrgMSP"}, b_password).status_code == 401
    # orgB's password towards orgC is not its password towards orgA.
    assert as_peer(opener, org_b, peer_password(network, org_b["org_id"], org_c["org_id"])).status_code == 401
    c_password = peer_password(network, org_c["org_id"], org_a["org_id"])
    assert as_peer(opener, org_c, c_password).status_code == 403
    assert as_peer(archive, org_c, c_password).status_code == 403
    # A peer is not a user: the other routes refuse it.
    assert as_peer(f"{org_a['url']}/data_manager/", org_b, b_password).status_code == 401
    sample = as_peer(f"{org_a['url']}/data_sample/{assets['sample']}/file/", org_b, b_password)
    assert sample.status_code == 404


def test_a_key_unknown_to_the_owner_is_a_404_for_peers(network):
    org_a, org_b, _ = network["orgs"]
    password = peer_password(network, org_b["org_id"], org_a["org_id"])
    answer = requests.get(
        f"{org_a['url']}/data_manager/{uuid.uuid4()}/opener/", auth=(org_b["org_id"], password), timeout=10
    )
    assert answer.status_code == 404
