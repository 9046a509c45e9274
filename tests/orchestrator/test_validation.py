"""Validation of registrations. A rejected request raises the exception of its gRPC status with
the stable error code of orchestrator/errors.py, and writes nothing: no asset, no event, no task
counted in its plan, not even the valid tasks that came before the invalid one in its batch."""

import contextlib
import uuid

import grpc
import pytest

from orchestrator.errors import CODES
from orchestrator_client.errors import Conflict, InvalidRequest, NotFound, PermissionDenied
from tests.conftest import ORG1, ORG2, ORG3
from tests.orchestrator.conftest import ADDRESS, new_key, output, permission

UNKNOWN_ORG = "MyOrg9MSP"
TRAIN_IO = {
    "inputs": {
        "opener": {"kind": "ASSET_DATA_MANAGER"},
        "datasamples": {"kind": "ASSET_DATA_SAMPLE", "multiple": True},
        "models": {"kind": "ASSET_MODEL", "multiple": True, "optional": True},
    },
    "outputs": {"model": {"kind": "ASSET_MODEL"}},
}
AGGREGATE_IO = {
    "inputs": {"models": {"kind": "ASSET_MODEL", "multiple": True}},
    "outputs": {"model": {"kind": "ASSET_MODEL"}},
}


# Events: what a request wrote, seen through the channel's event log


class EventWatch:
    """Follows a channel's event log with marker assets: the events between two marks are the
    changes made in between (tests run one at a time)."""

    def __init__(self, client):
        self.client = client
        self.position = 0
        self.mark()

    def mark(self) -> list[tuple[int, str]]:
        """Writes a marker and returns the events since the previous mark, markers excluded."""
        marker = new_key()
        self.client.register_compute_plan(key=marker, name="event marker")
        seen = []
        with contextlib.closing(self.client.subscribe(after_position=self.position)) as stream:
            for event in stream:
                self.position = event.position
                if event.asset_key == marker:
                    return seen
                seen.append((event.asset_kind, event.asset_key))
        raise AssertionError("the event stream ended before the marker")


@pytest.fixture(scope="session")
def watches(clients):
    made = {}

    def watch(channel="mychannel"):
        if channel not in made:
            made[channel] = EventWatch(clients(ORG1, channel))
        return made[channel]

    return watch


@pytest.fixture
def reject(watches):
    """reject(call, error_class, code): `call()` fails with exactly that class and code, and writes
    no event."""

    def reject(call, error_class, code, channel="mychannel"):
        watch = watches(channel)
        watch.mark()
        with pytest.raises(error_class) as caught:
            call()
        error = caught.value
        assert type(error) is error_class, error
        assert error.code == code, error
        assert error.status == CODES[code][0], error
        assert watch.mark() == [], "a rejected request writes no event"
        return error

    return reject


# Tasks


def task_count(client, plan) -> int | None:
    try:
        return client.get_compute_plan(plan).task_count
    except NotFound:
        return None


def assert_task_absent(world, key):
    with pytest.raises(NotFound):
        world.client(ORG2).get_task(key)


@pytest.fixture
def reject_batch(world, reject):
    """reject_batch(tasks, error_class, code, caller=ORG2, registered=()): the batch is refused
    whole: no task of it exists (but those in `registered`, there before) and no plan counts more
    tasks."""

    def reject_batch(tasks, error_class, code, caller=ORG2, registered=(), channel="mychannel"):
        client = world.client(caller, channel)
        plans = sorted({task["compute_plan_key"] for task in tasks})
        before = {plan: task_count(client, plan) for plan in plans}
        error = reject(lambda: client.register_tasks(tasks), error_class, code, channel)
        for task in tasks:
            if task["key"] not in registered:
                with pytest.raises(NotFound):
                    client.get_task(task["key"])
        assert {plan: task_count(client, plan) for plan in plans} == before
        return error

    return reject_batch


def parent_output(identifier, parent, output_identifier="model"):
    return {
        "identifier": identifier,
        "parent_task_output": {"parent_task_key": parent, "output_identifier": output_identifier},
    }


def evaluate_task(world, plan, model_parents, worker=ORG1, performance=None):
    return {
        "key": new_key(),
        "function_key": world.evaluate,
        "compute_plan_key": plan,
        "worker": worker,
        "inputs": [
            {"identifier": "opener", "asset_key": world.data_manager},
            *({"identifier": "datasamples", "asset_key": sample} for sample in world.samples),
            *(parent_output("model", parent) for parent in model_parents),
        ],
        "outputs": {"performance": performance or output(public=True)},
    }


def test_it_rejects_a_batch_with_a_task_key_that_is_not_a_uuid(world, reject_batch):
    plan = world.plan()
    valid = world.train_task(plan)
    for bad in ("not-a-uuid", uuid.uuid4().hex, f"{{{new_key()}}}", ""):
        reject_batch([valid, {**world.train_task(plan), "key": bad}], InvalidRequest, "INVALID_KEY")


@pytest.mark.parametrize("field", ["function_key", "compute_plan_key", "parent_task_key", "asset_key"])
def test_it_rejects_a_batch_with_a_reference_that_is_not_a_uuid(world, reject_batch, field):
    plan = world.plan()
    valid = world.train_task(plan)
    bad = world.train_task(plan, parents=[valid["key"]])
    if field == "parent_task_key":
        bad["inputs"][-1]["parent_task_output"]["parent_task_key"] = "not-a-uuid"
    elif field == "asset_key":
        bad["inputs"][0]["asset_key"] = "not-a-uuid"
    else:
        bad[field] = "not-a-uuid"
    reject_batch([valid, bad], InvalidRequest, "INVALID_KEY")


def test_it_rejects_a_batch_with_the_same_key_twice(world, reject_batch):
    plan = world.plan()
    key = new_key()
    reject_batch([world.train_task(plan, key=key), world.train_task(plan, key=key)], InvalidRequest, "DUPLICATE_KEY")


def test_it_rejects_the_same_key_twice_even_when_one_is_upper_case(world, reject_batch):
    plan = world.plan()
    key = new_key()
    twins = [world.train_task(plan, key=key), world.train_task(plan, key=key.upper())]
    reject_batch(twins, InvalidRequest, "DUPLICATE_KEY")


def test_it_rejects_a_batch_with_a_cycle(world, reject_batch):
    plan = world.plan()
    root = world.train_task(plan)
    a_key, b_key, c_key = new_key(), new_key(), new_key()
    a = world.train_task(plan, key=a_key, parents=[root["key"], c_key])
    b = world.train_task(plan, key=b_key, parents=[a_key])
    c = world.train_task(plan, key=c_key, parents=[b_key])
    reject_batch([root, a, b, c], InvalidRequest, "CYCLE")


def test_it_rejects_a_task_that_is_its_own_parent(world, reject_batch):
    plan = world.plan()
    key = new_key()
    reject_batch([world.train_task(plan, key=key, parents=[key])], InvalidRequest, "CYCLE")


def test_it_rejects_a_task_whose_parent_does_not_exist(world, reject_batch):
    plan = world.plan()
    first = world.train_task(plan)
    orphan = world.aggregate_task(plan, [first["key"], new_key()])
    reject_batch([first, orphan], InvalidRequest, "UNKNOWN_PARENT")


def test_it_rejects_a_task_whose_parent_failed_registration_earlier(world, reject_batch):
    plan = world.plan()
    refused = world.train_task(plan, worker=UNKNOWN_ORG)
    reject_batch([refused], InvalidRequest, "UNKNOWN_ORGANIZATION")
    reject_batch([world.aggregate_task(plan, [refused["key"]])], InvalidRequest, "UNKNOWN_PARENT")


@pytest.mark.parametrize("parent_registered", [False, True], ids=["parent_in_batch", "parent_registered"])
def test_it_rejects_a_parent_output_that_does_not_exist(world, reject_batch, parent_registered):
    plan = world.plan()
    first = world.train_task(plan)
    child = world.aggregate_task(plan, [first["key"]])
    child["inputs"] = [parent_output("models", first["key"], "weights")]
    if parent_registered:
        world.client(ORG2).register_tasks([first])
        reject_batch([first, child], InvalidRequest, "UNKNOWN_PARENT_OUTPUT", registered=[first["key"]])
    else:
        reject_batch([first, child], InvalidRequest, "UNKNOWN_PARENT_OUTPUT")


def test_it_rejects_an_input_the_function_does_not_declare(world, reject_batch):
    plan = world.plan()
    first = world.train_task(plan)
    second = world.train_task(plan)
    second["inputs"].append({"identifier": "weights", "asset_key": world.data_manager})
    reject_batch([first, second], InvalidRequest, "UNKNOWN_INPUT")


def test_it_rejects_a_data_manager_given_for_a_model_input(world, reject_batch):
    plan = world.plan()
    first = world.train_task(plan)
    second = world.train_task(plan)
    second["inputs"].append({"identifier": "models", "asset_key": world.data_manager})
    reject_batch([first, second], InvalidRequest, "INPUT_KIND_MISMATCH")


def test_it_rejects_a_data_sample_given_for_the_opener(world, reject_batch):
    plan = world.plan()
    task = world.train_task(plan)
    task["inputs"][0] = {"identifier": "opener", "asset_key": world.samples[0]}
    reject_batch([task], InvalidRequest, "INPUT_KIND_MISMATCH")


def test_it_rejects_a_parent_performance_given_for_a_model_input(world, reject_batch):
    plan = world.plan()
    first = world.train_task(plan)
    evaluation = evaluate_task(world, plan, [first["key"]])
    second = world.train_task(plan)
    second["inputs"].append(parent_output("models", evaluation["key"], "performance"))
    reject_batch([first, evaluation, second], InvalidRequest, "INPUT_KIND_MISMATCH")


def test_it_rejects_a_parent_model_given_for_the_opener(world, reject_batch):
    plan = world.plan()
    first = world.train_task(plan)
    second = world.train_task(plan)
    second["inputs"][0] = parent_output("opener", first["key"])
    reject_batch([first, second], InvalidRequest, "INPUT_KIND_MISMATCH")


def test_it_rejects_two_values_for_an_input_that_takes_one(world, reject_batch):
    plan = world.plan()
    task = world.train_task(plan)
    task["inputs"].append({"identifier": "opener", "asset_key": world.data_manager})
    reject_batch([task], InvalidRequest, "INPUT_MULTIPLICITY")


def test_it_rejects_two_parent_models_for_an_input_that_takes_one(world, reject_batch):
    plan = world.plan()
    first, second = world.train_task(plan), world.train_task(plan)
    evaluation = evaluate_task(world, plan, [first["key"], second["key"]])
    reject_batch([first, second, evaluation], InvalidRequest, "INPUT_MULTIPLICITY")


@pytest.mark.parametrize("missing", ["models", "opener"])
def test_it_rejects_a_task_missing_a_required_input(world, reject_batch, missing):
    plan = world.plan()
    first = world.train_task(plan)
    if missing == "models":
        task = world.aggregate_task(plan, [])
    else:
        task = world.train_task(plan, parents=[first["key"]])
        task["inputs"] = task["inputs"][1:]
    reject_batch([first, task], InvalidRequest, "MISSING_INPUT")


def test_it_rejects_an_output_the_function_does_not_declare(world, reject_batch):
    plan = world.plan()
    first = world.train_task(plan)
    second = world.train_task(plan, outputs={"model": output(ORG1, ORG2), "extra": output(ORG1)})
    reject_batch([first, second], InvalidRequest, "UNKNOWN_OUTPUT")


def test_it_rejects_a_task_without_permissions_for_a_declared_output(world, reject_batch):
    plan = world.plan()
    task = world.train_task(plan)
    task["outputs"] = {}
    reject_batch([task], InvalidRequest, "MISSING_OUTPUT")


@pytest.mark.parametrize(
    "performance",
    [output(ORG1, ORG2), output(public=True, transient=True)],
    ids=["not_public", "transient"],
)
def test_it_rejects_a_performance_output_that_is_not_public_or_is_transient(world, reject_batch, performance):
    plan = world.plan()
    first = world.train_task(plan)
    evaluation = evaluate_task(world, plan, [first["key"]], performance=performance)
    reject_batch([first, evaluation], InvalidRequest, "PERFORMANCE_NOT_PUBLIC")


def test_it_rejects_a_task_on_a_data_manager_whose_owner_is_not_the_worker(world, reject_batch):
    plan = world.plan()
    first = world.train_task(plan)
    elsewhere = world.train_task(plan, worker=ORG2)
    reject_batch([first, elsewhere], PermissionDenied, "WORKER_NOT_PERMITTED")


def test_it_rejects_a_worker_without_permission_on_the_function(world, reject_batch):
    plan = world.plan()
    private = world.function(ORG2, permission(), **AGGREGATE_IO)
    first = world.train_task(plan)
    aggregate = world.aggregate_task(plan, [first["key"]], worker=ORG1)
    aggregate["function_key"] = private
    reject_batch([first, aggregate], PermissionDenied, "WORKER_NOT_PERMITTED")


def test_a_caller_without_permission_on_a_parent_output_registers_a_task_for_a_permitted_worker(world):
    # A composite's head model stays private to its worker, yet the plan's owner chains the next
    # composite on it: Substra checks the worker only, and its suite relies on it.
    plan = world.plan()
    first = world.train_task(plan, outputs={"model": output(ORG1)})
    child = world.aggregate_task(plan, [first["key"]], worker=ORG1)
    registered = world.client(ORG2).register_tasks([first, child])
    assert [task.key for task in registered] == [first["key"], child["key"]]


def test_it_rejects_a_worker_without_permission_on_a_parent_output(world, reject_batch):
    plan = world.plan()
    first = world.train_task(plan, outputs={"model": output(ORG1)})
    aggregate = world.aggregate_task(plan, [first["key"]], worker=ORG2)
    reject_batch([first, aggregate], PermissionDenied, "WORKER_NOT_PERMITTED")


def test_it_rejects_a_worker_without_permission_on_a_model_input(world, reject_batch):
    plan = world.plan()
    first = world.train_task(plan, outputs={"model": output(ORG1)})
    world.client(ORG2).register_tasks([first])
    model = new_key()
    org1 = world.client(ORG1)
    org1.apply_task_action(first["key"], "TASK_ACTION_EXECUTING")
    org1.register_models(
        [
            {
                "key": model,
                "compute_task_key": first["key"],
                "compute_task_output_identifier": "model",
                "address": ADDRESS,
            }
        ]
    )
    org1.apply_task_action(first["key"], "TASK_ACTION_DONE")
    aggregate = world.aggregate_task(plan, [], worker=ORG2)
    aggregate["inputs"] = [{"identifier": "models", "asset_key": model}]
    reject_batch([aggregate], PermissionDenied, "WORKER_NOT_PERMITTED")


def test_it_rejects_a_data_sample_not_linked_to_the_tasks_data_manager(world, reject_batch):
    org1 = world.client(ORG1)
    other_manager = org1.register_data_manager(**data_manager_fields(new_permissions=permission(ORG2))).key
    (stray,) = org1.register_data_samples(
        [{"key": new_key(), "checksum": "2" * 64, "data_manager_keys": [other_manager]}]
    )
    plan = world.plan()
    first = world.train_task(plan)
    second = world.train_task(plan)
    second["inputs"].append({"identifier": "datasamples", "asset_key": stray.key})
    reject_batch([first, second], InvalidRequest, "DATA_SAMPLE_NOT_LINKED")


@pytest.mark.parametrize(
    "changes",
    [
        {"tag": "t" * 101},
        {"metadata": {"k" * 51: "v"}},
        {"metadata": {"k": "v" * 101}},
        {"metadata": {f"k{i}": "v" for i in range(101)}},
    ],
    ids=["tag", "metadata_key", "metadata_value", "metadata_entries"],
)
def test_it_rejects_a_task_tag_or_metadata_over_its_limit(world, reject_batch, changes):
    plan = world.plan()
    first = world.train_task(plan)
    second = {**world.train_task(plan), **changes}
    reject_batch([first, second], InvalidRequest, "LIMIT_EXCEEDED")


def test_it_accepts_a_task_tag_and_metadata_at_their_limits(world):
    plan = world.plan()
    metadata = {f"k{i:02}": "v" for i in range(99)} | {"k" * 50: "v" * 100}
    task = {**world.train_task(plan), "tag": "t" * 100, "metadata": metadata}
    (registered,) = world.client(ORG2).register_tasks([task])
    assert registered.tag == "t" * 100 and dict(registered.metadata) == metadata


def test_it_rejects_an_unknown_organization_in_a_task_output(world, reject_batch):
    plan = world.plan()
    first = world.train_task(plan)
    second = world.train_task(plan, outputs={"model": output(ORG1, UNKNOWN_ORG)})
    error = reject_batch([first, second], InvalidRequest, "UNKNOWN_ORGANIZATION")
    assert "invalid permission input values" in error.message, "Substra's wording, which its clients look for"


def test_it_rejects_an_unknown_worker(world, reject_batch):
    plan = world.plan()
    first = world.train_task(plan)
    aggregate = world.aggregate_task(plan, [first["key"]], worker=UNKNOWN_ORG)
    reject_batch([first, aggregate], InvalidRequest, "UNKNOWN_ORGANIZATION")
    reject_batch([world.aggregate_task(plan, [first["key"]], worker="")], InvalidRequest, "UNKNOWN_ORGANIZATION")


def test_it_rejects_a_worker_that_is_a_member_of_another_channel_only(world, reject_batch):
    other = world.client(ORG2, "otherchannel")
    plan = other.register_compute_plan(key=new_key(), name="plan").key
    task = {**world.aggregate_task(plan, [new_key()], worker=ORG3)}
    reject_batch([task], InvalidRequest, "UNKNOWN_ORGANIZATION", channel="otherchannel")


def test_it_rejects_a_key_registered_with_a_different_content(world, reject_batch):
    plan = world.plan()
    task = world.train_task(plan)
    (original,) = world.client(ORG2).register_tasks([task])
    newcomer = world.train_task(plan)
    changed = {**task, "tag": "changed"}
    error = reject_batch([newcomer, changed], Conflict, "CONFLICT", registered=[task["key"]])
    assert error.status == grpc.StatusCode.ALREADY_EXISTS
    assert world.client(ORG2).get_task(task["key"]) == original
    assert world.client(ORG2).get_compute_plan(plan).task_count == 1


def test_it_returns_the_same_tasks_for_an_identical_batch_sent_again(world, watches):
    client = world.client(ORG2)
    plan = world.plan()
    first = world.train_task(plan)
    aggregate = world.aggregate_task(plan, [first["key"]])
    second = world.train_task(plan, parents=[aggregate["key"]])
    tasks = client.register_tasks([first, aggregate, second])
    watch = watches()
    watch.mark()
    again = client.register_tasks([first, aggregate, second])
    assert watch.mark() == [], "an identical retry writes no event"
    assert again == tasks
    assert client.get_compute_plan(plan).task_count == 3


def test_it_registers_only_the_new_tasks_of_a_batch_sent_again_with_more(world, watches):
    client = world.client(ORG2)
    plan = world.plan()
    first = world.train_task(plan)
    (registered,) = client.register_tasks([first])
    aggregate = world.aggregate_task(plan, [first["key"]])
    watch = watches()
    watch.mark()
    again, added = client.register_tasks([first, aggregate])
    created = [key for kind, key in watch.mark() if kind == 6]  # ASSET_COMPUTE_TASK
    assert created == [aggregate["key"]]
    assert again == registered and added.rank == 1
    assert client.get_compute_plan(plan).task_count == 2


def test_it_rejects_a_task_whose_owner_may_not_use_the_data_manager(world, reject_batch):
    public_train = world.function(ORG2, permission(public=True), **TRAIN_IO)
    plan = world.plan(owner=ORG3)
    task = {**world.train_task(plan), "function_key": public_train}
    error = reject_batch([task], PermissionDenied, "PERMISSION_DENIED", caller=ORG3)
    assert world.data_manager in error.message


def test_it_rejects_a_task_whose_owner_may_not_use_the_function(world, reject_batch):
    plan = world.plan(owner=ORG3)
    reject_batch([world.train_task(plan)], PermissionDenied, "PERMISSION_DENIED", caller=ORG3)


def test_it_rejects_a_task_added_to_another_organizations_plan(world, reject_batch):
    plan = world.plan(owner=ORG2)
    reject_batch([world.train_task(plan)], PermissionDenied, "PERMISSION_DENIED", caller=ORG1)


def test_it_rejects_a_task_in_a_plan_that_does_not_exist(world, reject_batch):
    plan = world.plan()
    first = world.train_task(plan)
    lost = world.train_task(new_key())
    reject_batch([first, lost], NotFound, "NOT_FOUND")


def test_it_rejects_a_task_whose_function_or_asset_does_not_exist(world, reject_batch):
    plan = world.plan()
    first = world.train_task(plan)
    reject_batch([first, {**world.train_task(plan), "function_key": new_key()}], InvalidRequest, "UNKNOWN_ASSET")
    no_asset = world.train_task(plan)
    no_asset["inputs"][1] = {"identifier": "datasamples", "asset_key": new_key()}
    reject_batch([first, no_asset], InvalidRequest, "UNKNOWN_ASSET")


def test_it_rejects_an_input_without_a_value(world, reject_batch):
    plan = world.plan()
    task = world.train_task(plan)
    task["inputs"].append({"identifier": "models"})
    reject_batch([task], InvalidRequest, "INVALID_FIELD")


def test_it_rejects_an_empty_batch_and_a_batch_over_its_limit(world, reject):
    client = world.client(ORG2)
    reject(lambda: client.register_tasks([]), InvalidRequest, "INVALID_FIELD")
    plan = world.plan()
    huge = [{"key": new_key(), "compute_plan_key": plan} for _ in range(10_001)]
    reject(lambda: client.register_tasks(huge), InvalidRequest, "LIMIT_EXCEEDED")
    assert client.get_compute_plan(plan).task_count == 0
    assert_task_absent(world, huge[0]["key"])


# Assets


def data_manager_fields(**changes):
    return {
        "key": new_key(),
        "name": "dataset",
        "new_permissions": permission(ORG2),
        "opener": ADDRESS,
        "description": ADDRESS,
        "type": "csv",
        "logs_permission": permission(ORG2),
        **changes,
    }


def function_fields(**changes):
    return {
        "key": new_key(),
        "name": "function",
        "new_permissions": permission(ORG1),
        "description": ADDRESS,
        "archive": ADDRESS,
        **AGGREGATE_IO,
        **changes,
    }


def plan_fields(**changes):
    return {"key": new_key(), "name": "plan", **changes}


def reject_data_manager(clients, reject, fields, error_class, code, org=ORG1, channel="mychannel"):
    client = clients(org, channel)
    error = reject(lambda: client.register_data_manager(**fields), error_class, code, channel)
    with pytest.raises(NotFound):
        client.get_data_manager(fields["key"])
    return error


def reject_function(clients, reject, fields, error_class, code):
    client = clients(ORG2)
    error = reject(lambda: client.register_function(**fields), error_class, code)
    with pytest.raises(NotFound):
        client.get_function(fields["key"])
    return error


def reject_plan(clients, reject, fields, error_class, code):
    client = clients(ORG2)
    error = reject(lambda: client.register_compute_plan(**fields), error_class, code)
    with pytest.raises(NotFound):
        client.get_compute_plan(fields["key"])
    return error


LIMITS = {
    "name": {"name": "n" * 101},
    "metadata_key": {"metadata": {"k" * 51: "v"}},
    "metadata_value": {"metadata": {"k": "v" * 101}},
    "metadata_entries": {"metadata": {f"k{i}": "v" for i in range(101)}},
}


@pytest.mark.parametrize("changes", LIMITS.values(), ids=LIMITS.keys())
def test_it_rejects_a_data_manager_name_or_metadata_over_its_limit(clients, reject, changes):
    reject_data_manager(clients, reject, data_manager_fields(**changes), InvalidRequest, "LIMIT_EXCEEDED")


def test_it_rejects_a_data_manager_type_over_its_limit(clients, reject):
    reject_data_manager(clients, reject, data_manager_fields(type="t" * 31), InvalidRequest, "LIMIT_EXCEEDED")


@pytest.mark.parametrize("changes", LIMITS.values(), ids=LIMITS.keys())
def test_it_rejects_a_function_name_or_metadata_over_its_limit(clients, reject, changes):
    reject_function(clients, reject, function_fields(**changes), InvalidRequest, "LIMIT_EXCEEDED")


def test_it_rejects_a_function_input_identifier_over_its_limit(clients, reject):
    inputs = {"m" * 101: {"kind": "ASSET_MODEL", "multiple": True}}
    reject_function(clients, reject, function_fields(inputs=inputs), InvalidRequest, "LIMIT_EXCEEDED")


@pytest.mark.parametrize("changes", [*LIMITS.values(), {"tag": "t" * 101}], ids=[*LIMITS.keys(), "tag"])
def test_it_rejects_a_compute_plan_name_tag_or_metadata_over_its_limit(clients, reject, changes):
    reject_plan(clients, reject, plan_fields(**changes), InvalidRequest, "LIMIT_EXCEEDED")


def test_it_accepts_names_tag_and_metadata_at_their_limits(clients):
    metadata = {f"k{i:02}": "v" for i in range(99)} | {"k" * 50: "v" * 100}
    at_limit = {"name": "n" * 100, "metadata": metadata}
    assert clients(ORG1).register_data_manager(**data_manager_fields(**at_limit)).name == "n" * 100
    assert clients(ORG2).register_function(**function_fields(**at_limit)).name == "n" * 100
    assert clients(ORG2).register_compute_plan(**plan_fields(**at_limit, tag="t" * 100)).tag == "t" * 100


def test_it_rejects_asset_keys_that_are_not_uuids(clients, reject):
    reject_data_manager(clients, reject, data_manager_fields(key="not-a-uuid"), InvalidRequest, "INVALID_KEY")
    reject_function(clients, reject, function_fields(key="not-a-uuid"), InvalidRequest, "INVALID_KEY")
    reject_plan(clients, reject, plan_fields(key="not-a-uuid"), InvalidRequest, "INVALID_KEY")


@pytest.mark.parametrize("field", ["new_permissions", "logs_permission"])
def test_it_rejects_an_unknown_organization_in_a_data_managers_permissions(clients, reject, field):
    fields = data_manager_fields(**{field: permission(ORG2, UNKNOWN_ORG)})
    reject_data_manager(clients, reject, fields, InvalidRequest, "UNKNOWN_ORGANIZATION")


def test_it_rejects_an_organization_of_another_channel_in_a_data_managers_permissions(clients, reject):
    fields = data_manager_fields(new_permissions=permission(ORG3))
    reject_data_manager(clients, reject, fields, InvalidRequest, "UNKNOWN_ORGANIZATION", channel="otherchannel")


def test_it_rejects_an_unknown_organization_in_a_functions_permissions(clients, reject):
    fields = function_fields(new_permissions=permission(ORG1, UNKNOWN_ORG))
    reject_function(clients, reject, fields, InvalidRequest, "UNKNOWN_ORGANIZATION")


def test_it_rejects_an_asset_key_registered_with_a_different_content(clients, reject):
    manager = data_manager_fields()
    original = clients(ORG1).register_data_manager(**manager)
    reject(lambda: clients(ORG1).register_data_manager(**{**manager, "name": "other"}), Conflict, "CONFLICT")
    assert clients(ORG1).get_data_manager(manager["key"]) == original
    function = function_fields()
    original = clients(ORG2).register_function(**function)
    reject(lambda: clients(ORG2).register_function(**{**function, "name": "other"}), Conflict, "CONFLICT")
    assert clients(ORG2).get_function(function["key"]) == original
    plan = plan_fields()
    original = clients(ORG2).register_compute_plan(**plan)
    reject(lambda: clients(ORG2).register_compute_plan(**{**plan, "tag": "other"}), Conflict, "CONFLICT")
    assert clients(ORG2).get_compute_plan(plan["key"]) == original


def test_it_rejects_an_asset_key_taken_in_another_channel(clients, reject):
    manager = data_manager_fields()
    clients(ORG1).register_data_manager(**manager)
    reject_data_manager(clients, reject, manager, Conflict, "CONFLICT", channel="otherchannel")


REGISTRATIONS = {
    "data_manager": (ORG1, "register_data_manager", data_manager_fields),
    "compute_plan": (ORG2, "register_compute_plan", plan_fields),
    "function": (ORG2, "register_function", function_fields),
}


@pytest.mark.parametrize(
    "kind",
    [
        "data_manager",
        "compute_plan",
        "function",
    ],
)
def test_it_returns_the_same_asset_for_an_identical_registration_sent_again(clients, watches, kind):
    org, method, fields_of = REGISTRATIONS[kind]
    register = getattr(clients(org), method)
    fields = fields_of()
    first = register(**fields)
    watch = watches()
    watch.mark()
    again = register(**fields)
    assert watch.mark() == [], "an identical retry writes no event"
    assert again == first


def sample(world, manager=None):
    return {"key": new_key(), "checksum": "3" * 64, "data_manager_keys": [manager or world.data_manager]}


def reject_samples(world, reject, samples, error_class, code, org=ORG1):
    client = world.client(org)
    error = reject(lambda: client.register_data_samples(samples), error_class, code)
    for each in samples:
        with pytest.raises(NotFound):
            client.get_data_sample(each["key"])
    return error


def test_it_rejects_data_samples_with_a_key_that_is_not_a_uuid(world, reject):
    reject_samples(
        world, reject, [sample(world), {**sample(world), "key": "not-a-uuid"}], InvalidRequest, "INVALID_KEY"
    )


def test_it_rejects_data_samples_with_the_same_key_twice(world, reject):
    twin = sample(world)
    reject_samples(world, reject, [twin, dict(twin)], InvalidRequest, "DUPLICATE_KEY")


def test_it_rejects_data_samples_on_another_organizations_data_manager(world, reject):
    theirs = world.client(ORG2).register_data_manager(**data_manager_fields(new_permissions=permission(ORG1))).key
    samples = [sample(world), sample(world, theirs)]
    reject_samples(world, reject, samples, PermissionDenied, "PERMISSION_DENIED")
    reject_samples(world, reject, [sample(world), sample(world, new_key())], NotFound, "NOT_FOUND")


def test_it_rejects_a_data_sample_key_registered_with_a_different_content(world, reject):
    taken = sample(world)
    world.client(ORG1).register_data_samples([taken])
    fresh = sample(world)
    reject(
        lambda: world.client(ORG1).register_data_samples([fresh, {**taken, "checksum": "4" * 64}]), Conflict, "CONFLICT"
    )
    with pytest.raises(NotFound):
        world.client(ORG1).get_data_sample(fresh["key"])
    assert world.client(ORG1).get_data_sample(taken["key"]).checksum == "3" * 64


def test_it_returns_the_same_data_samples_for_an_identical_registration_sent_again(world, watches):
    samples = [sample(world), sample(world)]
    first = world.client(ORG1).register_data_samples(samples)
    watch = watches()
    watch.mark()
    again = world.client(ORG1).register_data_samples(samples)
    assert watch.mark() == [], "an identical retry writes no event"
    assert again == first
