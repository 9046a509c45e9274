"""Every command in the README and the guides runs, so the docs cannot rot.

The convention is in tests/docs/blocks.py: ```sh and ```python blocks run, in the order of their
file, in one shell and one interpreter per file (tests/docs/session.py), from a folder that stands
for the root of the clone (it holds links to manage.py and .venv, and the clone is on PYTHONPATH, with
the virtual environment's bin first on PATH); ```text and ```mermaid blocks are output and diagrams;
a `<!-- not run: reason -->` comment right before a block keeps it from running; any other block
fails the test.

What the test changes, and only this (SUBSTITUTIONS): `python -m devnet up` gets `--executor
subprocess`, so that the user guide's functions run as processes rather than in containers, which
is faster and needs no image build; the user guide is the same either way.

The operator guide starts servers on fixed ports (9000, 8001, 8002), as a reader would: it runs in
a network namespace of its own (`unshare -rn`), where those ports are free whatever else runs on
the machine. Run with `-s` to see what each file ran.
"""

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devnet import network
from tests.docs.blocks import Block, read_blocks

REPO = Path(__file__).resolve().parents[2]
DOCS = ["README.md", "docs/user-guide.md", "docs/operator-guide.md"]
NEEDS_OWN_NETWORK = {"docs/operator-guide.md"}  # fixed ports
BLOCK_TIMEOUT = 240.0
SUBSTITUTIONS = [
    (re.compile(r"^((?:[A-Z_]+=\S+ )*python -m devnet up\b.*)$", re.MULTILINE), r"\1 --executor subprocess"),
]
ENVIRONMENT_DROPPED = ("BACKEND_", "ORCHESTRATOR_", "COMPUTE_", "CELERY_", "DJANGO_", "WORKER_")


@pytest.mark.parametrize("doc", DOCS)
def test_every_block_is_run_or_says_why_not(doc):
    blocks = read_blocks(REPO / doc)

    problems = [problem for block in blocks if (problem := block.problem())]

    assert problems == []


@pytest.mark.timeout(600)
@pytest.mark.parametrize("doc", DOCS)
def test_the_commands_of_the_doc_run(doc, tmp_path):
    blocks = read_blocks(REPO / doc)
    assert [problem for block in blocks if (problem := block.problem())] == []
    to_run = [block for block in blocks if block.runs]
    if doc in NEEDS_OWN_NETWORK and to_run and not _network_namespaces_work():
        pytest.skip("this doc starts servers on fixed ports and `unshare -rn` is not allowed here")

    started = time.monotonic()
    with Session(tmp_path, own_network=doc in NEEDS_OWN_NETWORK) as session:
        for block in to_run:
            ok, output, seconds = session.run(block)
            print(f"{block.where} ({block.language}, {seconds:.1f} s)")
            assert ok, f"{block.where}: the {block.language} block failed:\n{block.code}\n--- output\n{output}"
        print(summary(doc, blocks, time.monotonic() - started))

    # A reader who follows the doc to its end has nothing left running: the doc stops what it starts.
    assert session.left_running == [], f"{doc} left processes running: {session.left_running}"


def test_the_substitutions_apply_to_the_user_guide():
    code = "".join(block.code for block in read_blocks(REPO / "docs/user-guide.md") if block.runs)

    assert "python -m devnet up --orgs 3 --state-dir .devnet --executor subprocess" in substituted(code)
    assert 'BACKEND_SERVER_DATA_ROOTS="$PWD/server-data" python -m devnet up' in substituted(code)


def substituted(code: str) -> str:
    for pattern, replacement in SUBSTITUTIONS:
        code = pattern.sub(replacement, code)
    return code


def summary(doc: str, blocks: list[Block], seconds: float) -> str:
    ran = [block for block in blocks if block.runs]
    counts = {language: sum(block.language == language for block in ran) for language in ("sh", "python")}
    lines = [f"{doc}: ran {counts['sh']} sh and {counts['python']} python blocks in {seconds:.0f} s"]
    lines += [f"  not run, {block.where}: {block.not_run}" for block in blocks if block.not_run is not None]
    lines += [f"  {block.language}, {block.where}" for block in blocks if not block.runs and block.not_run is None]
    return "\n".join(lines)


def _network_namespaces_work() -> bool:
    try:
        result = subprocess.run(["unshare", "-rn", "ip", "link", "set", "lo", "up"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


class Session:
    """tests/docs/session.py in a folder of `tmp_path` that stands for the root of the clone; on
    exit, everything it started is stopped: its process group, and any devnet it recorded."""

    def __init__(self, tmp_path: Path, own_network: bool):
        self.root = tmp_path
        self.work = tmp_path / "clone"
        self.work.mkdir()
        for name in ("manage.py", ".venv"):
            (self.work / name).symlink_to(REPO / name)
        (tmp_path / "tmp").mkdir()
        self.log = tmp_path / "session.log"
        self.left_running: list[str] = []
        command = [sys.executable, "-m", "tests.docs.session", "--log", str(self.log)]
        if own_network:
            command = ["unshare", "-rn", "sh", "-c", 'ip link set lo up && exec "$@"', "session", *command]
        self.process = subprocess.Popen(
            command, cwd=self.work, env=self._environment(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, start_new_session=True,
        )  # fmt: skip

    def _environment(self) -> dict:
        env = {name: value for name, value in os.environ.items() if not name.startswith(ENVIRONMENT_DROPPED)}
        venv_bin = Path(sys.executable).parent
        env.update(
            PATH=f"{venv_bin}{os.pathsep}{env.get('PATH', '')}",
            VIRTUAL_ENV=str(venv_bin.parent),
            PYTHONPATH=str(REPO),
            PYTHONUNBUFFERED="1",
            TMPDIR=str(self.root / "tmp"),
        )
        return env

    def run(self, block: Block) -> tuple[bool, str, float]:
        request = {"language": block.language, "code": substituted(block.code), "where": block.where,
                   "timeout": BLOCK_TIMEOUT}  # fmt: skip
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        if not answer:
            return False, f"the session ended; its log:\n{self._log_tail()}", 0.0
        answer = json.loads(answer)
        return answer["ok"], answer["output"], answer["seconds"]

    def _log_tail(self, lines: int = 60) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=20)
        self.left_running = self._group_members() + self._devnet_processes()
        for recorded in self.root.rglob(network.PROCESSES):
            network.down(recorded.parent, grace=3.0)
        self._stop_group()
        shutil.rmtree(self.root / "tmp", ignore_errors=True)

    def _group_members(self) -> list[str]:
        """The live processes of the session's group once the session has ended: what the shell
        left running in the background."""
        members = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == self.process.pid and fields[0] != "Z":
                    members.append((stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip())
        return members

    def _devnet_processes(self) -> list[str]:
        """Processes that a devnet of the session recorded and that `down` has not stopped."""
        return [
            f"{entry['name']} (pid {entry['pid']})"
            for recorded in self.root.rglob(network.PROCESSES)
            for entry in network.Record(recorded.parent).data["processes"]
        ]

    def _stop_group(self) -> None:
        """The session's process group: the shell's background jobs are in it."""
        for signum, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.process.pid, signum)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                try:
                    os.killpg(self.process.pid, 0)
                except ProcessLookupError:
                    return
                time.sleep(0.1)
