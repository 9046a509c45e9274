"""The usual world: three organizations in `mychannel`, two of them also in `otherchannel`, a
dataset on org 1 that org 2 may use, and a training function."""

import uuid

import pytest

from tests.conftest import ORG1, ORG2, ORG3

ADDRESS = {"checksum": "0" * 64, "storage_address": "http://backend/file"}


def new_key() -> str:
    return str(uuid.uuid4())


def permission(*orgs, public=False):
    return {"public": public, "authorized_ids": list(orgs)}


def output(*orgs, public=False, transient=False):
    return {"permissions": {"process": permission(*orgs, public=public)}, "transient": transient}


class Clients:
    """One client per (organization, channel) of an orchestrator; every organization registered."""

    def __init__(self, orchestrator):
        self.orchestrator = orchestrator
        self.made = {}
        for org in (ORG1, ORG2, ORG3):
            self(org).register_organization(f"http://{org.lower()}.backend")
        for org in (ORG1, ORG2):
            self(org, "otherchannel").register_organization(f"http://{org.lower()}.backend")

    def __call__(self, org, channel="mychannel"):
        if (org, channel) not in self.made:
            self.made[org, channel] = self.orchestrator.client(org, channel)
        return self.made[org, channel]

    def close(self):
        for client in self.made.values():
            client.close()


@pytest.fixture(scope="session")
def clients(orchestrator):
    made = Clients(orchestrator)
    yield made
    made.close()


class World:
    """Assets most tests need, made fresh for each test."""

    def __init__(self, client):
        self.client = client
        org1 = client(ORG1)
        self.data_manager = org1.register_data_manager(
            key=new_key(),
            name="hospital data",
            new_permissions=permission(ORG2),
            opener=ADDRESS,
            description=ADDRESS,
            type="csv",
            logs_permission=permission(ORG2),
        ).key
        self.samples = [
            sample.key
            for sample in org1.register_data_samples(
                [{"key": new_key(), "checksum": "1" * 64, "data_manager_keys": [self.data_manager]} for _ in range(2)]
            )
        ]
        self.train = self.function(
            ORG2,
            permission(ORG1, ORG2),
            inputs={
                "opener": {"kind": "ASSET_DATA_MANAGER"},
                "datasamples": {"kind": "ASSET_DATA_SAMPLE", "multiple": True},
                "models": {"kind": "ASSET_MODEL", "multiple": True, "optional": True},
            },
            outputs={"model": {"kind": "ASSET_MODEL"}},
        )
        self.aggregate = self.function(
            ORG2,
            permission(ORG1, ORG2),
            inputs={"models": {"kind": "ASSET_MODEL", "multiple": True}},
            outputs={"model": {"kind": "ASSET_MODEL"}},
        )
        self.evaluate = self.function(
            ORG2,
            permission(ORG1, ORG2),
            inputs={
                "opener": {"kind": "ASSET_DATA_MANAGER"},
                "datasamples": {"kind": "ASSET_DATA_SAMPLE", "multiple": True},
                "model": {"kind": "ASSET_MODEL"},
            },
            outputs={"performance": {"kind": "ASSET_PERFORMANCE"}},
        )

    def orchestrator_client(self, org, channel="mychannel"):
        """A client of its own (a connection of its own), for concurrent calls."""
        return self.client.orchestrator.client(org, channel)

    def function(self, owner, permissions, inputs, outputs, ready=True):
        key = (
            self.client(owner)
            .register_function(
                key=new_key(),
                name="function",
                new_permissions=permissions,
                description=ADDRESS,
                archive=ADDRESS,
                inputs=inputs,
                outputs=outputs,
            )
            .key
        )
        if ready:
            self.client(owner).apply_function_action(key, "FUNCTION_ACTION_READY", image=f"function:{key}")
        return key

    def plan(self, owner=ORG2):
        return self.client(owner).register_compute_plan(key=new_key(), name="plan").key

    def train_task(self, plan, parents=(), key=None, worker=ORG1, outputs=None):
        inputs = [
            {"identifier": "opener", "asset_key": self.data_manager},
            *({"identifier": "datasamples", "asset_key": sample} for sample in self.samples),
            *(
                {"identifier": "models", "parent_task_output": {"parent_task_key": p, "output_identifier": "model"}}
                for p in parents
            ),
        ]
        return {
            "key": key or new_key(),
            "function_key": self.train,
            "compute_plan_key": plan,
            "worker": worker,
            "inputs": inputs,
            "outputs": outputs or {"model": output(ORG1, ORG2)},
        }

    def aggregate_task(self, plan, parents, worker=ORG2):
        return {
            "key": new_key(),
            "function_key": self.aggregate,
            "compute_plan_key": plan,
            "worker": worker,
            "inputs": [
                {"identifier": "models", "parent_task_output": {"parent_task_key": p, "output_identifier": "model"}}
                for p in parents
            ],
            "outputs": {"model": output(ORG1, ORG2)},
        }

    def run(self, task, worker=ORG1):
        """Executes a task as its worker would: claim, register its model, mark it Done."""
        client = self.client(worker)
        client.apply_task_action(task, "TASK_ACTION_EXECUTING")
        client.register_models(
            [
                {
                    "key": new_key(),
                    "compute_task_key": task,
                    "compute_task_output_identifier": "model",
                    "address": ADDRESS,
                }
            ]
        )
        return client.apply_task_action(task, "TASK_ACTION_DONE")


@pytest.fixture
def world(clients):
    return World(clients)
