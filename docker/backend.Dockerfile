# An organization's backend: one image for its three processes, chosen by the command.
#   API server       gunicorn -c /app/docker/gunicorn.conf.py   (the default command: backend.wsgi)
#   event consumer   python manage.py consume_events
#   worker           celery -A backend worker -Q <org>.compute,<org>.builds
#   administration   python manage.py migrate | create_admin | add_peer ...
# Build from the repository root:
#   docker build -f docker/backend.Dockerfile -t substra-backend:0.1.0 .
# (`make images` builds both images.) Two stages, as in orchestrator.Dockerfile: the pinned
# packages go into a virtual environment that the second stage copies; no compiler anywhere.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS install
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements.txt /tmp/
# Every pin of requirements.txt, less those that only the demo and the examples use (plots).
# numpy and substratools stay: the worker's subprocess executor runs functions with them.
RUN grep -vE '^(matplotlib)==' /tmp/requirements.txt > /tmp/backend-requirements.txt \
    && python -m venv --without-pip /opt/venv \
    && pip --python /opt/venv/bin/python install --only-binary=:all: -r /tmp/backend-requirements.txt

FROM ${BASE_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=backend.settings \
    BACKEND_DATA_DIR=/var/lib/backend
COPY --from=install /opt/venv /opt/venv

WORKDIR /app
COPY manage.py ./
COPY backend/ backend/
COPY substrapp/ substrapp/
COPY console/ console/
COPY compute/ compute/
COPY orchestrator_client/ orchestrator_client/
COPY docker/healthcheck.py docker/gunicorn.conf.py docker/static_wsgi.py docker/
# Static files of the admin and the schema pages, collected at build time and served by
# WhiteNoise in front of Django (docker/static_wsgi.py); byte-compiled code, since the root file system is read-only in the
# chart. collectstatic needs settings: a throw-away data directory and secret key.
RUN BACKEND_DATA_DIR=/tmp/build BACKEND_SECRET_KEY=build-only python manage.py collectstatic --noinput -v 0 \
    && mv /tmp/build/static /app/static && rm -rf /tmp/build \
    && python -m compileall -q backend substrapp console compute orchestrator_client docker \
    && groupadd --gid 10001 backend \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /app --shell /usr/sbin/nologin backend \
    && mkdir -p /var/lib/backend \
    && chown backend:backend /var/lib/backend

# Numeric, so that Kubernetes can check runAsNonRoot. The worker reaches a Docker engine through
# DOCKER_HOST (a Docker-in-Docker sidecar's socket, or the node's): the socket's group must let
# uid 10001 in (the chart's sidecar makes the socket group 10001).
USER 10001:10001

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=40s --start-period=30s --retries=3 CMD ["python", "/app/docker/healthcheck.py"]
CMD ["gunicorn", "-c", "/app/docker/gunicorn.conf.py"]
