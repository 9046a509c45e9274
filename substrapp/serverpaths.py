"""Data already on this organization's server, registered by path instead of uploaded (large data
sets; docs/sdk-contract.md §4.3). Only folders inside one of BACKEND_SERVER_DATA_ROOTS, judged
after resolving every link; their files are read for a checksum, never moved nor copied.

Links inside a registered folder must lead inside the same root, else the folder is refused. A
link to a file counts as that file. A link to a folder is followed only with `followlinks` (the
SDK's option), like os.walk; a loop of links is refused. Named pipes, sockets and devices are
refused: reading one would hang or read a device.

The checksum is the SHA-256 of the folder's `sha256sum` listing: one line `<sha256>  <path>` per
file, paths relative to the folder and sorted by their bytes. For a folder without links:

    cd DIR && find . -type f -printf '%P\\0' | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum
"""

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

CHUNK_BYTES = 1024 * 1024


class ServerPathError(ValueError):
    """The path is refused; the message says why, for the user. The API answers 400."""

    code = "invalid_path"


@dataclass(frozen=True)
class ServerDirectory:
    path: Path  # absolute, links resolved: what to record and give to tasks
    checksum: str  # hex, see the module's doc
    files: int
    size: int  # bytes of all the files


def check_server_directory(path: str, followlinks: bool = False, roots: list[str] | None = None) -> ServerDirectory:
    """Everything needed to register `path` as a data sample. `roots`: BACKEND_SERVER_DATA_ROOTS
    by default. ServerPathError if it is refused."""
    directory, root = _resolve_inside_roots(path, settings.SERVER_DATA_ROOTS if roots is None else roots)
    files = _files(directory, root, followlinks)
    if not files:
        raise ServerPathError(f"{path!r} holds no file.")
    checksum, size = _digest(files)
    return ServerDirectory(path=directory, checksum=checksum, files=len(files), size=size)


def directory_checksum(directory: Path | str, followlinks: bool = False) -> str:
    """The checksum of a folder whose links all stay inside it."""
    directory = Path(directory).resolve(strict=True)
    return _digest(_files(directory, directory, followlinks))[0]


def _resolve_inside_roots(path: str, roots: list[str]) -> tuple[Path, Path]:
    """The folder, resolved, and the root that holds it."""
    if not roots:
        raise ServerPathError("This organization accepts no data by path on its server.")
    if not os.path.isabs(path):
        raise ServerPathError(f"{path!r}: the path must be absolute.")
    try:
        directory = Path(path).resolve(strict=True)
    except FileNotFoundError:
        raise ServerPathError(f"{path!r} does not exist on this organization's server.") from None
    except (OSError, RuntimeError) as error:  # RuntimeError: a loop of links
        raise ServerPathError(f"{path!r} cannot be resolved: {error}") from None
    if not directory.is_dir():
        raise ServerPathError(f"{path!r} is not a folder.")
    for root in (Path(root).resolve() for root in roots):
        if directory.is_relative_to(root) and directory != root:
            return directory, root
    raise ServerPathError(f"{path!r} is not inside a folder this organization allows data from.")


def _files(directory: Path, root: Path, followlinks: bool) -> list[tuple[bytes, Path]]:
    """(relative path as bytes, real path) of every file, sorted by relative path."""
    files: list[tuple[bytes, Path]] = []
    _collect(directory, b"", root, followlinks, (directory,), files)
    files.sort(key=lambda item: item[0])
    return files


def _collect(folder: Path, prefix: bytes, root: Path, followlinks: bool, ancestors: tuple, files: list) -> None:
    """Adds the files under `folder` (a real path: no link in it) to `files`."""
    try:
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
        kinds = [(entry, entry.is_symlink(), entry.stat(follow_symlinks=False).st_mode) for entry in entries]
    except OSError as error:
        raise ServerPathError(f"{folder} cannot be read: {error.strerror}") from None
    for entry, is_link, mode in kinds:
        relative = prefix + os.fsencode(entry.name)
        path = Path(entry.path)
        real = path
        if is_link:
            real, mode = _link_target(path, root)
        if stat.S_ISREG(mode):
            files.append((relative, real))
        elif not stat.S_ISDIR(mode):
            raise ServerPathError(f"{path}: only files and folders are accepted, not pipes, sockets or devices.")
        elif is_link and not followlinks:
            continue
        elif real in ancestors:
            raise ServerPathError(f"{path}: a link leads back to a folder that holds it.")
        else:
            _collect(real, relative + b"/", root, followlinks, (*ancestors, real), files)


def _link_target(path: Path, root: Path) -> tuple[Path, int]:
    """Where the link leads, and the mode of what is there; it must be under root."""
    try:
        real = path.resolve(strict=True)
        mode = real.stat().st_mode
    except FileNotFoundError:
        raise ServerPathError(f"{path}: a broken link.") from None
    except (OSError, RuntimeError) as error:  # RuntimeError: a loop of links
        raise ServerPathError(f"{path} cannot be resolved: {error}") from None
    if not real.is_relative_to(root):
        raise ServerPathError(f"{path}: a link leads outside the folder data is allowed from.")
    return real, mode


def _digest(files: list[tuple[bytes, Path]]) -> tuple[str, int]:
    """The SHA-256 of the `sha256sum` listing of the files, and their total size."""
    listing = hashlib.sha256()
    size = 0
    for relative, real in files:
        try:
            with open(real, "rb") as file:
                content = hashlib.file_digest(file, "sha256")
                size += file.tell()
        except OSError as error:
            raise ServerPathError(f"{real} cannot be read: {error.strerror}") from None
        listing.update(_listing_line(content.hexdigest(), relative))
    return listing.hexdigest(), size


def _listing_line(digest: str, relative: bytes) -> bytes:
    # sha256sum's escaping: a name holding a backslash or a newline is escaped, and its line
    # starts with a backslash, so that no name can pass for two lines.
    if b"\\" in relative or b"\n" in relative:
        escaped = relative.replace(b"\\", b"\\\\").replace(b"\n", b"\\n")
        return b"\\" + digest.encode() + b"  " + escaped + b"\n"
    return digest.encode() + b"  " + relative + b"\n"
