"""The API's JSON renderer: DRF's JSONRenderer, written by orjson.

A 500-task answer is about 1 MB of JSON: the standard library took 10-15 ms of each batch to
write it, orjson about a tenth. The bytes are DRF's: dates and times still go through DRF's
encoder (a UTC time ends in `Z`), as does every type orjson does not write itself, and U+2028
and U+2029 are escaped as DRF escapes them. Two spellings differ, not the values: a float past
1e16 or under 1e-4 is written `1e16`, not `1e+16`; and NaN, which DRF refuses to write, would be
null (every number is checked finite where it enters). An indented answer (`Accept:
application/json; indent=4`) and what orjson refuses (an integer past 64 bits, a key that is not
a string) are left to DRF. tests/backend/test_renderers.py holds the two equal."""

import orjson
from rest_framework.renderers import JSONRenderer

_LINE_SEPARATORS = (("\u2028".encode(), b"\\u2028"), ("\u2029".encode(), b"\\u2029"))


class FastJSONRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if self.get_indent(accepted_media_type, renderer_context or {}) or not self.compact or self.ensure_ascii:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            written = orjson.dumps(data, default=self.encoder_class().default, option=orjson.OPT_PASSTHROUGH_DATETIME)
        except orjson.JSONEncodeError:
            return super().render(data, accepted_media_type, renderer_context)
        for raw, escaped in _LINE_SEPARATORS:  # JSON that is also a strict subset of JavaScript
            if raw in written:
                written = written.replace(raw, escaped)
        return written
