"""OrchestratorClient: one organization's connection to the orchestrator, in one channel.

    client = OrchestratorClient("orchestrator:9000", "mychannel", ca_cert=..., cert=..., key=...)
    client.register_compute_plan(key=..., name="FedAvg")

Every call is authenticated by the client certificate (mutual TLS). Calls that fail with
UNAVAILABLE (the orchestrator restarting, or its database) are retried with exponential backoff
for up to `retry_seconds`; other errors become the exceptions of `orchestrator_client.errors`.
Answers are the protobuf messages of `orchestrator_client.pb`."""

import contextlib
import itertools
import time
from collections.abc import Iterator
from contextvars import ContextVar

import grpc

from orchestrator_client.chain import ChainVerifier
from orchestrator_client.errors import from_rpc_error
from orchestrator_client.pb import assets_pb2 as pb
from orchestrator_client.pb import service_pb2 as api
from orchestrator_client.pb import service_pb2_grpc as rpc

MESSAGE_LIMIT = 256 * 1024 * 1024
FIRST_RETRY_S, MAX_RETRY_S = 0.1, 5.0

_written: ContextVar[list | None] = ContextVar("written", default=None)


@contextlib.contextmanager
def ledger_writes() -> Iterator[list[tuple[str, int, int]]]:
    """The events that this context's calls wrote, as (channel, first position, last position),
    when the orchestrator tells them (renames, cancels, links: `ledger-positions`)."""
    token = _written.set([])
    try:
        yield _written.get()
    finally:
        _written.reset(token)


def parse_positions(value: str) -> list[tuple[int, int]]:
    """The spans of `ledger-positions` ("12-14,20-20"). Only what is well formed: the call it
    comes with has already written, so a malformed value loses the audit's precise link (it
    falls back to its time window), never the caller's answer."""
    spans = []
    for span in value.split(","):
        first, _, last = span.partition("-")
        if first.isdigit() and last.isdigit() and len(span) < 40:
            spans.append((int(first), int(last)))
    return spans


class OrchestratorClient:
    def __init__(
        self,
        address: str,
        channel: str,
        *,
        ca_cert: bytes,
        cert: bytes,
        key: bytes,
        server_name: str = "",
        timeout: float = 60.0,
        retries: int | None = None,
        retry_seconds: float = 30.0,
    ):
        credentials = grpc.ssl_channel_credentials(root_certificates=ca_cert, private_key=key, certificate_chain=cert)
        options = [
            ("grpc.max_receive_message_length", MESSAGE_LIMIT),
            ("grpc.max_send_message_length", MESSAGE_LIMIT),
        ]
        if server_name:
            options.append(("grpc.ssl_target_name_override", server_name))
        self._grpc_channel = grpc.secure_channel(address, credentials, options=options)
        self._metadata = (("channel", channel),)
        self.channel = channel
        self.timeout = timeout
        # UNAVAILABLE is retried until `retry_seconds` have passed (and at most `retries` times,
        # when given): long enough to ride out a restart of the orchestrator or its database.
        self.retries = retries
        self.retry_seconds = retry_seconds
        self._organizations = rpc.OrganizationServiceStub(self._grpc_channel)
        self._data_managers = rpc.DataManagerServiceStub(self._grpc_channel)
        self._data_samples = rpc.DataSampleServiceStub(self._grpc_channel)
        self._functions = rpc.FunctionServiceStub(self._grpc_channel)
        self._plans = rpc.ComputePlanServiceStub(self._grpc_channel)
        self._tasks = rpc.ComputeTaskServiceStub(self._grpc_channel)
        self._outputs = rpc.OutputServiceStub(self._grpc_channel)
        self._events = rpc.EventServiceStub(self._grpc_channel)

    def close(self) -> None:
        self._grpc_channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _call(self, method, request):
        """Calls a unary method; retries while the orchestrator or its database is unavailable.
        Every write is idempotent on the server (an identical retry returns the existing asset),
        so a retry after a lost answer is safe."""
        deadline = time.monotonic() + self.retry_seconds
        delay = FIRST_RETRY_S
        for attempt in itertools.count():
            try:
                answer, call = method.with_call(request, metadata=self._metadata, timeout=self.timeout)
                self._note_writes(call)
                return answer
            except grpc.RpcError as error:
                if not self._may_retry(error, attempt, deadline - time.monotonic() - delay):
                    raise from_rpc_error(error) from None
            time.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_S)

    def _note_writes(self, call) -> None:
        written = _written.get()
        if written is None:
            return
        for name, value in call.trailing_metadata() or ():
            if name == "ledger-positions":
                written.extend((self.channel, first, last) for first, last in parse_positions(value))

    def _may_retry(self, error: grpc.RpcError, attempt: int, time_left: float) -> bool:
        if error.code() != grpc.StatusCode.UNAVAILABLE or time_left < 0:
            return False
        return self.retries is None or attempt < self.retries

    # Organizations

    def register_organization(self, address: str) -> pb.Organization:
        return self._call(self._organizations.RegisterOrganization, api.RegisterOrganizationParam(address=address))

    def list_organizations(self) -> list[pb.Organization]:
        return list(self._call(self._organizations.GetAllOrganizations, api.Empty()).organizations)

    # Data managers and samples

    def register_data_manager(self, **fields) -> pb.DataManager:
        """Fields of `NewDataManager`: key, name, new_permissions, opener, description, type,
        metadata, logs_permission (messages may be given as dicts)."""
        return self._call(self._data_managers.RegisterDataManager, api.NewDataManager(**fields))

    def get_data_manager(self, key: str) -> pb.DataManager:
        return self._call(self._data_managers.GetDataManager, api.KeyParam(key=key))

    def rename_data_manager(self, key: str, name: str) -> pb.DataManager:
        return self._call(self._data_managers.UpdateDataManager, api.RenameParam(key=key, name=name))

    def register_data_samples(self, samples: list[dict]) -> list[pb.DataSample]:
        """Each sample: key, checksum, data_manager_keys."""
        request = api.RegisterDataSamplesParam(samples=[api.NewDataSample(**sample) for sample in samples])
        return list(self._call(self._data_samples.RegisterDataSamples, request).data_samples)

    def link_data_samples(self, data_manager_keys: list[str], data_sample_keys: list[str]) -> list[pb.DataSample]:
        request = api.LinkDataSamplesParam(data_manager_keys=data_manager_keys, data_sample_keys=data_sample_keys)
        return list(self._call(self._data_samples.LinkDataSamples, request).data_samples)

    def get_data_sample(self, key: str) -> pb.DataSample:
        return self._call(self._data_samples.GetDataSample, api.KeyParam(key=key))

    # Functions

    def register_function(self, **fields) -> pb.Function:
        """Fields of `NewFunction`: key, name, new_permissions, description, archive, metadata,
        inputs {identifier: {kind, multiple, optional}}, outputs {identifier: {kind, multiple}}."""
        return self._call(self._functions.RegisterFunction, api.NewFunction(**fields))

    def get_function(self, key: str) -> pb.Function:
        return self._call(self._functions.GetFunction, api.KeyParam(key=key))

    def rename_function(self, key: str, name: str) -> pb.Function:
        return self._call(self._functions.UpdateFunction, api.RenameParam(key=key, name=name))

    def apply_function_action(self, key: str, action: str, image: str = "") -> pb.Function:
        """action: FUNCTION_ACTION_BUILDING, FUNCTION_ACTION_READY or FUNCTION_ACTION_CANCELED."""
        request = api.FunctionActionParam(key=key, action=action, image=image)
        return self._call(self._functions.ApplyFunctionAction, request)

    # Compute plans and tasks

    def register_compute_plan(self, **fields) -> pb.ComputePlan:
        """Fields of `NewComputePlan`: key, name, tag, metadata."""
        return self._call(self._plans.RegisterComputePlan, api.NewComputePlan(**fields))

    def get_compute_plan(self, key: str) -> pb.ComputePlan:
        return self._call(self._plans.GetComputePlan, api.KeyParam(key=key))

    def rename_compute_plan(self, key: str, name: str) -> pb.ComputePlan:
        return self._call(self._plans.UpdateComputePlan, api.RenameParam(key=key, name=name))

    def cancel_compute_plan(self, key: str) -> pb.ComputePlan:
        return self._call(self._plans.CancelComputePlan, api.KeyParam(key=key))

    def register_tasks(self, tasks: list[dict]) -> list[pb.ComputeTask]:
        """Each task: the fields of `NewComputeTask` (key, function_key, compute_plan_key, worker,
        tag, metadata, inputs, outputs). The batch is registered whole or not at all."""
        request = api.RegisterTasksParam(tasks=[api.NewComputeTask(**task) for task in tasks])
        return list(self._call(self._tasks.RegisterTasks, request).tasks)

    def get_task(self, key: str) -> pb.ComputeTask:
        return self._call(self._tasks.GetTask, api.KeyParam(key=key))

    def apply_task_action(self, key: str, action: str) -> pb.ComputeTask:
        """action: TASK_ACTION_EXECUTING (the worker claims it), TASK_ACTION_DONE or TASK_ACTION_CANCELED."""
        return self._call(self._tasks.ApplyTaskAction, api.TaskActionParam(key=key, action=action))

    def complete_task(self, key: str, models: list[dict] = (), performances: list[dict] = ()) -> pb.ComputeTask:
        """Registers the task's outputs and marks it Done in one transaction. Models as for
        `register_models`; performances: compute_task_output_identifier, performance_value."""
        request = api.TaskActionParam(
            key=key,
            action="TASK_ACTION_DONE",
            models=[api.NewModel(compute_task_key=key, **model) for model in models],
            performances=[api.NewPerformance(compute_task_key=key, **performance) for performance in performances],
        )
        return self._call(self._tasks.ApplyTaskAction, request)

    # Outputs

    def register_models(self, models: list[dict]) -> list[pb.Model]:
        """Each model: key, compute_task_key, compute_task_output_identifier, address {checksum, storage_address}."""
        request = api.RegisterModelsParam(models=[api.NewModel(**model) for model in models])
        return list(self._call(self._outputs.RegisterModels, request).models)

    def get_model(self, key: str) -> pb.Model:
        return self._call(self._outputs.GetModel, api.KeyParam(key=key))

    def disable_model(self, key: str) -> pb.Model:
        return self._call(self._outputs.DisableModel, api.KeyParam(key=key))

    def register_performance(self, **fields) -> pb.Performance:
        """Fields: compute_task_key, compute_task_output_identifier, performance_value."""
        return self._call(self._outputs.RegisterPerformance, api.NewPerformance(**fields))

    def register_failure_report(self, **fields) -> pb.FailureReport:
        """Fields: asset_key, asset_kind (ASSET_COMPUTE_TASK or ASSET_FUNCTION), error_type,
        logs_address {checksum, storage_address}."""
        return self._call(self._outputs.RegisterFailureReport, api.NewFailureReport(**fields))

    def get_failure_report(self, key: str) -> pb.FailureReport:
        return self._call(self._outputs.GetFailureReport, api.KeyParam(key=key))

    # Events

    def subscribe(
        self, after_position: int = 0, verifier: ChainVerifier | None = None, timeout: float | None = None
    ) -> Iterator[pb.Event]:
        """The channel's events after `after_position`, replayed then live, until `timeout`
        seconds have passed (forever by default). With a `verifier` (holding the last position and
        hash kept), every event is checked against the hash chain first, and a break raises
        `ChainBroken` before the event is handed out."""
        request = api.SubscribeParam(after_position=after_position)
        deadline = None if timeout is None else time.monotonic() + timeout
        stream = self._events.SubscribeToEventBatches(request, metadata=self._metadata, timeout=timeout)
        try:
            try:
                for batch in stream:
                    for event in batch.events:
                        if verifier is not None:
                            verifier.verify(event)
                        yield event
                        request.after_position = event.position
                return
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.UNIMPLEMENTED:
                    raise
            # An orchestrator that predates event batches: one message per event.
            stream.cancel()
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            stream = self._events.SubscribeToEvents(request, metadata=self._metadata, timeout=remaining)
            for event in stream:
                if verifier is not None:
                    verifier.verify(event)
                yield event
        except grpc.RpcError as error:
            if error.code() in (grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED):
                return
            raise from_rpc_error(error) from None
        finally:
            stream.cancel()
