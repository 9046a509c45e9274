# The orchestrator: `python -m orchestrator serve|migrate`. Build from the repository root:
#   docker build -f docker/orchestrator.Dockerfile -t substra-orchestrator:0.1.0 .
# (`make images` builds both images.) Two stages: the first installs the pinned packages into a
# virtual environment, the second copies it onto a clean base, so nothing used to install (pip's
# caches, wheels, build tools) is in the image. Every package here is a binary wheel: no compiler
# is needed, and none is in either stage.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS install
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements.txt /tmp/requirements.txt
# The orchestrator's share of the pinned requirements: Django (ORM and migrations), its settings
# reader, the PostgreSQL driver, gRPC and protobuf, and cryptography (certificates). The count
# check makes a renamed pin fail the build instead of silently leaving a package out.
RUN grep -E '^(Django|django-environ|psycopg\[binary\]|grpcio|protobuf|cryptography)==' /tmp/requirements.txt \
        > /tmp/orchestrator-requirements.txt \
    && test "$(wc -l < /tmp/orchestrator-requirements.txt)" -eq 6 \
    && python -m venv --without-pip /opt/venv \
    && pip --python /opt/venv/bin/python install --only-binary=:all: -r /tmp/orchestrator-requirements.txt

FROM ${BASE_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ORCHESTRATOR_DATA_DIR=/var/lib/orchestrator
COPY --from=install /opt/venv /opt/venv

WORKDIR /app
COPY orchestrator/ orchestrator/
COPY orchestrator_client/ orchestrator_client/
COPY docker/healthcheck.py docker/healthcheck.py
# Byte-compiled at build time: the root file system is read-only in the chart.
RUN python -m compileall -q orchestrator orchestrator_client \
    && groupadd --gid 10001 orchestrator \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /app --shell /usr/sbin/nologin orchestrator \
    && mkdir -p /var/lib/orchestrator \
    && chown orchestrator:orchestrator /var/lib/orchestrator

# Numeric, so that Kubernetes can check runAsNonRoot.
USER 10001:10001

EXPOSE 9000
# A TCP connection to the gRPC port: the service speaks only mutual TLS and has no health service.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["python", "/app/docker/healthcheck.py"]
ENTRYPOINT ["python", "-m", "orchestrator"]
CMD ["serve"]
