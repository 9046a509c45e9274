"""SIGKILL, at several moments of a running FedAvg plan, of each process of an organization and
of the orchestrator, then a restart as an operator would do it: the plan ends Done with the
undisturbed run's accuracies, nothing duplicated, nothing stuck, no container left, and the
tasks that were pending when the process died end within 30 s of its restart."""

import time

from tests.faults import faultnet
from tests.faults.faultnet import ORG1, ORG2, executing_on, executing_only_on, to_do_on


def test_a_worker_killed_mid_task_and_restarted_leaves_the_plan_done_with_the_same_results(fault_network):
    net = fault_network
    plan_key = faultnet.start_plan(net, name="worker killed mid-task")
    moment = faultnet.wait_until(net, plan_key, executing_on(ORG2, min_done=1))

    faultnet.kill(net, f"{ORG2}-worker")
    restarted = faultnet.restart(net, f"{ORG2}-worker")

    faultnet.recovery_seconds(net, plan_key, moment.pending, since=restarted)
    faultnet.check_plan_done(net, plan_key)


def test_an_event_consumer_killed_right_after_a_to_do_commit_loses_no_task(fault_network):
    """The consumer dies between the commit that made a task To do and its hand-over to the
    queue: the worker (alive all along, never restarted) finds the task again by itself."""
    net = fault_network
    plan_key = faultnet.start_plan(net, name="consumer killed mid-hand-over")
    # While MyOrg1MSP aggregates, MyOrg2MSP runs nothing: its worker holds still while the
    # hand-over of its next task is lost, so that nobody takes the message first.
    faultnet.wait_until(net, plan_key, executing_only_on(ORG1))
    faultnet.pause(net, f"{ORG2}-worker")
    try:
        moment = faultnet.wait_until(net, plan_key, to_do_on(ORG2))
        faultnet.kill(net, f"{ORG2}-consumer")
        faultnet.drop_queued_work(net, ORG2)
    finally:
        faultnet.pause(net, f"{ORG2}-worker", resume=True)
    restarted = faultnet.restart(net, f"{ORG2}-consumer")

    faultnet.recovery_seconds(net, plan_key, moment.pending, since=restarted)
    faultnet.check_plan_done(net, plan_key)
    assert "reconciliation" in net.log(f"{ORG2}-worker")


def test_an_event_consumer_killed_mid_task_and_restarted_leaves_the_plan_done(fault_network):
    net = fault_network
    plan_key = faultnet.start_plan(net, name="consumer killed mid-task")
    moment = faultnet.wait_until(net, plan_key, executing_on(ORG2, min_done=1))

    faultnet.kill(net, f"{ORG2}-consumer")
    restarted = faultnet.restart(net, f"{ORG2}-consumer")

    faultnet.recovery_seconds(net, plan_key, moment.pending, since=restarted)
    faultnet.check_plan_done(net, plan_key)


def test_a_worker_killed_right_after_its_task_became_to_do_leaves_the_plan_done(fault_network):
    net = fault_network
    plan_key = faultnet.start_plan(net, name="worker killed mid-hand-over")
    faultnet.wait_until(net, plan_key, executing_only_on(ORG1))
    moment = faultnet.wait_until(net, plan_key, to_do_on(ORG2), poll=0.02)

    faultnet.kill(net, f"{ORG2}-worker")
    restarted = faultnet.restart(net, f"{ORG2}-worker")

    faultnet.recovery_seconds(net, plan_key, moment.pending, since=restarted)
    faultnet.check_plan_done(net, plan_key)


def test_the_orchestrator_killed_mid_task_and_restarted_leaves_the_plan_done_with_no_task_run_twice(fault_network):
    net = fault_network
    plan_key = faultnet.start_plan(net, name="orchestrator killed mid-task")
    moment = faultnet.wait_until(net, plan_key, executing_on(ORG2, min_done=1))

    faultnet.kill(net, "orchestrator")
    restarted = faultnet.restart(net, "orchestrator")

    faultnet.recovery_seconds(net, plan_key, moment.pending, since=restarted)
    faultnet.check_plan_done(net, plan_key)
    runs = faultnet.runs_per_task(net, plan_key)
    assert len(runs) == 5 * faultnet.ROUNDS
    assert {key: count for key, count in runs.items() if count != 1} == {}, "tasks ran twice"


def test_the_orchestrator_killed_mid_registration_leaves_a_plan_the_sdk_completes(fault_network):
    """The SDK's call fails with the orchestrator away; sent again once it is back, the same
    plan (same keys) registers whole, once, and runs to the undisturbed results."""
    net = fault_network
    spec = faultnet.plan_spec(net, name="orchestrator killed mid-registration")
    submitting = faultnet.kill_mid_registration(net, spec, "orchestrator")
    restarted = faultnet.restart(net, "orchestrator")
    submitting.join(60)  # the SDK's call ends one way or another; the user sends the plan again
    print(f"\n[faults] the first submission: {submitting.outcome}")

    plan_key = faultnet.submit_until_accepted(net, spec)

    faultnet.recovery_seconds(net, plan_key, faultnet.first_tasks(spec), since=restarted)
    faultnet.check_plan_done(net, plan_key)


def test_a_backend_killed_mid_registration_leaves_a_plan_the_sdk_completes(fault_network):
    net = fault_network
    spec = faultnet.plan_spec(net, name="backend killed mid-registration")
    submitting = faultnet.kill_mid_registration(net, spec, f"{ORG1}-backend")
    restarted = faultnet.restart(net, f"{ORG1}-backend")
    submitting.join(60)
    print(f"\n[faults] the first submission: {submitting.outcome}")

    plan_key = faultnet.submit_until_accepted(net, spec)

    faultnet.recovery_seconds(net, plan_key, faultnet.first_tasks(spec), since=restarted)
    faultnet.check_plan_done(net, plan_key)


def test_an_event_consumer_killed_mid_registration_leaves_the_plan_done(fault_network):
    """MyOrg2MSP's consumer dies while it applies the plan's creation events: restarted, it
    resumes from its last committed position and mirrors every task once."""
    net = fault_network
    spec = faultnet.plan_spec(net, name="consumer killed mid-registration")
    submitting = faultnet.kill_mid_registration(net, spec, f"{ORG2}-consumer")
    submitting.join(60)
    assert submitting.outcome == "accepted before the kill", submitting.outcome
    restarted = faultnet.restart(net, f"{ORG2}-consumer")

    faultnet.recovery_seconds(net, spec.key, faultnet.first_tasks(spec), since=restarted)
    faultnet.check_plan_done(net, spec.key)
    assert len(faultnet.tasks_of(net, spec.key, org=ORG2)) == len(spec.tasks)


def test_a_backend_killed_mid_task_leaves_the_plan_done(fault_network):
    """MyOrg2MSP's backend serves its models to the aggregator: killed while MyOrg2MSP trains."""
    net = fault_network
    plan_key = faultnet.start_plan(net, name="backend killed mid-task")
    moment = faultnet.wait_until(net, plan_key, executing_on(ORG2, min_done=1))

    faultnet.kill(net, f"{ORG2}-backend")
    restarted = faultnet.restart(net, f"{ORG2}-backend")

    faultnet.recovery_seconds(net, plan_key, moment.pending, since=restarted)
    faultnet.check_plan_done(net, plan_key)


def test_a_task_container_killed_mid_task_fails_the_task_with_the_reason_and_leaves_nothing(fault_network):
    net = fault_network
    plan_key, task_key = faultnet.one_long_task_plan(net)
    container = faultnet.wait_for_container(net, plan_key, ORG2)
    faultnet.wait_until(net, plan_key, executing_on(ORG2))
    time.sleep(1)  # the function runs in it

    container.kill()
    killed = time.monotonic()

    plan = faultnet.wait_for_plan(net, plan_key, timeout=60)
    print(f"\n[faults] plan {plan_key[:8]}: failed {time.monotonic() - killed:.1f} s after its container was killed")
    assert str(plan.status.value) == "PLAN_STATUS_FAILED"
    task = net.clients[ORG1].get_task(task_key)
    assert (faultnet.status_of(task), str(task.error_type.value)) == ("STATUS_FAILED", "INTERNAL_ERROR")
    assert "the task's container was killed (SIGKILL) while the function ran" in net.clients[ORG2].get_logs(task_key)
    faultnet.wait_no_containers(net, plan_key)
