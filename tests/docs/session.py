"""A reader at a terminal, for the docs test: `python -m tests.docs.session`, in the folder where the
reader works, runs the blocks it is sent one after the other and answers how each went.

Requests come on stdin, one JSON object a line: {"language": "sh" | "python", "code", "where",
"timeout"}. Each answer goes to the original stdout, one JSON object a line: {"ok", "output",
"seconds"}. What the blocks' processes print goes to the session's log (the file of `--log`), since
this process's stdout and stderr are turned to it at start.

- sh blocks run in one bash session (`set -euo pipefail`): variables, functions and background
  jobs carry over from one block to the next, as in a terminal. A failing command ends the
  session: every later block then fails too.
- python blocks run in one namespace, as in an interpreter the reader keeps open.

On the end of stdin, bash's stdin is closed and the session returns; background jobs are left to
whoever started the session (the test kills its process group).
"""

import argparse
import contextlib
import io
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import traceback
import uuid

BASH_PRELUDE = "set -euo pipefail\n"


class Bash:
    def __init__(self):
        self.process = subprocess.Popen(
            ["bash", "--noprofile", "--norc"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, bufsize=0,
        )  # fmt: skip
        self.lines: queue.Queue[bytes | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.process.stdin.write(BASH_PRELUDE.encode())

    def _read(self) -> None:
        for line in iter(self.process.stdout.readline, b""):
            self.lines.put(line)
        self.lines.put(None)

    def run(self, code: str, timeout: float) -> tuple[bool, str]:
        marker = f"__block_done_{uuid.uuid4().hex}__"
        try:
            self.process.stdin.write(f"{code}\nprintf '\\n%s\\n' {marker}\n".encode())
        except BrokenPipeError:
            return False, "(the shell had already exited: an earlier block failed)\n"
        output, deadline = [], time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return False, "".join(output) + f"\n(no end after {timeout:.0f} s)\n"
            if line is None:
                status = self.process.wait()
                return False, "".join(output) + f"\n(the shell exited with status {status})\n"
            text = line.decode(errors="replace")
            if text.strip() == marker:
                if output and output[-1] == "\n":
                    output.pop()  # the newline printed before the marker
                return True, "".join(output)
            output.append(text)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)


class Python:
    def __init__(self):
        self.namespace = {"__name__": "__main__"}

    def run(self, code: str, where: str, timeout: float) -> tuple[bool, str]:
        captured = io.StringIO()

        def too_long(signum, frame):
            raise TimeoutError(f"no end after {timeout:.0f} s")

        previous = signal.signal(signal.SIGALRM, too_long)
        signal.alarm(max(1, round(timeout)))
        try:
            with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
                exec(compile(code, where, "exec"), self.namespace)  # the docs' own code
            return True, captured.getvalue()
        except BaseException:
            return False, captured.getvalue() + traceback.format_exc()
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", required=True)
    arguments = parser.parse_args()
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    log = os.open(arguments.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    sys.stdout = os.fdopen(1, "w", buffering=1)
    sys.stderr = os.fdopen(2, "w", buffering=1)

    bash, python = Bash(), Python()
    for request in sys.stdin:
        block = json.loads(request)
        started = time.monotonic()
        print(f"\n===== {block['where']} ({block['language']})\n{block['code']}", flush=True)
        if block["language"] == "sh":
            ok, output = bash.run(block["code"], block["timeout"])
        else:
            ok, output = python.run(block["code"], block["where"], block["timeout"])
        print(output, flush=True)
        answers.write(json.dumps({"ok": ok, "output": output, "seconds": time.monotonic() - started}) + "\n")
    bash.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
