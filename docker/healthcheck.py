"""The HEALTHCHECK of both images: what it checks depends on the command the container runs (PID 1).

    orchestrator serve      a TCP connection to its port (it speaks only mutual TLS, and has no
                            health service: a connection is all a probe without a certificate gets)
    gunicorn / runserver    200 from the backend's /health/, under BACKEND_URL_PREFIX (Django answers
                            and its database too)
    celery worker           `celery inspect ping` of this worker, when the broker is Redis (the
                            filesystem broker of the embedded mode has no broadcast)
    anything else           healthy while it runs (migrate, consume_events, create_admin, ...)

Standard library only, and at most a few seconds: Docker and Kubernetes run it every 30 to 60 s.
"""

import http.client
import os
import socket
import subprocess
import sys


def command() -> list[str]:
    with open("/proc/1/cmdline", "rb") as file:
        return [arg.decode(errors="replace") for arg in file.read().split(b"\0") if arg]


def port_of(address: str, default: int) -> int:
    _, _, port = address.rpartition(":")
    return int(port) if port.isdigit() else default


def orchestrator_answers() -> None:
    port = port_of(os.environ.get("ORCHESTRATOR_ADDRESS", ""), 9000)
    socket.create_connection(("127.0.0.1", port), timeout=3).close()


def django_answers(argv: list[str]) -> None:
    port = 8000
    for index, arg in enumerate(argv):
        if arg in ("-b", "--bind") and index + 1 < len(argv):
            port = port_of(argv[index + 1], port)
        elif arg.startswith("--bind="):
            port = port_of(arg.partition("=")[2], port)
    port = port_of(os.environ.get("BACKEND_HTTP_ADDRESS", ""), port)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    # Under BACKEND_URL_PREFIX (the web frontend's /api) like every other route.
    prefix = "/" + os.environ.get("BACKEND_URL_PREFIX", "").strip("/")
    connection.request("GET", prefix.rstrip("/") + "/health/", headers={"Host": "localhost"})
    status = connection.getresponse().status
    if status != 200:
        sys.exit(f"the backend's /health/ answered {status}")


def worker_answers() -> None:
    if not os.environ.get("CELERY_BROKER_URL", "").startswith(("redis://", "rediss://")):
        return
    node = f"celery@{socket.gethostname()}"
    subprocess.run(
        ["celery", "-A", "backend", "inspect", "ping", "--destination", node, "--timeout", "10"],
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=30,
    )


def main() -> None:
    argv = command()
    words = " ".join(argv)
    if "orchestrator" in words and "serve" in argv:
        orchestrator_answers()
    elif "gunicorn" in words or "runserver" in argv:
        django_answers(argv)
    elif "celery" in words and "worker" in argv:
        worker_answers()


if __name__ == "__main__":
    try:
        main()
    except (OSError, subprocess.SubprocessError, http.client.HTTPException) as error:
        sys.exit(f"unhealthy: {error}")
