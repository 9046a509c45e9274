"""The task state machine: who may apply which transition, and what each one sets off."""

import pytest

from orchestrator_client import Conflict, InvalidRequest, InvalidTransition, NotFound, PermissionDenied
from orchestrator_client.pb import assets_pb2 as pb
from tests.conftest import ORG1, ORG2, ORG3
from tests.orchestrator.conftest import ADDRESS, new_key, output, permission
from tests.orchestrator.test_validation import evaluate_task


def register(world, *tasks, owner=ORG2):
    return world.client(owner).register_tasks(list(tasks))


def status(world, key):
    return world.client(ORG2).get_task(key).status


def test_a_task_without_parents_starts_to_do_and_children_wait(world):
    plan = world.plan()
    first = world.train_task(plan)
    child = world.train_task(plan, parents=[first["key"]])
    tasks = register(world, first, child)
    assert [t.status for t in tasks] == [pb.STATUS_WAITING_FOR_EXECUTOR_SLOT, pb.STATUS_WAITING_FOR_PARENT_TASKS]
    assert [t.rank for t in tasks] == [0, 1]
    assert list(tasks[1].parent_task_keys) == [first["key"]]


def test_only_the_worker_claims_a_task_and_only_once(world):
    plan = world.plan()
    task = world.train_task(plan)
    register(world, task)
    with pytest.raises(PermissionDenied):
        world.client(ORG2).apply_task_action(task["key"], "TASK_ACTION_EXECUTING")
    claimed = world.client(ORG1).apply_task_action(task["key"], "TASK_ACTION_EXECUTING")
    assert claimed.status == pb.STATUS_EXECUTING and claimed.start_date
    with pytest.raises(InvalidTransition) as refused:
        world.client(ORG1).apply_task_action(task["key"], "TASK_ACTION_EXECUTING")
    assert refused.value.code == "INVALID_TRANSITION"


def test_a_waiting_task_cannot_be_started_or_finished(world):
    plan = world.plan()
    first = world.train_task(plan)
    child = world.train_task(plan, parents=[first["key"]])
    register(world, first, child)
    for action in ("TASK_ACTION_EXECUTING", "TASK_ACTION_DONE"):
        with pytest.raises(InvalidTransition):
            world.client(ORG1).apply_task_action(child["key"], action)
    assert status(world, child["key"]) == pb.STATUS_WAITING_FOR_PARENT_TASKS


def test_a_task_is_done_only_once_its_outputs_are_registered(world):
    plan = world.plan()
    task = world.train_task(plan)
    register(world, task)
    world.client(ORG1).apply_task_action(task["key"], "TASK_ACTION_EXECUTING")
    with pytest.raises(InvalidTransition) as refused:
        world.client(ORG1).apply_task_action(task["key"], "TASK_ACTION_DONE")
    assert refused.value.code == "MISSING_TASK_OUTPUT"
    assert status(world, task["key"]) == pb.STATUS_EXECUTING


def test_only_the_worker_of_an_executing_task_registers_its_outputs(world):
    plan = world.plan()
    task = world.train_task(plan)
    register(world, task)
    model = {"key": new_key(), "compute_task_key": task["key"], "compute_task_output_identifier": "model",
             "address": ADDRESS}  # fmt: skip
    with pytest.raises(InvalidTransition):
        world.client(ORG1).register_models([model])
    world.client(ORG1).apply_task_action(task["key"], "TASK_ACTION_EXECUTING")
    with pytest.raises(PermissionDenied):
        world.client(ORG2).register_models([model])
    (registered,) = world.client(ORG1).register_models([model])
    assert registered.owner == ORG1
    assert list(registered.permissions.process.authorized_ids) == [ORG1, ORG2]
    assert world.client(ORG1).register_models([model]) == [registered], "a retried registration is harmless"


def test_done_unblocks_a_child_when_its_last_parent_is_done(world):
    plan = world.plan()
    left, right = world.train_task(plan), world.train_task(plan)
    child = world.aggregate_task(plan, [left["key"], right["key"]])
    register(world, left, right, child)
    world.run(left["key"])
    assert status(world, child["key"]) == pb.STATUS_WAITING_FOR_PARENT_TASKS
    world.run(right["key"])
    assert status(world, child["key"]) == pb.STATUS_WAITING_FOR_EXECUTOR_SLOT


def test_a_task_registered_after_its_parent_is_done_is_to_do_at_once(world):
    plan = world.plan()
    parent = world.train_task(plan)
    register(world, parent)
    world.run(parent["key"])
    (child,) = register(world, world.aggregate_task(plan, [parent["key"]]))
    assert child.status == pb.STATUS_WAITING_FOR_EXECUTOR_SLOT and child.rank == 1


def test_plan_status_follows_its_tasks(world):
    plan = world.plan()
    client = world.client(ORG2)
    assert client.get_compute_plan(plan).status == pb.PLAN_STATUS_CREATED
    first = world.train_task(plan)
    second = world.aggregate_task(plan, [first["key"]])
    register(world, first, second)
    assert client.get_compute_plan(plan).status == pb.PLAN_STATUS_CREATED
    world.client(ORG1).apply_task_action(first["key"], "TASK_ACTION_EXECUTING")
    assert client.get_compute_plan(plan).status == pb.PLAN_STATUS_DOING
    world.client(ORG1).register_models(
        [
            {
                "key": new_key(),
                "compute_task_key": first["key"],
                "compute_task_output_identifier": "model",
                "address": ADDRESS,
            }
        ]
    )
    world.client(ORG1).apply_task_action(first["key"], "TASK_ACTION_DONE")
    world.run(second["key"], worker=ORG2)
    done = client.get_compute_plan(plan)
    assert done.status == pb.PLAN_STATUS_DONE
    assert (done.task_count, done.done_count) == (2, 2) and done.end_date
    register(world, world.aggregate_task(plan, [second["key"]]))
    assert client.get_compute_plan(plan).status == pb.PLAN_STATUS_DOING, "a new task reopens a done plan"


def test_a_failure_report_fails_the_task_and_its_plan_and_cancels_pending_tasks(world):
    plan = world.plan()
    done = world.train_task(plan)
    failing = world.train_task(plan)
    child = world.aggregate_task(plan, [done["key"], failing["key"]])
    register(world, done, failing, child)
    world.run(done["key"])
    world.client(ORG1).apply_task_action(failing["key"], "TASK_ACTION_EXECUTING")
    report = world.client(ORG1).register_failure_report(
        asset_key=failing["key"], asset_kind="ASSET_COMPUTE_TASK", error_type="EXECUTION_ERROR", logs_address=ADDRESS
    )
    assert report.error_type == pb.EXECUTION_ERROR and report.owner == ORG1
    failed = world.client(ORG2).get_task(failing["key"])
    assert failed.status == pb.STATUS_FAILED and failed.error_type == pb.EXECUTION_ERROR
    assert status(world, child["key"]) == pb.STATUS_CANCELED
    assert status(world, done["key"]) == pb.STATUS_DONE
    plan_after = world.client(ORG2).get_compute_plan(plan)
    assert plan_after.status == pb.PLAN_STATUS_FAILED and plan_after.failed_task_key == failing["key"]
    assert world.client(ORG2).get_failure_report(failing["key"]).logs_address.storage_address


def test_only_the_worker_or_the_owner_fails_a_task(world):
    plan = world.plan()
    task = world.train_task(plan)
    register(world, task)
    with pytest.raises(PermissionDenied):
        world.client(ORG3).register_failure_report(
            asset_key=task["key"], asset_kind="ASSET_COMPUTE_TASK", error_type="INTERNAL_ERROR", logs_address=ADDRESS
        )
    assert status(world, task["key"]) == pb.STATUS_WAITING_FOR_EXECUTOR_SLOT


def test_canceling_a_plan_cancels_every_task_that_has_not_ended(world):
    plan = world.plan()
    first = world.train_task(plan)
    running = world.train_task(plan)
    waiting = [world.aggregate_task(plan, [first["key"], running["key"]]) for _ in range(20)]
    register(world, first, running, *waiting)
    world.run(first["key"])
    world.client(ORG1).apply_task_action(running["key"], "TASK_ACTION_EXECUTING")
    with pytest.raises(PermissionDenied):
        world.client(ORG1).cancel_compute_plan(plan)
    canceled = world.client(ORG2).cancel_compute_plan(plan)
    assert canceled.status == pb.PLAN_STATUS_CANCELED and canceled.cancelation_date
    assert status(world, first["key"]) == pb.STATUS_DONE
    assert status(world, running["key"]) == pb.STATUS_CANCELED
    assert {status(world, task["key"]) for task in waiting} == {pb.STATUS_CANCELED}
    assert world.client(ORG2).cancel_compute_plan(plan).status == pb.PLAN_STATUS_CANCELED, "canceling twice is fine"
    with pytest.raises(InvalidTransition) as refused:
        register(world, world.aggregate_task(plan, [first["key"]]))
    assert refused.value.code == "PLAN_TERMINATED"
    with pytest.raises(InvalidTransition):
        world.client(ORG1).apply_task_action(running["key"], "TASK_ACTION_DONE")


def test_a_done_plan_cannot_be_canceled(world):
    plan = world.plan()
    task = world.train_task(plan)
    register(world, task)
    world.run(task["key"])
    with pytest.raises(InvalidTransition):
        world.client(ORG2).cancel_compute_plan(plan)


def test_canceling_a_task_is_for_its_owner_and_cancels_its_plan(world):
    plan = world.plan()
    first, second = world.train_task(plan), world.train_task(plan)
    register(world, first, second)
    with pytest.raises(PermissionDenied):
        world.client(ORG1).apply_task_action(first["key"], "TASK_ACTION_CANCELED")
    canceled = world.client(ORG2).apply_task_action(first["key"], "TASK_ACTION_CANCELED")
    assert canceled.status == pb.STATUS_CANCELED
    assert status(world, second["key"]) == pb.STATUS_CANCELED
    assert world.client(ORG2).get_compute_plan(plan).status == pb.PLAN_STATUS_CANCELED
    with pytest.raises(InvalidTransition):
        world.client(ORG2).apply_task_action(first["key"], "TASK_ACTION_CANCELED")


def test_a_parent_in_another_plan_unblocks_its_child_when_done(world):
    # Substra allows it, and the SDK's add_task registers each task in a plan of its own.
    parent = world.train_task(world.plan())
    register(world, parent)
    child_plan = world.plan()
    (child,) = register(world, world.aggregate_task(child_plan, [parent["key"]]))
    assert child.status == pb.STATUS_WAITING_FOR_PARENT_TASKS and child.rank == 1
    world.run(parent["key"])
    assert status(world, child.key) == pb.STATUS_WAITING_FOR_EXECUTOR_SLOT
    assert world.client(ORG2).get_compute_plan(child_plan).status != pb.PLAN_STATUS_CANCELED


def test_a_plan_that_ends_cancels_the_plans_waiting_on_its_tasks(world):
    parent_plan, child_plan, grandchild_plan = world.plan(), world.plan(), world.plan()
    parent = world.train_task(parent_plan)
    register(world, parent)
    child = world.aggregate_task(child_plan, [parent["key"]])
    register(world, child)
    grandchild = world.aggregate_task(grandchild_plan, [child["key"]])
    register(world, grandchild)
    world.client(ORG1).apply_task_action(parent["key"], "TASK_ACTION_EXECUTING")
    world.client(ORG1).register_failure_report(
        asset_key=parent["key"], asset_kind="ASSET_COMPUTE_TASK", error_type="EXECUTION_ERROR", logs_address=ADDRESS
    )
    assert world.client(ORG2).get_compute_plan(parent_plan).status == pb.PLAN_STATUS_FAILED
    for plan, task in ((child_plan, child), (grandchild_plan, grandchild)):
        assert status(world, task["key"]) == pb.STATUS_CANCELED, "it could never run"
        assert world.client(ORG2).get_compute_plan(plan).status == pb.PLAN_STATUS_CANCELED
    # A child registered after its parent failed is accepted, as on Substra, born canceled with
    # its plan, and so are its own children in the same batch.
    late_plan = world.plan()
    late_child = world.aggregate_task(late_plan, [parent["key"]])
    late_grandchild = world.aggregate_task(late_plan, [late_child["key"]])
    statuses = [task.status for task in register(world, late_child, late_grandchild)]
    assert statuses == [pb.STATUS_CANCELED, pb.STATUS_CANCELED]
    assert world.client(ORG2).get_compute_plan(late_plan).status == pb.PLAN_STATUS_CANCELED


def test_a_failure_report_sent_again_is_answered_the_same(world):
    plan = world.plan()
    task = world.train_task(plan)
    register(world, task)
    report = {"asset_key": task["key"], "asset_kind": "ASSET_COMPUTE_TASK", "error_type": "EXECUTION_ERROR",
              "logs_address": ADDRESS}  # fmt: skip
    first = world.client(ORG1).register_failure_report(**report)
    assert world.client(ORG1).register_failure_report(**report) == first
    with pytest.raises(Conflict):
        world.client(ORG1).register_failure_report(**report | {"error_type": "INTERNAL_ERROR"})


def test_the_function_build_gates_its_tasks(world):
    function = world.function(
        ORG2, permission(ORG1), inputs={"models": {"kind": "ASSET_MODEL", "multiple": True, "optional": True}},
        outputs={"model": {"kind": "ASSET_MODEL"}}, ready=False,
    )  # fmt: skip
    plan = world.plan()
    parent = world.train_task(plan)
    gated = world.aggregate_task(plan, [parent["key"]], worker=ORG1) | {"function_key": function}
    alone = world.aggregate_task(plan, [], worker=ORG1) | {"function_key": function, "inputs": []}
    register(world, parent, gated, alone)
    assert status(world, gated["key"]) == pb.STATUS_WAITING_FOR_BUILDER_SLOT
    with pytest.raises(PermissionDenied):
        world.client(ORG1).apply_function_action(function, "FUNCTION_ACTION_BUILDING")
    world.client(ORG2).apply_function_action(function, "FUNCTION_ACTION_BUILDING")
    assert status(world, gated["key"]) == pb.STATUS_BUILDING
    world.run(parent["key"])
    assert status(world, gated["key"]) == pb.STATUS_BUILDING, "a built function is needed too"
    ready = world.client(ORG2).apply_function_action(function, "FUNCTION_ACTION_READY", image="img:1")
    assert ready.status == pb.FUNCTION_STATUS_READY and ready.image == "img:1"
    assert status(world, gated["key"]) == pb.STATUS_WAITING_FOR_EXECUTOR_SLOT
    assert status(world, alone["key"]) == pb.STATUS_WAITING_FOR_EXECUTOR_SLOT
    with pytest.raises(InvalidTransition):
        world.client(ORG2).apply_function_action(function, "FUNCTION_ACTION_BUILDING")


def test_a_function_waiting_for_its_build_is_canceled_when_every_plan_using_it_has_ended(world):
    def unbuilt_function():
        return world.function(
            ORG2, permission(ORG1), inputs={"models": {"kind": "ASSET_MODEL", "multiple": True, "optional": True}},
            outputs={"model": {"kind": "ASSET_MODEL"}}, ready=False,
        )  # fmt: skip

    def function_status(key):
        return world.client(ORG2).get_function(key).status

    only_canceled, also_elsewhere, building = unbuilt_function(), unbuilt_function(), unbuilt_function()
    canceled_plan, live_plan = world.plan(), world.plan()
    for plan, function in ((canceled_plan, only_canceled), (canceled_plan, also_elsewhere),
                           (live_plan, also_elsewhere), (canceled_plan, building)):  # fmt: skip
        register(world, world.aggregate_task(plan, [], worker=ORG1) | {"function_key": function, "inputs": []})
    world.client(ORG2).apply_function_action(building, "FUNCTION_ACTION_BUILDING")
    world.client(ORG2).cancel_compute_plan(canceled_plan)
    assert function_status(only_canceled) == pb.FUNCTION_STATUS_CANCELED, "no task will ever need its image"
    assert function_status(also_elsewhere) == pb.FUNCTION_STATUS_WAITING, "a task of a live plan needs it"
    assert function_status(building) == pb.FUNCTION_STATUS_BUILDING, "a build under way finishes"
    with pytest.raises(InvalidTransition):
        world.client(ORG2).apply_function_action(only_canceled, "FUNCTION_ACTION_BUILDING")


def test_a_ready_function_keeps_tasks_waiting_for_their_parents(world):
    function = world.function(
        ORG2, permission(ORG1), inputs={"models": {"kind": "ASSET_MODEL", "multiple": True}},
        outputs={"model": {"kind": "ASSET_MODEL"}}, ready=False,
    )  # fmt: skip
    plan = world.plan()
    parent = world.train_task(plan)
    gated = world.aggregate_task(plan, [parent["key"]], worker=ORG1) | {"function_key": function}
    register(world, parent, gated)
    world.client(ORG2).apply_function_action(function, "FUNCTION_ACTION_READY")
    assert status(world, gated["key"]) == pb.STATUS_WAITING_FOR_PARENT_TASKS
    world.run(parent["key"])
    assert status(world, gated["key"]) == pb.STATUS_WAITING_FOR_EXECUTOR_SLOT


def test_a_failed_build_fails_the_tasks_of_the_function_and_their_plans(world):
    function = world.function(
        ORG2, permission(ORG1), inputs={"models": {"kind": "ASSET_MODEL", "multiple": True, "optional": True}},
        outputs={"model": {"kind": "ASSET_MODEL"}}, ready=False,
    )  # fmt: skip
    plan = world.plan()
    other = world.train_task(plan)
    built_later = world.aggregate_task(plan, [], worker=ORG1) | {"function_key": function, "inputs": []}
    register(world, other, built_later)
    world.client(ORG2).apply_function_action(function, "FUNCTION_ACTION_BUILDING")
    world.client(ORG2).register_failure_report(
        asset_key=function, asset_kind="ASSET_FUNCTION", error_type="BUILD_ERROR", logs_address=ADDRESS
    )
    assert world.client(ORG1).get_function(function).status == pb.FUNCTION_STATUS_FAILED
    failed = world.client(ORG2).get_task(built_later["key"])
    assert failed.status == pb.STATUS_FAILED and failed.error_type == pb.BUILD_ERROR
    assert status(world, other["key"]) == pb.STATUS_CANCELED
    assert world.client(ORG2).get_compute_plan(plan).status == pb.PLAN_STATUS_FAILED
    # Substra accepts a task of a failed function; it can never run, so it is born canceled, with its plan.
    late_plan = world.plan()
    late = world.aggregate_task(late_plan, [], worker=ORG1) | {"function_key": function, "inputs": []}
    (born,) = register(world, late)
    assert born.status == pb.STATUS_CANCELED and born.end_date
    assert world.client(ORG2).get_compute_plan(late_plan).status == pb.PLAN_STATUS_CANCELED


def test_a_performance_is_registered_once_per_output(world):
    plan = world.plan()
    parent = world.train_task(plan)
    test = evaluate_task(world, plan, [parent["key"]])
    register(world, parent, test)
    world.run(parent["key"])
    client = world.client(ORG1)
    client.apply_task_action(test["key"], "TASK_ACTION_EXECUTING")
    performance = {"compute_task_key": test["key"], "compute_task_output_identifier": "performance"}
    registered = client.register_performance(**performance, performance_value=0.87)
    assert registered.performance_value == pytest.approx(0.87)
    assert client.register_performance(**performance, performance_value=0.87) == registered
    with pytest.raises(Exception) as conflict:
        client.register_performance(**performance, performance_value=0.5)
    assert conflict.value.code == "CONFLICT"
    assert client.apply_task_action(test["key"], "TASK_ACTION_DONE").status == pb.STATUS_DONE


def test_a_transient_model_is_disabled_only_when_its_consumers_have_ended(world):
    plan = world.plan()
    parent = world.train_task(plan, outputs={"model": output(ORG1, ORG2, transient=True)})
    child = world.aggregate_task(plan, [parent["key"]])
    register(world, parent, child)
    client = world.client(ORG1)
    client.apply_task_action(parent["key"], "TASK_ACTION_EXECUTING")
    (model,) = client.register_models(
        [
            {
                "key": new_key(),
                "compute_task_key": parent["key"],
                "compute_task_output_identifier": "model",
                "address": ADDRESS,
            }
        ]
    )
    client.apply_task_action(parent["key"], "TASK_ACTION_DONE")
    with pytest.raises(InvalidTransition):
        client.disable_model(model.key)
    with pytest.raises(PermissionDenied):
        world.client(ORG2).disable_model(model.key)
    world.run(child["key"], worker=ORG2)
    assert client.disable_model(model.key).disabled
    # A new task cannot take the deleted output, from any plan; Substra says "has been disabled".
    with pytest.raises(InvalidRequest) as refused:
        register(world, world.aggregate_task(world.plan(), [parent["key"]]))
    assert refused.value.code == "UNKNOWN_ASSET" and "has been disabled" in refused.value.message


def test_a_task_completes_with_its_outputs_in_one_atomic_write(world):
    plan = world.plan()
    parent = world.train_task(plan)
    child = world.aggregate_task(plan, [parent["key"]])
    register(world, parent, child)
    client = world.client(ORG1)
    client.apply_task_action(parent["key"], "TASK_ACTION_EXECUTING")
    model = {"key": new_key(), "compute_task_output_identifier": "model", "address": ADDRESS}
    with pytest.raises(InvalidRequest):
        client.complete_task(parent["key"], models=[model | {"address": {"checksum": "", "storage_address": ""}}])
    assert status(world, parent["key"]) == pb.STATUS_EXECUTING, "a refused completion leaves the task as it was"
    with pytest.raises(NotFound):
        client.get_model(model["key"])
    done = client.complete_task(parent["key"], models=[model])
    assert done.status == pb.STATUS_DONE
    assert client.get_model(model["key"]).compute_task_key == parent["key"]
    assert status(world, child["key"]) == pb.STATUS_WAITING_FOR_EXECUTOR_SLOT
