"""The orchestrator's Prometheus metrics, served on ORCHESTRATOR_METRICS_PORT (off when unset).

`MeasureRequests` (a gRPC server interceptor) counts every call by method and status code, and
times it and the database time it spent; the ledger code calls `count_transition` and
`count_events`. The names are listed in docs/operator-guide.md ("Metrics")."""

import time

import grpc
from django.db import connection
from prometheus_client import REGISTRY, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily

REQUESTS = Counter("orchestrator_requests_total", "gRPC calls answered", ["method", "code"])
LATENCY = Histogram(
    "orchestrator_request_seconds",
    "gRPC call duration (a stream: until its end)",
    ["method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 600),
)
DATABASE_TIME = Histogram(
    "orchestrator_database_seconds",
    "database time spent by one gRPC call",
    ["method"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5),
)
TRANSITIONS = Counter("orchestrator_task_transitions_total", "task actions applied", ["action"])
FUNCTION_ACTIONS = Counter(
    "orchestrator_function_actions_total", "function actions applied (builds started, ready, failed)", ["action"]
)
FAILURES = Counter(
    "orchestrator_failures_total", "failure reports: failed tasks and function builds", ["asset_kind", "error_type"]
)
OPEN_STREAMS = Gauge("orchestrator_open_event_streams", "event subscriptions being served")


class EventsWritten:
    """`orchestrator_events_written_total{channel}`: each channel head's position, read at scrape
    time. The ledger's positions are gap-free, so the head is the count of events ever written,
    by every path (the fast SQL functions write events without Python seeing them)."""

    def collect(self):
        from orchestrator.models import ChannelHead

        family = CounterMetricFamily("orchestrator_events_written", "ledger events written", labels=["channel"])
        try:
            for channel, position in ChannelHead.objects.values_list("channel", "position"):
                family.add_metric([channel], position)
        finally:
            connection.close()  # the scrape's thread keeps no connection
        yield family


def serve_metrics(port: int) -> None:
    """Serves /metrics on `port` from a thread of its own."""
    REGISTRY.register(EventsWritten())
    start_http_server(port)


def count_transition(action: str) -> None:
    TRANSITIONS.labels(action).inc()


def count_function_action(action: str) -> None:
    FUNCTION_ACTIONS.labels(action).inc()


def count_failure(asset_kind: str, error_type: str) -> None:
    FAILURES.labels(asset_kind, error_type).inc()


class _DatabaseTimer:
    """A `connection.execute_wrapper`: adds up the time of the queries of this thread's call."""

    def __init__(self):
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started


class MeasureRequests(grpc.ServerInterceptor):
    """Counts and times every call. A servicer runs its call in one thread of the pool, so the
    database time of the call is what that thread's connection spent meanwhile."""

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None:
            return handler
        method = handler_call_details.method.rsplit("/", 1)[-1]
        if handler.unary_unary is not None:
            return handler._replace(unary_unary=_measured_unary(method, handler.unary_unary))
        if handler.unary_stream is not None:
            return handler._replace(unary_stream=_measured_stream(method, handler.unary_stream))
        return handler


def _code_of(context, error: BaseException | None) -> str:
    code = context.code() if hasattr(context, "code") else None
    if isinstance(code, grpc.StatusCode):
        return code.name
    return "UNKNOWN" if error is not None and not isinstance(error, grpc.RpcError) else "OK"


def _measured_unary(method: str, behaviour):
    def call(request, context):
        timer, started, error = _DatabaseTimer(), time.perf_counter(), None
        try:
            with connection.execute_wrapper(timer):
                return behaviour(request, context)
        except BaseException as raised:  # context.abort raises: its code is on the context
            error = raised
            raise
        finally:
            _observe(method, _code_of(context, error), time.perf_counter() - started, timer.seconds)

    return call


def _measured_stream(method: str, behaviour):
    def call(request, context):
        started, error = time.perf_counter(), None
        OPEN_STREAMS.inc()
        try:
            yield from behaviour(request, context)
        except BaseException as raised:
            error = raised
            raise
        finally:
            OPEN_STREAMS.dec()
            _observe(method, _code_of(context, error), time.perf_counter() - started, None)

    return call


def _observe(method: str, code: str, seconds: float, database_seconds: float | None) -> None:
    REQUESTS.labels(method, code).inc()
    LATENCY.labels(method).observe(seconds)
    if database_seconds is not None:
        DATABASE_TIME.labels(method).observe(database_seconds)
