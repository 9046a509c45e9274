"""Settings from the environment; a fresh clone runs with none."""

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from backend import __version__
from backend.env import env_json, env_text
from backend.settings import _channels

REPO = Path(__file__).resolve().parents[2]


def test_the_version_is_the_one_of_pyproject():
    assert __version__ == tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def test_channels_are_read_from_a_json_file(monkeypatch, tmp_path):
    path = tmp_path / "channels.json"
    path.write_text(json.dumps({"mychannel": {"model_export_enabled": True}}))
    monkeypatch.delenv("BACKEND_CHANNELS", raising=False)
    monkeypatch.setenv("BACKEND_CHANNELS_FILE", str(path))

    assert _channels(env_json("BACKEND_CHANNELS", {})) == {
        "mychannel": {"model_export_enabled": True, "restricted": False}
    }


def test_a_variable_wins_over_its_file(monkeypatch, tmp_path):
    (tmp_path / "secret").write_text("from the file")
    monkeypatch.setenv("SOME_SECRET_FILE", str(tmp_path / "secret"))
    assert env_text("SOME_SECRET") == "from the file"

    monkeypatch.setenv("SOME_SECRET", "from the variable")
    assert env_text("SOME_SECRET") == "from the variable"


@pytest.mark.parametrize(
    "channels",
    [{}, [], {"mychannel": {"model_export": True}}, {"mychannel": {"restricted": "yes"}}, {"": {}}],
)
def test_a_malformed_channel_configuration_is_refused(channels):
    with pytest.raises(ImproperlyConfigured):
        _channels(channels)


def test_invalid_json_is_refused_with_the_variable_named(monkeypatch):
    monkeypatch.setenv("BACKEND_CHANNELS", "{mychannel")

    with pytest.raises(ImproperlyConfigured, match="BACKEND_CHANNELS is not valid JSON"):
        env_json("BACKEND_CHANNELS", {})


def test_a_fresh_clone_runs_embedded_with_no_configuration(tmp_path):
    environment = {name: value for name, value in os.environ.items() if not name.startswith(("BACKEND_", "DJANGO_"))}

    subprocess.run(
        [sys.executable, str(REPO / "manage.py"), "migrate", "--verbosity", "0"],
        cwd=tmp_path, env=environment, check=True, capture_output=True, timeout=120,
    )  # fmt: skip

    data = tmp_path / ".backend"
    assert (data / "backend.sqlite3").stat().st_size > 0
    assert len((data / "secret_key").read_text()) > 50
    assert oct((data / "secret_key").stat().st_mode & 0o777) == "0o600"
