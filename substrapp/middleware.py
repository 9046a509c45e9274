from django.conf import settings
from django.http import JsonResponse


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
