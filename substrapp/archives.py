"""Archives users upload: function archives (a Docker build context, its Dockerfile at the root)
and data samples (the SDK zips each sample's folder). tar (plain, gzip, bzip2, xz) and zip, told
apart by their first bytes, not by their names.

Every member is checked before anything is written (`inspect_archive`), and again while
`safe_extract` writes it, which also checks where each write lands on disk. Refused, each with
an ArchiveError whose message names the member (the API answers 400):

- a path that is absolute or climbs out with `..`;
- any link, symbolic or hard, wherever it points. Links inside the archive's own folder are
  safe only if every later member is written knowing where each earlier link leads (a link
  `d -> .` then a member `d/../../x`; a link then a file written through it); neither a Docker
  build context nor a data sample needs one, and refusing them all leaves nothing to get wrong;
- device files, named pipes, sockets, encrypted zip members;
- two members with one name, or a file where another member needs a folder;
- more than `max_members` members, or regular files adding up to more than
  `max_expanded_bytes` (a zip bomb is refused from its headers, before inflating a byte; the
  bytes written are counted too, in case a header lies);
- an archive with no file at all, a damaged one, or something that is neither tar nor zip.

Limits default to BACKEND_ARCHIVE_MAX_EXPANDED_BYTES and BACKEND_ARCHIVE_MAX_MEMBERS; callers
outside Django pass an ArchiveLimits.
"""

import contextlib
import lzma
import os
import re
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.conf import settings

CHUNK_BYTES = 1024 * 1024
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
# What a damaged or unsupported archive raises from tarfile, zipfile and their decompressors.
_READ_ERRORS = (
    tarfile.TarError, zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError,
    NotImplementedError, RuntimeError,
)  # fmt: skip


class ArchiveError(ValueError):
    """The archive is refused; the message says why, for the user. The API answers 400."""

    code = "invalid_archive"


@dataclass(frozen=True)
class ArchiveLimits:
    max_expanded_bytes: int
    max_members: int

    @classmethod
    def from_settings(cls) -> "ArchiveLimits":
        return cls(settings.ARCHIVE_MAX_EXPANDED_BYTES, settings.ARCHIVE_MAX_MEMBERS)


@dataclass(frozen=True)
class ArchiveContents:
    format: str  # "tar" or "zip"
    files: tuple[str, ...]  # relative POSIX paths of the regular files, in archive order
    expanded_size: int  # bytes of all the files together


def inspect_archive(archive, limits: ArchiveLimits | None = None) -> ArchiveContents:
    """Checks every member without extracting anything. `archive`: a path or a seekable binary
    file (an UploadedFile is one). ArchiveError if it is refused."""
    limits = limits or ArchiveLimits.from_settings()
    with _open(archive, limits) as reader:
        members = list(_checked_members(reader, limits))
    if all(member.is_dir for member in members):
        raise ArchiveError("The archive holds no file.")
    return _contents(reader.format, members)


def check_function_archive(archive, limits: ArchiveLimits | None = None) -> ArchiveContents:
    """inspect_archive, and a Dockerfile at the root: a function is built from it."""
    contents = inspect_archive(archive, limits)
    if "Dockerfile" not in contents.files:
        nested = next((name for name in contents.files if PurePosixPath(name).name == "Dockerfile"), None)
        hint = f" ({nested!r} is not: archive that folder's contents, not the folder)" if nested else ""
        raise ArchiveError(f"A function archive needs a Dockerfile at its root{hint}.")
    return contents


def safe_extract(archive, dest: Path | str, limits: ArchiveLimits | None = None) -> ArchiveContents:
    """Extracts a checked archive into `dest` (made if missing; it must be empty). Files get mode
    644, or 755 when executable in the archive; owners, times and other bits are not kept. On any
    error nothing extracted is left, and `dest` itself is removed if this call made it."""
    limits = limits or ArchiveLimits.from_settings()
    inspect_archive(archive, limits)
    dest = Path(dest)
    made_dest = not dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    if any(dest.iterdir()):
        raise ValueError(f"{dest} is not empty")
    try:
        return _extract(archive, dest.resolve(), limits)
    except BaseException:
        _empty(dest, remove_it=made_dest)
        raise


@dataclass(frozen=True)
class _Member:
    name: str  # normalized: relative, no `.` nor `..`, `/` between parts
    is_dir: bool
    size: int
    executable: bool
    handle: object  # TarInfo or ZipInfo


def _checked_members(reader, limits: ArchiveLimits) -> Iterator[_Member]:
    """The members, each checked as it comes; stops at the first refusal (so an archive of a
    million members or of petabytes is refused without reading it all)."""
    files: set[str] = set()
    folders: set[str] = set()
    count = expanded = 0
    for member in reader.members():
        count += 1
        if count > limits.max_members:
            raise ArchiveError(f"The archive has more than {limits.max_members} members.")
        if member is None:  # the root folder itself (`./`)
            continue
        expanded += member.size
        if expanded > limits.max_expanded_bytes:
            raise ArchiveError(f"The archive expands to more than {limits.max_expanded_bytes} bytes.")
        _check_place(member, files, folders)
        yield member


def _check_place(member: _Member, files: set[str], folders: set[str]) -> None:
    """No two members at one path, and no file where a folder must be."""
    parents = [str(parent) for parent in PurePosixPath(member.name).parents][:-1]
    for parent in parents:
        if parent in files:
            raise ArchiveError(f"{member.name!r}: {parent!r} is a file in the archive, not a folder.")
    if member.name in files or (not member.is_dir and member.name in folders):
        raise ArchiveError(f"{member.name!r} appears twice in the archive.")
    folders.update(parents)
    (folders if member.is_dir else files).add(member.name)


def _normalized_name(raw: str) -> str | None:
    """The member's path relative to the extraction folder, or None for that folder itself.
    Backslashes count as separators: Windows tools write them, and some extractors follow."""
    if "\x00" in raw:
        raise ArchiveError(f"{raw!r}: a member's name may not hold a NUL character.")
    slashed = raw.replace("\\", "/")
    if slashed.startswith("/") or re.match(r"[A-Za-z]:(/|$)", slashed):
        raise ArchiveError(f"{raw!r}: a member may not have an absolute path.")
    parts = [part for part in slashed.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise ArchiveError(f"{raw!r}: a member may not climb out of the archive with '..'.")
    return "/".join(parts) or None


class _TarReader:
    format = "tar"

    def __init__(self, tar: tarfile.TarFile):
        self._tar = tar

    def members(self) -> Iterator[_Member | None]:
        with _reading():
            for info in self._tar:
                yield self._member(info)

    def _member(self, info: tarfile.TarInfo) -> _Member | None:
        name = _normalized_name(info.name)
        if info.issym() or info.islnk():
            kind = "symbolic" if info.issym() else "hard"
            raise ArchiveError(f"{info.name!r}: links are not accepted (a {kind} link to {info.linkname!r}).")
        if not (info.isreg() or info.isdir()):
            raise ArchiveError(f"{info.name!r}: {_TAR_KINDS.get(info.type, 'special files')} are not accepted.")
        if name is None:
            if info.isreg():
                raise ArchiveError(f"{info.name!r}: a file may not stand for the archive's own folder.")
            return None
        return _Member(name, info.isdir(), info.size if info.isreg() else 0, bool(info.mode & 0o111), info)

    def open(self, member: _Member):
        with _reading():
            return self._tar.extractfile(member.handle)


_TAR_KINDS = {tarfile.CHRTYPE: "device files", tarfile.BLKTYPE: "device files", tarfile.FIFOTYPE: "named pipes"}


class _ZipReader:
    format = "zip"

    def __init__(self, zip_file: zipfile.ZipFile):
        self._zip = zip_file

    def members(self) -> Iterator[_Member | None]:
        for info in self._zip.infolist():
            yield self._member(info)

    def _member(self, info: zipfile.ZipInfo) -> _Member | None:
        name = _normalized_name(info.filename)
        mode = info.external_attr >> 16 if info.create_system == 3 else 0  # 3: made on Unix
        if stat.S_ISLNK(mode):
            raise ArchiveError(f"{info.filename!r}: links are not accepted (a symbolic link).")
        if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise ArchiveError(f"{info.filename!r}: special files (devices, pipes, sockets) are not accepted.")
        if info.flag_bits & 0x1:
            raise ArchiveError(f"{info.filename!r}: encrypted members are not accepted.")
        is_dir = info.is_dir() or stat.S_ISDIR(mode)
        if name is None:
            if not is_dir:
                raise ArchiveError(f"{info.filename!r}: a file may not stand for the archive's own folder.")
            return None
        return _Member(name, is_dir, 0 if is_dir else info.file_size, bool(mode & 0o111), info)

    def open(self, member: _Member):
        with _reading():
            return self._zip.open(member.handle)


@contextlib.contextmanager
def _open(archive, limits: ArchiveLimits):
    """A reader of the archive, whichever its format."""
    with contextlib.ExitStack() as stack:
        file = stack.enter_context(open(archive, "rb")) if isinstance(archive, str | os.PathLike) else archive
        with _reading():
            reader = _reader(file, stack, limits)
        yield reader


def _reader(file, stack: contextlib.ExitStack, limits: ArchiveLimits):
    file.seek(0)
    magic = file.read(4)
    file.seek(0)
    if magic in _ZIP_MAGICS:
        _check_zip_count(file, limits.max_members)
        return _ZipReader(stack.enter_context(zipfile.ZipFile(file)))
    try:
        return _TarReader(stack.enter_context(tarfile.open(fileobj=file, mode="r:*")))
    except tarfile.ReadError:
        raise ArchiveError("The file is neither a tar nor a zip archive.") from None


def _check_zip_count(file, max_members: int) -> None:
    """ZipFile reads its whole directory at once: a zip of millions of empty members would fill
    memory before _checked_members counts them. Its end record says how many there are."""
    end_record = zipfile._EndRecData(file)  # private, but stable since Python 2
    file.seek(0)
    if end_record and end_record[zipfile._ECD_ENTRIES_TOTAL] > max_members:
        raise ArchiveError(f"The archive has more than {max_members} members.")


@contextlib.contextmanager
def _reading():
    """Errors from reading the archive are the archive's fault: a 400, not a 500."""
    try:
        yield
    except ArchiveError:
        raise
    except _READ_ERRORS as error:
        raise ArchiveError(f"The archive is damaged or of an unsupported kind: {error}") from error


def _extract(archive, root: Path, limits: ArchiveLimits) -> ArchiveContents:
    written = 0
    members = []
    with _open(archive, limits) as reader:
        for member in _checked_members(reader, limits):
            # Split on "/" then joined: even an absolute name would land under root.
            target = root.joinpath(*member.name.split("/"))
            if member.is_dir:
                _make_folder(root, target)
            else:
                _make_folder(root, target.parent)
                written += _write(reader, member, target, limits.max_expanded_bytes - written)
            members.append(member)
    return _contents(reader.format, members)


def _make_folder(root: Path, folder: Path) -> None:
    """Makes `folder` after checking where it really is on disk, links and `..` resolved."""
    if not folder.resolve().is_relative_to(root):
        raise ArchiveError(f"{os.path.relpath(folder, root)}: it would be written outside the archive's folder.")
    folder.mkdir(parents=True, exist_ok=True)


def _write(reader, member: _Member, target: Path, budget: int) -> int:
    """Copies one member, never through a link (O_NOFOLLOW, O_EXCL). Returns the bytes written;
    refuses more than `budget`, or than the member's header said."""
    mode = 0o755 if member.executable else 0o644
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    written = 0
    with os.fdopen(fd, "wb") as out, reader.open(member) as source:
        while True:
            with _reading():
                chunk = source.read(CHUNK_BYTES)
            if not chunk:
                return written
            written += len(chunk)
            if written > min(member.size, budget):
                raise ArchiveError(f"{member.name!r} holds more bytes than its header says.")
            out.write(chunk)


def _contents(format: str, members: list[_Member]) -> ArchiveContents:
    files = tuple(member.name for member in members if not member.is_dir)
    size = sum(member.size for member in members if not member.is_dir)
    return ArchiveContents(format=format, files=files, expanded_size=size)


def _empty(dest: Path, remove_it: bool) -> None:
    if remove_it:
        shutil.rmtree(dest, ignore_errors=True)
        return
    for child in dest.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
