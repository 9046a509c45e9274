"""The event consumer's Prometheus metrics, served by `manage.py consume_events` on
BACKEND_CONSUMER_METRICS_PORT (off when 0). The names are listed in docs/operator-guide.md.

The consumer tells `channel_read` and `events_applied` what it verified and applied; the lag is
computed when the metrics are read, so that it keeps growing while the consumer is stuck."""

import threading
import time
from dataclasses import dataclass

from prometheus_client import REGISTRY, Counter, Histogram, start_http_server
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
