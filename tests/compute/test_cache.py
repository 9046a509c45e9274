"""The checksum cache of task inputs (compute/cache.py), on a real disk and with real processes
competing for its flocks. No Docker, no Django."""

import contextlib
import hashlib
import multiprocessing
import os
import signal
import stat
import time
from pathlib import Path

import pytest

from compute.cache import AssetCache, ChecksumMismatch, link_tree

# 'fork': the children need nothing but this module's functions, and start in milliseconds.
FORK = multiprocessing.get_context("fork")
# A last use that evict() can tell apart from the next one, whatever the file system's clock.
TICK = 0.01


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def writer(data: bytes):
    def fill(path: Path) -> None:
        path.write_bytes(data)

    return fill


def never(path: Path) -> None:
    raise AssertionError(f"filled {path} again")


def use_once(cache: AssetCache, data: bytes) -> str:
    checksum = sha(data)
    with cache.use(checksum, writer(data)):
        pass
    time.sleep(TICK)
    return checksum


def cached(cache: AssetCache) -> set[str]:
    return {entry.name for entry in (cache.root / "entries").iterdir()}


def leftovers(cache: AssetCache) -> list[str]:
    return [item.name for item in (cache.root / "incoming").iterdir()]


def writable_bits(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode) & 0o222


@pytest.fixture
def cache(tmp_path):
    return AssetCache(tmp_path / "cache", max_bytes=10**6)


# Filling


def test_it_fills_a_file_entry_once_then_serves_it_from_disk(cache):
    data = b"model weights"
    fills = []

    def fill(path: Path) -> None:
        fills.append(path)
        path.write_bytes(data)

    with cache.use(sha(data), fill) as path:
        assert path.read_bytes() == data
    with cache.use(sha(data), fill) as again:
        assert again == path and again.read_bytes() == data
    # Another worker process opens the same root: the entry is on disk, not in memory.
    with AssetCache(cache.root, max_bytes=10**6).use(sha(data), never) as other:
        assert other.read_bytes() == data
    assert len(fills) == 1
    assert cache.total_bytes() == len(data)
    assert leftovers(cache) == []


def _use_with_a_slow_fill(root, checksum, data, fill_log, out, barrier):
    def fill(path: Path) -> None:
        with open(fill_log, "a") as log:
            log.write(f"{os.getpid()}\n")
        time.sleep(0.5)  # long enough for the other process to arrive while this one fills
        path.write_bytes(data)

    cache = AssetCache(root, max_bytes=10**6)
    barrier.wait(10)
    with cache.use(checksum, fill) as path:
        Path(out).write_bytes(path.read_bytes())


def test_two_processes_asking_at_once_fill_the_entry_once_and_both_read_it(cache, tmp_path):
    data = os.urandom(4096)
    fill_log = tmp_path / "fills.log"
    barrier = FORK.Barrier(2)
    outs = [tmp_path / "out-1", tmp_path / "out-2"]
    processes = [
        FORK.Process(target=_use_with_a_slow_fill, args=(cache.root, sha(data), data, fill_log, out, barrier))
        for out in outs
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(20)
    assert [process.exitcode for process in processes] == [0, 0]
    assert len(fill_log.read_text().splitlines()) == 1
    assert [out.read_bytes() for out in outs] == [data, data]
    assert leftovers(cache) == []


def test_a_file_whose_sha256_differs_is_refused_and_not_cached(cache):
    expected, served = b"what the ledger registered", b"what a peer sent"
    with pytest.raises(ChecksumMismatch, match=sha(served)):
        with cache.use(sha(expected), writer(served)):
            pytest.fail("a mismatching file was handed out")
    assert cached(cache) == set()
    assert leftovers(cache) == []
    with cache.use(sha(expected), writer(expected)) as path:  # filled again, this time right
        assert path.read_bytes() == expected


def test_a_filler_that_hashed_what_it_wrote_is_held_to_that_digest(cache):
    # A model of gigabytes is hashed as it arrives: the cache takes the filler's digest instead of
    # reading the file again, and refuses the entry when that digest is not the checksum asked for.
    data = b"model weights"

    def fill_saying(digest):
        def fill(path: Path) -> str:
            path.write_bytes(data)
            return digest

        return fill

    with pytest.raises(ChecksumMismatch, match=sha(b"other")):
        with cache.use(sha(data), fill_saying(sha(b"other"))):
            pytest.fail("an entry whose filler reported another digest was handed out")
    assert cached(cache) == set() and leftovers(cache) == []
    with cache.use(sha(data), fill_saying(sha(data))) as path:
        assert path.read_bytes() == data


@pytest.mark.parametrize("is_file", [True, False])
def test_a_failing_fill_leaves_no_entry_and_nothing_in_incoming(cache, is_file):
    def fill(path: Path) -> None:
        if is_file:
            path.write_bytes(b"half a down")
        else:
            (path / "sub").mkdir(parents=True)
            (path / "sub" / "part").write_bytes(b"half a down")
            (path / "sub").chmod(0o555)
        raise ConnectionError("the peer went away")

    checksum = sha(b"never fetched")
    with pytest.raises(ConnectionError):
        with cache.use(checksum, fill, is_file=is_file):
            pytest.fail("a failed fill was handed out")
    assert cached(cache) == set()
    assert leftovers(cache) == []
    assert cache.total_bytes() == 0
    with cache.use(checksum, writer(b"never fetched")) as path:  # the next use fills again
        assert path.read_bytes() == b"never fetched"


def test_folder_entries_hold_a_tree_that_nobody_but_root_can_change(cache):
    checksum = sha(b"a data sample")  # a folder's checksum is the filler's business

    def fill(folder: Path) -> None:
        (folder / "images").mkdir(parents=True)
        (folder / "labels.csv").write_text("a,1\n")
        (folder / "images" / "0.png").write_bytes(b"\x89PNG")

    with cache.use(checksum, fill, is_file=False) as folder:
        assert folder.is_dir()
        assert (folder / "labels.csv").read_text() == "a,1\n"
        assert (folder / "images" / "0.png").read_bytes() == b"\x89PNG"
        for file in (folder / "labels.csv", folder / "images" / "0.png"):
            assert stat.S_IMODE(file.stat().st_mode) == 0o444
        for sub in (folder, folder / "images"):
            assert writable_bits(sub) == 0
    assert cache.total_bytes() == len("a,1\n") + len(b"\x89PNG")
    with cache.use(checksum, never, is_file=False) as again:
        assert sorted(p.name for p in again.rglob("*")) == ["0.png", "images", "labels.csv"]


def test_making_a_folder_entry_read_only_never_follows_a_link_out_of_the_cache(cache, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "file").write_text("not the cache's")
    (outside / "file").chmod(0o644)

    def fill(folder: Path) -> None:
        folder.mkdir()
        (folder / "data.csv").write_text("a,1\n")
        (folder / "to-folder").symlink_to(outside)
        (folder / "to-file").symlink_to(outside / "file")

    with cache.use(sha(b"linked sample"), fill, is_file=False) as folder:
        assert (folder / "data.csv").read_text() == "a,1\n"
    assert stat.S_IMODE(outside.stat().st_mode) == 0o755
    assert stat.S_IMODE((outside / "file").stat().st_mode) == 0o644


def test_file_entries_are_read_only(cache):
    data = b"opener"
    with cache.use(sha(data), writer(data)) as path:
        assert stat.S_IMODE(path.stat().st_mode) == 0o444


@pytest.mark.parametrize("name", ["../x", "a/b", "", "ABCDEF", "f" * 129])
def test_a_name_that_is_not_a_checksum_is_refused(cache, name):
    with pytest.raises(ValueError, match="not a checksum"):
        with cache.use(name, never):
            pass
    assert cached(cache) == set()
    assert not (cache.root / "x").exists()
    assert sorted(p.name for p in cache.root.iterdir()) == ["entries", "incoming", "locks"]


# Eviction


def test_over_max_bytes_the_least_recently_used_entry_goes(tmp_path):
    cache = AssetCache(tmp_path / "cache", max_bytes=250)
    a, b = use_once(cache, b"a" * 100), use_once(cache, b"b" * 100)
    assert cached(cache) == {a, b}
    with cache.use(a, never):  # a is now more recent than b
        pass
    time.sleep(TICK)
    c = use_once(cache, b"c" * 100)
    assert cached(cache) == {a, c}
    assert cache.total_bytes() == 200
    assert leftovers(cache) == []
    with cache.use(b, writer(b"b" * 100)) as path:  # evicted: filled again on its next use
        assert path.read_bytes() == b"b" * 100
    assert cached(cache) == {b, c}


def test_an_entry_this_process_holds_is_never_evicted_even_when_oldest(tmp_path):
    cache = AssetCache(tmp_path / "cache", max_bytes=250)
    data = b"a" * 100
    with cache.use(sha(data), writer(data)) as held:
        time.sleep(TICK)
        b = use_once(cache, b"b" * 100)
        c = use_once(cache, b"c" * 100)
        assert cached(cache) == {sha(data), c}
        assert b not in cached(cache)
        assert held.read_bytes() == data
        assert cache.evict() == []  # 200 bytes fit
    assert cache.total_bytes() == 200


def test_an_entry_held_over_the_limit_stays_until_released(tmp_path):
    cache = AssetCache(tmp_path / "cache", max_bytes=50)
    data = b"a" * 100
    with cache.use(sha(data), writer(data)):
        assert cache.evict() == []
        assert cache.total_bytes() == 100  # over the limit, but nothing can go
    assert cached(cache) == set()  # released: the use's own eviction took it
    assert cache.total_bytes() == 0


def _hold(root, checksum, data, ready, release):
    cache = AssetCache(root, max_bytes=10**6)
    with cache.use(checksum, writer(data)):
        ready.set()
        release.wait(20)


@pytest.mark.parametrize("ending", ["released", "killed"])
def test_an_entry_another_process_holds_is_never_evicted_even_when_oldest(tmp_path, ending):
    cache = AssetCache(tmp_path / "cache", max_bytes=250)
    data = b"a" * 100
    ready, release = FORK.Event(), FORK.Event()
    holder = FORK.Process(target=_hold, args=(cache.root, sha(data), data, ready, release))
    holder.start()
    try:
        assert ready.wait(10)
        time.sleep(TICK)
        b = use_once(cache, b"b" * 100)
        c = use_once(cache, b"c" * 100)
        assert cached(cache) == {sha(data), c}  # b went: the held entry is older, but held
        assert b not in cached(cache)
        cache.max_bytes = 50
        assert cache.evict() == [c]
        assert cached(cache) == {sha(data)}
    finally:
        if ending == "released":
            release.set()
        else:  # a process that dies releases its locks with its file descriptors
            os.kill(holder.pid, signal.SIGKILL)
        holder.join(10)
    assert cache.evict() == [sha(data)]
    assert cache.total_bytes() == 0
    assert leftovers(cache) == []


# Linking into task folders


def test_link_tree_hard_links_a_file(cache, tmp_path):
    data = b"opener"
    with cache.use(sha(data), writer(data)) as path:
        linked = tmp_path / "opener.py"
        link_tree(path, linked)
        assert linked.stat().st_ino == path.stat().st_ino
        assert linked.read_bytes() == data


def test_link_tree_builds_the_folders_and_hard_links_every_file(cache, tmp_path):
    def fill(folder: Path) -> None:
        (folder / "a" / "b").mkdir(parents=True)
        (folder / "top.txt").write_text("top")
        (folder / "a" / "b" / "deep.txt").write_text("deep")
        (folder / "empty").mkdir()

    with cache.use(sha(b"sample"), fill, is_file=False) as folder:
        target = tmp_path / "task" / "sample"
        link_tree(folder, target)
        assert sorted(str(p.relative_to(target)) for p in target.rglob("*")) == [
            "a",
            "a/b",
            "a/b/deep.txt",
            "empty",
            "top.txt",
        ]
        for name in ("top.txt", "a/b/deep.txt"):
            assert (target / name).stat().st_ino == (folder / name).stat().st_ino
        assert (target / "a" / "b").is_dir() and not (target / "a" / "b").is_symlink()
        # The task may tidy its own folder: the links are its, the cache's files stay.
        (target / "empty").rmdir()
        assert (folder / "empty").is_dir()


def test_a_task_whose_two_inputs_have_the_same_content_holds_the_entry_twice_without_waiting_on_itself(cache):
    data = b"two samples, one content"
    with contextlib.ExitStack() as task_inputs:
        first = task_inputs.enter_context(cache.use(sha(data), lambda path: path.write_bytes(data)))
        second = task_inputs.enter_context(cache.use(sha(data), never))
        assert first == second and second.read_bytes() == data
        # Still in use by the outer hold: an evictor passing by must leave it.
        assert cache._evict_if_free(sha(data)) is False
    # Both uses ended: the entry is free again.
    assert cache._evict_if_free(sha(data)) is True
