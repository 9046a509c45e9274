# The orchestrator: python -m orchestrator serve|migrate. Build from the repository root:
#   docker build -f docker/orchestrator.Dockerfile -t substra-orchestrator .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ORCHESTRATOR_DATA_DIR=/var/lib/orchestrator

WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY orchestrator/ orchestrator/
COPY orchestrator_client/ orchestrator_client/

# `migrate` creates ORCHESTRATOR_DATA_DIR (it also holds the SQLite file of the embedded mode).
RUN groupadd --system --gid 10001 orchestrator \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /app orchestrator \
    && mkdir -p /var/lib/orchestrator \
    && chown orchestrator:orchestrator /var/lib/orchestrator

# Numeric, so that Kubernetes can check runAsNonRoot.
USER 10001:10001

EXPOSE 9000
ENTRYPOINT ["python", "-m", "orchestrator"]
CMD ["serve"]
