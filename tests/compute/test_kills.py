"""A function killed from outside says why (compute/executors.py): the kernel's OOM killer at
the memory limit, its container killed, a signal; and a run whose worker died is stopped by the
worker that takes the task over, before it runs the task again. Real Docker engine and real
processes; the containers carry an organization label of this run only."""

import json
import multiprocessing
import os
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest

from compute.executors import DockerExecutor, Limits, SubprocessExecutor
from tests.compute.test_executors import new_checksum, run_task, wait_until

MiB = 1024 * 1024

FUNCTION = """\
import os, sys, time

lines = open(sys.argv[-1][1:]).read().splitlines()
options = dict(zip(lines[::2], lines[1::2]))
mode, out = options["--mode"], options["--out"]
with open(os.path.join(out, "pid"), "w") as file:
    file.write(str(os.getpid()))
if mode == "eat":
    chunks = []
    while True:
        chunks.append(bytearray(16 * 1024 * 1024))
if mode == "sleep":
    print("sleeping", flush=True)
    time.sleep(120)
print("done", flush=True)
"""
DOCKERFILE = 'FROM python:3.11-slim\nWORKDIR /app\nCOPY fn.py .\nENTRYPOINT ["python3", "fn.py"]\n'


def unpack(folder: Path) -> None:
    (folder / "Dockerfile").write_text(DOCKERFILE)
    (folder / "fn.py").write_text(FUNCTION)


def function_pid(plan_dir: Path, task_key: str) -> int | None:
    path = plan_dir / "outputs" / task_key / "pid"
    return int(path.read_text()) if path.exists() and path.read_text() else None


def in_background(target, *args):
    """Runs target(*args) in a thread; the returned list gets its result."""
    results: list = []
    thread = threading.Thread(target=lambda: results.append(target(*args)), daemon=True)
    thread.start()
    return thread, results


@pytest.fixture(scope="module")
def executor(docker_client):
    org = f"test-kills-{uuid.uuid4().hex[:10]}"
    # The plain `docker exec` path (tests/compute/test_forkserver.py has the forked one).
    made = DockerExecutor(org, limits=Limits(memory_bytes=128 * MiB, pids=64), client=docker_client, warm=False)
    checksum = new_checksum()
    made.image = made.prepare_image(checksum, unpack)
    yield made
    for container in docker_client.containers.list(all=True, filters={"label": f"substra.org={org}"}):
        container.remove(force=True)
    docker_client.images.remove(made.image.name, force=True)


def start_sleeper(executor, plan_dir: Path, plan_key: str, task_key: str = "task1"):
    thread, results = in_background(run_task, executor, plan_dir, plan_key, executor.image, task_key, "sleep")
    assert wait_until(lambda: function_pid(plan_dir, task_key) is not None, 30), "the function never started"
    return thread, results


@pytest.mark.docker
def test_a_function_over_its_memory_limit_is_reported_as_killed_by_the_oom_killer(executor, tmp_path):
    result = run_task(executor, tmp_path / "plan", uuid.uuid4().hex, executor.image, "task1", "eat")

    assert result.exit_code != 0
    assert result.killed is not None and result.killed.cause == "oom"
    assert "out of memory" in result.killed.message
    assert not result.killed.infrastructure  # the function's own error


@pytest.mark.docker
def test_a_function_whose_container_is_killed_is_reported_as_such(executor, docker_client, tmp_path):
    plan_key = uuid.uuid4().hex
    thread, results = start_sleeper(executor, tmp_path / "plan", plan_key)

    [container] = executor.plan_containers(plan_key)
    container.kill()
    thread.join(30)

    [result] = results
    assert result.killed is not None and result.killed.cause == "container"
    assert "container was killed (SIGKILL)" in result.killed.message
    assert result.killed.infrastructure


@pytest.mark.docker
def test_a_function_killed_by_a_signal_from_outside_is_reported_as_such(executor, tmp_path):
    plan_key = uuid.uuid4().hex
    thread, results = start_sleeper(executor, tmp_path / "plan", plan_key)

    exec_pid = executor.client.api.exec_inspect(_run_record(tmp_path / "plan", "task1")["exec"])["Pid"]
    os.kill(exec_pid, signal.SIGKILL)
    thread.join(30)

    [result] = results
    assert result.exit_code == 137
    assert result.killed is not None and result.killed.cause == "signal"
    assert "SIGKILL" in result.killed.message


@pytest.mark.docker
def test_the_run_a_dead_worker_left_in_its_container_is_stopped_and_the_container_kept(executor, tmp_path):
    """The worker's `docker exec` dies with it; the function goes on in the container. The
    worker that takes the task over stops it; the plan's container stays for its other tasks."""
    plan_dir, plan_key = tmp_path / "plan", uuid.uuid4().hex
    thread, _ = start_sleeper(executor, plan_dir, plan_key)
    [container] = executor.plan_containers(plan_key)
    exec_id = _run_record(plan_dir, "task1")["exec"]

    assert executor.stop_stale_run(plan_dir, "task1")

    assert wait_until(lambda: not executor.client.api.exec_inspect(exec_id)["Running"], 10)
    assert [c.id for c in executor.plan_containers(plan_key)] == [container.id]
    assert not executor.stop_stale_run(plan_dir, "task1")  # nothing left to stop
    thread.join(30)


def _run_as_a_worker(images_dir: str, plan_dir: str, checksum: str) -> None:
    local = SubprocessExecutor(Path(images_dir))
    image = local.prepare_image(checksum, unpack)
    run_task(local, Path(plan_dir), "plan", image, "task1", "sleep")


def test_the_process_a_dead_subprocess_worker_left_is_stopped_by_the_next(tmp_path):
    plan_dir, checksum = tmp_path / "plan", new_checksum()
    worker = multiprocessing.get_context("spawn").Process(
        target=_run_as_a_worker, args=(str(tmp_path / "images"), str(plan_dir), checksum)
    )
    worker.start()
    assert wait_until(lambda: function_pid(plan_dir, "task1") is not None, 30)
    function = function_pid(plan_dir, "task1")
    os.kill(worker.pid, signal.SIGKILL)
    worker.join()
    time.sleep(0.2)
    assert _alive(function), "the function runs in a session of its own: it outlives its worker"

    assert SubprocessExecutor(tmp_path / "images").stop_stale_run(plan_dir, "task1")

    assert wait_until(lambda: not _alive(function), 5)


def _alive(pid: int) -> bool:
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def _run_record(plan_dir: Path, task_key: str) -> dict:
    return json.loads((plan_dir / "outputs" / f"{task_key}.run").read_text())


def test_a_function_that_exits_on_its_own_is_not_said_killed(tmp_path):
    local = SubprocessExecutor(tmp_path / "images")
    image = local.prepare_image(new_checksum(), unpack)
    result = run_task(local, tmp_path / "plan", "plan", image, "task1", "ok")
    assert result.exit_code == 0 and result.killed is None
