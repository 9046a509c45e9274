"""The SDK's multipart registrations (docs/sdk-contract.md §1): a plain `json` field holding the
spec, and one file part per file."""

from rest_framework.exceptions import ValidationError

from orchestrator_client import limits
from substrapp.api.errors import BadRequest


def json_part(request, serializer_class) -> dict:
    """The spec of the `json` field, validated by `serializer_class`. Called before any file of
    the request is stored: a refused spec leaves nothing behind."""
    if "json" in request.FILES:
        raise BadRequest("The `json` field must be a plain form field, not a file.", code="json_as_file")
    raw = request.data.get("json")
    if raw is None:
        raise BadRequest("The `json` field is required.", code="required")
    try:
        spec = limits.loads(raw, "the `json` field")
    except limits.Refused as refused:
        raise BadRequest(refused.message, code=refused.code.lower()) from None
    serializer = serializer_class(data=spec)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def file_part(request, name: str):
    upload = request.FILES.get(name)
    if upload is None:
        raise ValidationError({name: ["This file is required."]}, code="required")
    return upload


def all_file_parts(request) -> list:
    """Every file part, in the request's order, whatever its name (the SDK names sample archives
    after their folders)."""
    uploads = [upload for name in request.FILES for upload in request.FILES.getlist(name)]
    if not uploads:
        raise BadRequest("Upload at least one archive.", code="required")
    return uploads
