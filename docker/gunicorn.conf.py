"""Gunicorn settings of the backend image (`gunicorn -c /app/docker/gunicorn.conf.py`).

Each can be changed with the environment: GUNICORN_CMD_ARGS (any option) or the variables below.
"""

import os

# backend.wsgi, with the static files of the admin and the schema pages (docker/static_wsgi.py).
pythonpath = "/app/docker"
wsgi_app = "static_wsgi:application"

bind = os.environ.get("BACKEND_HTTP_ADDRESS", "0.0.0.0:8000")
# WEB_CONCURRENCY is gunicorn's own variable for the number of worker processes.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads: uploads and file downloads from peers hold a thread for as long as they stream.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# A data sample upload (up to BACKEND_UPLOAD_MAX_BYTES, 1 GiB) may take minutes.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "600"))
graceful_timeout = 30
keepalive = 5
# The root file system is read-only in the chart: the heartbeat files go to /tmp (an emptyDir).
worker_tmp_dir = "/tmp"
# gunicorn's control socket (`gunicornc`) would go to $HOME/.gunicorn, which is /app, read-only.
control_socket = "/tmp/gunicorn.ctl"
accesslog = "-"
errorlog = "-"
