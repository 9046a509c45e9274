"""docs/orchestrator.md is the reference of the orchestrator's error codes: it must list them all."""

import re
from pathlib import Path

from orchestrator.errors import CODES

DOC = Path(__file__).resolve().parents[2] / "docs" / "orchestrator.md"


def test_every_error_code_is_documented():
    text = DOC.read_text()
    documented = set(re.findall(r"`([A-Z][A-Z_]+)`", text))
    missing = sorted(code for code in CODES if code not in documented)
    assert not missing, f"error codes missing from {DOC.name}: {missing}"


def test_documented_statuses_match_the_code():
    """Each row of the error table names the gRPC status the code is sent with."""
    text = DOC.read_text()
    for code, (status, _meaning) in CODES.items():
        row = re.search(rf"^\| `{code}` \| `([A-Z_]+)` \|", text, flags=re.MULTILINE)
        assert row is not None, f"no table row for {code}"
        assert row.group(1) == status.name, f"{code} is sent as {status.name}, the table says {row.group(1)}"
