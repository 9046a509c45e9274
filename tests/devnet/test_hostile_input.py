"""The attack of issue 10 on a live network with PostgreSQL and S3 (`devnet up --services`): a
user sends a NUL character or an unpaired surrogate in metadata, a function output identifier, a
filter, or JSON nested thousands deep. Each is a 400 with a code, nothing reaches the ledger or
the S3 bucket, and every organization's consumer goes on applying the channel's events."""

import json
import uuid

import pytest
import requests
from substra.sdk import exceptions, schemas

from devnet.s3 import S3Server
from tests.devnet.test_devnet import client, devnet, eventually
from tests.devnet.test_permissions import ARCHIVE


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("hostile")
    started = devnet("up", "--orgs", "2", "--state-dir", str(state_dir), "--services")
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield state_dir, json.loads((state_dir / "network.json").read_text())["orgs"]
    finally:
        devnet("down", "--state-dir", str(state_dir))


@pytest.fixture(scope="module")
def clients(network):
    _, orgs = network
    made = [client(org) for org in orgs]
    yield made
    for each in made:
        each.logout()


def stored_objects(state_dir) -> int:
    recorded = S3Server.recorded(state_dir / "s3")
    server = S3Server(state_dir / "s3", recorded["access_key"], recorded["secret_key"])
    server.ports = recorded["ports"]
    s3 = server.client()
    try:
        return s3.list_objects_v2(Bucket="myorg1msp")["KeyCount"]
    except s3.exceptions.NoSuchBucket:  # made at the first file stored
        return 0


def token_of(org: dict) -> dict:
    answer = requests.post(
        f"{org['url']}/api-token-auth/", data={"username": org["username"], "password": org["password"]}, timeout=10
    )
    return {"Authorization": f"Token {answer.json()['token']}"}


def refused(response, code: str) -> None:
    assert response.status_code == 400, (response.status_code, response.text[:300])
    assert response.json()["code"] == code, response.json()


def test_the_attacks_are_refused_and_every_consumer_goes_on(network, clients, tmp_path):
    state_dir, orgs = network
    org1, org2 = clients
    (tmp_path / "function.tar.gz").write_bytes(ARCHIVE)
    (tmp_path / "description.md").write_text("# a function\n")
    objects_before = stored_objects(state_dir)

    with pytest.raises(exceptions.InvalidRequest):
        org1.add_compute_plan(schemas.ComputePlanSpec(key=str(uuid.uuid4()), name="p", metadata={"k\x00": "v"}))
    with pytest.raises(exceptions.InvalidRequest):
        org1.add_function(
            schemas.FunctionSpec(
                name="f", file=tmp_path / "function.tar.gz", description=tmp_path / "description.md",
                permissions={"public": True, "authorized_ids": []}, inputs=[],
                outputs=[schemas.FunctionOutputSpec(identifier="model\x00", kind="ASSET_MODEL", multiple=False)],
            )
        )  # fmt: skip
    headers = token_of(orgs[0])
    url = orgs[0]["url"]
    deep = '{"tasks": ' + "[" * 50_000 + "]" * 50_000 + "}"
    post = requests.post(
        f"{url}/task/bulk_create/", data=deep, headers={**headers, "Content-Type": "application/json"}, timeout=30
    )
    refused(post, "too_deep")
    refused(requests.get(f"{url}/task/", params={"worker": "a\x00"}, headers=headers, timeout=10), "invalid_text")
    surrogate = '[{"key": "\\ud800", "type": "exists"}]'
    refused(requests.get(f"{url}/compute_plan/", params={"metadata": surrogate}, headers=headers, timeout=10),
            "invalid_text")  # fmt: skip
    assert stored_objects(state_dir) == objects_before, "a refused registration left a file in S3"

    later = org1.add_compute_plan(schemas.ComputePlanSpec(key=str(uuid.uuid4()), name="after", metadata={"k": "v"}))
    seen = eventually(lambda: later.key in {plan.key for plan in org2.list_compute_plan()}, timeout=30)
    assert seen, "the other organization's consumer did not apply the plan registered after the attacks"
    names = {plan.name for client_ in clients for plan in client_.list_compute_plan()}
    assert names == {"after"}, "only the valid plan reached the ledger"
    for org in orgs:
        health = requests.get(f"{org['url']}/health/", timeout=10).json()
        assert health.get("stalled_channels", []) == [], health
