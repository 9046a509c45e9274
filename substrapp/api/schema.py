"""The OpenAPI schema's view of the API, kept truthful for schema-driven clients and the fuzzer of
tests/backend/test_schema_fuzz.py: every operation also declares the errors it may answer, in the
one error shape of substrapp/api/errors.py, and only GET lists are paginated."""

from drf_spectacular import openapi
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from substrapp.peers import PeerAuthentication


class ErrorSerializer(serializers.Serializer):
    """The one error shape (substrapp/api/errors.py)."""

    detail = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(required=False, help_text="The messages of each invalid field.")
    key = serializers.JSONField(required=False, help_text="On a conflict: the key, or keys, that exist.")


class AutoSchema(openapi.AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status in self._error_statuses():
            error = self._get_response_for_code(ErrorSerializer, str(status), ["application/json"], direction)
            responses.setdefault(str(status), error)
        return responses

    def _get_paginator(self):
        # Registrations answer bare arrays (data samples, task batches): only GET lists are pages.
        return super()._get_paginator() if self.method == "GET" else None

    def _error_statuses(self) -> list[int]:
        """400: any request can be malformed (query, path or body); 503: any route needs the
        database (and writes the orchestrator). The rest by what the route does."""
        statuses = [400, 503]
        if all(isinstance(permission, AllowAny) for permission in self.view.get_permissions()):
            return statuses  # the login
        # 404: an unknown key in the path, an unknown id (a token), a page past the last one.
        statuses += [401, 403, 404]
        if self.method != "GET":
            statuses += [409, 413]  # registrations conflict with what exists, and carry files
        elif self._serves_a_file():
            statuses.append(502)  # fetched from the organization that holds it
        return sorted(statuses)

    def _serves_a_file(self) -> bool:
        # The file routes, and only they, also accept other organizations (FILE_ROUTE).
        return any(isinstance(auth, PeerAuthentication) for auth in self.view.get_authenticators())


def multipart(spec: str, **files: str) -> dict:
    """The schema of a registration's multipart body: the `json` field (`spec`) and named files."""
    properties = {"json": {"type": "string", "description": spec}}
    properties |= {name: {"type": "string", "format": "binary", "description": text} for name, text in files.items()}
    return {"type": "object", "properties": properties, "required": list(properties)}


DATASET_UPLOAD = multipart(
    "The dataset as JSON: name, type, permissions, logs_permission, metadata.",
    data_opener="The opener, a Python file.",
    description="Markdown.",
)
FUNCTION_UPLOAD = multipart(
    "The function as JSON: name, permissions, metadata, inputs, outputs.",
    file="A tar.gz or zip archive with a Dockerfile.",
    description="Markdown.",
)
SAMPLES_UPLOAD = multipart('JSON: {"data_manager_keys": [...]}.') | {
    # One archive per sample, each under a name of the client's choosing.
    "additionalProperties": {"type": "string", "format": "binary"},
}
