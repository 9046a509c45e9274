"""The devnet's S3 server (SeaweedFS): started on free ports, stopped with nothing left behind."""

from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from devnet.s3 import S3Server


def test_the_s3_server_accepts_its_keys_only(s3_server):
    assert "Buckets" in s3_server.client().list_buckets()

    s3_server.secret_key, secret = "wrong", s3_server.secret_key
    try:
        with pytest.raises(ClientError, match="SignatureDoesNotMatch"):
            s3_server.client().list_buckets()
    finally:
        s3_server.secret_key = secret


def test_a_server_started_by_one_process_is_stopped_by_another_leaving_nothing_behind(tmp_path):
    S3Server(tmp_path / "s3").start()  # as `devnet up` does, then exits
    record = S3Server.recorded(tmp_path / "s3")
    assert record["endpoint_url"].startswith("http://127.0.0.1:")

    S3Server.stop_recorded(tmp_path / "s3", grace=1.0)  # as `devnet down` does

    assert not _runs(record["pid"])
    assert not [path for path in Path("/tmp").glob("seaweedfs-*.sock") if _of(path, record["ports"])]
    assert S3Server.recorded(tmp_path / "s3") is None
    assert (tmp_path / "s3" / "data").is_dir()  # the data stay for the next start
    assert S3Server(tmp_path / "s3").secret_key == record["secret_key"]  # and so do the keys


def test_stopping_a_server_already_gone_is_harmless(tmp_path):
    S3Server.stop_recorded(tmp_path / "nothing here")


def _runs(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _of(socket: Path, ports: dict) -> bool:
    return socket.stem.rsplit("-", 1)[1] in {str(port) for port in ports.values()}
