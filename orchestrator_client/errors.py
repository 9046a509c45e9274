"""Orchestrator errors as Python exceptions. `code` is the orchestrator's stable error code
(docs/orchestrator.md), when it sent one."""

import grpc


class OrchestratorError(Exception):
    def __init__(self, message: str, code: str = "", status: grpc.StatusCode | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status

    def __str__(self):
        return f"[{self.code}] {self.message}" if self.code else self.message


class InvalidRequest(OrchestratorError):
    pass


class NotFound(OrchestratorError):
    pass


class Conflict(OrchestratorError):
    pass


class PermissionDenied(OrchestratorError):
    pass


class InvalidTransition(OrchestratorError):
    pass


class Unauthenticated(OrchestratorError):
    pass


class Unavailable(OrchestratorError):
    pass


BY_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidRequest,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: Conflict,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.FAILED_PRECONDITION: InvalidTransition,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
}


def from_rpc_error(error: grpc.RpcError) -> OrchestratorError:
    status = error.code()
    trailers = dict(error.trailing_metadata() or ())
    cls = BY_STATUS.get(status, OrchestratorError)
    return cls(error.details() or str(status), code=trailers.get("error-code", ""), status=status)
