"""The event consumer's Prometheus metrics, served by `manage.py consume_events` on
BACKEND_CONSUMER_METRICS_PORT (off when 0). The names are listed in docs/operator-guide.md.

The consumer tells `channel_read` and `events_applied` what it verified and applied; the lag is
computed when the metrics are read, so that it keeps growing while the consumer is stuck."""

import contextlib
import threading
import time
from dataclasses import dataclass

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily

from orchestrator_client.chain import ChainVerifier

EVENTS_APPLIED = Counter("substra_consumer_events_applied_total", "ledger events applied to the mirror", ["channel"])
RESTARTS = Counter(
    "substra_consumer_restarts_total", "subscriptions started again after an error (a stall, a lost connection)",
    ["channel"],
)  # fmt: skip


@dataclass
class _Progress:
    applied: int = 0  # position of the last event applied
    applied_event_time: float = 0.0  # when the orchestrator wrote it (epoch seconds)
    verified: int = 0  # position of the last event read and checked against the hash chain


_progress: dict[str, _Progress] = {}
_lock = threading.Lock()


def following(channel: str, cursor) -> None:
    """A subscription starts from the kept cursor (at start, after an error): until an event is
    applied, the last applied one is the cursor's, moved at `cursor.updated_at`."""
    with _lock:
        known = _progress.get(channel)
        if known is None or known.applied != cursor.position:  # else: a restart, still behind as it was
            _progress[channel] = _Progress(cursor.position, cursor.updated_at.timestamp(), cursor.position)


def channel_read(channel: str, verifier: ChainVerifier) -> None:
    """After each wait for events: how far the chain is verified (events read, maybe not applied)."""
    with _lock:
        _progress.setdefault(channel, _Progress()).verified = verifier.position


def events_applied(channel: str, events: list) -> None:
    EVENTS_APPLIED.labels(channel).inc(len(events))
    with _lock:
        progress = _progress.setdefault(channel, _Progress())
        progress.applied = events[-1].position
        progress.verified = max(progress.verified, progress.applied)
        progress.applied_event_time = _epoch(events[-1].timestamp)


def restarted(channel: str) -> None:
    RESTARTS.labels(channel).inc()


def _epoch(timestamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


class ConsumerProgress:
    """Positions and lag per channel, read at scrape time."""

    def collect(self):
        families = {
            "applied": GaugeMetricFamily(
                "substra_consumer_applied_position", "position of the last event applied", labels=["channel"]
            ),
            "verified": GaugeMetricFamily(
                "substra_consumer_verified_position",
                "position of the last event read and checked against the hash chain",
                labels=["channel"],
            ),
            "lag_events": GaugeMetricFamily(
                "substra_consumer_lag_events", "events verified but not applied yet", labels=["channel"]
            ),
            "lag_seconds": GaugeMetricFamily(
                "substra_consumer_lag_seconds",
                "while events wait to be applied: the age of the last event applied; 0 when caught up",
                labels=["channel"],
            ),
        }
        now = time.time()
        with _lock:
            progress = dict(_progress)
        for channel, state in sorted(progress.items()):
            behind = state.verified - state.applied
            lag_seconds = max(0.0, now - state.applied_event_time) if behind > 0 and state.applied_event_time else 0.0
            families["applied"].add_metric([channel], state.applied)
            families["verified"].add_metric([channel], state.verified)
            families["lag_events"].add_metric([channel], behind)
            families["lag_seconds"].add_metric([channel], lag_seconds)
        yield from families.values()


def serve_metrics(port: int) -> None:
    """Serves /metrics on `port` from a thread of its own."""
    REGISTRY.register(ConsumerProgress())
    start_http_server(port)


# The backend API: requests by view and status, and their duration. Gunicorn runs several worker
# processes: docker/gunicorn.conf.py gives them a PROMETHEUS_MULTIPROC_DIR and serves the sum of
# their metrics on BACKEND_API_METRICS_PORT from its master process.

API_REQUESTS = Counter("substra_api_requests_total", "API requests answered", ["view", "method", "status"])
API_LATENCY = Histogram(
    "substra_api_request_seconds",
    "API request duration, until the answer's headers (a streamed file goes on after)",
    ["view", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120),
)


class RequestMetricsMiddleware:
    """Counts and times every request by its route's name (`compute_plan-list`, `task-detail`;
    `unknown` for a path no route matches, so that no caller can make up labels)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = match.view_name if match is not None and match.view_name else "unknown"
        method = request.method if request.method in KNOWN_METHODS else "other"
        API_REQUESTS.labels(view, method, str(response.status_code)).inc()
        API_LATENCY.labels(view, method).observe(time.perf_counter() - started)
        return response


KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


# The worker. Celery runs its tasks in child processes: with BACKEND_WORKER_METRICS_PORT set,
# backend/settings.py gives the worker a PROMETHEUS_MULTIPROC_DIR and the main process serves the
# sum of its children's metrics (`serve_worker_metrics`, on Celery's worker_ready).

WORKER_TASKS = Counter(
    "substra_worker_tasks_total", "compute task messages handled, by outcome (done, failed, cancelled, skipped, held)",
    ["outcome"],
)  # fmt: skip
WORKER_FAILURES = Counter(
    "substra_worker_failures_total", "failures reported by this worker", ["asset_kind", "error_type"]
)
WORKER_STEP_SECONDS = Histogram(
    "substra_worker_step_seconds",
    "duration of each step of a task: prepare_inputs, image, execution, save_outputs",
    ["step"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)
WORKER_RUNNING = Gauge("substra_worker_tasks_running", "compute tasks running now", multiprocess_mode="livesum")
WORKER_BUILDS = Counter("substra_worker_image_builds_total", "function image builds, by outcome", ["outcome"])
WORKER_BUILD_SECONDS = Histogram(
    "substra_worker_image_build_seconds", "function image build time", buckets=(1, 5, 15, 30, 60, 120, 300, 900)
)


@contextlib.contextmanager
def task_running():
    WORKER_RUNNING.inc()
    try:
        yield
    finally:
        WORKER_RUNNING.dec()


def task_ended(outcome: str) -> None:
    WORKER_TASKS.labels(outcome).inc()


def step_took(step: str, seconds: float) -> None:
    WORKER_STEP_SECONDS.labels(step).observe(seconds)


def failure_reported(asset_kind: str, error_type: str) -> None:
    WORKER_FAILURES.labels(asset_kind, error_type).inc()


@contextlib.contextmanager
def image_build():
    started, outcome = time.perf_counter(), "failed"
    try:
        yield
        outcome = "built"
    finally:
        WORKER_BUILDS.labels(outcome).inc()
        WORKER_BUILD_SECONDS.observe(time.perf_counter() - started)


def serve_worker_metrics(port: int, app, queues: list[str]) -> None:
    """In the worker's main process: the sum of its pool's metrics (PROMETHEUS_MULTIPROC_DIR),
    the depth of its queues and, unless functions run as subprocesses, its running containers."""
    from django.conf import settings
    from prometheus_client import CollectorRegistry, multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(QueueDepth(app, queues))
    if settings.COMPUTE_EXECUTOR != "subprocess":
        registry.register(RunningContainers(settings.ORG_ID, settings.COMPUTE_INSTANCE))
    start_http_server(port, registry=registry)


class QueueDepth:
    """`substra_worker_queue_depth{queue}`: messages waiting in the organization's task and build
    queues, asked of the broker when the metrics are read."""

    def __init__(self, app, queues: list[str]):
        self.app, self.queues = app, queues

    def collect(self):
        family = GaugeMetricFamily("substra_worker_queue_depth", "messages waiting in a queue", labels=["queue"])
        try:
            with self.app.connection_for_read() as connection:
                for queue in self.queues:
                    family.add_metric([queue], _depth(connection, queue))
        except Exception:  # the broker away: no sample (the alert sees it missing), not a false 0
            return
        yield family


def _depth(connection, queue: str) -> int:
    from kombu.exceptions import ChannelError

    try:
        return connection.default_channel.queue_declare(queue=queue, passive=True).message_count
    except ChannelError:  # Redis keeps no empty list: a queue it does not know holds nothing
        return 0


class RunningContainers:
    """`substra_worker_running_containers`: this organization's function containers running on
    its Docker engine, found by the labels the Docker executor gives them (compute/executors.py:
    one container per plan and image, from the plan's first task until its end), asked of the
    engine when the metrics are read. `instance` (a devnet's id) tells apart the organizations
    of the same name that several networks run on one engine."""

    def __init__(self, org: str, instance: str = "", client=None):
        from compute.executors import INSTANCE_LABEL

        self.labels = [f"substra.org={org}"] + ([f"{INSTANCE_LABEL}={instance}"] if instance else [])
        self._client = client

    def collect(self):
        try:
            running = self._engine().api.containers(quiet=True, filters={"label": self.labels, "status": "running"})
        except Exception:  # no engine (auto without Docker), or the engine away: no sample, not a false 0
            return
        family = GaugeMetricFamily("substra_worker_running_containers", "function containers running now")
        family.add_metric([], len(running))
        yield family

    def _engine(self):
        if self._client is None:
            import docker  # only where Docker is used

            self._client = docker.from_env(timeout=5)
        return self._client
