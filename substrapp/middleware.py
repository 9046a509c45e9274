from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import JsonResponse
from django.utils import timezone

from orchestrator_client import limits
from orchestrator_client.client import ledger_writes
from orchestrator_client.logs import about


class RequestSizeLimitMiddleware:
    """Refuses a request whose declared body is over BACKEND_UPLOAD_MAX_BYTES before a byte of it
    is read or stored."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            size = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            size = 0
        if size > settings.UPLOAD_MAX_BYTES:
            return JsonResponse(
                {
                    "detail": f"The request body is {size} bytes, over the limit of {settings.UPLOAD_MAX_BYTES}.",
                    "code": "too_large",
                },
                status=413,
            )
        return self.get_response(request)


class StorableInputMiddleware:
    """The one place where every request's path, cookies, query parameters and body are checked
    against what the platform stores (orchestrator_client.limits), before any view, filter or
    parser sees them: a NUL, an unpaired surrogate, an over-long value or a JSON body nested too
    deep is a 400 in the API's error shape, not a database error further down."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            check_request(request)
        except limits.Refused as refused:
            return JsonResponse({"detail": refused.message, "code": refused.code.lower()}, status=400)
        except SuspiciousOperation as error:  # too many query fields, for one
            return JsonResponse({"detail": str(error), "code": "invalid"}, status=400)
        return self.get_response(request)


def check_request(request) -> None:
    limits.check_text(request.path_info, "the path", limits.PATH_MAX)
    for name, value in request.COOKIES.items():  # a quoted cookie value decodes octal escapes such as \000
        limits.check_text(name, "a cookie's name", limits.NAME_MAX)
        limits.check_text(value, f"cookie {name}", limits.QUERY_VALUE_MAX)
    for name, values in request.GET.lists():
        limits.check_text(name, "a query parameter's name", limits.NAME_MAX)
        for value in values:
            limits.check_text(value, f"query parameter {name}", limits.QUERY_VALUE_MAX)
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if (content_type == "application/json" or content_type.endswith("+json")) and request.body:
        # Kept for DRF's parser (substrapp/api/parsers.py): the body is decoded once.
        request.json_body = limits.loads(request.body, "the JSON body")
    elif content_type == "application/x-www-form-urlencoded":
        # Multipart bodies are left to their views: parsing one here would read its files before
        # the view could refuse it. Their one text field, `json`, goes through limits.loads.
        for name, values in request.POST.lists():
            limits.check_text(name, "a form field's name", limits.NAME_MAX)
            for value in values:
                limits.check_text(value, f"form field {name}", limits.QUERY_VALUE_MAX)


class AuditMiddleware:
    """Gives every request an id (X-Request-ID, on the answer too) and has every state-changing
    one recorded in the audit trail once it is answered (substrapp/audit.py). Placed after the
    authentication middleware so that the Django admin's user is known; DRF's views set the
    user they authenticate on the same request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from substrapp import audit

        request.request_id = audit.request_id_of(request)
        started = timezone.now()
        # about: on every line logged while it is answered; ledger_writes: the events it wrote
        with about(request=request.request_id), ledger_writes() as written:
            response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        if request.method in audit.STATE_CHANGING:
            # Written once the answer is sent: the server closes the response after its last
            # byte, and Django runs its closers then (the test client, before it returns). The
            # caller does not wait on 500 records of a batch, nor on the channel's lock that the
            # record takes while the consumer applies events (substrapp/audit.py).
            finished = timezone.now()

            def record() -> None:
                with about(request=request.request_id):
                    audit.record_request(request, response, request.request_id, started, written, finished)

            response._resource_closers.append(record)
        return response
