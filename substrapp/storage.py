"""Files of registered assets (openers, descriptions, function archives, data samples, models),
through Django's default storage: the filesystem under BACKEND_DATA_DIR, or S3 when configured.

    stored = store_upload(request.FILES["file"], "functions")   # streamed, hashed, size-checked
    try:
        register_with_the_orchestrator(..., checksum=stored.checksum)
    except ...:
        discard(stored.name)                                     # nothing left half-registered
        raise
    ...
    return FileResponse(open_stored(stored.name))
"""

import hashlib
import io
import logging
import re
import uuid
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import BinaryIO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

CHUNK_BYTES = 1024 * 1024

logger = logging.getLogger(__name__)


class UploadTooLarge(Exception):
    """The API answers 413 (code `too_large`)."""

    code = "too_large"

    def __init__(self, limit: int):
        super().__init__(f"The file is over the limit of {limit} bytes.")
        self.limit = limit


@dataclass(frozen=True)
class StoredFile:
    name: str  # in the storage: give it to open_stored() and discard()
    checksum: str  # SHA-256 of the content, hex
    size: int


def store_upload(uploaded_file, prefix: str, max_bytes: int | None = None) -> StoredFile:
    """Streams `uploaded_file` (an UploadedFile or any binary file object) into the storage under
    `prefix/`, computing its checksum on the way. Over `max_bytes` (BACKEND_UPLOAD_MAX_BYTES by
    default) it raises UploadTooLarge and nothing stays stored."""
    limit = settings.UPLOAD_MAX_BYTES if max_bytes is None else max_bytes
    declared = getattr(uploaded_file, "size", None)
    if declared is not None and declared > limit:
        raise UploadTooLarge(limit)
    _rewind(uploaded_file)
    reader = _HashingReader(uploaded_file, limit)
    name = _new_name(prefix, getattr(uploaded_file, "name", None))
    try:
        name = default_storage.save(name, File(reader, name=name))
    except BaseException:
        _discard_after_failure(name)
        raise
    return StoredFile(name=name, checksum=reader.hexdigest(), size=reader.size)


def discard(name: str) -> None:
    """Removes a stored file; nothing happens if there is none."""
    default_storage.delete(name)


def open_stored(name: str) -> BinaryIO:
    """A stored file open for reading as a stream (FileResponse takes it as is); close it after.
    FileNotFoundError if there is none."""
    open_stream = getattr(default_storage, "open_stream", None)
    if open_stream is not None:
        return open_stream(name)
    return default_storage.open(name, "rb")


def _discard_after_failure(name: str) -> None:
    """The first error is the one to report: a storage that is down fails this too."""
    try:
        discard(name)
    except Exception:
        logger.exception("could not remove %s after a failed upload", name)


def _new_name(prefix: str, filename: str | None) -> str:
    """`prefix/<random>_<filename>`: unique, so no storage ever renames it nor checks first."""
    parts = PurePosixPath(prefix).parts
    if not parts or parts[0] == "/" or ".." in parts:
        raise ValueError(f"bad storage prefix {prefix!r}")
    base = re.sub(r"[^A-Za-z0-9._-]", "_", PurePosixPath(filename or "").name)[-100:].lstrip(".")
    return "/".join([*parts, f"{uuid.uuid4().hex}_{base or 'file'}"])


def _rewind(file) -> None:
    # Django may have read an upload already (to guess its type); start from its first byte.
    try:
        file.seek(0)
    except (AttributeError, OSError, io.UnsupportedOperation):
        pass


class _HashingReader:
    """Reads through to `file`, hashing and counting; past `limit` bytes a read raises.
    It says it cannot seek, so storages read it once from start to end (boto3 then uploads it
    in parts of a known size instead of seeking around it)."""

    closed = False

    def __init__(self, file, limit: int):
        self._file = file
        self._limit = limit
        self._hash = hashlib.sha256()
        self.size = 0

    def read(self, size: int | None = -1) -> bytes:
        """`size` bytes, fewer only at the end: boto3 takes a short read for the end of the file."""
        chunks, count = [], 0
        while size is None or size < 0 or count < size:
            wanted = CHUNK_BYTES if size is None or size < 0 else min(CHUNK_BYTES, size - count)
            data = self._file.read(wanted)
            if not data:
                break
            self._take(data)
            chunks.append(data)
            count += len(data)
        return b"".join(chunks)

    def _take(self, data) -> None:
        if isinstance(data, str):
            raise TypeError("store_upload needs a file opened in binary mode")
        self.size += len(data)
        if self.size > self._limit:
            raise UploadTooLarge(self._limit)
        self._hash.update(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        # Storages rewind before writing (Django's File.chunks, django-storages' _save): a no-op
        # at the start, refused anywhere else.
        if offset == 0 and whence == io.SEEK_SET and self.size == 0:
            return 0
        raise io.UnsupportedOperation("the upload is read once, from start to end")

    def tell(self) -> int:
        return self.size

    def close(self) -> None:
        """The caller owns the upload and closes it."""

    def hexdigest(self) -> str:
        return self._hash.hexdigest()
