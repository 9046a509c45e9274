"""`python -m examples.demo` as `make demo` runs it, with the subprocess executor forced so that
it runs anywhere: a whole run, and Ctrl-C (twice) while the network starts and while the plan
runs. Each starts its own embedded three-organization network; none may leave a process behind.
Then the demo's decisions (which executor, is the accuracy right, is the network alive) without
a network."""

import json
import os
import re
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

import docker
from examples.demo import main as demo
from examples.demo.report import RoundResult

REPO = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TABLE_HEADER = r"round +MyOrg2MSP +MyOrg3MSP +federated +centralized"

pytestmark = pytest.mark.timeout(300)


def start_demo(tmp_path: Path, *args: str) -> subprocess.Popen:
    env = {name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"}
    command = [sys.executable, "-m", "examples.demo", "--executor", "subprocess", "--state-dir",
               str(tmp_path / "state"), "--output", str(tmp_path / "output"), *args]  # fmt: skip
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


class Output:
    """The demo's output, read as it comes."""

    def __init__(self, process: subprocess.Popen):
        self.text = ""
        self.reader = threading.Thread(target=self._read, args=(process.stdout,), daemon=True)
        self.reader.start()

    def _read(self, stream) -> None:
        while chunk := stream.read(1):
            self.text += chunk

    def wait_for(self, fragment: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while fragment not in self.text:
            assert time.monotonic() < deadline, f"no {fragment!r} in:\n{self.text}"
            time.sleep(0.1)


def processes_naming(folder: Path) -> list[int]:
    """Processes whose command line or environment names a file in `folder` (every devnet process
    does: the backends, consumers and workers have their data folder in BACKEND_DATA_DIR)."""
    needle = f"{folder}/".encode()
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if needle in (proc / "cmdline").read_bytes() or needle in (proc / "environ").read_bytes():
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_the_demo_runs_fedavg_prints_accuracy_by_round_saves_the_plot_and_stops_everything(tmp_path):
    process = start_demo(tmp_path, "--rounds", "3")
    output, _ = process.communicate(timeout=280)

    assert process.returncode == 0, output
    assert "executor: subprocesses" in output and "NO ISOLATION" in output
    assert "15/15 done" in output
    lines = output.splitlines()
    header = next(i for i, line in enumerate(lines) if re.fullmatch(TABLE_HEADER, line))
    for r in (1, 2, 3):
        assert re.fullmatch(rf" +{r}( +\d+\.\d%){{4}}", lines[header + 1 + r]), lines[header + 1 + r]
    assert "within 2 points" in output and "network stopped" in output
    plot = tmp_path / "output" / "fedavg-accuracy.png"
    assert f"plot: {plot}" in output
    assert png_size(plot) == (960, 600) and plot.stat().st_size > 20_000
    assert not (tmp_path / "state" / "processes.json").exists()
    assert processes_naming(tmp_path / "state") == []


def recorded_pids(state_dir: Path) -> list[int]:
    try:
        return [entry["pid"] for entry in json.loads((state_dir / "processes.json").read_text())["processes"]]
    except (OSError, ValueError):
        return []


@pytest.mark.parametrize("moment", ["while the network starts", "while the plan runs"])
def test_ctrl_c_and_a_second_one_while_stopping_leave_no_process(tmp_path, moment):
    state_dir = tmp_path / "state"
    process = start_demo(tmp_path)
    output = Output(process)
    try:
        if moment == "while the network starts":
            # While the organizations' databases are set up: `up` waits for that to end, then
            # stops the orchestrator, so the second Ctrl-C comes while the devnet cleans up.
            deadline = time.monotonic() + 200
            while not (state_dir / "MyOrg1MSP-setup.log").exists():
                assert time.monotonic() < deadline, output.text
                time.sleep(0.05)
        else:
            output.wait_for("done, executing", timeout=240)
        pids = recorded_pids(state_dir)
        # Ctrl-C, then more as an impatient user presses it, until the demo says it is still
        # stopping: one second press after a fixed pause could come after a quick stop had ended.
        deadline = time.monotonic() + 60
        while process.poll() is None and "still stopping the network" not in output.text:
            assert time.monotonic() < deadline, output.text
            process.send_signal(signal.SIGINT)
            time.sleep(0.02)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    output.reader.join(5)

    assert process.returncode == 130, output.text
    assert "still stopping the network" in output.text and "interrupted: stopping the network" in output.text
    assert output.text.rstrip().endswith("network stopped"), output.text
    if moment == "while the plan runs":
        assert len(pids) == 10  # an orchestrator; a backend, a consumer and a worker per organization
    assert [pid for pid in pids if alive(pid)] == []
    assert processes_naming(state_dir) == []
    assert not (tmp_path / "output").exists()


# The decisions, without a network


@pytest.mark.parametrize(
    ("answers", "images", "kind", "says"),
    [
        (True, {"python:3.11-slim"}, "docker", "python:3.11-slim is there"),
        (True, set(), "subprocess", "scripts/ensure-docker builds it"),
        (False, set(), "subprocess", "no Docker daemon answers"),
    ],
)
def test_docker_is_used_when_its_daemon_answers_and_the_base_image_is_there(monkeypatch, answers, images, kind, says):
    class Images:
        def get(self, name):
            if name not in images:
                raise docker.errors.ImageNotFound(name)

    class Engine:
        def ping(self):
            if not answers:
                raise docker.errors.DockerException("no daemon")

        images = Images()

        def close(self):
            pass

    monkeypatch.setattr(docker, "from_env", lambda **options: Engine())

    executor = demo.choose_executor("auto")

    assert executor.kind == kind and says in executor.reason


def test_docker_asked_for_but_missing_fails_the_demo(monkeypatch):
    def no_daemon(**options):
        raise docker.errors.DockerException("no daemon")

    monkeypatch.setattr(docker, "from_env", no_daemon)

    with pytest.raises(demo.DemoFailed, match="--executor docker, but no Docker daemon answers"):
        demo.choose_executor("docker")


def test_a_federated_accuracy_more_than_2_points_from_the_baseline_fails_the_demo():
    close = RoundResult(round=10, per_org={"a": 0.95}, federated=0.951, centralized=0.97)
    far = RoundResult(round=10, per_org={"a": 0.94}, federated=0.94, centralized=0.97)

    demo.check_accuracy(close)
    with pytest.raises(demo.DemoFailed, match=r"federated accuracy 94\.0% .* 3\.0 points apart, more than 2"):
        demo.check_accuracy(far)


def test_a_network_process_that_stopped_fails_the_demo_at_once_with_its_log(tmp_path):
    alive_process = subprocess.Popen(["sleep", "60"])
    dead_process = subprocess.Popen(["true"])
    dead_process.wait()
    try:
        session = demo.Session(tmp_path)
        (tmp_path / "processes.json").write_text(
            json.dumps({"processes": [{"name": "orchestrator", "pid": alive_process.pid},
                                      {"name": "MyOrg3MSP-worker", "pid": dead_process.pid}]})
        )  # fmt: skip
        (tmp_path / "MyOrg3MSP-worker.log").write_text("ready\nUnrecoverable error: JSONDecodeError\n\n")

        with pytest.raises(demo.DemoFailed, match=r"MyOrg3MSP-worker stopped while the plan ran .*JSONDecodeError$"):
            session.check_network()
    finally:
        alive_process.kill()
        alive_process.wait()


def test_keep_leaves_the_console_up_after_the_plan_until_ctrl_c_which_ends_the_demo_normally(tmp_path):
    process = start_demo(tmp_path, "--rounds", "1", "--keep")
    output = Output(process)
    try:
        output.wait_for("Ctrl-C stops it", timeout=240)
        console = re.search(r"web console: (http://\S+)/ +\(sign in as (\S+), password (\S+)\)", output.text)
        assert console, output.text
        assert output.text.index("web console:") < output.text.index("registered the datasets")
        sign_in = requests.get(f"{console.group(1)}/", timeout=10)
        assert sign_in.status_code == 200 and sign_in.url.endswith("/console/sign-in/?next=/console/plans/")
        assert 'name="password"' in sign_in.text
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    output.reader.join(5)

    assert process.returncode == 0, output.text
    assert output.text.rstrip().splitlines()[-1].startswith("network stopped; "), output.text
    assert processes_naming(tmp_path / "state") == []
