"""Absolute addresses of this backend, for file addresses in responses and in the orchestrator."""

from django.conf import settings


def public_url(request, path: str = "/") -> str:
    """`path` under BACKEND_PUBLIC_URL, or under the URL the request came to when it is unset."""
    if settings.PUBLIC_URL:
        return settings.PUBLIC_URL + path
    return request.build_absolute_uri(path)
