"""Gunicorn settings of the backend image (`gunicorn -c /app/docker/gunicorn.conf.py`).

Each can be changed with the environment: GUNICORN_CMD_ARGS (any option) or the variables below.
"""

import os
from pathlib import Path

# backend.wsgi, with the static files of the admin and the schema pages (docker/static_wsgi.py,
# beside this file: /app/docker in the image, docker/ of the repository on the devnet).
pythonpath = str(Path(__file__).resolve().parent)
wsgi_app = "static_wsgi:application"

bind = os.environ.get("BACKEND_HTTP_ADDRESS", "0.0.0.0:8000")
# WEB_CONCURRENCY is gunicorn's own variable for the number of worker processes.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads: uploads and file downloads from peers hold a thread for as long as they stream.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# Each worker process takes its database connections from a pool of one per thread (read by
# backend/settings.py in the workers, which load the application after the fork), and one per
# thread that writes a registration's rows behind its answer (substrapp/mirror.py SAVERS): a
# request holds its connection while it waits for such a writer. At most workers x (threads +
# 4) connections, back to one per worker when idle, whatever the load.
MIRROR_SAVERS = 4
os.environ.setdefault("BACKEND_DATABASE_POOL_SIZE", str(threads + MIRROR_SAVERS))
# Connections the listen socket queues while every thread is busy; past it, clients are refused
# at connect (they retry), not answered with errors.
backlog = int(os.environ.get("GUNICORN_BACKLOG", "2048"))
# A data sample upload (up to BACKEND_UPLOAD_MAX_BYTES, 1 GiB) may take minutes.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "600"))
graceful_timeout = 30
keepalive = 5
# The root file system is read-only in the chart: the heartbeat files go to /tmp (an emptyDir).
worker_tmp_dir = "/tmp"
# gunicorn's control socket (`gunicornc`) would go to $HOME/.gunicorn, which is /app, read-only.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "/tmp/gunicorn.ctl")
accesslog = "-"
errorlog = "-"

# Prometheus metrics of the API on BACKEND_API_METRICS_PORT (docs/operator-guide.md, "Metrics"):
# each worker writes its own to a folder, the master serves their sum.
metrics_port = int(os.environ.get("BACKEND_API_METRICS_PORT", "0") or 0)
if metrics_port:
    import shutil
    import tempfile

    # Set before any worker imports prometheus_client, and emptied: counts start at zero.
    metrics_dir = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="api-metrics-"))
    shutil.rmtree(metrics_dir, ignore_errors=True)
    os.makedirs(metrics_dir, exist_ok=True)


def post_worker_init(worker):
    from orchestrator_client import heap

    heap.settle()  # the application is loaded: Django, DRF and the URL conf live as long as the worker


def when_ready(server):
    if metrics_port:
        from prometheus_client import CollectorRegistry, multiprocess, start_http_server

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        start_http_server(metrics_port, registry=registry)


def child_exit(server, worker):
    if metrics_port:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
