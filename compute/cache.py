"""A disk cache of task inputs (openers, data samples, models, function archives), keyed by
checksum and shared by every worker process of an organization.

    cache = AssetCache(root, max_bytes=10 * 1024**3)
    with cache.use(checksum, fill=download_into) as path:   # a file, or a folder of files
        link_into_task_folder(path)

Each entry `entries/<checksum>/` holds `data` (a file or a folder) and `size` (its bytes, written
last: an entry without it is incomplete and is filled again). Locks are `flock`s on
`locks/<checksum>`: an exclusive one while an entry is filled or evicted, a shared one for as long
as it is in use. So one process fills an entry while the others wait for it, an entry in use is
never evicted, and a process that dies releases its locks with its file descriptors.

Over `max_bytes`, the least recently used entries that nobody holds are evicted (the time of
last use is the mtime of `size`, touched on each use).
"""

import contextlib
import fcntl
import hashlib
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from compute import metrics

CHUNK = 1024 * 1024


_holding = threading.local()


def _held_here() -> dict[str, int]:
    """The entries this thread holds, by lock file: how many uses of each are open."""
    if not hasattr(_holding, "entries"):
        _holding.entries = {}
    return _holding.entries


class ChecksumMismatch(Exception):
    """What was fetched is not what the ledger registered: never cached, never used."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def tree_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


class AssetCache:
    def __init__(self, root: Path | str, max_bytes: int):
        self.root = Path(root)
        self.max_bytes = max_bytes
        for folder in ("entries", "locks", "incoming"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def use(self, checksum: str, fill: Callable[[Path], str | None], is_file: bool = True) -> Iterator[Path]:
        """The entry's path, filled first if needed, held (never evicted) until the block ends.

        `fill(path)` writes the asset at `path`: a file if `is_file`, else a folder, which it
        creates. A file's SHA-256 is checked here: the filler returns the one it computed while
        writing (a model of gigabytes is then read once, not twice), or None and it is computed
        from the file. A folder's content is the filler's to check (it comes from an archive or
        a server directory checked as it was read)."""
        _check_name(checksum)
        held = _held_here()
        name = str(self.root / "locks" / checksum)
        if name in held:
            # Already held by this thread (a task whose two inputs have the same content): a
            # second flock, on another descriptor of the same file, would wait on our own lock.
            held[name] += 1
            try:
                yield self._entry(checksum) / "data"
            finally:
                held[name] -= 1
            return
        with self._lock(checksum) as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            hit = self._complete(checksum)
            (metrics.CACHE_HITS if hit else metrics.CACHE_MISSES).inc()
            if not hit:
                self._fill(checksum, fill, is_file)
            # Shared from here: other users may read; an evictor's exclusive try fails.
            fcntl.flock(lock, fcntl.LOCK_SH)
            os.utime(self._entry(checksum) / "size")
            held[name] = 1
            try:
                yield self._entry(checksum) / "data"
            finally:
                del held[name]  # nested uses end first: they are inner blocks of this one
        self.evict()

    def evict(self) -> list[str]:
        """Evicts least recently used entries nobody holds until the cache fits; their checksums."""
        entries = []
        for entry in (self.root / "entries").iterdir():
            with contextlib.suppress(FileNotFoundError, ValueError):
                size_file = entry / "size"
                entries.append((size_file.stat().st_mtime, int(size_file.read_text()), entry.name))
        total = sum(size for _, size, _ in entries)
        evicted = []
        for _, size, checksum in sorted(entries):
            if total <= self.max_bytes:
                break
            if self._evict_if_free(checksum):
                total -= size
                evicted.append(checksum)
        metrics.CACHE_EVICTIONS.inc(len(evicted))
        metrics.CACHE_BYTES.set(total)
        return evicted

    def total_bytes(self) -> int:
        sizes = (entry / "size" for entry in (self.root / "entries").iterdir())
        return sum(int(size.read_text()) for size in sizes if size.exists())

    def _fill(self, checksum: str, fill: Callable[[Path], str | None], is_file: bool) -> None:
        shutil.rmtree(self._entry(checksum), ignore_errors=True)
        incoming = self.root / "incoming" / uuid.uuid4().hex
        incoming.mkdir()
        try:
            data = incoming / "data"
            written = fill(data)
            if is_file:
                written = written if isinstance(written, str) else sha256_of(data)
                if written != checksum:
                    raise ChecksumMismatch(f"the file fetched for {checksum} has checksum {written}")
            _make_read_only(data)
            (incoming / "size").write_text(str(tree_size(data)))
            incoming.rename(self._entry(checksum))
        finally:
            shutil.rmtree(incoming, ignore_errors=True)

    def _evict_if_free(self, checksum: str) -> bool:
        with self._lock(checksum) as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # in use
            # Renamed away first: a reader never sees a half-deleted entry as complete.
            doomed = self.root / "incoming" / f"evicted-{uuid.uuid4().hex}"
            with contextlib.suppress(FileNotFoundError):
                self._entry(checksum).rename(doomed)
            _remove_tree(doomed)
            return True

    @contextlib.contextmanager
    def _lock(self, checksum: str):
        fd = os.open(self.root / "locks" / checksum, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            yield fd
        finally:
            os.close(fd)  # releases the flock

    def _entry(self, checksum: str) -> Path:
        return self.root / "entries" / checksum

    def _complete(self, checksum: str) -> bool:
        return (self._entry(checksum) / "size").exists()


def _check_name(checksum: str) -> None:
    if not checksum or not all(c in "0123456789abcdef" for c in checksum) or len(checksum) > 128:
        raise ValueError(f"not a checksum: {checksum!r}")


def _make_read_only(path: Path) -> None:
    """Entries are hard-linked into task folders: a task must not be able to change them."""
    if path.is_file():
        path.chmod(0o444)
        return
    for item in path.rglob("*"):
        if item.is_file() and not item.is_symlink():
            item.chmod(0o444)
        elif item.is_dir() and not item.is_symlink():  # chmod follows a link out of the cache
            item.chmod(0o555)
    path.chmod(0o555)


def _remove_tree(path: Path) -> None:
    if not path.exists():
        return
    for folder in [path, *(p for p in path.rglob("*") if p.is_dir() and not p.is_symlink())]:
        folder.chmod(0o755)
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()


def link_tree(source: Path, target: Path) -> None:
    """Hard links of `source` (a file or a folder) at `target`, copies across file systems."""
    if source.is_file():
        _link_or_copy(source, target)
        return
    target.mkdir(parents=True, exist_ok=True)
    for item in sorted(source.rglob("*")):
        destination = target / item.relative_to(source)
        if item.is_dir():
            destination.mkdir(exist_ok=True)
        elif item.is_file():
            _link_or_copy(item, destination)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
