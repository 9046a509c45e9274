from tests.conftest import ORG2
from tests.orchestrator.conftest import new_key


def test_a_two_round_plan_runs_to_done(world):
    client = world.client(ORG2)
    plan = world.plan()
    first = world.train_task(plan)
    aggregate = world.aggregate_task(plan, [first["key"]])
    second = world.train_task(plan, parents=[aggregate["key"]])
    tasks = client.register_tasks([first, aggregate, second])
    assert [t.status for t in tasks] == [4, 3, 3]
    assert [t.rank for t in tasks] == [0, 1, 2]
    world.run(first["key"])
    assert client.get_task(aggregate["key"]).status == 4
    world.run(aggregate["key"], worker=ORG2)
    world.run(second["key"])
    assert client.get_compute_plan(plan).status == 3
    assert new_key()
