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
from backend.settings import _channels, _file_storage, _server_data_roots

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


def test_files_are_stored_on_the_filesystem_when_no_bucket_is_set(monkeypatch):
    for name in ("BACKEND_S3_BUCKET", "BACKEND_S3_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)

    assert _file_storage()["BACKEND"] == "django.core.files.storage.FileSystemStorage"


def test_s3_keys_are_read_from_files(monkeypatch, tmp_path):
    (tmp_path / "access").write_text("the-access-key\n")
    (tmp_path / "secret").write_text("the-secret-key\n")
    monkeypatch.setenv("BACKEND_S3_BUCKET", "org1")
    monkeypatch.setenv("BACKEND_S3_ENDPOINT_URL", "http://minio:9000")
    monkeypatch.delenv("BACKEND_S3_ACCESS_KEY", raising=False)
    monkeypatch.delenv("BACKEND_S3_SECRET_KEY", raising=False)
    monkeypatch.setenv("BACKEND_S3_ACCESS_KEY_FILE", str(tmp_path / "access"))
    monkeypatch.setenv("BACKEND_S3_SECRET_KEY_FILE", str(tmp_path / "secret"))

    storage = _file_storage()

    options = storage["OPTIONS"]
    assert storage["BACKEND"] == "substrapp.s3storage.S3Storage"
    assert (options["bucket_name"], options["endpoint_url"], options["addressing_style"]) == (
        "org1",
        "http://minio:9000",
        "path",
    )
    assert (options["access_key"], options["secret_key"]) == ("the-access-key", "the-secret-key")


def test_an_s3_endpoint_without_a_bucket_is_refused(monkeypatch):
    monkeypatch.delenv("BACKEND_S3_BUCKET", raising=False)
    monkeypatch.setenv("BACKEND_S3_ENDPOINT_URL", "http://minio:9000")

    with pytest.raises(ImproperlyConfigured, match="BACKEND_S3_ENDPOINT_URL is set but not BACKEND_S3_BUCKET"):
        _file_storage()


def test_server_data_roots_must_be_absolute():
    with pytest.raises(ImproperlyConfigured, match="roots must be absolute"):
        _server_data_roots(["/data", "relative/data"])
