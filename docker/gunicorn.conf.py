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
# backend/settings.py in the workers, which load the application after the fork): at most
# workers x threads connections, back to one per worker when idle, whatever the load.
os.environ.setdefault("BACKEND_DATABASE_POOL_SIZE", str(threads))
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
