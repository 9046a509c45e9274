"""A restart of PostgreSQL (every database of the network: the orchestrator's and the backends')
and of Redis (the Celery broker, which keeps nothing on disk) in the middle of a running FedAvg
plan: no process is restarted by hand, and the plan ends Done with the undisturbed run's
accuracies, no task stuck, no duplicate model or performance, no container left; the tasks that
were pending at the restart end within 30 s of it. The servers are the suite's own
(tests/faults/services.py): the machine's shared ones are never restarted."""

import time

from devnet import network as devnet
from tests.faults import faultnet
from tests.faults.faultnet import ORG2, executing_on


def assert_every_process_runs(net) -> None:
    """Riding out the restart means nobody had to restart anything."""
    dead = [entry["name"] for entry in net.record()["processes"] if not devnet._same_process(entry)]
    assert dead == [], f"processes that died: {dead}"


def test_a_postgresql_restart_mid_plan_leaves_the_plan_done_with_the_same_results(fault_network):
    net = fault_network
    plan_key = faultnet.start_plan(net, name="postgresql restarted")
    moment = faultnet.wait_until(net, plan_key, executing_on(ORG2, min_done=1))

    net.services.postgres.restart(pause=2.0)
    restarted = time.monotonic()

    faultnet.recovery_seconds(net, plan_key, moment.pending, since=restarted)
    faultnet.check_plan_done(net, plan_key)
    assert_every_process_runs(net)


def test_a_redis_restart_mid_plan_leaves_the_plan_done_with_the_same_results(fault_network):
    net = fault_network
    plan_key = faultnet.start_plan(net, name="redis restarted")
    moment = faultnet.wait_until(net, plan_key, executing_on(ORG2, min_done=1))

    net.services.redis.restart(pause=2.0)
    restarted = time.monotonic()

    faultnet.recovery_seconds(net, plan_key, moment.pending, since=restarted)
    faultnet.check_plan_done(net, plan_key)
    assert_every_process_runs(net)
