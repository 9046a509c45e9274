"""Compute plans, tasks, models and performances through the API, against a real orchestrator:
with DRF's client for the edges, and with the real substra 1.0.0 SDK for the flows it drives.
The datasets and functions are registered straight through the orchestrator (this backend is
org 1) and mirrored with `save_snapshots`."""

import uuid

import pytest
import substra
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from substra.sdk import exceptions, models
from substra.sdk.schemas import ComputePlanTaskSpec, ComputeTaskOutputSpec, InputRef, Permissions

from backend.celery import app
from substrapp import tasks, worker
from substrapp.consumer import consume
from substrapp.mirror import save_snapshots, snapshot_of
from substrapp.models import ComputePlan, ComputeTask, FailureReport, Model, TaskExecution
from substrapp.models.scoping import wait_for_writes_behind
from substrapp.orchestration import close_orchestrator_clients
from tests.backend.conftest import PASSWORD, client_of, make_user
from tests.backend.network import orchestrator_of_its_own, point_backend_at
from tests.conftest import ORG1, ORG2, ORG3
from tests.orchestrator.conftest import ADDRESS, World, new_key

pytestmark = pytest.mark.django_db(transaction=True)

CHANNEL = "mychannel"


@pytest.fixture(scope="module")
def network(tmp_path_factory, authority):
    with orchestrator_of_its_own(tmp_path_factory.mktemp("compute-api"), authority) as (clients, _):
        yield clients


@pytest.fixture
def world(network, settings, authority, tmp_path):
    """This backend is org 1, with a dataset (mirrored) and ready functions (not mirrored yet:
    registering tasks fetches them)."""
    point_backend_at(settings, network.orchestrator, authority, tmp_path)
    world = World(network)
    org1 = network(ORG1)
    save_snapshots(CHANNEL, "ASSET_DATA_MANAGER", [snapshot_of(org1.get_data_manager(world.data_manager))])
    save_snapshots(CHANNEL, "ASSET_DATA_SAMPLE", [snapshot_of(org1.get_data_sample(key)) for key in world.samples])
    yield world
    close_orchestrator_clients()


@pytest.fixture
def api(db):
    return client_of(make_user("bob"))


def drain():
    consume(CHANNEL, stop_when_idle=True, idle_seconds=1.0)


def new_plan(api, **fields):
    answer = api.post("/compute_plan/", {"key": new_key(), "name": "plan", **fields}, format="json")
    assert answer.status_code == 201, answer.json()
    return answer.json()


def sdk_task(key, function_key, plan_key, inputs, outputs, **fields):
    """A task as the SDK's compute plan flow sends it (TaskSpec.from_compute_plan)."""
    return {
        "key": key,
        "tag": None,
        "compute_plan_key": plan_key,
        "metadata": None,
        "function_key": function_key,
        "worker": ORG1,
        "rank": None,
        "inputs": inputs,
        "outputs": outputs,
        **fields,
    }


def asset_input(identifier, key):
    return {"identifier": identifier, "asset_key": key, "parent_task_key": None, "parent_task_output_identifier": None}


def parent_input(identifier, parent, output_identifier="model"):
    return {
        "identifier": identifier,
        "asset_key": None,
        "parent_task_key": parent,
        "parent_task_output_identifier": output_identifier,
    }


def train_inputs(world, parents=()):
    return [
        asset_input("opener", world.data_manager),
        *(asset_input("datasamples", sample) for sample in world.samples),
        *(parent_input("models", parent) for parent in parents),
    ]


MODEL_OUTPUT = {"model": {"permissions": {"public": False, "authorized_ids": [ORG1, ORG2]}, "transient": False}}


def bulk_create(api, tasks):
    answer = api.post("/task/bulk_create/", {"tasks": tasks}, format="json")
    # The rows are written behind the answer: a user's read waits for them, and so do these
    # tests, which read the mirror directly.
    wait_for_writes_behind(CHANNEL)
    return answer


# Compute plans


def test_a_plan_is_registered_and_sent_again_identically_it_is_the_same_plan(world, api):
    body = {"key": new_key(), "name": "plan", "tag": "t", "metadata": {"m": "1"}, "tasks": [{"ignored": True}]}

    first = api.post("/compute_plan/", body, format="json")
    again = api.post("/compute_plan/", body, format="json")

    assert (first.status_code, again.status_code) == (201, 201)
    plan = models.ComputePlan(**first.json())
    assert (plan.key, plan.name, plan.tag, plan.metadata, plan.owner) == (body["key"], "plan", "t", {"m": "1"}, ORG1)
    assert (plan.status, plan.task_count, plan.estimated_end_date) == ("PLAN_STATUS_CREATED", 0, None)
    assert again.json() == first.json()
    assert ComputePlan.objects.filter(key=body["key"]).count() == 1


def test_a_different_plan_under_a_taken_key_is_a_conflict(world, api):
    plan = new_plan(api)

    answer = api.post("/compute_plan/", {"key": plan["key"], "name": "another"}, format="json")

    assert answer.status_code == 409
    assert answer.json()["key"] == plan["key"]


def test_a_plan_is_renamed_and_canceled_with_json_answers(world, api):
    plan = new_plan(api)

    renamed = api.put(f"/compute_plan/{plan['key']}/", {"name": "renamed"}, format="json")
    canceled = api.post(f"/compute_plan/{plan['key']}/cancel/")

    assert renamed.json()["name"] == "renamed"
    assert models.ComputePlan(**canceled.json()).status == "PLAN_STATUS_CANCELED"
    assert ComputePlan.objects.get(key=plan["key"]).status == "PLAN_STATUS_CANCELED"


def test_plans_are_listed_with_filters_and_their_task_counts(world, api):
    first = new_plan(api, metadata={"phase": "one"})
    second = new_plan(api, metadata={"phase": "two"})
    assert (
        bulk_create(
            api, [sdk_task(new_key(), world.train, first["key"], train_inputs(world), MODEL_OUTPUT)]
        ).status_code
        == 200
    )

    by_metadata = api.get("/compute_plan/", {"metadata": '[{"key":"phase","type":"is","value":"one"}]'}).json()
    by_worker = api.get("/compute_plan/", {"worker": ORG1}).json()
    newest_first = api.get("/compute_plan/", {"ordering": "-creation_date"}).json()
    bad_status = api.get("/compute_plan/", {"status": "DONE"})

    assert [p["key"] for p in by_metadata["results"]] == [first["key"]]
    assert [p["key"] for p in by_worker["results"]] == [first["key"]]
    assert [p["key"] for p in newest_first["results"]] == [second["key"], first["key"]]
    listed = [models.ComputePlan(**p) for p in newest_first["results"]]
    assert [(p.task_count, p.waiting_executor_slot_count) for p in listed] == [(0, 0), (1, 1)]
    assert bad_status.status_code == 400


def test_a_plan_waiting_to_start_lasts_0_seconds_and_one_from_another_organization_has_an_external_creator(
    world, api, network
):
    # What Substra answers and its end-to-end suite checks, comparing each organization's copy.
    mine = new_plan(api)
    theirs = network(ORG2, CHANNEL).register_compute_plan(key=new_key(), name="registered on ORG2")
    drain()

    assert (mine["duration"], mine["creator"]) == (0, "bob")
    answer = api.get(f"/compute_plan/{theirs.key}/").json()
    assert (answer["duration"], answer["creator"]) == (0, "external")


def test_a_plan_of_another_channel_is_not_found(world, api, network):
    other = network(ORG1, "otherchannel").register_compute_plan(key=new_key(), name="elsewhere")
    save_snapshots("otherchannel", "ASSET_COMPUTE_PLAN", [snapshot_of(other)])

    assert api.get(f"/compute_plan/{other.key}/").status_code == 404
    assert api.post(f"/compute_plan/{other.key}/cancel/").status_code == 404


# Tasks


def test_tasks_are_registered_in_request_order_as_sdk_tasks(world, api):
    plan = new_plan(api)
    parent, child = new_key(), new_key()
    tasks = [
        sdk_task(parent, world.train, plan["key"], train_inputs(world), MODEL_OUTPUT, metadata={"round_idx": "0"}),
        sdk_task(child, world.train, plan["key"], train_inputs(world, [parent]), MODEL_OUTPUT, tag="t"),
    ]

    answer = bulk_create(api, tasks)

    assert answer.status_code == 200, answer.json()
    registered = [models.Task(**task) for task in answer.json()]
    assert [task.key for task in registered] == [parent, child]
    assert [task.rank for task in registered] == [0, 1]
    assert (registered[0].tag, registered[0].metadata, registered[1].tag) == ("", {"round_idx": "0"}, "t")
    assert registered[0].function.key == world.train
    assert registered[1].inputs[-1].parent_task_key == parent
    assert registered[0].status == "STATUS_WAITING_FOR_EXECUTOR_SLOT"
    assert registered[0].creation_date.tzinfo is not None
    assert ComputeTask.objects.filter(compute_plan=plan["key"]).count() == 2
    # The answer is made from the orchestrator's, not read back: the same as the mirror's rows.
    assert answer.json() == [api.get(f"/task/{key}/").json() for key in (parent, child)]


def test_an_identical_batch_sent_again_succeeds_and_duplicates_nothing(world, api):
    plan = new_plan(api)
    tasks = [sdk_task(new_key(), world.train, plan["key"], train_inputs(world), MODEL_OUTPUT)]

    first = bulk_create(api, tasks)
    again = bulk_create(api, tasks)

    assert (first.status_code, again.status_code) == (200, 200)
    assert [t["key"] for t in again.json()] == [t["key"] for t in first.json()]
    assert ComputeTask.objects.filter(compute_plan=plan["key"]).count() == 1


def test_a_different_task_under_a_taken_key_is_a_conflict_naming_the_keys(world, api):
    plan = new_plan(api)
    task = sdk_task(new_key(), world.train, plan["key"], train_inputs(world), MODEL_OUTPUT)
    assert bulk_create(api, [task]).status_code == 200

    answer = bulk_create(api, [{**task, "tag": "different"}])

    assert answer.status_code == 409
    assert answer.json()["key"] == [task["key"]]


def test_a_task_on_a_worker_that_may_not_process_its_inputs_is_refused_with_the_reason(world, api):
    plan = new_plan(api)
    parent = new_key()
    tasks = [
        sdk_task(parent, world.train, plan["key"], train_inputs(world), MODEL_OUTPUT),
        sdk_task(new_key(), world.aggregate, plan["key"], [parent_input("models", parent)], MODEL_OUTPUT, worker=ORG3),
    ]

    answer = bulk_create(api, tasks)

    assert answer.status_code == 403  # as on Substra: the SDK raises AuthorizationError
    assert answer.json()["code"] == "worker_not_permitted"
    assert answer.json()["detail"]
    assert not ComputeTask.objects.filter(compute_plan=plan["key"]).exists()


def test_malformed_tasks_are_refused_before_the_orchestrator(world, api):
    plan = new_plan(api)
    both = {**asset_input("opener", world.data_manager), "parent_task_key": new_key()}
    neither = {
        "identifier": "opener",
        "asset_key": None,
        "parent_task_key": None,
        "parent_task_output_identifier": None,
    }

    for inputs in ([both], [neither]):
        answer = bulk_create(api, [sdk_task(new_key(), world.train, plan["key"], inputs, MODEL_OUTPUT)])
        assert answer.status_code == 400
    not_a_uuid = bulk_create(api, [sdk_task("task-1", world.train, plan["key"], train_inputs(world), MODEL_OUTPUT)])
    assert not_a_uuid.status_code == 400
    assert "key" in not_a_uuid.json()["detail"]


def test_tasks_are_listed_with_the_sdk_filters(world, api):
    plan = new_plan(api)
    parent, child = new_key(), new_key()
    bulk_create(
        api,
        [
            sdk_task(parent, world.train, plan["key"], train_inputs(world), MODEL_OUTPUT, metadata={"round_idx": "0"}),
            sdk_task(child, world.train, plan["key"], train_inputs(world, [parent]), MODEL_OUTPUT),
        ],
    )

    def keys(**params):
        answer = api.get("/task/", params)
        assert answer.status_code == 200, answer.json()
        return [models.Task(**task).key for task in answer.json()["results"]]

    # One batch shares its creation date: the key breaks the tie, either way.
    assert keys(compute_plan_key=plan["key"], ordering="creation_date") == sorted([parent, child])
    assert keys(compute_plan_key=plan["key"], ordering="-creation_date") == sorted([parent, child], reverse=True)
    assert keys(compute_plan_key=plan["key"], rank="1") == [child]
    assert keys(compute_plan_key=plan["key"], status="STATUS_WAITING_FOR_PARENT_TASKS") == [child]
    assert keys(compute_plan_key=plan["key"], metadata='[{"key":"round_idx","type":"exists"}]') == [parent]
    assert keys(key=f"{parent},{child}", worker=ORG1, function_key=world.train, owner=ORG1) == sorted([parent, child])
    assert api.get("/task/", {"rank": "first"}).status_code == 400
    assert api.get("/task/", {"metadata": "not json"}).status_code == 400


def test_a_tasks_input_and_output_assets_are_listed(world, api, network):
    plan = new_plan(api)
    parent, child = new_key(), new_key()
    bulk_create(
        api,
        [
            sdk_task(parent, world.train, plan["key"], train_inputs(world), MODEL_OUTPUT),
            sdk_task(child, world.train, plan["key"], train_inputs(world, [parent]), MODEL_OUTPUT),
        ],
    )
    world.run(parent)
    drain()

    inputs = api.get(f"/task/{child}/input_assets/").json()
    outputs = api.get(f"/task/{parent}/output_assets/", {"identifier": "model"}).json()
    no_output = api.get(f"/task/{parent}/output_assets/", {"identifier": "other"}).json()

    listed = [models.InputAsset(**item) for item in inputs["results"]]
    assert [(item.identifier, item.kind) for item in listed] == [
        ("opener", "ASSET_DATA_MANAGER"),
        ("datasamples", "ASSET_DATA_SAMPLE"),
        ("datasamples", "ASSET_DATA_SAMPLE"),
        ("models", "ASSET_MODEL"),
    ]
    assert isinstance(listed[0].asset, models.Dataset) and isinstance(listed[-1].asset, models.OutModel)
    produced = [models.OutputAsset(**item) for item in outputs["results"]]
    assert [(item.identifier, item.asset.compute_task_key) for item in produced] == [("model", parent)]
    assert no_output["results"] == []


def test_logs_are_served_for_failed_tasks_only_once_this_organization_holds_them(world, api, network):
    plan = new_plan(api)
    task = new_key()
    bulk_create(api, [sdk_task(task, world.train, plan["key"], train_inputs(world), MODEL_OUTPUT)])

    not_failed = api.get(f"/task/{task}/logs/")
    network(ORG1).register_failure_report(
        asset_key=task, asset_kind="ASSET_COMPUTE_TASK", error_type="EXECUTION_ERROR", logs_address=ADDRESS
    )
    drain()
    not_yet = api.get(f"/task/{task}/logs/")
    FailureReport.objects.filter(asset_key=task).update(
        logs_file=default_storage.save("logs/test.txt", ContentFile("it broke é".encode()))
    )
    served = api.get(f"/task/{task}/logs/")

    assert not_failed.status_code == 404 and "not failed" in not_failed.json()["detail"]
    assert not_yet.status_code == 404 and "logs" in not_yet.json()["detail"]
    assert served.status_code == 200
    assert served["Content-Type"] == "text/plain; charset=utf-8"
    assert b"".join(served.streaming_content).decode() == "it broke é"
    failed = models.Task(**api.get(f"/task/{task}/").json())
    assert (failed.status, failed.error_type) == ("STATUS_FAILED", "EXECUTION_ERROR")


# Models and performances


def test_models_are_read_and_their_file_needs_export_and_a_local_copy(world, api, settings):
    plan = new_plan(api)
    task = new_key()
    bulk_create(api, [sdk_task(task, world.train, plan["key"], train_inputs(world), MODEL_OUTPUT)])
    world.run(task)
    drain()
    model = Model.objects.get(compute_task=task)

    listed = api.get("/model/", {"compute_task_key": task, "permissions": ORG2, "ordering": "-creation_date"}).json()
    one = models.OutModel(**api.get(f"/model/{model.key}/").json())
    not_here = api.get(f"/model/{model.key}/file/")
    Model.objects.filter(key=model.key).update(file=default_storage.save("models/m", ContentFile(b"weights")))
    served = api.get(f"/model/{model.key}/file/")
    settings.CHANNELS = {**settings.CHANNELS, CHANNEL: {"model_export_enabled": False, "restricted": False}}
    forbidden = api.get(f"/model/{model.key}/file/")

    assert [models.OutModel(**m).key for m in listed["results"]] == [model.key]
    assert (one.compute_task_key, one.owner) == (task, ORG1)
    assert one.address.storage_address.endswith(f"/model/{model.key}/file/")
    assert not_here.status_code == 404
    assert b"".join(served.streaming_content) == b"weights"
    assert forbidden.status_code == 403


def test_a_plans_performances_come_all_at_once_with_a_sane_round_index(world, api, network):
    plan = new_plan(api)
    train, evaluate = new_key(), new_key()
    evaluation = {
        "metadata": {"round_idx": "not a number"},
        "inputs": [asset_input("opener", world.data_manager), parent_input("model", train)],
        "outputs": {"performance": {"permissions": {"public": True, "authorized_ids": []}, "transient": False}},
    }
    evaluation["inputs"][1:1] = [asset_input("datasamples", s) for s in world.samples]
    bulk_create(
        api,
        [
            sdk_task(train, world.train, plan["key"], train_inputs(world), MODEL_OUTPUT),
            sdk_task(
                evaluate,
                world.evaluate,
                plan["key"],
                evaluation["inputs"],
                evaluation["outputs"],
                **{"metadata": evaluation["metadata"]},
            ),
        ],
    )
    world.run(train)
    org1 = network(ORG1)
    org1.apply_task_action(evaluate, "TASK_ACTION_EXECUTING")
    org1.complete_task(
        evaluate, performances=[{"compute_task_output_identifier": "performance", "performance_value": 0.5}]
    )
    drain()

    answer = api.get(f"/compute_plan/{plan['key']}/perf/").json()
    outputs = [models.OutputAsset(**item) for item in api.get(f"/task/{evaluate}/output_assets/").json()["results"]]

    # The web frontend's metric (the function that computed it) rides along; the SDK ignores it.
    assert [row.pop("metric")["key"] for row in answer["results"]] == [world.evaluate]
    assert answer["results"] == [
        {
            "compute_task": {
                "key": evaluate,
                "rank": 1,
                "worker": ORG1,
                "round_idx": None,
                "function_key": world.evaluate,
            },
            "identifier": "performance",
            "perf": 0.5,
        }
    ]
    assert [(o.kind, o.asset) for o in outputs] == [("ASSET_PERFORMANCE", 0.5)]
    done = models.ComputePlan(**api.get(f"/compute_plan/{plan['key']}/").json())
    assert (done.status, done.done_count, done.task_count) == ("PLAN_STATUS_DONE", 2, 2)
    assert done.estimated_end_date == done.end_date is not None


# The SDK


def sdk_client(live_server) -> substra.Client:
    make_user("alice")
    return substra.Client(url=live_server.url, backend_type="remote", username="alice", password=PASSWORD)


def plan_task(world, task_id, parents=(), **fields):
    return ComputePlanTaskSpec(
        task_id=task_id,
        function_key=world.train,
        worker=ORG1,
        inputs=[InputRef(**item) for item in train_inputs(world, parents)],
        outputs={"model": ComputeTaskOutputSpec(permissions=Permissions(public=False, authorized_ids=[ORG1, ORG2]))},
        **fields,
    )


def test_the_sdk_registers_a_plan_in_batches_and_reads_it_back(world, live_server):
    client = sdk_client(live_server)
    first, second, third, fourth = (str(uuid.uuid4()) for _ in range(4))
    tasks = [
        plan_task(world, first, metadata={"round_idx": "0"}),
        plan_task(world, second, [first]),
        plan_task(world, third, [second], tag="late"),
    ]

    plan = client.add_compute_plan(
        {"key": str(uuid.uuid4()), "name": "federated", "tasks": tasks, "metadata": {"a": "b"}}, batch_size=1
    )
    plan = client.add_compute_plan_tasks(plan.key, {"key": plan.key, "tasks": [plan_task(world, fourth, [third])]})
    client.update_compute_plan(plan.key, "renamed")

    assert (plan.task_count, plan.waiting_parent_tasks_count) == (4, 3)
    assert client.get_compute_plan(plan.key).name == "renamed"
    assert [
        p.key for p in client.list_compute_plan(filters={"metadata": [{"key": "a", "type": "is", "value": "b"}]})
    ] == [plan.key]
    assert [t.key for t in client.list_task(filters={"compute_plan_key": [plan.key]}, ascending=True)] == [
        first,
        second,
        third,
        fourth,
    ]
    assert [t.key for t in client.list_task(filters={"rank": [2]})] == [third]
    assert client.get_task(third).tag == "late"
    assert [a.kind for a in client.list_task_input_assets(first)] == ["ASSET_DATA_MANAGER"] + ["ASSET_DATA_SAMPLE"] * 2
    assert client.list_task_output_assets(first) == []
    with pytest.raises(exceptions.NotFound):
        client.get_logs(first)
    assert client.get_performances(plan.key).performance == []
    client.cancel_compute_plan(plan.key)
    assert client.get_compute_plan(plan.key).status == "PLAN_STATUS_CANCELED"
    client.logout()


def test_the_sdk_adds_a_single_task_and_reads_its_model(world, live_server):
    client = sdk_client(live_server)

    task = client.add_task(
        {
            "function_key": world.train,
            "worker": ORG1,
            "inputs": train_inputs(world),
            "outputs": {"model": {"permissions": {"public": False, "authorized_ids": [ORG1]}}},
        }
    )
    world.run(task)
    drain()

    model = client.list_model(filters={"compute_task_key": [task]})[0]
    assert client.get_model(model.key).compute_task_key == task
    assert client.get_task_output_asset(task, "model").asset.key == model.key
    assert client.get_compute_plan(client.get_task(task).compute_plan_key).name == task
    client.logout()


# The worker's Celery tasks, run in this process: an infrastructure error that retrying does not
# cure ends as INTERNAL_ERROR with its logs; a message for a task that already ended does nothing.


@pytest.fixture
def eager(settings, monkeypatch, tmp_path):
    """Celery tasks run in this process; Docker is asked for at an address where none answers."""
    app.conf.task_always_eager = True
    settings.COMPUTE_DIR = tmp_path / "compute"
    settings.COMPUTE_EXECUTOR = "docker"
    settings.COMPUTE_MAX_RETRIES = 0
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    monkeypatch.setattr(worker, "_executor", None)
    yield
    app.conf.task_always_eager = False
    worker._executor = None


def test_an_infrastructure_error_that_retries_do_not_cure_ends_as_internal_error(world, api, eager):
    plan = new_plan(api)
    key = new_key()
    bulk_create(api, [sdk_task(key, world.train, plan["key"], train_inputs(world), MODEL_OUTPUT)])

    outcome = tasks.run_compute_task.apply(args=(CHANNEL, key)).get()
    drain()

    assert outcome == "failed"
    task = ComputeTask.objects.get(key=key)
    assert (task.status, task.error_type) == ("STATUS_FAILED", "INTERNAL_ERROR")
    report = FailureReport.objects.get(asset_key=key)
    logs = report.logs_file.read().decode()
    assert "infrastructure error" in logs and "Docker does not answer" in logs
    assert TaskExecution.objects.get(task_id=key).holder == ""  # the lease was released


def test_a_message_for_a_task_that_already_ended_does_nothing(world, api, eager):
    plan = new_plan(api)
    key = new_key()
    bulk_create(api, [sdk_task(key, world.train, plan["key"], train_inputs(world), MODEL_OUTPUT)])
    world.run(key)
    drain()

    assert tasks.run_compute_task.apply(args=(CHANNEL, key)).get() == "skipped"
    assert ComputeTask.objects.get(key=key).status == "STATUS_DONE"
    assert not FailureReport.objects.filter(asset_key=key).exists()
