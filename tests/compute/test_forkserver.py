"""The warm interpreter (compute/forkserver.py): a fork server per (plan, image) that has imported
the function's libraries runs each task as a fresh fork, in the plan's container (Docker) or as a
process of the worker (subprocess). Nothing of one task is seen by the next, a cancel stops a
forked run within 5 s, a fork server that dies is survived, and a prestarted container goes with
its plan. Real Docker engine and real processes; the containers carry an organization label of
this run only."""

import multiprocessing
import os
import shutil
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest

from compute.executors import (
    DockerExecutor,
    Execution,
    ExecutorUnavailable,
    Limits,
    SubprocessExecutor,
    python_script,
    server_folder,
    server_ready,
    task_folders,
    write_arguments,
)
from compute.forkserver import top_level_imports
from tests.compute.test_executors import StopWhen, is_running, never_stop, new_checksum, wait_until

MiB = 1024 * 1024

# Says who runs it (its parent's command line names the fork server when it is a fork), then
# does what --mode says. `json` is imported at the top: the server has it warm.
FUNCTION = """\
import json, os, sys, time

lines = open(sys.argv[-1][1:]).read().splitlines()
options = dict(zip(lines[::2], lines[1::2]))
mode, out = options["--mode"], options["--out"]
parent = ""
if os.getppid():  # 0 for a `docker exec`: its parent is outside the container
    parent = open(f"/proc/{os.getppid()}/cmdline", "rb").read().replace(b"\\0", b" ").decode()
print("forked", "forkserver.py --socket" in parent, flush=True)
print("name", __name__, flush=True)
print("argv", json.dumps(sys.argv[1:-1]), flush=True)
print("uid", os.getuid(), flush=True)
if os.path.isdir("/sys/class/net"):
    print("net", json.dumps(sorted(os.listdir("/sys/class/net"))), flush=True)
tmp_file = os.path.join("/tmp", options["--tmp-name"])
if mode == "leave":
    json.LEFT_BY_A_TASK = True
    with open(tmp_file, "w") as file:
        file.write("left")
    os.makedirs(tmp_file + "-folder/inner")
    os.chmod(tmp_file + "-folder", 0o500)  # the server empties /tmp all the same
if mode == "look":
    print("global", hasattr(json, "LEFT_BY_A_TASK"), flush=True)
    print("tmp", os.path.exists(tmp_file), flush=True)
if mode == "sleep":
    import subprocess
    child = subprocess.Popen(["sleep", "60"])
    with open(os.path.join(out, "pids"), "w") as file:
        file.write(f"{os.getpid()} {child.pid}")
    print("sleeping", flush=True)
    time.sleep(60)
if mode == "eat":
    chunks = []
    while True:
        chunks.append(bytearray(16 * 1024 * 1024))
if mode == "write-inputs":
    try:
        open(os.path.join(options["--in"], "intruder"), "w").close()
    except OSError as error:
        print("cannot write inputs:", error, flush=True)
        sys.exit(4)
if mode == "fail":
    raise RuntimeError("it broke")
with open(os.path.join(out, "model"), "w") as file:
    file.write("trained")
"""
DOCKERFILE = (
    'FROM python:3.11-slim\nWORKDIR /app\nCOPY fn.py .\nENTRYPOINT ["python3", "fn.py", "--function-name", "train"]\n'
)


def unpack(folder: Path) -> None:
    (folder / "Dockerfile").write_text(DOCKERFILE)
    (folder / "fn.py").write_text(FUNCTION)


def run(executor, plan_dir: Path, plan_key: str, image, task_key: str, mode: str, **options):
    inputs, _ = task_folders(plan_dir, task_key)
    root = executor.root_of(plan_dir)
    arguments = ["--mode", mode, "--out", f"{root}/outputs/{task_key}", "--in", f"{root}/inputs/{task_key}"]
    write_arguments(inputs, [*arguments, "--tmp-name", options.pop("tmp_name", "left-by-a-task")])
    should_stop = options.pop("should_stop", never_stop)
    return executor.run(Execution(plan_key, plan_dir, image, task_key, **options), should_stop)


def warm(executor, plan_dir: Path, plan_key: str, image) -> None:
    executor.prestart(plan_key, plan_dir, image)
    assert wait_until(lambda: server_ready(server_folder(plan_dir, image)), 60), "the fork server never answered"


def pids(plan_dir: Path, task_key: str) -> list[int]:
    path = plan_dir / "outputs" / task_key / "pids"
    return [int(pid) for pid in path.read_text().split()] if path.exists() and path.read_text() else []


def test_only_python_script_entrypoints_get_a_fork_server():
    assert python_script(["python3", "fn.py", "--function-name", "train"])
    assert python_script(["/venv/bin/python", "fn.py"])
    assert python_script(["python3.11", "fn.py"])
    assert not python_script(["python3", "-m", "fn"])
    assert not python_script(["sh", "-c", "python fn.py"])
    assert not python_script(["./fn"])


def test_the_server_warms_the_scripts_top_level_imports(tmp_path):
    script = tmp_path / "fn.py"
    script.write_text(
        "import json, os.path\nfrom numpy import array\nfrom . import mine\n"
        "try:\n    import yaml\nexcept ImportError:\n    pass\ndef f():\n    import late\n"
    )
    assert top_level_imports(str(script)) == ["json", "os.path", "numpy", "yaml"]


# Subprocess


@pytest.fixture
def local(tmp_path):
    executor = SubprocessExecutor(tmp_path / "images")
    image = executor.prepare_image(new_checksum(), unpack)
    plan_dir, plan_key = tmp_path / "plan", uuid.uuid4().hex
    warm(executor, plan_dir, plan_key, image)
    yield executor, image, plan_dir, plan_key
    executor.end_plan(plan_key)


def test_subprocess_tasks_are_forks_that_see_nothing_of_the_task_before(local):
    executor, image, plan_dir, plan_key = local
    tmp_name = f"substra-test-{uuid.uuid4().hex}"  # the host's /tmp: the subprocess executor isolates nothing
    first = run(executor, plan_dir, plan_key, image, "task1", "leave", tmp_name=tmp_name)
    second = run(executor, plan_dir, plan_key, image, "task2", "look", tmp_name=tmp_name)
    os.unlink(f"/tmp/{tmp_name}")
    os.chmod(f"/tmp/{tmp_name}-folder", 0o700)
    shutil.rmtree(f"/tmp/{tmp_name}-folder")
    for result in (first, second):
        assert result.exit_code == 0, result.logs
        assert b"forked True\n" in result.logs
        assert b"name __main__\n" in result.logs
        assert b'argv ["--function-name", "train"]\n' in result.logs
    assert b"global False\n" in second.logs


def test_subprocess_forked_function_gives_its_traceback_and_exit_code(local):
    executor, image, plan_dir, plan_key = local
    result = run(executor, plan_dir, plan_key, image, "task1", "fail")
    assert result.exit_code == 1
    assert b"forked True\n" in result.logs
    assert b"RuntimeError: it broke" in result.logs


def test_subprocess_cancel_stops_a_forked_run_and_its_children_within_5_s(local):
    executor, image, plan_dir, plan_key = local
    should_stop = StopWhen(lambda: len(pids(plan_dir, "task1")) == 2)
    result = run(executor, plan_dir, plan_key, image, "task1", "sleep", should_stop=should_stop)
    assert result.stopped == "cancelled"
    assert b"forked True\n" in result.logs
    assert time.monotonic() - should_stop.since < 5
    assert wait_until(lambda: not any(is_running(pid) for pid in pids(plan_dir, "task1"))), "still running"


def test_subprocess_fork_server_killed_is_replaced_and_the_task_still_runs(local):
    executor, image, plan_dir, plan_key = local
    server = int((server_folder(plan_dir, image) / "server.pid").read_text())
    os.kill(server, 9)
    assert wait_until(lambda: not server_ready(server_folder(plan_dir, image)))
    fallback = run(executor, plan_dir, plan_key, image, "task1", "ok")
    assert fallback.exit_code == 0, fallback.logs
    assert b"forked False\n" in fallback.logs  # a plain process, while a new server warms up
    assert wait_until(lambda: server_ready(server_folder(plan_dir, image)), 60)
    again = run(executor, plan_dir, plan_key, image, "task2", "ok")
    assert b"forked True\n" in again.logs


def test_subprocess_forked_run_whose_server_dies_is_an_infrastructure_error(local):
    executor, image, plan_dir, plan_key = local
    server = int((server_folder(plan_dir, image) / "server.pid").read_text())

    def kill_the_server_once_running() -> bool:
        if len(pids(plan_dir, "task1")) == 2 and is_running(server):
            os.kill(server, 9)
        return False

    with pytest.raises(ExecutorUnavailable, match="fork server"):
        run(executor, plan_dir, plan_key, image, "task1", "sleep", should_stop=kill_the_server_once_running)
    function = pids(plan_dir, "task1")[0]
    assert wait_until(lambda: not is_running(function)), "the task outlived its server"


# Docker


@pytest.fixture(scope="module")
def executor(docker_client):
    org = f"test-fork-{uuid.uuid4().hex[:10]}"
    made = DockerExecutor(org, limits=Limits(memory_bytes=256 * MiB, pids=64), client=docker_client)
    made.image = made.prepare_image(new_checksum(), unpack)
    yield made
    for container in docker_client.containers.list(all=True, filters={"label": f"substra.org={org}"}):
        container.remove(force=True)
    docker_client.images.remove(made.image.name, force=True)


@pytest.fixture
def warm_plan(executor, tmp_path):
    plan_dir, plan_key = tmp_path / "plan", uuid.uuid4().hex
    warm(executor, plan_dir, plan_key, executor.image)
    yield plan_dir, plan_key
    executor.end_plan(plan_key)


@pytest.mark.docker
def test_docker_forked_task_runs_as_the_images_user_without_network_with_read_only_inputs(executor, warm_plan):
    plan_dir, plan_key = warm_plan
    result = run(executor, plan_dir, plan_key, executor.image, "task1", "ok")
    assert result.exit_code == 0, result.logs
    assert b"forked True\n" in result.logs
    assert b"uid 1001\n" in result.logs
    assert b'net ["lo"]\n' in result.logs
    assert (plan_dir / "outputs" / "task1" / "model").read_text() == "trained"
    inputs, _ = task_folders(plan_dir, "task2")
    inputs.chmod(0o777)  # so that only the read-only mount stands in the way
    intruder = run(executor, plan_dir, plan_key, executor.image, "task2", "write-inputs")
    assert intruder.exit_code == 4, intruder.logs
    assert b"forked True\n" in intruder.logs
    assert b"Read-only file system" in intruder.logs


@pytest.mark.docker
def test_docker_forked_task_sees_no_global_and_no_tmp_file_of_the_task_before(executor, warm_plan):
    plan_dir, plan_key = warm_plan
    first = run(executor, plan_dir, plan_key, executor.image, "task1", "leave")
    second = run(executor, plan_dir, plan_key, executor.image, "task2", "look")
    assert first.exit_code == 0, first.logs
    assert second.exit_code == 0, second.logs
    assert b"forked True\n" in first.logs and b"forked True\n" in second.logs
    assert b"global False\n" in second.logs
    assert b"tmp False\n" in second.logs


@pytest.mark.docker
def test_docker_cancel_stops_a_forked_run_within_5_s(executor, warm_plan):
    plan_dir, plan_key = warm_plan
    should_stop = StopWhen(lambda: len(pids(plan_dir, "task1")) == 2)
    result = run(executor, plan_dir, plan_key, executor.image, "task1", "sleep", should_stop=should_stop)
    assert result.stopped == "cancelled"
    assert b"forked True\n" in result.logs
    assert time.monotonic() - should_stop.since < 5
    assert executor.plan_containers(plan_key) == []


@pytest.mark.docker
def test_docker_fork_server_killed_is_survived_and_restarted(executor, warm_plan):
    plan_dir, plan_key = warm_plan
    [container] = executor.plan_containers(plan_key)
    server = (server_folder(plan_dir, executor.image) / "server.pid").read_text()
    killed = container.exec_run(["python3", "-c", f"import os; os.kill({server}, 9)"], user="1001:1001")
    assert killed.exit_code == 0, killed.output
    assert wait_until(lambda: not server_ready(server_folder(plan_dir, executor.image)))
    fallback = run(executor, plan_dir, plan_key, executor.image, "task1", "ok")
    assert fallback.exit_code == 0, fallback.logs
    assert b"forked False\n" in fallback.logs  # a plain exec, while a new server warms up
    assert wait_until(lambda: server_ready(server_folder(plan_dir, executor.image)), 60)
    again = run(executor, plan_dir, plan_key, executor.image, "task2", "ok")
    assert again.exit_code == 0, again.logs
    assert b"forked True\n" in again.logs


@pytest.mark.docker
def test_docker_prestarted_container_goes_when_its_plan_ends(executor, tmp_path):
    plan_dir, plan_key = tmp_path / "plan", uuid.uuid4().hex
    warm(executor, plan_dir, plan_key, executor.image)
    [container] = executor.plan_containers(plan_key)
    assert container.status == "running"
    executor.end_plan(plan_key)
    assert executor.plan_containers(plan_key) == []


@pytest.mark.docker
def test_docker_a_prestart_and_a_task_at_once_share_one_container_and_the_task_runs_forked(executor, tmp_path):
    """A plan's prestart (the consumer's word) and its first task ask for the same container at
    the same moment: one is started, neither removes the other's while it starts."""
    plan_dir, plan_key = tmp_path / "plan", uuid.uuid4().hex
    starts = [in_background(executor.prestart, plan_key, plan_dir, executor.image) for _ in range(3)]
    task = run(executor, plan_dir, plan_key, executor.image, "task1", "ok")
    for thread, _ in starts:
        thread.join(60)
    assert task.exit_code == 0, task.logs
    [container] = executor.plan_containers(plan_key)
    assert container.status == "running"
    assert container.attrs["RestartCount"] == 0
    again = run(executor, plan_dir, plan_key, executor.image, "task2", "ok")
    assert b"forked True\n" in again.logs
    assert [c.id for c in executor.plan_containers(plan_key)] == [container.id]
    executor.end_plan(plan_key)
    assert not any(plan_key in name for name in executor._naming)


def in_background(target, *args):
    results: list = []
    thread = threading.Thread(target=lambda: results.append(target(*args)), daemon=True)
    thread.start()
    return thread, results


@pytest.mark.docker
def test_docker_forked_function_over_its_memory_limit_is_reported_as_killed_by_the_oom_killer(executor, warm_plan):
    plan_dir, plan_key = warm_plan
    result = run(executor, plan_dir, plan_key, executor.image, "task1", "eat")
    assert result.exit_code == 137, result.logs
    assert b"forked True\n" in result.logs
    assert result.killed is not None and result.killed.cause == "oom"
    assert not result.killed.infrastructure


@pytest.mark.docker
def test_docker_forked_function_killed_from_outside_is_reported_as_such(executor, warm_plan):
    plan_dir, plan_key = warm_plan
    thread, results = in_background(run, executor, plan_dir, plan_key, executor.image, "task1", "sleep")
    assert wait_until(lambda: len(pids(plan_dir, "task1")) == 2, 30), "the function never started"
    [container] = executor.plan_containers(plan_key)
    function = pids(plan_dir, "task1")[0]
    container.exec_run(["python3", "-c", f"import os; os.kill({function}, 9)"], user="1001:1001")
    thread.join(30)
    [result] = results
    assert result.exit_code == 137
    assert result.killed is not None and result.killed.cause == "signal"
    assert "SIGKILL" in result.killed.message


@pytest.mark.docker
def test_docker_forked_function_whose_container_is_killed_is_reported_as_such(executor, warm_plan):
    plan_dir, plan_key = warm_plan
    thread, results = in_background(run, executor, plan_dir, plan_key, executor.image, "task1", "sleep")
    assert wait_until(lambda: len(pids(plan_dir, "task1")) == 2, 30), "the function never started"
    [container] = executor.plan_containers(plan_key)
    container.kill()
    thread.join(30)
    [result] = results
    assert result.killed is not None and result.killed.cause == "container"
    assert result.killed.infrastructure


def _run_as_a_worker(org: str, plan_dir: str, plan_key: str) -> None:
    executor = DockerExecutor(org, limits=Limits(memory_bytes=256 * MiB, pids=64))
    image = executor.prepare_image(CHECKSUM_OF[org], unpack)
    run(executor, Path(plan_dir), plan_key, image, "task1", "sleep")


CHECKSUM_OF: dict[str, str] = {}


@pytest.mark.docker
def test_docker_forked_run_stops_when_its_worker_dies(executor, warm_plan):
    """The worker's connection to the fork server closes with it: the server kills the task."""
    plan_dir, plan_key = warm_plan
    CHECKSUM_OF[executor.org] = executor.image.checksum
    worker = multiprocessing.get_context("fork").Process(
        target=_run_as_a_worker, args=(executor.org, str(plan_dir), plan_key)
    )
    worker.start()
    try:
        assert wait_until(lambda: len(pids(plan_dir, "task1")) == 2, 60), "the function never started"
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.join(10)
    [container] = executor.plan_containers(plan_key)
    function = pids(plan_dir, "task1")[0]

    def gone() -> bool:
        probe = container.exec_run(["python3", "-c", f"import os; os.kill({function}, 0)"], user="1001:1001")
        return probe.exit_code != 0

    assert wait_until(gone, 5), "the task outlived its worker"
    assert server_ready(server_folder(plan_dir, executor.image))  # the server itself lives on
