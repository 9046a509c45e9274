"""The collector settings of the long-lived processes (orchestrator_client/heap.py): each service
process settles its heap once loaded, and garbage made afterwards is still collected."""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Runs `start` in a fresh interpreter, then reports the collector's state and whether a reference
# cycle dropped after the start is collected.
PROBE = """
import gc, json, os, sys, weakref
sys.path.insert(0, {repo!r})
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
before = gc.get_freeze_count()
{start}
class Node:
    pass
node = Node(); node.self = node
alive = weakref.ref(node)
del node
gc.collect()
print(json.dumps({{"frozen_before": before, "frozen": gc.get_freeze_count(), "threshold": gc.get_threshold(),
                  "cycle_collected": alive() is None}}))
"""


def probe(start: str, tmp_path) -> dict:
    env = {"BACKEND_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    answer = subprocess.run(
        [sys.executable, "-c", PROBE.format(repo=str(REPO), start=start)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return json.loads(answer.stdout.strip().splitlines()[-1])


def assert_settled(state: dict) -> None:
    from orchestrator_client.heap import YOUNG_THRESHOLD

    assert state["frozen_before"] == 0
    assert state["frozen"] > 10_000  # the modules loaded at start, out of the collector's walks
    assert state["threshold"][0] == YOUNG_THRESHOLD
    assert state["cycle_collected"]  # new garbage is still collected


def test_an_api_worker_settles_its_heap_once_the_application_is_loaded(tmp_path):
    start = """
import runpy
config = runpy.run_path({conf!r})
import django; django.setup()
config["post_worker_init"](None)
""".format(conf=str(REPO / "docker" / "gunicorn.conf.py"))
    assert_settled(probe(start, tmp_path))


def test_a_compute_worker_process_settles_its_heap_when_forked(tmp_path):
    start = """
from celery.signals import worker_process_init
import backend.celery
worker_process_init.send(sender=None)
"""
    assert_settled(probe(start, tmp_path))


def test_without_settling_the_collector_keeps_python_defaults(tmp_path):
    state = probe("import django", tmp_path)
    assert state["frozen"] == 0 and state["threshold"][0] == 700
    assert state["cycle_collected"]
