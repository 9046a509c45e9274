# The two commands a new user needs: `make demo` and `make test`. Both install what they need.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PROTOS := orchestrator_client/pb/assets.proto orchestrator_client/pb/service.proto

.PHONY: install services lint test test-faults protos demo bench-orchestrator bench-backend images charts-check bench-fedavg bench-console clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

services:
	scripts/ensure-services
	scripts/ensure-docker
	scripts/ensure-chromium

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DJANGO_SETTINGS_MODULE=orchestrator.settings ORCHESTRATOR_DATA_DIR=$$(mktemp -d) \
		$(BIN)/python -m django makemigrations orchestrator --check --dry-run
	DJANGO_SETTINGS_MODULE=backend.settings BACKEND_DATA_DIR=$$(mktemp -d) \
		$(BIN)/python -m django makemigrations substrapp --check --dry-run
	DJANGO_SETTINGS_MODULE=backend.settings BACKEND_DATA_DIR=$$(mktemp -d) \
		$(BIN)/python -m django spectacular --validate --fail-on-warn --file /dev/null

test: install services lint charts-check
	$(BIN)/python -m pytest

# Kills and restarts processes and services of a live devnet on a running plan (tests/faults/):
# a few minutes; its PostgreSQL and Redis are private, the machine's are never touched.
test-faults: install services
	scripts/ensure-docker
	$(BIN)/python -m pytest tests/faults -m faults -v -s

protos: install
	$(BIN)/python -m grpc_tools.protoc -I. --python_out=. --pyi_out=. --grpc_python_out=. $(PROTOS)

# FedAvg on an embedded three-organization network; DEMO_ARGS="--executor subprocess" (see --help).
demo: install
	@$(BIN)/python -m examples.demo $(DEMO_ARGS)

bench-orchestrator: install services
	$(BIN)/python benchmarks/orchestrator.py

bench-backend: install services
	$(BIN)/python benchmarks/backend.py

# The console's list pages and its 10,000-task workflow graph in headless chromium (docs/console.md).
bench-console: install services
	$(BIN)/python benchmarks/console.py

bench-fedavg: install
	$(BIN)/python benchmarks/fedavg.py

# The orchestrator's and the backend's images (docker/), built on the local python:3.11-slim that
# scripts/ensure-docker makes; tagged with the project's version, the charts' appVersion.
IMAGE_TAG ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
images:
	scripts/ensure-docker
	docker build -f docker/orchestrator.Dockerfile -t substra-orchestrator:$(IMAGE_TAG) .
	docker build -f docker/backend.Dockerfile -t substra-backend:$(IMAGE_TAG) .
	@docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' substra-orchestrator:$(IMAGE_TAG)
	@docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' substra-backend:$(IMAGE_TAG)

# Renders both charts, with their defaults and with charts/examples/, through Helm's own engine
# (helm-python-sdk: no helm binary is installable here) and validates every manifest against the
# Kubernetes schemas, offline (kubernetes-validate). A few seconds.
charts-check: install
	$(BIN)/python charts/check.py

clean:
	rm -rf $(VENV) .pytest_cache .orchestrator .backend
