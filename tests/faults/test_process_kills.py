"""SIGKILL, at several moments of a running FedAvg plan, of each process of an organization and
of the orchestrator, then a restart as an operator would do it: the plan ends Done with the
undisturbed run's accuracies, nothing duplicated, nothing stuck, no container left, and the
tasks that were pending when the process died end within 30 s of its restart."""

from tests.faults import faultnet
from tests.faults.faultnet import ORG2, executing_on


def test_a_worker_killed_mid_task_and_restarted_leaves_the_plan_done_with_the_same_results(fault_network):
    net = fault_network
    plan_key = faultnet.start_plan(net, name="worker killed mid-task")
    moment = faultnet.wait_until(net, plan_key, executing_on(ORG2, min_done=1))

    faultnet.kill(net, f"{ORG2}-worker")
    restarted = faultnet.restart(net, f"{ORG2}-worker")

    faultnet.recovery_seconds(net, plan_key, moment.pending, since=restarted)
    faultnet.check_plan_done(net, plan_key)
