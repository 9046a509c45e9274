"""A restart of PostgreSQL (every database of the network: the orchestrator's and the backends')
and of Redis (the Celery broker, which keeps nothing on disk) in the middle of a running FedAvg
plan: no process is restarted by hand, and the plan ends Done with the undisturbed run's
accuracies, no task stuck, no duplicate model or performance, no container left; the tasks that
were pending at the restart end within 30 s of it. The servers are the suite's own
(tests/faults/services.py): the machine's shared ones are never restarted."""

import time

from devnet import network as devnet
from examples.fedavg import workflow
from tests.faults import faultnet
from tests.faults.faultnet import ORG1, ORG2, executing_on


def assert_every_process_runs(net) -> None:
    """Riding out the restart means nobody had to restart anything."""
    dead = [entry["name"] for entry in net.record()["processes"] if not devnet._same_process(entry)]
    assert dead == [], f"processes that died: {dead}"


def check_plan_done(net, plan_key: str) -> None:
    """As faultnet.check_plan_done: Done, the reference accuracies, every task Done, no duplicate
    model or performance, no container left; the containers are listed without failing on one
    that is removed meanwhile (docker-py inspects each one it lists)."""
    plan = faultnet.wait_for_plan(net, plan_key)
    assert str(plan.status.value) == "PLAN_STATUS_DONE", f"plan {plan_key} ended {plan.status}"
    assert plan.task_count == plan.done_count
    assert workflow.accuracies(net.clients[ORG1], plan_key) == net.reference
    faultnet.check_no_duplicates(net, plan_key)
    deadline = time.monotonic() + 20
    while containers := plan_containers(net, plan_key):
        assert time.monotonic() < deadline, f"containers of plan {plan_key} remain: {[c.name for c in containers]}"
        time.sleep(0.5)


def plan_containers(net, plan_key: str) -> list:
    labels = [f"substra.plan={plan_key}", f"substra.instance={net.instance}"]
    return net.engine.containers.list(all=True, filters={"label": labels}, ignore_removed=True)


def test_a_postgresql_restart_mid_plan_leaves_the_plan_done_with_the_same_results(fault_network):
    net = fault_network
    plan_key = faultnet.start_plan(net, name="postgresql restarted")
    moment = faultnet.wait_until(net, plan_key, executing_on(ORG2, min_done=1))

    net.services.postgres.restart(pause=2.0)
    restarted = time.monotonic()

    faultnet.recovery_seconds(net, plan_key, moment.pending, since=restarted)
    check_plan_done(net, plan_key)
    assert_every_process_runs(net)


def test_a_redis_restart_mid_plan_leaves_the_plan_done_with_the_same_results(fault_network):
    net = fault_network
    plan_key = faultnet.start_plan(net, name="redis restarted")
    moment = faultnet.wait_until(net, plan_key, executing_on(ORG2, min_done=1))

    net.services.redis.restart(pause=2.0)
    restarted = time.monotonic()

    faultnet.recovery_seconds(net, plan_key, moment.pending, since=restarted)
    check_plan_done(net, plan_key)
    assert_every_process_runs(net)
