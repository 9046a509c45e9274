"""Where a function runs (compute/executors.py): a plain process of the worker, and a long-lived,
isolated container per (plan, image) on the local Docker engine, each task an exec in it.

The Docker tests build small images on the local python:3.11-slim (scripts/ensure-docker) and
open no network connection; their containers carry an organization label of this run only."""

import concurrent.futures
import json
import os
import sys
import time
import uuid
from pathlib import Path

import pytest

import docker
from compute.executors import (
    BuildFailed,
    DockerExecutor,
    Execution,
    Limits,
    SubprocessExecutor,
    task_folders,
    write_arguments,
)

REPO = Path(__file__).resolve().parents[2]
MiB = 1024 * 1024

# The function: reads its `@argument file` as substratools would, then does what --mode says.
FUNCTION = """\
import json, os, subprocess, sys, time

lines = open(sys.argv[-1][1:]).read().splitlines()
options = dict(zip(lines[::2], lines[1::2]))
mode, out = options["--mode"], options["--out"]
print("argv", json.dumps(sys.argv[1:-1]), flush=True)
print("uid", os.getuid(), flush=True)
if os.path.isdir("/sys/class/net"):
    print("net", json.dumps(sorted(os.listdir("/sys/class/net"))), flush=True)
if mode == "fail":
    print("it broke", file=sys.stderr, flush=True)
    sys.exit(3)
if mode == "sleep":
    child = subprocess.Popen(["sleep", "60"])
    with open(os.path.join(out, "pids"), "w") as file:
        file.write(f"{os.getpid()} {child.pid}")
    print("sleeping", flush=True)
    time.sleep(60)
if mode == "write-inputs":
    try:
        with open(os.path.join(options["--in"], "intruder"), "w") as file:
            file.write("x")
    except OSError as error:
        print("cannot write inputs:", error, flush=True)
        sys.exit(4)
    print("wrote into inputs", flush=True)
    sys.exit(0)
with open(os.path.join(out, "model"), "w") as file:
    file.write("trained")
print("wrote the model", flush=True)
"""

ENTRYPOINT = '["python3", "fn.py", "--function-name", "train"]'
DOCKERFILE = f"FROM python:3.11-slim\nWORKDIR /app\nCOPY fn.py .\nENTRYPOINT {ENTRYPOINT}\n"


def archive(dockerfile: str = DOCKERFILE, unpacked: list | None = None):
    """An `unpack` that writes a function archive's content: its Dockerfile and fn.py."""

    def unpack(folder: Path) -> None:
        if unpacked is not None:
            unpacked.append(folder)
        (folder / "Dockerfile").write_text(dockerfile)
        (folder / "fn.py").write_text(FUNCTION)

    return unpack


def new_checksum() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex


def never_stop() -> bool:
    return False


class StopWhen:
    """A should_stop that turns True once `condition()` holds, and remembers when."""

    def __init__(self, condition):
        self.condition = condition
        self.since: float | None = None

    def __call__(self) -> bool:
        if self.since is None and self.condition():
            self.since = time.monotonic()
        return self.since is not None


def run_task(executor, plan_dir: Path, plan_key: str, image, task_key: str, mode: str, **options):
    inputs, _ = task_folders(plan_dir, task_key)
    root = executor.root_of(plan_dir)
    write_arguments(
        inputs, ["--mode", mode, "--out", f"{root}/outputs/{task_key}", "--in", f"{root}/inputs/{task_key}"]
    )
    should_stop = options.pop("should_stop", never_stop)
    return executor.run(Execution(plan_key, plan_dir, image, task_key, **options), should_stop)


def pids_file(plan_dir: Path, task_key: str) -> Path:
    return plan_dir / "outputs" / task_key / "pids"


def is_running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has ended, whoever reaps it


def wait_until(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


# Subprocess


@pytest.fixture
def subprocess_executor(tmp_path):
    return SubprocessExecutor(tmp_path / "images")


@pytest.fixture
def local_image(subprocess_executor):
    return subprocess_executor.prepare_image(new_checksum(), archive())


def test_subprocess_prepares_the_archive_once_and_runs_its_entrypoint_with_this_python(subprocess_executor):
    checksum, unpacked = new_checksum(), []
    image = subprocess_executor.prepare_image(checksum, archive(unpacked=unpacked))
    again = subprocess_executor.prepare_image(checksum, archive(unpacked=unpacked))
    assert again == image
    assert len(unpacked) == 1
    assert Path(image.name) == subprocess_executor.images_dir / checksum
    assert image.entrypoint[1:] == ["fn.py", "--function-name", "train"]
    assert os.path.samefile(image.entrypoint[0], sys.executable)
    assert sorted(p.name for p in subprocess_executor.images_dir.iterdir()) == [checksum]


def test_subprocess_run_gives_the_exit_code_and_the_logs(subprocess_executor, local_image, tmp_path):
    plan_dir = tmp_path / "plan"
    result = run_task(subprocess_executor, plan_dir, "plan", local_image, "task1", "ok")
    assert result.exit_code == 0, result.logs
    assert result.stopped == ""
    assert b'argv ["--function-name", "train"]' in result.logs
    assert b"wrote the model" in result.logs
    assert (plan_dir / "outputs" / "task1" / "model").read_text() == "trained"
    assert 0 < result.seconds < 30


def test_subprocess_failing_function_gives_its_exit_code_and_stderr(subprocess_executor, local_image, tmp_path):
    result = run_task(subprocess_executor, tmp_path / "plan", "plan", local_image, "task1", "fail")
    assert result.exit_code == 3
    assert result.stopped == ""
    assert b"it broke" in result.logs


@pytest.mark.parametrize("stop", ["cancelled", "timeout"])
def test_subprocess_long_function_is_stopped_with_its_children(subprocess_executor, local_image, tmp_path, stop):
    plan_dir = tmp_path / "plan"
    should_stop = StopWhen(pids_file(plan_dir, "task1").exists if stop == "cancelled" else lambda: False)
    timeout = 1.0 if stop == "timeout" else None
    started = time.monotonic()
    result = run_task(
        subprocess_executor, plan_dir, "plan", local_image, "task1", "sleep", should_stop=should_stop, timeout=timeout
    )
    assert result.stopped == stop
    assert result.exit_code is None
    assert b"sleeping" in result.logs
    assert time.monotonic() - (should_stop.since or started) < 5
    pids = [int(pid) for pid in pids_file(plan_dir, "task1").read_text().split()]
    assert wait_until(lambda: not any(is_running(pid) for pid in pids)), "the function or its child still runs"


def test_subprocess_should_stop_that_raises_leaves_no_function_running(subprocess_executor, local_image, tmp_path):
    plan_dir = tmp_path / "plan"

    def should_stop() -> bool:
        if pids_file(plan_dir, "task1").exists():
            raise ConnectionError("the database went away")
        return False

    with pytest.raises(ConnectionError):
        run_task(subprocess_executor, plan_dir, "plan", local_image, "task1", "sleep", should_stop=should_stop)
    pids = [int(pid) for pid in pids_file(plan_dir, "task1").read_text().split()]
    assert wait_until(lambda: not any(is_running(pid) for pid in pids)), "the function still runs"


@pytest.mark.parametrize(
    "dockerfile",
    [
        "FROM python:3.11-slim\nCOPY fn.py .\nENTRYPOINT python3 fn.py\n",
        'FROM python:3.11-slim\nCOPY fn.py .\nCMD ["python3", "fn.py"]\n',
    ],
    ids=["shell-form", "none"],
)
def test_subprocess_dockerfile_without_exec_form_entrypoint_is_a_build_failure(subprocess_executor, dockerfile):
    checksum = new_checksum()
    with pytest.raises(BuildFailed, match="ENTRYPOINT"):
        subprocess_executor.prepare_image(checksum, archive(dockerfile))
    assert list(subprocess_executor.images_dir.iterdir()) == []  # no image, no half-unpacked draft
    image = subprocess_executor.prepare_image(checksum, archive())  # the next attempt starts over
    assert image.entrypoint[1] == "fn.py"


def test_subprocess_archive_without_dockerfile_is_a_build_failure(subprocess_executor):
    def unpack(folder: Path) -> None:
        (folder / "fn.py").write_text(FUNCTION)

    with pytest.raises(BuildFailed, match="no Dockerfile"):
        subprocess_executor.prepare_image(new_checksum(), unpack)
    assert list(subprocess_executor.images_dir.iterdir()) == []


# Docker


@pytest.fixture(scope="module")
def run_id():
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="module")
def docker_world(docker_client, run_id):
    """What this run creates on the engine, removed at the end: containers by their organization
    label, images by tag."""
    world = {"orgs": [f"test-exec-{run_id}", f"test-other-{run_id}"], "images": []}
    yield world
    for org in world["orgs"]:
        for container in docker_client.containers.list(all=True, filters={"label": f"substra.org={org}"}):
            container.remove(force=True)
    for name in world["images"]:
        try:
            docker_client.images.remove(name, force=True)
        except docker.errors.ImageNotFound:
            pass


LIMITS = Limits(memory_bytes=256 * MiB, cpus=0.5, pids=64)


@pytest.fixture(scope="module")
def docker_executor(docker_client, docker_world):
    return DockerExecutor(docker_world["orgs"][0], limits=LIMITS, client=docker_client)


def build(executor: DockerExecutor, world: dict, dockerfile: str = DOCKERFILE, unpacked: list | None = None):
    checksum = new_checksum()
    world["images"].append(executor.image_name(checksum))
    return executor.prepare_image(checksum, archive(dockerfile, unpacked))


@pytest.fixture(scope="module")
def docker_image(docker_executor, docker_world):
    return build(docker_executor, docker_world)


@pytest.fixture(scope="module")
def user_image(docker_executor, docker_world):
    return build(docker_executor, docker_world, DOCKERFILE.replace("ENTRYPOINT", "USER 2002:2002\nENTRYPOINT"))


@pytest.fixture
def plan_key():
    return uuid.uuid4().hex


def mount(container, destination: str) -> dict:
    return next(m for m in container.attrs["Mounts"] if m["Destination"] == destination)


@pytest.mark.docker
def test_docker_image_is_built_once_per_checksum(docker_executor, docker_world, docker_client):
    unpacked = []
    image = build(docker_executor, docker_world, unpacked=unpacked)
    assert docker_executor.prepare_image(image.checksum, archive(unpacked=unpacked)) == image
    assert len(unpacked) == 1
    assert image.entrypoint == json.loads(ENTRYPOINT)
    assert image.workdir == "/app"
    assert image.name in docker_client.images.get(image.name).tags


@pytest.mark.docker
def test_docker_run_gives_exit_code_and_logs_and_the_plan_keeps_its_container(docker_executor, docker_image, tmp_path):
    plan_dir, plan = tmp_path / "plan", uuid.uuid4().hex
    done = run_task(docker_executor, plan_dir, plan, docker_image, "task1", "ok")
    assert done.exit_code == 0, done.logs
    assert done.stopped == ""
    assert b'argv ["--function-name", "train"]' in done.logs
    assert b"wrote the model" in done.logs
    assert (plan_dir / "outputs" / "task1" / "model").read_text() == "trained"
    [container] = docker_executor.plan_containers(plan)

    failed = run_task(docker_executor, plan_dir, plan, docker_image, "task2", "fail")
    assert failed.exit_code == 3
    assert b"it broke" in failed.logs
    assert [c.id for c in docker_executor.plan_containers(plan)] == [container.id]
    container.reload()
    assert container.status == "running"


@pytest.mark.docker
def test_docker_container_is_isolated_and_limited(docker_executor, docker_image, tmp_path, plan_key):
    result = run_task(docker_executor, tmp_path / "plan", plan_key, docker_image, "task1", "ok")
    assert result.exit_code == 0, result.logs
    assert b"uid 1001\n" in result.logs  # the image's USER is root: Substra's compute uid runs it
    assert b'net ["lo"]\n' in result.logs
    [container] = docker_executor.plan_containers(plan_key)
    config, host = container.attrs["Config"], container.attrs["HostConfig"]
    assert config["User"] == "1001:1001"
    assert host["NetworkMode"] == "none"
    assert host["CapDrop"] == ["ALL"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["Privileged"] is False
    assert host["Memory"] == LIMITS.memory_bytes
    assert host["MemorySwap"] == LIMITS.memory_bytes
    assert host["NanoCpus"] == int(LIMITS.cpus * 1e9)
    assert host["PidsLimit"] == LIMITS.pids
    inputs, outputs = mount(container, "/substra_internal/inputs"), mount(container, "/substra_internal/outputs")
    assert (inputs["Type"], inputs["RW"], inputs["Source"]) == ("bind", False, str(tmp_path / "plan" / "inputs"))
    assert (outputs["Type"], outputs["RW"], outputs["Source"]) == ("bind", True, str(tmp_path / "plan" / "outputs"))
    assert config["Labels"]["substra.plan"] == plan_key


@pytest.mark.docker
def test_docker_image_with_a_non_root_user_runs_as_that_user(docker_executor, user_image, tmp_path, plan_key):
    assert user_image.user == "2002:2002"
    result = run_task(docker_executor, tmp_path / "plan", plan_key, user_image, "task1", "ok")
    assert result.exit_code == 0, result.logs
    assert b"uid 2002\n" in result.logs
    [container] = docker_executor.plan_containers(plan_key)
    assert container.attrs["Config"]["User"] == "2002:2002"


@pytest.mark.docker
def test_docker_task_cannot_write_into_its_inputs(docker_executor, docker_image, tmp_path, plan_key):
    plan_dir = tmp_path / "plan"
    inputs, _ = task_folders(plan_dir, "task1")
    inputs.chmod(0o777)  # so that only the read-only mount stands in the way
    result = run_task(docker_executor, plan_dir, plan_key, docker_image, "task1", "write-inputs")
    assert result.exit_code == 4, result.logs
    assert b"Read-only file system" in result.logs
    assert not (inputs / "intruder").exists()


@pytest.mark.docker
def test_docker_should_stop_removes_the_plans_container(docker_executor, docker_image, tmp_path, plan_key):
    plan_dir = tmp_path / "plan"
    should_stop = StopWhen(pids_file(plan_dir, "task1").exists)
    result = run_task(docker_executor, plan_dir, plan_key, docker_image, "task1", "sleep", should_stop=should_stop)
    assert result.stopped == "cancelled"
    assert result.exit_code is None
    assert should_stop.since is not None and time.monotonic() - should_stop.since < 5
    assert docker_executor.plan_containers(plan_key) == []


@pytest.mark.docker
def test_docker_end_plan_removes_only_that_plans_containers_of_this_org(
    docker_executor, docker_image, docker_world, docker_client, tmp_path, plan_key
):
    other_org = DockerExecutor(docker_world["orgs"][1], client=docker_client)
    other_plan = uuid.uuid4().hex
    for executor, plan in ((docker_executor, plan_key), (other_org, plan_key), (docker_executor, other_plan)):
        result = run_task(executor, tmp_path / executor.org / plan, plan, docker_image, "task1", "ok")
        assert result.exit_code == 0, result.logs
    [theirs] = other_org.plan_containers(plan_key)
    [ours_other_plan] = docker_executor.plan_containers(other_plan)

    docker_executor.end_plan(plan_key)
    assert docker_executor.plan_containers(plan_key) == []
    assert [c.id for c in other_org.plan_containers(plan_key)] == [theirs.id]
    assert [c.id for c in docker_executor.plan_containers(other_plan)] == [ours_other_plan.id]
    docker_executor.end_plan(other_plan)
    other_org.end_plan(plan_key)
    assert other_org.plan_containers(plan_key) == docker_executor.plan_containers(other_plan) == []


@pytest.mark.docker
def test_docker_dockerfile_whose_run_fails_is_a_build_failure_with_its_log(
    docker_executor, docker_world, docker_client, run_id
):
    dockerfile = f"FROM python:3.11-slim\nRUN echo building-{run_id} && exit 7\nENTRYPOINT {ENTRYPOINT}\n"
    with pytest.raises(BuildFailed, match="non-zero code: 7") as failure:
        build(docker_executor, docker_world, dockerfile)
    assert f"building-{run_id}" in failure.value.log
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(docker_world["images"][-1])


@pytest.mark.docker
def test_docker_builds_an_image_once_when_several_ask_for_it_at_the_same_time(docker_client, docker_world, tmp_path):
    checksum, unpacked = new_checksum(), []
    docker_world["images"].append(DockerExecutor.image_name(checksum))
    # Two executors, as two worker processes would have, sharing the build folder.
    executors = [DockerExecutor(docker_world["orgs"][0], client=docker_client, build_dir=tmp_path) for _ in range(2)]

    def ask(index: int):
        return executors[index % 2].prepare_image(checksum, archive(DOCKERFILE, unpacked))

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        images = list(pool.map(ask, range(4)))

    assert len(unpacked) == 1
    assert {image.name for image in images} == {DockerExecutor.image_name(checksum)}
