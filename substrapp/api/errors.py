"""One error shape for the whole API, through one exception handler:

    {"detail": "<readable message>", "code": "<machine-readable code>", ...}

plus `errors` ({field: [messages]}) on validation errors and `key` on conflicts. Statuses are the
ones the SDK maps (docs/sdk-contract.md §3): 400, 401, 403, 404, 409, 413; 503 when the
orchestrator or this organization's database cannot be reached. Orchestrator errors that reach a
view are translated here.
"""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

import orchestrator_client
from substrapp import computation
from substrapp.archives import ArchiveError
from substrapp.assetfiles import FileAccessDenied, FileElsewhere, OwnerNotFound
from substrapp.serverpaths import ServerPathError
from substrapp.storage import UploadTooLarge

logger = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """An error with a status and code of its own. Fields in `extra` go into the body."""

    def __init__(self, detail=None, code=None, **extra):
        super().__init__(detail, code)
        self.extra = extra


class BadRequest(ApiError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "Bad request."
    default_code = "invalid"


class Conflict(ApiError):
    """409; give `key=` the existing asset's key (or a list of keys), as the SDK reads it."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "It already exists."
    default_code = "conflict"


class PayloadTooLarge(ApiError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The file is too large."
    default_code = "too_large"


class BadGateway(ApiError):
    """Another organization's backend failed us (unreachable, refused our credentials, sent a
    file that is not the registered one)."""

    status_code = status.HTTP_502_BAD_GATEWAY
    default_detail = "The organization that holds the file failed to provide it."
    default_code = "file_elsewhere"


class DatabaseUnavailable(ApiError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "This organization's database cannot be reached; try again later."
    default_code = "database_unavailable"


class OrchestratorUnavailable(ApiError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The orchestrator cannot be reached; try again later."
    default_code = "orchestrator_unavailable"


_ORCHESTRATOR_STATUSES = [
    (orchestrator_client.InvalidRequest, status.HTTP_400_BAD_REQUEST),
    (orchestrator_client.InvalidTransition, status.HTTP_400_BAD_REQUEST),
    (orchestrator_client.PermissionDenied, status.HTTP_403_FORBIDDEN),
    (orchestrator_client.NotFound, status.HTTP_404_NOT_FOUND),
    (orchestrator_client.Conflict, status.HTTP_409_CONFLICT),
]


def exception_handler(exc, context):
    exc = _as_api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is not None:
        response.data = _body(exc)
    return response


def _as_api_exception(exc):
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    # The file layer's refusals (substrapp.storage, archives, serverpaths) are the user's input.
    if isinstance(exc, UploadTooLarge):
        return PayloadTooLarge(str(exc))
    if isinstance(exc, ArchiveError | ServerPathError):
        return BadRequest(str(exc), code=exc.code)
    if isinstance(exc, FileAccessDenied):
        return exceptions.PermissionDenied(str(exc))
    if isinstance(exc, FileElsewhere):
        return BadGateway(str(exc), code=exc.code)
    if isinstance(exc, OwnerNotFound):
        return exceptions.NotFound(str(exc))
    if isinstance(exc, FileNotFoundError):
        return exceptions.NotFound("The file is missing from this organization's storage.")
    if isinstance(exc, computation.RegistrationRefused):
        return _refused_registration(exc)
    if isinstance(exc, computation.Conflict):
        return Conflict(exc.message, key=exc.key)
    if isinstance(exc, computation.NotPermitted):
        return exceptions.PermissionDenied(str(exc))
    if isinstance(exc, computation.NotAvailable):
        return exceptions.NotFound(str(exc))
    if isinstance(exc, orchestrator_client.Unavailable):
        return OrchestratorUnavailable()
    # A lost or refused connection (PostgreSQL restarting) is temporary: a 503, not a 500.
    if isinstance(exc, OperationalError | InterfaceError):
        logger.warning("database unavailable: %s", exc)
        return DatabaseUnavailable()
    if isinstance(exc, orchestrator_client.OrchestratorError):
        return _from_orchestrator(exc)
    return exc


# A registration refused because an organization may not process an input is a 403, as on
# Substra (the SDK raises AuthorizationError); every other refusal is the request's fault, a 400.
_PERMISSION_CODES = {"PERMISSION_DENIED", "WORKER_NOT_PERMITTED"}


def _refused_registration(exc: computation.RegistrationRefused) -> ApiError:
    code = (exc.code or "invalid").upper()
    if code in _PERMISSION_CODES:
        error = ApiError(exc.message, code=code.lower())
        error.status_code = status.HTTP_403_FORBIDDEN
        return error
    return BadRequest(exc.message, code=code.lower())


def _from_orchestrator(exc: orchestrator_client.OrchestratorError) -> exceptions.APIException:
    for cls, status_code in _ORCHESTRATOR_STATUSES:
        if isinstance(exc, cls):
            error = ApiError(exc.message, code=(exc.code or "orchestrator_error").lower())
            error.status_code = status_code
            return error
    # Anything else (our certificate refused, an internal error) is ours to fix, not the user's.
    logger.error("orchestrator error: %s", exc)
    return exceptions.APIException("The orchestrator refused the call.", code="orchestrator_error")


def _body(exc: exceptions.APIException) -> dict:
    detail = exc.detail
    if isinstance(detail, dict | list):
        messages = list(_messages(detail)) or [("Invalid input.", "invalid")]
        body = {"detail": " ".join(text for text, _ in messages), "code": messages[0][1]}
        if isinstance(detail, dict) and set(detail) != {api_settings.NON_FIELD_ERRORS_KEY}:
            body["errors"] = detail
    else:
        body = {"detail": str(detail), "code": detail.code}
    body.update(getattr(exc, "extra", {}))
    return body


def _messages(detail, field: str = ""):
    """(text, code) of each message of a validation error, prefixed by its field."""
    if isinstance(detail, dict):
        for name, value in detail.items():
            name = "" if name == api_settings.NON_FIELD_ERRORS_KEY else str(name)
            yield from _messages(value, ".".join(filter(None, [field, name])))
    elif isinstance(detail, list):
        for value in detail:
            yield from _messages(value, field)
    else:
        yield (f"{field}: {detail}" if field else str(detail)), getattr(detail, "code", "invalid")


def not_found(request, exception):
    """404 outside the API views (an unknown path): JSON too, except in the Django admin."""
    if request.path.startswith(f"{settings.URL_PREFIX}/admin/"):
        return defaults.page_not_found(request, exception)
    return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)


def server_error(request):
    return JsonResponse({"detail": "Server error.", "code": "server_error"}, status=500)
