"""The order of image builds (substrapp/queueing.py): the functions this organization registers go
to its build queue in the order the ledger registered them, one message each. Substra's own
suite relies on it (a function registered after another waits for it, then builds); the builds
themselves run one at a time per worker slot. Against a real orchestrator and its consumer; the
messages are caught as they are handed to the broker (a Redis list: first in, first out)."""

# ruff: noqa: F811 (the fixtures of test_compute_api, imported, are arguments here)

import pytest

from substrapp import tasks
from tests.backend.test_compute_api import drain, network, world  # noqa: F401 (fixtures)
from tests.conftest import ORG1, ORG2
from tests.orchestrator.conftest import permission

pytestmark = pytest.mark.django_db(transaction=True)

FUNCTION_INPUTS = {"models": {"kind": "ASSET_MODEL", "multiple": True, "optional": True}}
FUNCTION_OUTPUTS = {"model": {"kind": "ASSET_MODEL"}}


def test_functions_are_queued_for_their_build_in_the_order_they_were_registered(world, settings, monkeypatch):
    queued = []
    monkeypatch.setattr(tasks.build_function, "apply_async", lambda args, queue: queued.append((queue, args[1])))
    keys = [
        world.function(ORG1, permission(ORG1, ORG2), FUNCTION_INPUTS, FUNCTION_OUTPUTS, ready=False) for _ in range(3)
    ]
    # Another organization's function is built by its owner, never here.
    world.function(ORG2, permission(ORG1, ORG2), FUNCTION_INPUTS, FUNCTION_OUTPUTS, ready=False)

    drain()

    assert queued == [(settings.BUILD_QUEUE, key) for key in keys]
