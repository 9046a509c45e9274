"""One definition of what the platform stores, shared by the orchestrator (which refuses anything
else before writing) and the backends (which refuse it with a 400 before storing a file).

Every text the network records ends up in PostgreSQL `text` and `jsonb` columns, on the
orchestrator and in every organization's mirror. PostgreSQL cannot store a NUL character in either,
and UTF-8 cannot encode a lone UTF-16 surrogate: an event holding one could not be applied by any
consumer, and would halt the whole channel. So text here is valid Unicode without NUL, of a bounded
length, and JSON is finite numbers, valid text and a bounded nesting depth.

Each check raises `Refused`, whose `code` is stable (the orchestrator's error code; the REST API
sends it in lower case) and whose message names the field. No Django here: the orchestrator, the
backends and the tests import it alike.
"""

import json
import math

# Lengths, in characters.
NAME_MAX = 100  # asset names
TAG_MAX = 100
TYPE_MAX = 30  # a dataset's type
IDENTIFIER_MAX = 100  # function input and output identifiers
ORGANIZATION_MAX = 100  # organization ids: workers, owners, authorized ids
CHECKSUM_MAX = 64
ADDRESS_MAX = 300  # storage addresses, backend addresses
IMAGE_MAX = 300  # a built function image's name
USERNAME_MAX = 150  # Django's own
PASSWORD_MAX = 256  # hashed, never stored as such: a bound on the work of hashing it
METADATA_MAX_ENTRIES = 100
METADATA_KEY_MAX = 50
METADATA_VALUE_MAX = 100
QUERY_VALUE_MAX = 40_000  # one query parameter of the REST API (a list of a few hundred keys)
PATH_MAX = 2_000  # the path of a REST request
JSON_DEPTH_MAX = 32  # the deepest request body is a task batch, about 7 levels

# Stable codes (orchestrator/errors.py CODES; docs/orchestrator.md).
INVALID_TEXT = "INVALID_TEXT"
LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
INVALID_FIELD = "INVALID_FIELD"
INVALID_JSON = "INVALID_JSON"
TOO_DEEP = "TOO_DEEP"


class Refused(ValueError):
    """A value the platform does not store. `code` is stable, `message` says what and where."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def check_text(value, field: str, max_length: int, required: bool = False) -> str:
    """A text the platform can store: a str of valid Unicode without NUL, at most `max_length`
    characters, not empty when `required`. Returned as it is."""
    if not isinstance(value, str):
        raise Refused(INVALID_FIELD, f"{field} must be text, not {type(value).__name__}")
    check_storable(value, field)
    if required and not value:
        raise Refused(INVALID_FIELD, f"{field} is required")
    if len(value) > max_length:
        raise Refused(LIMIT_EXCEEDED, f"{field} is longer than {max_length} characters")
    return value


def check_storable(value: str, field: str) -> str:
    """Text PostgreSQL can hold in `text` and `jsonb`: no NUL, no lone surrogate."""
    if "\x00" in value:
        raise Refused(INVALID_TEXT, f"{field} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Refused(INVALID_TEXT, f"{field} contains an unpaired UTF-16 surrogate (not Unicode text)") from None
    return value


def check_name(value, field: str = "name", required: bool = True) -> str:
    return check_text(value, field, NAME_MAX, required=required)


def check_tag(value, field: str = "tag") -> str:
    return check_text(value, field, TAG_MAX)


def check_identifier(value, field: str = "identifier") -> str:
    """A function input or output identifier: it names files and keys on every organization."""
    return check_text(value, field, IDENTIFIER_MAX, required=True)


def check_organization(value, field: str = "organization") -> str:
    """An organization id; whether it is known is the orchestrator's question."""
    return check_text(value, field, ORGANIZATION_MAX)


def check_checksum(value, field: str = "checksum", required: bool = True) -> str:
    return check_text(value, field, CHECKSUM_MAX, required=required)


def check_address(value, field: str = "address", required: bool = True) -> str:
    return check_text(value, field, ADDRESS_MAX, required=required)


def check_finite(value, field: str = "number") -> float:
    """A number JSON (and jsonb) can carry: not NaN, not infinite."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise Refused(INVALID_JSON, f"{field} is not a finite number")
    return value


def check_metadata(metadata, field: str = "metadata") -> dict:
    """Metadata: at most METADATA_MAX_ENTRIES text entries; keys not empty and without '__' (the
    metadata filters use it as a separator), both of bounded length. `None` is no metadata."""
    if metadata is None:
        return {}
    if not hasattr(metadata, "items"):
        raise Refused(INVALID_FIELD, f"{field} must be an object of text values")
    metadata = dict(metadata.items())
    if len(metadata) > METADATA_MAX_ENTRIES:
        raise Refused(LIMIT_EXCEEDED, f"{field} has more than {METADATA_MAX_ENTRIES} entries")
    for key, value in metadata.items():
        check_text(key, f"{field} key", METADATA_KEY_MAX, required=True)
        if "__" in key:
            raise Refused(INVALID_FIELD, f"{field} key {key!r} must not contain '__'")
        check_text(value, f"{field} value of {key!r}", METADATA_VALUE_MAX)
    return metadata


def check_json(document, field: str = "JSON", max_depth: int = JSON_DEPTH_MAX):
    """A decoded JSON document the platform can store: at most `max_depth` levels of arrays and
    objects, storable text in every key and string, finite numbers. Walked without recursion, so
    that a deep document is refused, not a crash. Returned as it is."""
    return _check_document(document, field, max_depth, check_texts=True)


def loads(text, field: str = "JSON", max_depth: int = JSON_DEPTH_MAX):
    """The safe JSON loader: `json.loads`, then `check_json`. Refuses with `Refused` what is not
    JSON (NaN and Infinity included), deeper than `max_depth`, or not storable text."""
    decoded = isinstance(text, bytes | bytearray)
    if decoded:
        try:
            text = text.decode("utf-8")  # strict: it refuses an encoded surrogate
        except UnicodeDecodeError:
            raise Refused(INVALID_JSON, f"{field} is not UTF-8") from None
    if not isinstance(text, str):
        raise Refused(INVALID_JSON, f"{field} must be JSON text")
    try:
        document = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:  # the decoder recurses once per level: far past max_depth anyway
        raise Refused(TOO_DEEP, f"{field} is nested more than {max_depth} levels deep") from None
    except ValueError as error:  # JSONDecodeError, and integers of more than 4300 digits
        raise Refused(INVALID_JSON, f"{field} is not valid JSON: {error}") from None
    # JSON refuses a raw NUL (a control character) in its strings, so a NUL, like a lone
    # surrogate, can only come from a \u escape, or from a text that holds a lone surrogate
    # itself. Without either, every string and key is storable: only the depth and the numbers
    # are left to check (the texts of a 500-task batch took four times its decoding).
    return _check_document(document, field, max_depth, check_texts="\\u" in text or not (decoded or _encodes(text)))


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_document(document, field: str, max_depth: int, check_texts: bool):
    _check_leaf(document, field, check_texts)
    pending = [(document, 1)] if isinstance(document, dict | list) else []
    while pending:
        value, depth = pending.pop()
        if depth > max_depth:
            raise Refused(TOO_DEEP, f"{field} is nested more than {max_depth} levels deep")
        if isinstance(value, dict):
            if check_texts:
                for key in value:
                    check_storable(key if isinstance(key, str) else str(key), f"a key of {field}")
            value = value.values()
        for item in value:
            kind = type(item)
            if kind is str and not check_texts:
                continue  # the commonest leaf, first
            if kind is dict or kind is list or isinstance(item, dict | list):
                pending.append((item, depth + 1))
            else:
                _check_leaf(item, field, check_texts)
    return document


def _check_leaf(value, field: str, check_texts: bool) -> None:
    if isinstance(value, str):
        if check_texts:
            check_storable(value, f"a text of {field}")
    elif isinstance(value, float) and not math.isfinite(value):
        raise Refused(INVALID_JSON, f"{field} holds a number that is not finite")


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")
