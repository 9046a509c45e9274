"""The API's JSON renderer (substrapp/api/renderers.py) writes what DRF's JSONRenderer writes."""

import datetime
import decimal
import uuid

import pytest
from django.utils.functional import lazy
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from substrapp.api.renderers import FastJSONRenderer

PARIS = datetime.timezone(datetime.timedelta(hours=1))
LAZY = lazy(lambda: "a lazy text", str)


def a_page() -> ReturnDict:
    task = {
        "key": uuid.UUID("6f1c8d3e-2b7a-4e0f-9a51-3c2d1e0f4a5b"),
        "name": 'é ü 漢字 🚀, a quote " and a backslash \\, a line\nand U+2028 \u2028 / U+2029 \u2029',
        "created": datetime.datetime(2026, 12, 6, 10, 0, 1, 123456, tzinfo=datetime.UTC),
        "ended": datetime.datetime(2026, 12, 6, 11, 0, tzinfo=PARIS),
        "naive": datetime.datetime(2026, 12, 6, 10, 0),
        "day": datetime.date(2026, 12, 6),
        "at": datetime.time(10, 0, 1, 500),
        "took": datetime.timedelta(seconds=42.5),
        "value": decimal.Decimal("0.125"),
        "numbers": [0, -1, 2**63 - 1, 0.1, 0.75, 1e15, -2.5e-3, True, False, None],
        "label": LAZY(),
        "empty": {},
    }
    return ReturnDict({"count": 2, "results": ReturnList([task, dict(task)], serializer=None)}, serializer=None)


@pytest.mark.parametrize(
    "data",
    [a_page(), [], {}, "text", 0, None, {"big": 2**70}, {1: "an integer key"}],
    ids=["a page", "empty list", "empty object", "string", "zero", "nothing", "past 64 bits", "integer key"],
)
def test_it_writes_the_bytes_drf_writes(data):
    assert FastJSONRenderer().render(data) == JSONRenderer().render(data)


def test_an_indented_answer_is_drfs_own():
    asked = "application/json; indent=4"
    assert FastJSONRenderer().render(a_page(), asked) == JSONRenderer().render(a_page(), asked)
    assert b"\n    " in FastJSONRenderer().render(a_page(), asked)
