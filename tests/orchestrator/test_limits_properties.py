"""Properties of the one definition of what the platform stores (orchestrator_client/limits.py):
whatever it accepts, a real PostgreSQL stores in `text` and `jsonb` and gives back unchanged, and
JSON carries it there and back; whatever holds a NUL, an unpaired surrogate, a value over its
limit or nesting past the depth limit, it refuses with the code that says why."""

import json
import math

import psycopg
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from devnet.postgres import create_database, drop_database
from orchestrator_client import limits

# No example database on disk, and no deadline: the examples go through a real PostgreSQL.
PROPERTIES = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

# Any code point, with NUL and lone surrogates (category Cs, which `st.text` leaves out) made common:
# lists of characters joined, since `st.text` drops surrogates whatever its alphabet.
BAD_CHARACTERS = st.sampled_from(["\x00", "\ud800", "\udbff", "\udc00", "\udfff"])
ANY_TEXT = st.lists(st.characters() | BAD_CHARACTERS, max_size=120).map("".join)
STORABLE_TEXT = st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=60)
# Half the texts storable, so that acceptance is explored as much as refusal.
SOME_TEXT = ANY_TEXT | STORABLE_TEXT


@pytest.fixture(scope="module")
def postgres():
    """A database of the module's own with one table: a text column and a jsonb column."""
    url = create_database("limits_properties")
    connection = psycopg.connect(url, autocommit=True)
    connection.execute("CREATE TABLE stored (id serial PRIMARY KEY, t text, j jsonb)")
    yield connection
    connection.close()
    drop_database(url)


def stored_and_read_back(postgres, text: str | None = None, document=None):
    """Inserts `text` and `document` (as JSON) and returns them as PostgreSQL gives them back."""
    row = postgres.execute(
        "INSERT INTO stored (t, j) VALUES (%s, %s::jsonb) RETURNING t, j::text",
        [text, json.dumps(document, ensure_ascii=False)],
    ).fetchone()
    return row[0], json.loads(row[1])


def storable(text: str) -> bool:
    return "\x00" not in text and not any(0xD800 <= ord(char) <= 0xDFFF for char in text)


@PROPERTIES
@given(text=SOME_TEXT, max_length=st.integers(min_value=0, max_value=100))
def test_text_is_accepted_exactly_when_postgres_can_store_it_within_its_limit(postgres, text, max_length):
    try:
        accepted = limits.check_text(text, "field", max_length)
    except limits.Refused as refused:
        event(f"refused: {refused.code}")
        if not storable(text):
            assert refused.code == limits.INVALID_TEXT
        else:
            assert refused.code == limits.LIMIT_EXCEEDED and len(text) > max_length
        return
    event("accepted")
    assert storable(text) and len(text) <= max_length
    assert stored_and_read_back(postgres, accepted, {accepted: accepted}) == (text, {text: text})


@PROPERTIES
@given(text=ANY_TEXT)
def test_text_postgres_refuses_is_refused_first(postgres, text):
    """The converse, asked of PostgreSQL itself: what it cannot store, the definition refuses."""
    try:
        stored_and_read_back(postgres, text, [text])
    except (psycopg.DataError, UnicodeEncodeError, psycopg.errors.UntranslatableCharacter):
        with pytest.raises(limits.Refused) as refused:
            limits.check_text(text, "field", 10_000)
        assert refused.value.code == limits.INVALID_TEXT


METADATA = st.dictionaries(SOME_TEXT, SOME_TEXT, max_size=limits.METADATA_MAX_ENTRIES + 3)


def metadata_is_valid(metadata: dict) -> bool:
    return len(metadata) <= limits.METADATA_MAX_ENTRIES and all(
        storable(key) and storable(value)
        and 0 < len(key) <= limits.METADATA_KEY_MAX and "__" not in key
        and len(value) <= limits.METADATA_VALUE_MAX
        for key, value in metadata.items()
    )  # fmt: skip


@PROPERTIES
@given(metadata=METADATA)
def test_metadata_is_accepted_exactly_when_valid_and_then_stored_unchanged_in_jsonb(postgres, metadata):
    try:
        accepted = limits.check_metadata(metadata)
    except limits.Refused as refused:
        event(f"refused: {refused.code}")
        assert not metadata_is_valid(metadata)
        return
    event("accepted")
    assert metadata_is_valid(metadata)
    assert stored_and_read_back(postgres, document=accepted)[1] == metadata


JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.floats() | SOME_TEXT
JSON_DOCUMENTS = st.recursive(
    JSON_LEAVES,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(SOME_TEXT, children, max_size=4),
    max_leaves=30,
)


def leaves_and_keys(document):
    if isinstance(document, dict):
        for key, value in document.items():
            yield key
            yield from leaves_and_keys(value)
    elif isinstance(document, list):
        for value in document:
            yield from leaves_and_keys(value)
    else:
        yield document


def json_is_storable(document) -> bool:
    for value in leaves_and_keys(document):
        if isinstance(value, str) and not storable(value):
            return False
        if isinstance(value, float) and not math.isfinite(value):
            return False
    return True


@PROPERTIES
@given(document=JSON_DOCUMENTS)
def test_a_json_document_accepted_round_trips_through_json_and_jsonb(postgres, document):
    try:
        limits.check_json(document)
    except limits.Refused as refused:
        event(f"refused: {refused.code}")
        assert not json_is_storable(document)
        assert refused.code in (limits.INVALID_TEXT, limits.INVALID_JSON)
        return
    event("accepted")
    assert json_is_storable(document)
    text = json.dumps(document, ensure_ascii=False)
    assert limits.loads(text) == document
    assert limits.loads(json.dumps(document)) == document  # \u escapes decode to the same text
    assert same_json(stored_and_read_back(postgres, document=document)[1], document)


def same_json(stored, sent) -> bool:
    """Equal, numbers compared as jsonb keeps them (numeric: 1.5e16 comes back as an integer)."""
    if isinstance(sent, float) and not isinstance(stored, bool):
        return isinstance(stored, int | float) and float(stored) == sent
    if isinstance(sent, dict):
        return (
            isinstance(stored, dict)
            and stored.keys() == sent.keys()
            and all(same_json(stored[key], sent[key]) for key in sent)
        )
    if isinstance(sent, list):
        return (
            isinstance(stored, list)
            and len(stored) == len(sent)
            and all(same_json(a, b) for a, b in zip(stored, sent, strict=True))
        )
    return type(stored) is type(sent) and stored == sent


@PROPERTIES
@given(document=JSON_DOCUMENTS, ascii_only=st.booleans(), as_bytes=st.booleans())
def test_the_loader_answers_as_check_json_on_what_the_text_decodes_to(document, ascii_only, as_bytes):
    """`loads` checks the texts only when an escape or the text itself can hold what is not
    storable: its answer is check_json's on the decoded document all the same, escaped or not,
    as text or as UTF-8."""
    text = json.dumps(document, ensure_ascii=ascii_only)
    decoded = json.loads(text)  # an escaped surrogate pair decodes to one character, for one
    if as_bytes:
        try:
            text = text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate written raw: no UTF-8 body carries it
            return
    # json.dumps writes a number that is not finite as NaN or Infinity, which `loads` refuses.
    infinite = any(isinstance(v, float) and not math.isfinite(v) for v in leaves_and_keys(decoded))
    try:
        limits.check_json(decoded)
    except limits.Refused as refused:
        with pytest.raises(limits.Refused) as loaded:
            limits.loads(text)
        assert loaded.value.code == (limits.INVALID_JSON if infinite else refused.code)
        return
    assert limits.loads(text) == decoded


@PROPERTIES
@given(depth=st.integers(min_value=1, max_value=5_000), opener=st.sampled_from(["[", '{"a":']))
def test_json_nested_past_the_limit_is_refused_as_too_deep_and_within_it_is_loaded(depth, opener):
    closer = "]" if opener == "[" else "}"
    text = opener * depth + "1" + closer * depth
    if depth <= limits.JSON_DEPTH_MAX:
        assert limits.loads(text) is not None
    else:
        with pytest.raises(limits.Refused) as refused:
            limits.loads(text)
        assert refused.value.code == limits.TOO_DEEP


@PROPERTIES
@given(text=ANY_TEXT)
def test_the_loader_never_fails_otherwise_than_by_refusing(text):
    """Whatever the text, `loads` answers a document or a refusal with a code, never another error."""
    try:
        limits.loads(text)
    except limits.Refused as refused:
        assert refused.code in (limits.INVALID_JSON, limits.INVALID_TEXT, limits.TOO_DEEP)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "1e999", "[1e400]"])
def test_numbers_json_cannot_carry_are_refused(constant):
    with pytest.raises(limits.Refused) as refused:
        limits.loads(constant)
    assert refused.value.code == limits.INVALID_JSON


@PROPERTIES
@given(value=st.floats() | st.integers())
def test_a_number_is_accepted_exactly_when_json_can_carry_it(postgres, value):
    try:
        limits.check_finite(value, "value")
    except limits.Refused as refused:
        assert refused.code == limits.INVALID_JSON and not math.isfinite(value)
        return
    assert math.isfinite(value)
    assert same_json(stored_and_read_back(postgres, document=[value])[1], [value])
