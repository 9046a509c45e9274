"""Uploads streamed into the storage with their checksum, on the filesystem and on a real S3."""

import hashlib
import io
import os
import tracemalloc
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from botocore.exceptions import ClientError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import FileResponse

from backend.settings import _file_storage
from substrapp.storage import UploadTooLarge, discard, open_stored, store_upload

MiB = 1024 * 1024


@dataclass
class Storage:
    kind: str
    names: Callable[[], list[str]]  # what is stored
    unfinished: Callable[[], list[str]] = list  # multipart uploads begun and neither completed nor aborted


@pytest.fixture(params=["filesystem", "s3"])
def storage(request, settings, tmp_path, monkeypatch):
    """The default storage, on a new folder or on a new bucket of the session's S3 server."""
    if request.param == "filesystem":
        location = _use_folder(tmp_path / "storage", settings)
        return Storage("filesystem", lambda: sorted(str(path.relative_to(location)) for path in _files(location)))
    server = request.getfixturevalue("s3_server")
    bucket = _use_bucket(server, settings, monkeypatch)
    return Storage("s3", lambda: _objects(server.client(), bucket), lambda: _multipart_uploads(server.client(), bucket))


def _use_folder(location, settings):
    default = {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(location)}}
    settings.STORAGES = {**settings.STORAGES, "default": default}
    return location


def _use_bucket(server, settings, monkeypatch, **variables) -> str:
    """Points the default storage at a new bucket of `server`, through the backend's settings."""
    bucket = f"test-{uuid.uuid4().hex[:12]}"
    for name, value in {**server.backend_environment(bucket), **variables}.items():
        monkeypatch.setenv(name, value)
    settings.STORAGES = {**settings.STORAGES, "default": _file_storage()}
    return bucket


def _multipart_uploads(client, bucket):
    return [upload["Key"] for upload in client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]


def _files(folder):
    return [path for path in folder.rglob("*") if path.is_file()]


def _objects(client, bucket):
    if bucket not in [item["Name"] for item in client.list_buckets()["Buckets"]]:
        return []
    return sorted(item["Key"] for item in client.list_objects_v2(Bucket=bucket).get("Contents", []))


class ChunkedSource(io.RawIOBase):
    """A binary stream of `size` bytes that is not a file on disk and records how it is read."""

    def __init__(self, size: int, seed: bytes = b"x"):
        self.data = (hashlib.sha256(seed).digest() * (size // 32 + 1))[:size]
        self.position = 0
        self.largest_read = 0

    def readable(self):
        return True

    def read(self, size=-1):
        if size is None or size < 0:
            raise AssertionError("the whole upload was asked for at once")
        self.largest_read = max(self.largest_read, size)
        chunk = self.data[self.position : self.position + size]
        self.position += len(chunk)
        return chunk


def test_an_upload_is_stored_under_its_prefix_with_its_checksum_and_size(storage):
    content = os.urandom(300_000)
    upload = SimpleUploadedFile("opener.py", content)

    stored = store_upload(upload, "datasets/openers")

    assert stored.checksum == hashlib.sha256(content).hexdigest()
    assert stored.size == len(content)
    assert stored.name.startswith("datasets/openers/") and stored.name.endswith("_opener.py")
    assert storage.names() == [stored.name]
    with open_stored(stored.name) as file:
        assert file.read() == content


def test_a_large_upload_is_read_in_chunks_and_uploaded_in_parts(storage):
    source = ChunkedSource(9 * MiB + 123)  # over boto3's 8 MiB threshold: a multipart upload

    stored = store_upload(source, "functions")

    assert stored.checksum == hashlib.sha256(source.data).hexdigest()
    assert stored.size == len(source.data)
    assert source.largest_read <= MiB
    with open_stored(stored.name) as file:
        assert hashlib.sha256(file.read()).hexdigest() == stored.checksum


def test_storing_on_the_filesystem_never_holds_the_upload_in_memory(settings, tmp_path):
    _use_folder(tmp_path, settings)
    source = ChunkedSource(16 * MiB)
    tracemalloc.start()
    try:
        store_upload(source, "models")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 4 * MiB


def test_an_upload_over_the_limit_is_refused_and_nothing_stays_stored(storage):
    with pytest.raises(UploadTooLarge, match="over the limit of 9437184 bytes"):
        store_upload(ChunkedSource(10 * MiB), "functions", max_bytes=9 * MiB)

    assert storage.names() == []
    assert storage.unfinished() == []


def test_a_small_upload_over_the_limit_is_refused_and_nothing_stays_stored(storage):
    with pytest.raises(UploadTooLarge):
        store_upload(ChunkedSource(5000), "functions", max_bytes=4999)

    assert storage.names() == []


def test_an_upload_declaring_a_size_over_the_limit_is_refused_before_it_is_read(settings, storage):
    settings.UPLOAD_MAX_BYTES = 100
    upload = ChunkedSource(101)
    upload.size = 101  # as Django's UploadedFile has
    upload.read = lambda *args: pytest.fail("the upload was read")

    with pytest.raises(UploadTooLarge, match="over the limit of 100 bytes"):
        store_upload(upload, "functions")
    assert storage.names() == []


def test_an_upload_exactly_at_the_limit_is_stored(storage):
    stored = store_upload(ChunkedSource(4096), "samples", max_bytes=4096)

    assert stored.size == 4096


def test_an_upload_already_read_is_stored_from_its_first_byte(storage):
    upload = SimpleUploadedFile("desc.md", b"# A description\n")
    upload.read(5)

    stored = store_upload(upload, "datasets/descriptions")

    assert stored.checksum == hashlib.sha256(b"# A description\n").hexdigest()


def test_a_stored_file_streams_into_a_file_response(storage):
    content = os.urandom(200_000)
    stored = store_upload(io.BytesIO(content), "models")

    response = FileResponse(open_stored(stored.name))

    assert b"".join(response.streaming_content) == content
    response.close()


def test_two_uploads_of_one_name_are_both_kept(storage):
    first = store_upload(SimpleUploadedFile("path", b"1"), "samples")
    second = store_upload(SimpleUploadedFile("path", b"2"), "samples")

    assert first.name != second.name
    assert storage.names() == sorted([first.name, second.name])


def test_a_discarded_file_is_gone_and_discarding_it_again_is_harmless(storage):
    stored = store_upload(SimpleUploadedFile("fn.tar.gz", b"archive"), "functions")

    discard(stored.name)
    discard(stored.name)

    assert storage.names() == []
    with pytest.raises(FileNotFoundError):
        open_stored(stored.name)


def test_an_odd_filename_is_made_safe_in_the_stored_name(storage):
    stored = store_upload(SimpleUploadedFile("../../ét é\\x.py", b"x"), "datasets/openers")

    assert stored.name.startswith("datasets/openers/")
    assert stored.name.rsplit("/", 1)[1].endswith("_x.py")
    assert ".." not in stored.name.split("/")


@pytest.mark.parametrize("prefix", ["", "/abs", "a/../../b"])
def test_a_bad_prefix_is_a_programming_error(prefix):
    with pytest.raises(ValueError, match="bad storage prefix"):
        store_upload(io.BytesIO(b"x"), prefix)


def test_the_s3_bucket_is_created_on_the_first_upload(s3_server, settings, monkeypatch):
    bucket = _use_bucket(s3_server, settings, monkeypatch)
    client = s3_server.client()
    assert bucket not in [item["Name"] for item in client.list_buckets()["Buckets"]]

    stored = store_upload(io.BytesIO(b"hello"), "models")

    assert _objects(client, bucket) == [stored.name]


def test_the_s3_server_refuses_wrong_keys(s3_server, settings, monkeypatch):
    _use_bucket(s3_server, settings, monkeypatch, BACKEND_S3_SECRET_KEY="not the secret")

    with pytest.raises(ClientError, match=r"Forbidden|SignatureDoesNotMatch"):
        store_upload(io.BytesIO(b"hello"), "models")
