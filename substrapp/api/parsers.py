"""The API's JSON parser: a JSON body is decoded once per request.

`StorableInputMiddleware` (substrapp/middleware.py) decodes and checks every JSON body with the
safe loader before any view runs, and keeps the document on the request; DRF's parser hands that
document to the view instead of decoding the body a second time (a batch of 500 tasks is about
500 kB). A body the middleware did not see (a request built without it, in a test) goes through
the same loader here."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from orchestrator_client import limits


class CheckedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        request = getattr((parser_context or {}).get("request"), "_request", None)
        if hasattr(request, "json_body"):
            return request.json_body
        try:
            return limits.loads(stream.read() if stream is not None else b"", "the JSON body")
        except limits.Refused as refused:
            raise ParseError(refused.message, refused.code.lower()) from None
