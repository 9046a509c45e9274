"""The devnet's compute workers run at a lower CPU priority than the API, the orchestrator and the
consumer they share the machine with (devnet/network.py, WORKER_NICE)."""

import os
import signal
import sys
from pathlib import Path

from devnet.network import WORKER_NICE, Record, _spawn


def test_a_spawned_worker_and_its_session_run_at_the_lower_priority(tmp_path):
    sleeper = [sys.executable, "-c", "import time; time.sleep(30)"]
    process = _spawn(tmp_path, Record(tmp_path), "worker", sleeper, dict(os.environ), WORKER_NICE)
    try:
        assert WORKER_NICE > 0
        assert os.getpriority(os.PRIO_PROCESS, process.pid) == WORKER_NICE
        autogroup = Path(f"/proc/{process.pid}/autogroup")
        if autogroup.exists():  # kernels with autogroups: the session competes as one, at that nice value
            assert autogroup.read_text().split()[-1] == str(WORKER_NICE)
        assert [entry["name"] for entry in Record(tmp_path).data["processes"]] == ["worker"]
        # The rest of the devnet keeps the default priority.
        other = _spawn(tmp_path, Record(tmp_path), "consumer", sleeper, dict(os.environ))
        try:
            assert os.getpriority(os.PRIO_PROCESS, other.pid) == os.getpriority(os.PRIO_PROCESS, 0)
        finally:
            other.kill()
            other.wait()
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
