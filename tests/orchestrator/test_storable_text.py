"""The orchestrator refuses, before writing, every text a backend could not store: a NUL character
(PostgreSQL's text and jsonb cannot hold one) or an over-long value in any string field of any
call. The refusal is INVALID_ARGUMENT with its code, and no event is written, so that no consumer
ever meets an event it cannot apply. (An unpaired surrogate cannot be sent over gRPC at all:
protobuf strings are UTF-8, which cannot encode one.)"""

import grpc
import pytest

from orchestrator_client.errors import InvalidRequest, NotFound
from orchestrator_client.pb import assets_pb2 as pb
from orchestrator_client.pb import service_pb2 as api
from tests.conftest import ORG1, ORG2
from tests.orchestrator import test_validation
from tests.orchestrator.conftest import ADDRESS, new_key, permission
from tests.orchestrator.test_validation import (
    data_manager_fields,
    function_fields,
    plan_fields,
    reject_data_manager,
    reject_function,
    reject_plan,
)

# The fixtures of test_validation: a refused call writes no event, a refused batch no task.
watches = test_validation.watches
reject = test_validation.reject
reject_batch = test_validation.reject_batch

NUL = "a\x00b"


def with_nul_key(metadata_value="v"):
    return {"k\x00": metadata_value}


DATA_MANAGER_FIELDS = {
    "name": {"name": NUL},
    "type": {"type": NUL},
    "metadata_key": {"metadata": with_nul_key()},
    "metadata_value": {"metadata": {"k": NUL}},
    "opener_checksum": {"opener": {**ADDRESS, "checksum": NUL}},
    "opener_address": {"opener": {**ADDRESS, "storage_address": "http://x/\x00"}},
    "description_address": {"description": {**ADDRESS, "storage_address": "http://x/\x00"}},
    "authorized_id": {"new_permissions": permission(ORG2 + "\x00")},
    "logs_authorized_id": {"logs_permission": permission("\x00")},
}


@pytest.mark.parametrize("changes", DATA_MANAGER_FIELDS.values(), ids=DATA_MANAGER_FIELDS.keys())
def test_a_data_manager_with_a_nul_in_any_text_is_refused_and_nothing_is_written(clients, reject, changes):
    reject_data_manager(clients, reject, data_manager_fields(**changes), InvalidRequest, "INVALID_TEXT")


FUNCTION_FIELDS = {
    "name": {"name": NUL},
    "metadata_key": {"metadata": with_nul_key()},
    "metadata_value": {"metadata": {"k": NUL}},
    "archive_checksum": {"archive": {**ADDRESS, "checksum": NUL}},
    "input_identifier": {"inputs": {"models\x00": {"kind": "ASSET_MODEL", "multiple": True}}},
    "output_identifier": {"outputs": {"model\x00": {"kind": "ASSET_MODEL"}}},
}


@pytest.mark.parametrize("changes", FUNCTION_FIELDS.values(), ids=FUNCTION_FIELDS.keys())
def test_a_function_with_a_nul_in_any_text_is_refused_and_nothing_is_written(clients, reject, changes):
    reject_function(clients, reject, function_fields(**changes), InvalidRequest, "INVALID_TEXT")


def test_a_function_output_identifier_over_its_limit_is_refused(clients, reject):
    outputs = {"m" * 101: {"kind": "ASSET_MODEL"}}
    reject_function(clients, reject, function_fields(outputs=outputs), InvalidRequest, "LIMIT_EXCEEDED")


PLAN_FIELDS = {
    "name": {"name": NUL},
    "tag": {"tag": NUL},
    "metadata_key": {"metadata": with_nul_key()},
    "metadata_value": {"metadata": {"k": NUL}},
}


@pytest.mark.parametrize("changes", PLAN_FIELDS.values(), ids=PLAN_FIELDS.keys())
def test_a_compute_plan_with_a_nul_in_any_text_is_refused_and_nothing_is_written(clients, reject, changes):
    reject_plan(clients, reject, plan_fields(**changes), InvalidRequest, "INVALID_TEXT")


def test_renaming_an_asset_to_a_name_with_a_nul_is_refused_and_the_name_kept(clients, reject):
    manager = clients(ORG1).register_data_manager(**data_manager_fields()).key
    function = clients(ORG2).register_function(**function_fields()).key
    plan = clients(ORG2).register_compute_plan(**plan_fields()).key
    reject(lambda: clients(ORG1).rename_data_manager(manager, NUL), InvalidRequest, "INVALID_TEXT")
    reject(lambda: clients(ORG2).rename_function(function, NUL), InvalidRequest, "INVALID_TEXT")
    reject(lambda: clients(ORG2).rename_compute_plan(plan, NUL), InvalidRequest, "INVALID_TEXT")
    assert clients(ORG1).get_data_manager(manager).name == "dataset"
    assert clients(ORG2).get_function(function).name == "function"
    assert clients(ORG2).get_compute_plan(plan).name == "plan"


def test_a_data_sample_with_a_nul_in_its_checksum_is_refused(world, reject):
    sample = {"key": new_key(), "checksum": NUL, "data_manager_keys": [world.data_manager]}
    reject(lambda: world.client(ORG1).register_data_samples([sample]), InvalidRequest, "INVALID_TEXT")
    with pytest.raises(NotFound):
        world.client(ORG1).get_data_sample(sample["key"])


def task_with_nul(world, plan, where):
    task = world.train_task(plan)
    if where == "tag":
        task["tag"] = NUL
    elif where == "metadata_key":
        task["metadata"] = with_nul_key()
    elif where == "metadata_value":
        task["metadata"] = {"k": NUL}
    elif where == "worker":
        task["worker"] = ORG1 + "\x00"
    elif where == "input_identifier":
        task["inputs"][0]["identifier"] = "opener\x00"
    elif where == "output_identifier":
        task["outputs"] = {"model\x00": task["outputs"]["model"]}
    elif where == "output_authorized_id":
        task["outputs"]["model"]["permissions"]["process"]["authorized_ids"].append("\x00")
    elif where == "parent_output_identifier":
        task["inputs"].append(
            {"identifier": "models", "parent_task_output": {"parent_task_key": new_key(), "output_identifier": NUL}}
        )
    return task


TASK_FIELDS = [
    "tag",
    "metadata_key",
    "metadata_value",
    "worker",
    "input_identifier",
    "output_identifier",
    "output_authorized_id",
    "parent_output_identifier",
]


@pytest.mark.parametrize("where", TASK_FIELDS)
def test_a_task_batch_with_a_nul_in_any_text_is_refused_whole(world, reject_batch, where):
    plan = world.plan()
    valid = world.train_task(plan)
    reject_batch([valid, task_with_nul(world, plan, where)], InvalidRequest, "INVALID_TEXT")


def test_a_task_batch_with_an_over_long_worker_or_identifier_is_refused_whole(world, reject_batch):
    plan = world.plan()
    long_worker = {**world.train_task(plan), "worker": "W" * 101}
    reject_batch([world.train_task(plan), long_worker], InvalidRequest, "LIMIT_EXCEEDED")
    long_input = world.train_task(plan)
    long_input["inputs"][0]["identifier"] = "i" * 101
    reject_batch([world.train_task(plan), long_input], InvalidRequest, "LIMIT_EXCEEDED")


@pytest.fixture
def executing_task(world):
    plan = world.plan()
    task = world.train_task(plan)
    world.client(ORG2).register_tasks([task])
    world.client(ORG1).apply_task_action(task["key"], "TASK_ACTION_EXECUTING")
    return task["key"]


def model(task_key, **changes):
    return {
        "key": new_key(),
        "compute_task_key": task_key,
        "compute_task_output_identifier": "model",
        "address": ADDRESS,
        **changes,
    }


MODEL_FIELDS = {
    "identifier": {"compute_task_output_identifier": "model\x00"},
    "checksum": {"address": {**ADDRESS, "checksum": NUL}},
    "address": {"address": {**ADDRESS, "storage_address": "http://x/\x00"}},
}


@pytest.mark.parametrize("changes", MODEL_FIELDS.values(), ids=MODEL_FIELDS.keys())
def test_a_model_with_a_nul_is_refused_whether_registered_alone_or_with_the_done(
    world, reject, executing_task, changes
):
    worker = world.client(ORG1)
    sent = model(executing_task, **changes)
    reject(lambda: worker.register_models([sent]), InvalidRequest, "INVALID_TEXT")
    done = {name: value for name, value in sent.items() if name != "compute_task_key"}
    reject(lambda: worker.complete_task(executing_task, models=[done]), InvalidRequest, "INVALID_TEXT")
    with pytest.raises(NotFound):
        worker.get_model(sent["key"])
    assert world.client(ORG2).get_task(executing_task).status == pb.STATUS_EXECUTING


def test_a_performance_that_is_not_a_finite_number_is_refused(world, reject, executing_task):
    worker = world.client(ORG1)
    for value in (float("nan"), float("inf")):
        performance = {"compute_task_output_identifier": "model", "performance_value": value}
        reject(
            lambda p=performance: worker.complete_task(executing_task, performances=[p]), InvalidRequest, "INVALID_JSON"
        )


def test_a_failure_report_or_an_image_with_a_nul_is_refused(world, reject, executing_task):
    worker = world.client(ORG1)
    logs = {**ADDRESS, "storage_address": "http://x/\x00"}
    report = {"asset_key": executing_task, "asset_kind": "ASSET_COMPUTE_TASK", "error_type": "EXECUTION_ERROR"}
    reject(lambda: worker.register_failure_report(**report, logs_address=logs), InvalidRequest, "INVALID_TEXT")
    with pytest.raises(NotFound):
        worker.get_failure_report(executing_task)
    function = world.function(ORG2, permission(ORG1), inputs={}, outputs={}, ready=False)
    build = world.client(ORG2)
    reject(
        lambda: build.apply_function_action(function, "FUNCTION_ACTION_READY", image=NUL),
        InvalidRequest,
        "INVALID_TEXT",
    )


def test_an_organization_address_with_a_nul_is_refused(clients, reject):
    reject(lambda: clients(ORG1).register_organization("http://a\x00"), InvalidRequest, "INVALID_TEXT")
    addresses = {org.id: org.address for org in clients(ORG1).list_organizations()}
    assert "\x00" not in addresses[ORG1]


def test_a_key_with_a_nul_is_not_found_on_every_read_and_change_not_an_internal_error(clients):
    client = clients(ORG2)
    calls = [client.get_data_manager, client.get_function, client.get_compute_plan, client.get_task,
             client.get_model, client.get_data_sample, client.get_failure_report, client.cancel_compute_plan,
             client.disable_model, lambda key: client.rename_function(key, "name"),
             lambda key: client.apply_task_action(key, "TASK_ACTION_EXECUTING")]  # fmt: skip
    for call in calls:
        with pytest.raises(NotFound) as caught:
            call("k\x00")
        assert caught.value.code == "NOT_FOUND"


def test_a_request_with_an_encoded_surrogate_is_refused_before_the_ledger_and_writes_nothing(clients, watches):
    """A client not in Python can put the bytes of a surrogate (invalid UTF-8) in a string field:
    protobuf refuses to decode such a request, so the ledger never sees it, and the caller is told
    why: INVALID_ARGUMENT with the code INVALID_TEXT (gRPC alone would answer INTERNAL)."""
    client = clients(ORG2)
    key = new_key()
    raw = api.NewComputePlan(key=key, name="ab").SerializeToString().replace(b"ab", b"\xed\xa0")
    call = client._grpc_channel.unary_unary("/substra.orchestrator.v1.ComputePlanService/RegisterComputePlan")
    watch = watches()
    watch.mark()
    with pytest.raises(grpc.RpcError) as refused:
        call(raw, metadata=(("channel", "mychannel"),), timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, refused.value
    assert dict(refused.value.trailing_metadata())["error-code"] == "INVALID_TEXT"
    assert watch.mark() == []
    with pytest.raises(NotFound):
        client.get_compute_plan(key)
