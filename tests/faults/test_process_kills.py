"""SIGKILL, at several moments of a running FedAvg plan, of each process of an organization and
of the orchestrator, then a restart as an operator would do it: the plan ends Done with the
undisturbed run's accuracies, nothing duplicated, nothing stuck, no container left, and the
tasks that were pending when the process died end within 30 s of its restart."""

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
