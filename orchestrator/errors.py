"""The orchestrator's errors. Each has a stable code, sent as the `error-code` trailing metadata of
the gRPC error; docs/orchestrator.md lists them. Nothing is written when one is raised."""

import grpc

CODES = {
    # code: (gRPC status, meaning)
    "INVALID_KEY": (grpc.StatusCode.INVALID_ARGUMENT, "a key is not a UUID"),
    "DUPLICATE_KEY": (grpc.StatusCode.INVALID_ARGUMENT, "the same key twice in one request"),
    "INVALID_FIELD": (grpc.StatusCode.INVALID_ARGUMENT, "a required field is missing or malformed"),
    "LIMIT_EXCEEDED": (grpc.StatusCode.INVALID_ARGUMENT, "a name, tag, identifier, address or metadata over its limit"),
    "INVALID_TEXT": (grpc.StatusCode.INVALID_ARGUMENT, "a text with a NUL character or an unpaired UTF-16 surrogate"),
    "INVALID_JSON": (grpc.StatusCode.INVALID_ARGUMENT, "a value JSON cannot carry: a number that is not finite"),
    "TOO_DEEP": (grpc.StatusCode.INVALID_ARGUMENT, "a JSON document nested deeper than the limit"),
    "CYCLE": (grpc.StatusCode.INVALID_ARGUMENT, "the tasks of a batch depend on each other in a cycle"),
    "UNKNOWN_PARENT": (grpc.StatusCode.INVALID_ARGUMENT, "an input refers to a task that does not exist"),
    "UNKNOWN_PARENT_OUTPUT": (grpc.StatusCode.INVALID_ARGUMENT, "an input refers to an output the parent lacks"),
    "UNKNOWN_INPUT": (grpc.StatusCode.INVALID_ARGUMENT, "an input identifier the function does not declare"),
    "INPUT_KIND_MISMATCH": (grpc.StatusCode.INVALID_ARGUMENT, "an input's asset is not of the declared kind"),
    "INPUT_MULTIPLICITY": (grpc.StatusCode.INVALID_ARGUMENT, "several values for an input that takes one"),
    "MISSING_INPUT": (grpc.StatusCode.INVALID_ARGUMENT, "a required input of the function has no value"),
    "OUTPUT_KIND_MISMATCH": (grpc.StatusCode.INVALID_ARGUMENT, "an output registered as the wrong kind of asset"),
    "UNKNOWN_OUTPUT": (grpc.StatusCode.INVALID_ARGUMENT, "an output the function does not declare"),
    "MISSING_OUTPUT": (grpc.StatusCode.INVALID_ARGUMENT, "an output of the function has no permissions"),
    "PERFORMANCE_NOT_PUBLIC": (
        grpc.StatusCode.INVALID_ARGUMENT,
        "a performance output must be public and not transient",
    ),
    "DATA_SAMPLE_NOT_LINKED": (
        grpc.StatusCode.INVALID_ARGUMENT,
        "a data sample is not linked to the task's data manager",
    ),
    "UNKNOWN_ORGANIZATION": (grpc.StatusCode.INVALID_ARGUMENT, "an organization unknown in the channel"),
    "UNKNOWN_ASSET": (grpc.StatusCode.INVALID_ARGUMENT, "an input refers to an asset that does not exist"),
    "WORKER_NOT_PERMITTED": (grpc.StatusCode.PERMISSION_DENIED, "the worker may not process an input"),
    "PERMISSION_DENIED": (grpc.StatusCode.PERMISSION_DENIED, "the caller may not do this"),
    "NOT_FOUND": (grpc.StatusCode.NOT_FOUND, "no such asset in the channel"),
    "CONFLICT": (grpc.StatusCode.ALREADY_EXISTS, "the key exists with a different content"),
    "INVALID_TRANSITION": (grpc.StatusCode.FAILED_PRECONDITION, "the asset's status forbids this action"),
    "MISSING_TASK_OUTPUT": (grpc.StatusCode.FAILED_PRECONDITION, "a task is Done only with all its outputs"),
    "PARENT_ENDED": (grpc.StatusCode.FAILED_PRECONDITION, "a parent task failed or was canceled"),
    "PLAN_TERMINATED": (grpc.StatusCode.FAILED_PRECONDITION, "the compute plan is failed or canceled"),
    "FUNCTION_UNUSABLE": (grpc.StatusCode.FAILED_PRECONDITION, "the function's image failed or was canceled"),
    "NOT_A_MEMBER": (grpc.StatusCode.PERMISSION_DENIED, "the organization is not a member of the channel"),
    "TOO_MANY_STREAMS": (grpc.StatusCode.RESOURCE_EXHAUSTED, "the replica serves its maximum of event streams"),
    "DATABASE_UNAVAILABLE": (
        grpc.StatusCode.UNAVAILABLE,
        "the ledger's database cannot be reached; nothing was written: retry",
    ),
    "INTERNAL": (grpc.StatusCode.INTERNAL, "an unexpected error; the orchestrator's log has the details"),
    "UNAUTHENTICATED": (grpc.StatusCode.UNAUTHENTICATED, "no verified client certificate"),
}


class OrchestratorError(Exception):
    def __init__(self, code: str, message: str):
        assert code in CODES, code
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def status(self) -> grpc.StatusCode:
        return CODES[self.code][0]
