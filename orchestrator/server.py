"""The gRPC service: thin servicers that authenticate the caller, call the ledger, and turn its
answers into messages and its errors into gRPC statuses with an `error-code`."""

import contextlib
import functools
import logging
import signal
import sys
import threading
from concurrent import futures
from pathlib import Path

import grpc
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections, connection
from google.protobuf.message import DecodeError

from orchestrator import metrics
from orchestrator.errors import OrchestratorError
from orchestrator.events import ensure_channel_heads, events_after, written_positions
from orchestrator.feed import Feeds, batch_element
from orchestrator.identity import Channels, caller_of
from orchestrator.ledger import computeplans, computetasks, datasets, functions, organizations, outputs
from orchestrator.notifier import listen_postgres
from orchestrator_client import heap
from orchestrator_client.logs import about
from orchestrator_client.pb import assets_pb2 as pb
from orchestrator_client.pb import service_pb2 as api
from orchestrator_client.pb import service_pb2_grpc as rpc

log = logging.getLogger(__name__)

# A batch of 10,000 tasks is about 10 MB on the wire.
MESSAGE_LIMIT = 256 * 1024 * 1024
EVENT_BATCH = 500
STOP_GRACE_S = 5
SWITCH_INTERVAL_S = 0.0005


def enum_name(message, field: str) -> str:
    return message.DESCRIPTOR.fields_by_name[field].enum_type.values_by_number[getattr(message, field)].name


# A lost or refused database connection (a restart, a failover, connections exhausted) is
# temporary: the call is answered UNAVAILABLE, which clients retry, never INTERNAL, which they do
# not (docs/orchestrator.md, "Riding out a database restart").
TEMPORARY_DATABASE_ERRORS = (OperationalError, InterfaceError)


def abort(context, error: OrchestratorError):
    context.set_trailing_metadata((("error-code", error.code),))
    context.abort(error.status, error.message)


def abort_unavailable(context, what: str, error: DatabaseError):
    log.warning("%s: the database is unavailable (%s)", what, error)
    message = f"{what}: the ledger's database is unavailable, retry later"
    abort(context, OrchestratorError("DATABASE_UNAVAILABLE", message))


def drop_broken_connection() -> None:
    """Closes this thread's connection if it broke, so that the next call opens a new one."""
    with contextlib.suppress(DatabaseError):
        connection.close_if_unusable_or_obsolete()


class Servicer:
    def __init__(self, channels: Channels):
        self.channels = channels


def unary(message_type, reports_positions: bool = False):
    """Wraps a servicer method `(self, caller, request)` returning a snapshot dict (or a list).
    With `reports_positions`, the answer's trailing metadata `ledger-positions` names the events
    the call wrote ("first-last", comma-separated): a backend's audit record of a rename or a
    cancel holds the event its own request wrote, not one of another request on the same asset."""

    def decorate(method):
        @functools.wraps(method)
        def handler(self, request, context):
            close_old_connections()
            reported = written_positions.set([]) if reports_positions else None
            try:
                caller = caller_of(context, self.channels)
                answer = message_type(**method(self, caller, request))
                if reported is not None and written_positions.get():
                    ranges = ",".join(f"{first}-{last}" for first, last in written_positions.get())
                    context.set_trailing_metadata((("ledger-positions", ranges),))
                return answer
            except OrchestratorError as error:
                abort(context, error)
            except TEMPORARY_DATABASE_ERRORS as error:
                drop_broken_connection()
                abort_unavailable(context, method.__name__, error)
            except DatabaseError:
                log.exception("%s failed", method.__name__)
                abort(context, OrchestratorError("INTERNAL", f"{method.__name__} failed, nothing was written"))
            finally:
                if reported is not None:
                    written_positions.reset(reported)

        return handler

    return decorate


class OrganizationService(Servicer, rpc.OrganizationServiceServicer):
    @unary(pb.Organization)
    def RegisterOrganization(self, caller, request):
        return organizations.register_organization(caller, request.address)

    @unary(api.OrganizationsResponse)
    def GetAllOrganizations(self, caller, request):
        return {"organizations": organizations.list_organizations(caller)}


class DataManagerService(Servicer, rpc.DataManagerServiceServicer):
    @unary(pb.DataManager)
    def RegisterDataManager(self, caller, request):
        return datasets.register_data_manager(caller, request)

    @unary(pb.DataManager)
    def GetDataManager(self, caller, request):
        return datasets.get_data_manager(caller, request.key)

    @unary(pb.DataManager, reports_positions=True)
    def UpdateDataManager(self, caller, request):
        return datasets.rename_data_manager(caller, request.key, request.name)


class DataSampleService(Servicer, rpc.DataSampleServiceServicer):
    @unary(api.DataSamplesResponse)
    def RegisterDataSamples(self, caller, request):
        return {"data_samples": datasets.register_data_samples(caller, request.samples)}

    @unary(api.DataSamplesResponse, reports_positions=True)
    def LinkDataSamples(self, caller, request):
        samples = datasets.link_data_samples(caller, request.data_manager_keys, request.data_sample_keys)
        return {"data_samples": samples}

    @unary(pb.DataSample)
    def GetDataSample(self, caller, request):
        return datasets.get_data_sample(caller, request.key)


class FunctionService(Servicer, rpc.FunctionServiceServicer):
    @unary(pb.Function)
    def RegisterFunction(self, caller, request):
        return functions.register_function(caller, request)

    @unary(pb.Function)
    def GetFunction(self, caller, request):
        return functions.get_function(caller, request.key)

    @unary(pb.Function, reports_positions=True)
    def UpdateFunction(self, caller, request):
        return functions.rename_function(caller, request.key, request.name)

    @unary(pb.Function)
    def ApplyFunctionAction(self, caller, request):
        action = enum_name(request, "action")
        function = functions.apply_function_action(caller, request.key, action, request.image)
        metrics.count_function_action(action)
        return function


class ComputePlanService(Servicer, rpc.ComputePlanServiceServicer):
    @unary(pb.ComputePlan)
    def RegisterComputePlan(self, caller, request):
        return computeplans.register_compute_plan(caller, request)

    @unary(pb.ComputePlan)
    def GetComputePlan(self, caller, request):
        return computeplans.get_compute_plan(caller, request.key)

    @unary(pb.ComputePlan, reports_positions=True)
    def UpdateComputePlan(self, caller, request):
        return computeplans.rename_compute_plan(caller, request.key, request.name)

    @unary(pb.ComputePlan, reports_positions=True)
    def CancelComputePlan(self, caller, request):
        return computeplans.cancel_compute_plan(caller, request.key)


class ComputeTaskService(Servicer, rpc.ComputeTaskServiceServicer):
    @unary(api.RegisterTasksResponse)
    def RegisterTasks(self, caller, request):
        return {"tasks": computetasks.register_tasks(caller, request.tasks)}

    @unary(pb.ComputeTask)
    def GetTask(self, caller, request):
        return computetasks.get_task(caller, request.key)

    @unary(pb.ComputeTask)
    def ApplyTaskAction(self, caller, request):
        action = enum_name(request, "action")
        task = computetasks.apply_task_action(caller, request.key, action, request.models, request.performances)
        with about(task=request.key, plan=task.get("compute_plan_key"), organization=caller.org):
            log.info("task %s: %s, now %s", request.key, action, task.get("status"))
        metrics.count_transition(action)
        return task


class OutputService(Servicer, rpc.OutputServiceServicer):
    @unary(api.ModelsResponse)
    def RegisterModels(self, caller, request):
        return {"models": outputs.register_models(caller, request.models)}

    @unary(pb.Model)
    def GetModel(self, caller, request):
        return outputs.get_model(caller, request.key)

    @unary(pb.Model)
    def DisableModel(self, caller, request):
        return outputs.disable_model(caller, request.key)

    @unary(pb.Performance)
    def RegisterPerformance(self, caller, request):
        return outputs.register_performance(caller, request)

    @unary(pb.FailureReport)
    def RegisterFailureReport(self, caller, request):
        kind, error_type = enum_name(request, "asset_kind"), enum_name(request, "error_type")
        report = outputs.register_failure_report(caller, request, kind, error_type)
        metrics.count_failure(kind, error_type)
        return report

    @unary(pb.FailureReport)
    def GetFailureReport(self, caller, request):
        return outputs.get_failure_report(caller, request.key)


class EventService(Servicer, rpc.EventServiceServicer):
    def __init__(self, channels: Channels, poll_interval: float, max_streams: int):
        super().__init__(channels)
        self.poll_interval = poll_interval
        self.feeds = Feeds(poll_interval)
        # Each open stream holds a server thread: past this many, new ones are refused, so that
        # unary calls always find a thread.
        self.streams = threading.BoundedSemaphore(max_streams)
        self.max_streams = max_streams

    def SubscribeToEvents(self, request, context):
        """Replays the channel's events after the given position, then streams new ones. A stream
        is served by its channel's shared feed, or reads the table while it is behind the feed."""
        yield from self._serve_stream(self._stream, request, context)

    def SubscribeToEventBatches(self, request, context):
        """As SubscribeToEvents, with the events that are ready sent together: each message is an
        encoded `EventBatch` of up to EVENT_BATCH events (see `add_event_service`)."""
        yield from self._serve_stream(self._stream_batches, request, context)

    def _serve_stream(self, stream, request, context):
        """The caller's identity checked and one of the replica's stream slots held for as long
        as `stream(caller, after_position, context)` yields."""
        close_old_connections()
        try:
            caller = caller_of(context, self.channels)
        except OrchestratorError as error:
            abort(context, error)
        if not self.streams.acquire(blocking=False):
            abort(context, OrchestratorError("TOO_MANY_STREAMS", f"at most {self.max_streams} streams per replica"))
        try:
            yield from stream(caller, request.after_position, context)
        except TEMPORARY_DATABASE_ERRORS as error:
            # The subscriber opens its stream again from its last position (the consumer does).
            abort_unavailable(context, "event stream", error)
        finally:
            self.streams.release()
            with contextlib.suppress(DatabaseError):
                connection.close()

    def _stream(self, caller, position: int, context):
        feed = self.feeds.of(caller.channel)
        while context.is_active():
            batch = feed.events_after(position, timeout=self.poll_interval)
            if batch is None:  # older than the feed's memory: replay from the table
                batch = [pb.Event(**row) for row in events_after(caller.channel, position, EVENT_BATCH)]
            for event in batch:
                yield event
                position = event.position

    def _stream_batches(self, caller, position: int, context):
        feed = self.feeds.of(caller.channel)
        while context.is_active():
            found = feed.encoded_after(position, timeout=self.poll_interval, limit=EVENT_BATCH)
            if found is None:  # older than the feed's memory: replay from the table
                rows = events_after(caller.channel, position, EVENT_BATCH)
                encoded = b"".join(batch_element(pb.Event(**row)) for row in rows)
                position = rows[-1]["position"] if rows else position
            else:
                encoded, position = found
            if encoded:
                yield encoded


def add_event_service(servicer: EventService, server: grpc.Server) -> None:
    """As the generated `add_EventServiceServicer_to_server`, except that batches are sent as the
    bytes the feed encoded once for all streams, not as messages serialized per stream."""
    handlers = {
        "SubscribeToEvents": grpc.unary_stream_rpc_method_handler(
            servicer.SubscribeToEvents,
            request_deserializer=api.SubscribeParam.FromString,
            response_serializer=pb.Event.SerializeToString,
        ),
        "SubscribeToEventBatches": grpc.unary_stream_rpc_method_handler(
            servicer.SubscribeToEventBatches, request_deserializer=api.SubscribeParam.FromString
        ),
    }
    name = "substra.orchestrator.v1.EventService"
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(name, handlers),))
    server.add_registered_method_handlers(name, handlers)


SERVICES = (
    (OrganizationService, rpc.add_OrganizationServiceServicer_to_server),
    (DataManagerService, rpc.add_DataManagerServiceServicer_to_server),
    (DataSampleService, rpc.add_DataSampleServiceServicer_to_server),
    (FunctionService, rpc.add_FunctionServiceServicer_to_server),
    (ComputePlanService, rpc.add_ComputePlanServiceServicer_to_server),
    (ComputeTaskService, rpc.add_ComputeTaskServiceServicer_to_server),
    (OutputService, rpc.add_OutputServiceServicer_to_server),
)


class _Undecodable:
    """A request whose bytes protobuf refuses (a string field that is not UTF-8)."""

    def __init__(self, reason: str):
        self.reason = reason


class RefuseUndecodableRequests(grpc.ServerInterceptor):
    """A request that does not decode is the caller's error: INVALID_ARGUMENT with the code
    INVALID_TEXT, where gRPC alone would answer INTERNAL without a code. Nothing is written: the
    servicer never sees it."""

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None or handler.request_deserializer is None or handler.request_streaming:
            return handler
        decode = handler.request_deserializer

        def decode_or_mark(raw: bytes):
            try:
                return decode(raw)
            except DecodeError as error:
                return _Undecodable(str(error))

        def refusing(behaviour):
            def call(request, context):
                if isinstance(request, _Undecodable):
                    message = f"the request does not decode (a text that is not UTF-8?): {request.reason}"
                    abort(context, OrchestratorError("INVALID_TEXT", message))
                return behaviour(request, context)

            return call

        if handler.unary_unary is not None:
            return handler._replace(request_deserializer=decode_or_mark, unary_unary=refusing(handler.unary_unary))
        return handler._replace(request_deserializer=decode_or_mark, unary_stream=refusing(handler.unary_stream))


def build_server(
    address: str, certificate: bytes, private_key: bytes, client_ca: bytes, channels: Channels
) -> tuple[grpc.Server, int]:
    """A server that accepts only clients whose certificate the CA signed."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=settings.THREADS),
        interceptors=[metrics.MeasureRequests(), RefuseUndecodableRequests()],
        options=[
            ("grpc.max_receive_message_length", MESSAGE_LIMIT),
            ("grpc.max_send_message_length", MESSAGE_LIMIT),
        ],
    )
    for servicer, add in SERVICES:
        add(servicer(channels), server)
    poll_interval = 1.0 if connection.vendor == "postgresql" else 0.2
    events = EventService(channels, poll_interval, settings.MAX_STREAMS)
    add_event_service(events, server)
    credentials = grpc.ssl_server_credentials(
        [(private_key, certificate)], root_certificates=client_ca, require_client_auth=True
    )
    port = server.add_secure_port(address, credentials)
    if port == 0:
        raise SystemExit(f"cannot listen on {address}")
    return server, port


def start_listener() -> threading.Event | None:
    """On PostgreSQL, wake local streams when any replica commits events."""
    if connection.vendor != "postgresql":
        return None
    stop = threading.Event()
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    thread = threading.Thread(target=listen_postgres, args=(params, stop), name="event-listener", daemon=True)
    thread.start()
    return stop


def serve(address: str, certificate: bytes, private_key: bytes, client_ca: bytes, port_file: str = "") -> None:
    # A transaction holds row locks (the channel head's above all) across several round trips, and
    # after each it must win the GIL back from the other threads: with Python's default 5 ms switch
    # interval, every other writer of the channel waits for those hand-overs.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    channels = Channels.from_file(settings.CHANNELS_FILE)
    ensure_channel_heads(channels.members)
    connection.close()
    server, port = build_server(address, certificate, private_key, client_ca, channels)
    stop_listener = start_listener()
    heap.settle()
    server.start()
    if settings.METRICS_PORT:
        metrics.serve_metrics(settings.METRICS_PORT)
    log.info("orchestrator listening on port %d, channels %s", port, sorted(channels.members))
    if port_file:
        # Written whole, then renamed into place: a reader polling for the file never sees it empty.
        draft = Path(f"{port_file}.part")
        draft.write_text(str(port))
        draft.replace(port_file)

    def stop(signum, frame):
        log.info("stopping: finishing calls in progress for up to %ss", STOP_GRACE_S)
        server.stop(STOP_GRACE_S)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.wait_for_termination()
    finally:
        if stop_listener is not None:
            stop_listener.set()
