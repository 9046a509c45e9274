"""The only way backends and workers talk to the orchestrator: typed methods over the gRPC stubs."""

from orchestrator_client.client import OrchestratorClient
from orchestrator_client.errors import (
    Conflict,
    InvalidRequest,
    InvalidTransition,
    NotFound,
    OrchestratorError,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)

__all__ = [
    "Conflict",
    "InvalidRequest",
    "InvalidTransition",
    "NotFound",
    "OrchestratorClient",
    "OrchestratorError",
    "PermissionDenied",
    "Unauthenticated",
    "Unavailable",
]
