"""The compute plan, task and function routes the web frontend reads (substra-frontend 1.0.0:
ComputePlansApi.ts, TasksApi.ts, CPWorkflowApi.ts, ProfilingApi.ts, NewsFeedApi.ts,
MetadataApi.ts), called through a session as the frontend calls them, against a real
orchestrator. Plans and tasks are registered through the API; the other organizations' steps go
straight to the orchestrator and come back through the consumer (docs/frontend-contract.md)."""

import csv
import datetime
import io
import time
import uuid

import pytest
from django.utils import timezone

from substrapp.models import ComputePlan, ComputeTask, TaskExecution
from substrapp.models.scoping import wait_for_writes_behind
from tests.backend import test_compute_api as compute_api
from tests.backend.conftest import make_user
from tests.backend.test_compute_api import (
    CHANNEL,
    MODEL_OUTPUT,
    asset_input,
    drain,
    parent_input,
    sdk_task,
    train_inputs,
)
from tests.backend.test_frontend_session import Browser
from tests.conftest import ORG1, ORG2
from tests.orchestrator.conftest import new_key, permission

# The inputs and outputs of the world's train function, for one this organization owns.
TRAIN_FUNCTION_INPUTS = {
    "opener": {"kind": "ASSET_DATA_MANAGER"},
    "datasamples": {"kind": "ASSET_DATA_SAMPLE", "multiple": True},
    "models": {"kind": "ASSET_MODEL", "multiple": True, "optional": True},
}
TRAIN_FUNCTION_OUTPUTS = {"model": {"kind": "ASSET_MODEL"}}

pytestmark = pytest.mark.django_db(transaction=True)

# The compute API tests' orchestrator (one for this module) and world: a dataset and functions.
network = compute_api.network
world = compute_api.world

PERFORMANCE_OUTPUT = {"performance": {"permissions": {"public": True, "authorized_ids": []}, "transient": False}}


@pytest.fixture
def bob(db):
    make_user("bob")
    browser = Browser()
    assert browser.login("bob").status_code == 200
    return browser


def new_plan(browser, **fields):
    answer = browser.call("post", "/compute_plan/", {"key": new_key(), "name": "plan", **fields})
    assert answer.status_code == 201, answer.json()
    return answer.json()


def train_and_evaluate(world, browser, plan, round_idx="1"):
    """A train task, and an evaluation of its model, registered through the API."""
    train, evaluate = new_key(), new_key()
    evaluation_inputs = [
        asset_input("opener", world.data_manager),
        *(asset_input("datasamples", s) for s in world.samples),
        parent_input("model", train),
    ]
    answer = browser.call(
        "post",
        "/task/bulk_create/",
        {
            "tasks": [
                sdk_task(train, world.train, plan["key"], train_inputs(world), MODEL_OUTPUT),
                sdk_task(
                    evaluate,
                    world.evaluate,
                    plan["key"],
                    evaluation_inputs,
                    PERFORMANCE_OUTPUT,
                    metadata={"round_idx": round_idx},
                ),
            ]
        },
    )
    assert answer.status_code == 200, answer.json()
    wait_for_writes_behind(CHANNEL)  # the rows are written behind the answer; these tests read them directly
    return train, evaluate


def finish(world, network, evaluate, train, value=0.75):
    world.run(train)
    org1 = network(ORG1)
    org1.apply_task_action(evaluate, "TASK_ACTION_EXECUTING")
    org1.complete_task(
        evaluate, performances=[{"compute_task_output_identifier": "performance", "performance_value": value}]
    )
    drain()


# Compute plans


def test_a_plan_names_its_creator_and_the_frontends_fields(world, bob):
    plan = new_plan(bob)

    answer = bob.call("get", f"/compute_plan/{plan['key']}/").json()

    assert answer["creator"] == "bob"
    assert answer["delete_intermediary_models"] is False
    assert answer["duration"] == 0  # not started: 0, as on Substra
    assert {"task_count", "done_count", "waiting_builder_slot_count", "status"} <= set(answer)


def test_plans_are_filtered_by_creator(world, bob):
    mine = new_plan(bob)
    make_user("alice")
    alice = Browser()
    alice.login("alice")
    new_plan(alice)

    listed = bob.call("get", "/compute_plan/?page=1&page_size=30&ordering=-creation_date&creator=bob").json()

    assert [plan["key"] for plan in listed["results"]] == [mine["key"]]


def test_a_running_plans_duration_grows_until_it_ends(world, bob):
    plan = new_plan(bob)
    ComputePlan.objects.filter(key=plan["key"]).update(start_date=timezone.now() - datetime.timedelta(seconds=90))

    duration = bob.call("get", f"/compute_plan/{plan['key']}/").json()["duration"]

    assert 90 <= duration < 120


def test_a_plans_tasks_are_listed_under_it_with_the_task_lists_ordering(world, bob):
    plan = new_plan(bob)
    train, evaluate = train_and_evaluate(world, bob, plan)
    other = new_plan(bob)
    train_and_evaluate(world, bob, other)

    answer = bob.call("get", f"/compute_plan/{plan['key']}/task/?page=1&page_size=30&ordering=-rank")

    assert answer.status_code == 200
    assert [task["key"] for task in answer.json()["results"]] == [evaluate, train]
    assert all("duration" in task and "function" in task for task in answer.json()["results"])
    assert bob.call("get", f"/compute_plan/{plan['key']}/task/?ordering=nonsense").status_code == 400
    assert bob.call("get", f"/compute_plan/{uuid.uuid4()}/task/").status_code == 404


def test_the_workflow_graph_has_every_task_and_edge(world, bob):
    plan = new_plan(bob)
    train, evaluate = train_and_evaluate(world, bob, plan)

    graph = bob.call("get", f"/compute_plan/{plan['key']}/workflow_graph/").json()

    assert [(task["key"], task["rank"]) for task in graph["tasks"]] == [(train, 0), (evaluate, 1)]
    first = graph["tasks"][0]
    assert set(first) == {"key", "rank", "worker", "status", "function_name", "inputs_specs", "outputs_specs"}
    assert {"identifier": "model", "kind": "ASSET_MODEL"} in first["outputs_specs"]
    assert graph["edges"] == [
        {
            "source_task_key": train,
            "source_output_identifier": "model",
            "target_task_key": evaluate,
            "target_input_identifier": "model",
        }
    ]


def test_the_workflow_graph_of_a_10000_task_plan_is_answered_in_seconds(world, bob):
    plan = new_plan(bob)
    train, _ = train_and_evaluate(world, bob, plan)
    drain()
    template = ComputeTask.objects.get(key=train)
    ComputeTask.objects.bulk_create([_chained_copy(template, index) for index in range(10_000)], batch_size=2000)

    started = time.monotonic()
    answer = bob.call("get", f"/compute_plan/{plan['key']}/workflow_graph/")
    elapsed = time.monotonic() - started

    assert answer.status_code == 200
    assert len(answer.json()["tasks"]) == 10_002
    assert len(answer.json()["edges"]) == 1 + 10_000 - 1
    assert elapsed < 5, f"{elapsed:.1f} s"


def _chained_copy(template, index):
    """The template task again, under the key `<index>` of a chain: each takes its model from
    the one before."""
    task = ComputeTask(**{field.attname: getattr(template, field.attname) for field in ComputeTask._meta.fields})
    task.key = str(uuid.UUID(int=index + 1))
    task.rank = index
    if index:
        task.inputs = [
            *template.inputs,
            {
                "identifier": "models",
                "parent_task_output": {"parent_task_key": str(uuid.UUID(int=index)), "output_identifier": "model"},
            },
        ]
    return task


def test_performances_come_with_the_plans_statistics_and_metric(world, network, bob):
    plan = new_plan(bob)
    train, evaluate = train_and_evaluate(world, bob, plan, round_idx="3")
    finish(world, network, evaluate, train)

    answer = bob.call("get", f"/compute_plan/{plan['key']}/perf/").json()

    assert answer["compute_plan_statistics"] == {
        "compute_tasks_distinct_ranks": [0, 1],
        "compute_tasks_distinct_rounds": [3],
    }
    (row,) = answer["results"]
    assert row["metric"]["key"] == world.evaluate and row["metric"]["name"]
    assert row["compute_task"]["round_idx"] == 3 and row["perf"] == 0.75


def test_the_performance_export_is_a_csv_of_the_filtered_plans(world, network, bob):
    plan = new_plan(bob, name="=HYPERLINK(1)", metadata={"lr": "0.1"})
    train, evaluate = train_and_evaluate(world, bob, plan)
    finish(world, network, evaluate, train)

    answer = bob.call("get", f"/performance/export/?key={plan['key']}&metadata_columns=lr,missing")

    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/csv")
    (row,) = list(csv.DictReader(io.StringIO(answer.content.decode())))
    assert row["compute_plan_key"] == plan["key"]
    assert row["compute_plan_name"] == "'=HYPERLINK(1)"  # never a formula in a spreadsheet
    assert (row["lr"], row["missing"], row["performance"]) == ("0.1", "", "0.75")
    assert bob.call("get", "/performance/export/?status=NOT_A_STATUS").status_code == 400
    assert bob.call("get", "/performance/export/?metadata_columns=" + "k" * 51).status_code == 400


def test_metadata_keys_of_the_channels_plans_are_listed(world, bob):
    new_plan(bob, metadata={"lr": "0.1", "epochs": "3"})
    new_plan(bob, metadata={"lr": "0.2"})

    assert bob.call("get", "/compute_plan_metadata/").json() == ["epochs", "lr"]


# Tasks and functions


def test_a_tasks_duration_and_profile_come_from_its_run(world, network, bob):
    plan = new_plan(bob)
    train, evaluate = train_and_evaluate(world, bob, plan)
    finish(world, network, evaluate, train)
    # What this organization's worker records of each step (substrapp/worker.py).
    TaskExecution.objects.create(
        task_id=train,
        channel=CHANNEL,
        compute_plan_key=plan["key"],
        heartbeat=timezone.now(),
        durations={"prepare_inputs": 0.5, "image": 2.0, "execution": 1.25, "save_outputs": 0.1},
    )

    task = bob.call("get", f"/task/{train}/").json()
    profile = bob.call("get", f"/task_profiling/{train}/").json()
    function = bob.call("get", f"/function/{world.train}/profiling").json()

    assert isinstance(task["duration"], int) and task["duration"] >= 0
    assert profile["compute_task_key"] == train
    assert profile["execution_rundown"] == [
        {"step": "prepare_inputs", "duration": 500_000},
        {"step": "download_function", "duration": 2_000_000},
        {"step": "task_execution", "duration": 1_250_000},
        {"step": "save_outputs", "duration": 100_000},
    ]
    assert function == {
        "function_key": world.train,
        "duration": 2_000_000,
        "execution_rundown": [{"step": "build_image", "duration": 2_000_000}],
    }


def test_a_task_of_this_organizations_own_function_has_no_download_step(world, network, bob):
    """The owner's worker built the image when the function was registered: as Substra's
    backend does, the profile of a task of its own function has three steps, no download."""
    own = world.function(ORG1, permission(ORG1, ORG2), inputs=TRAIN_FUNCTION_INPUTS, outputs=TRAIN_FUNCTION_OUTPUTS)
    plan = new_plan(bob)
    task = new_key()
    answer = bob.call(
        "post",
        "/task/bulk_create/",
        {"tasks": [sdk_task(task, own, plan["key"], train_inputs(world), MODEL_OUTPUT)]},
    )
    assert answer.status_code == 200, answer.json()
    wait_for_writes_behind(CHANNEL)  # the rows are written behind the answer; these tests read them directly
    TaskExecution.objects.create(
        task_id=task,
        channel=CHANNEL,
        compute_plan_key=plan["key"],
        heartbeat=timezone.now(),
        durations={"prepare_inputs": 0.5, "image": 0.01, "execution": 1.25, "save_outputs": 0.1},
    )

    profile = bob.call("get", f"/task_profiling/{task}/").json()

    assert [step["step"] for step in profile["execution_rundown"]] == [
        "prepare_inputs",
        "task_execution",
        "save_outputs",
    ]


def test_profiles_of_unknown_tasks_and_functions_are_404s_in_the_one_error_shape(world, bob):
    for path in (f"/task_profiling/{uuid.uuid4()}/", f"/function/{uuid.uuid4()}/profiling"):
        answer = bob.call("get", path)
        assert answer.status_code == 404
        assert answer.json()["code"] == "not_found"


# The news feed


def test_the_news_feed_tells_what_happened_to_plans_and_datasets(world, network, bob):
    plan = new_plan(bob, name="news")
    train, evaluate = train_and_evaluate(world, bob, plan)
    finish(world, network, evaluate, train)

    feed = bob.call("get", "/news_feed/?page=1&page_size=30&ordering=-timestamp").json()

    plan_news = [item["status"] for item in feed["results"] if item["asset_key"] == plan["key"]]
    assert plan_news == ["STATUS_DONE", "STATUS_DOING", "STATUS_CREATED"]
    assert any(item["asset_kind"] == "ASSET_DATA_MANAGER" for item in feed["results"])
    timestamps = [item["timestamp"] for item in feed["results"]]
    assert timestamps == sorted(timestamps, reverse=True)
    assert set(feed["results"][0]) == {"asset_kind", "asset_key", "name", "status", "timestamp", "detail"}


def test_the_news_feed_filters_by_time_and_importance(world, bob):
    new_plan(bob)
    future = (timezone.now() + datetime.timedelta(days=1)).isoformat().replace("+00:00", "Z")

    assert bob.call("get", f"/news_feed/?timestamp_after={future}").json()["results"] == []
    assert bob.call("get", "/news_feed/?important_news_only=true").json()["results"] == []
    # An offset PostgreSQL would refuse is taken in UTC, not sent to the database as it is.
    assert bob.call("get", "/news_feed/?timestamp_after=2026-01-01T00:00:00%2B23:59").status_code == 200
    bad_queries = (
        "timestamp_after=yesterday",
        "timestamp_before=0001-01-01T00:00:00%2B23:59",
        "ordering=name",
        "important_news_only=perhaps",
    )
    for bad in bad_queries:
        answer = bob.call("get", f"/news_feed/?{bad}")
        assert answer.status_code == 400
        assert set(answer.json()) >= {"detail", "code"}


# Channels


def test_nothing_of_another_channel_is_reachable_by_the_frontends_routes(world, network, bob):
    plan = new_plan(bob, metadata={"secret": "x"})
    train, _ = train_and_evaluate(world, bob, plan)
    make_user("charlie", channel="otherchannel", role="ADMIN")
    charlie = Browser()
    charlie.login("charlie")

    for path in (
        f"/compute_plan/{plan['key']}/task/",
        f"/compute_plan/{plan['key']}/workflow_graph/",
        f"/compute_plan/{plan['key']}/perf/",
        f"/task_profiling/{train}/",
        f"/function/{world.train}/profiling",
    ):
        assert charlie.call("get", path).status_code == 404, path
    assert charlie.call("get", "/compute_plan_metadata/").json() == []
    assert charlie.call("get", "/news_feed/").json()["results"] == []
    export = charlie.call("get", f"/performance/export/?key={plan['key']}").content.decode()
    assert plan["key"] not in export


def test_assets_permissions_name_download_beside_process_for_the_frontend(world, bob):
    plan = new_plan(bob)
    train, _ = train_and_evaluate(world, bob, plan)

    task = bob.call("get", f"/task/{train}/").json()
    dataset = bob.call("get", f"/data_manager/{world.data_manager}/").json()

    for permissions in (
        task["function"]["permissions"],
        dataset["permissions"],
        task["outputs"]["model"]["permissions"],
    ):
        assert permissions["download"] == permissions["process"]
