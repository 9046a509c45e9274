"""A warm interpreter for a Python function: imports the libraries its script imports once, then
runs each task as a fresh fork of itself.

Runs inside the plan's container on the image's own python3, as the image's user (or, for the
subprocess executor, as a process of the worker), so it uses the standard library only and
imports neither Django nor Celery. It never runs the function's own code: only the imports at
the top of its script, of modules that are not the function's own files.

    python3 forkserver.py --socket DIR/server.sock [--private-tmp] script.py [entrypoint args...]

Protocol, on a unix socket (one connection a task): the client sends one JSON line
`{"args": [...], "env": {...}}` with the task's log file as a passed descriptor; the server
answers `started PID` then, when the task ends, `exit CODE` (128 + n when killed by signal n,
as `docker exec` says). The client closing the connection kills the task's process group: that
is how a task is cancelled, and a worker that dies takes its task with it.

Each task is a fork of the server: a new session (its process group is killed, stragglers
included, when it ends), default signal handlers, its log as stdout and stderr, the entrypoint's
arguments as sys.argv, and the script run as `__main__` with runpy. With --private-tmp (in a
container), /tmp is emptied whenever the server has no task running, before it answers `exit`:
a file one task leaves in /tmp is not there for the next.
"""

import argparse
import ast
import contextlib
import ctypes
import fcntl
import importlib
import json
import os
import runpy
import selectors
import shutil
import signal
import socket
import sys
import traceback

LOCK = "server.lock"
PID = "server.pid"


def top_level_imports(script: str) -> list[str]:
    """The modules the script imports at its top level (inside `if` and `try` blocks too)."""
    with open(script, "rb") as file:
        tree = ast.parse(file.read(), script)
    names: list[str] = []
    statements = list(tree.body)
    while statements:
        statement = statements.pop(0)
        if isinstance(statement, ast.Import):
            names += [alias.name for alias in statement.names]
        elif isinstance(statement, ast.ImportFrom) and statement.module and not statement.level:
            names.append(statement.module)
        elif isinstance(statement, (ast.If, ast.Try)):
            statements += statement.body + statement.orelse + getattr(statement, "finalbody", [])
    return names


def warm_up(script: str) -> None:
    """Imports the script's libraries. Its own folder is not on sys.path yet: the function's own
    modules are left to each task (their import runs the user's code)."""
    for name in top_level_imports(script):
        with contextlib.suppress(BaseException):
            importlib.import_module(name)


def bind(path: str) -> socket.socket:
    """Listens at `path` through /proc/self/fd, which keeps it under the 108 bytes of a socket
    address however deep the folder is."""
    folder = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY | os.O_DIRECTORY)
    short = f"/proc/self/fd/{folder}/{os.path.basename(path)}"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(short)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(short)
    os.chmod(short, 0o777)  # the worker may run as another uid than the image's user
    server.listen(64)
    return server


def only_server(path: str):
    """An exclusive lock beside the socket: a second server (another worker process started one
    at the same time) leaves. Held until this process ends."""
    lock = open(os.path.join(os.path.dirname(os.path.abspath(path)), LOCK), "a")
    with contextlib.suppress(OSError):
        os.chmod(lock.name, 0o666)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        sys.exit(0)
    return lock


class Server:
    def __init__(self, listener: socket.socket, script: str, entry_args: list[str], private_tmp: bool):
        self.listener = listener
        self.script = os.path.abspath(script)
        self.entry_args = entry_args
        self.private_tmp = private_tmp
        self.selector = selectors.DefaultSelector()
        self.tasks: dict[int, tuple[socket.socket, int]] = {}  # pidfd -> (connection, pid)

    def serve(self, parent: int) -> None:
        """Until killed, or until `parent` (when given) is no longer its parent."""
        self.selector.register(self.listener, selectors.EVENT_READ, self.accept)
        while not parent or os.getppid() == parent:
            for key, _ in self.selector.select(timeout=1.0):
                key.data(key.fileobj)

    def accept(self, listener) -> None:
        connection, _ = listener.accept()
        try:
            request, log = self.read_request(connection)
        except (OSError, ValueError):
            connection.close()
            return
        try:
            pid = self.fork_task(request, log)
        except OSError:  # no fork (the container's process limit): the client runs it another way
            connection.close()
            return
        finally:
            os.close(log)
        pidfd = os.pidfd_open(pid)
        self.tasks[pidfd] = (connection, pid)
        self.selector.register(pidfd, selectors.EVENT_READ, self.task_ended)
        self.selector.register(connection, selectors.EVENT_READ, self.client_spoke)
        with contextlib.suppress(OSError):
            connection.sendall(f"started {pid}\n".encode())

    @staticmethod
    def read_request(connection: socket.socket) -> tuple[dict, int]:
        connection.settimeout(10)
        data, fds, _, _ = socket.recv_fds(connection, 65536, 1)
        while not data.endswith(b"\n"):
            more = connection.recv(65536)
            if not more:
                raise ValueError("the request ended early")
            data += more
        connection.settimeout(None)
        if len(fds) != 1:
            for fd in fds:
                os.close(fd)
            raise ValueError("a request passes its log file")
        request = json.loads(data)
        valid = (
            isinstance(request, dict)
            and all(isinstance(arg, str) for arg in request.get("args", []))
            and all(isinstance(k, str) and isinstance(v, str) for k, v in (request.get("env") or {}).items())
        )
        if not valid:
            os.close(fds[0])
            raise ValueError("a request is {args: [str], env: {str: str}}")
        return request, fds[0]

    def fork_task(self, request: dict, log: int) -> int:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            run_task(self.script, [*self.entry_args, *request.get("args", [])], request.get("env") or {}, log)
        return pid

    def client_spoke(self, connection: socket.socket) -> None:
        """The client only ever closes its end: the task is cancelled, or its worker died."""
        with contextlib.suppress(OSError):
            if connection.recv(1):
                return
        for pidfd, (task_connection, pid) in list(self.tasks.items()):
            if task_connection is connection:
                self.selector.unregister(connection)
                # The task is a zombie at worst until task_ended reaps it: its group is its own.
                with contextlib.suppress(OSError):
                    os.killpg(pid, signal.SIGKILL)
                self.tasks[pidfd] = (None, pid)
                connection.close()

    def task_ended(self, pidfd: int) -> None:
        connection, pid = self.tasks.pop(pidfd)
        self.selector.unregister(pidfd)
        # Whatever the task started goes with it, while its pid still names its group.
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        os.close(pidfd)
        if self.private_tmp and not self.tasks:
            empty_tmp()
        if connection is None:
            return
        self.selector.unregister(connection)
        code = os.waitstatus_to_exitcode(status)
        with contextlib.suppress(OSError):
            connection.sendall(f"exit {128 - code if code < 0 else code}\n".encode())
        connection.close()


def empty_tmp() -> None:
    for name in os.listdir("/tmp"):
        path = os.path.join("/tmp", name)
        if os.path.isdir(path) and not os.path.islink(path):
            for folder, _, _ in os.walk(path):  # a task may have left read-only folders
                with contextlib.suppress(OSError):
                    os.chmod(folder, 0o700)
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(path)


def run_task(script: str, args: list[str], env: dict, log: int) -> None:
    """In the fork: becomes the task, then exits with its code; never returns to the server."""
    code = 1
    try:
        die_with(os.getppid())
        os.setsid()
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP):
            signal.signal(number, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        # Nothing of the server's (its socket, the other tasks' connections, its lock) is the task's.
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        os.environ.update(env)
        sys.argv = [script, *args]
        sys.path.insert(0, os.path.dirname(script))
        code = run_script(script)
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def die_with(server: int) -> None:
    """The task is killed if its server dies (its session would otherwise outlive it)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != server:
        os._exit(137)


def run_script(script: str) -> int:
    """Runs the script as `python script.py` would, and its exit code."""
    try:
        runpy.run_path(script, run_name="__main__")
        code = 0
    except SystemExit as exit_:
        code = exit_code_of(exit_)
    except BaseException:
        traceback.print_exc()
        code = 1
    import atexit
    import threading

    with contextlib.suppress(BaseException):
        threading._shutdown()  # like the interpreter's end: wait for the script's other threads
    with contextlib.suppress(BaseException):
        atexit._run_exitfuncs()
    return code


def exit_code_of(exit_: SystemExit) -> int:
    if exit_.code is None:
        return 0
    if isinstance(exit_.code, int):
        return exit_.code & 0xFF
    print(exit_.code, file=sys.stderr)
    return 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--socket", required=True)
    parser.add_argument("--private-tmp", action="store_true")
    parser.add_argument("--parent", type=int, default=0, help="leave when this process is no longer the parent")
    parser.add_argument("script")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args()
    if not hasattr(os, "pidfd_open") or not hasattr(socket, "recv_fds"):
        sys.exit("the fork server needs Python 3.9 or later on Linux 5.3 or later")
    lock = only_server(options.socket)  # noqa: F841 (held for the life of the server)
    del sys.path[0]  # this file's folder: the function's modules must not resolve against it
    warm_up(options.script)
    listener = bind(options.socket)
    with open(os.path.join(os.path.dirname(os.path.abspath(options.socket)), PID), "w") as file:
        file.write(str(os.getpid()))
    Server(listener, options.script, options.args, options.private_tmp).serve(options.parent)


if __name__ == "__main__":
    main()
