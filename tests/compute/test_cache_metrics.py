"""The asset cache's metrics: a use that finds its entry is a hit, one that fills it a miss; an
eviction pass counts what it evicted and the bytes left."""

import hashlib
from pathlib import Path

from prometheus_client import REGISTRY

from compute.cache import AssetCache


def sample(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def counts() -> dict:
    names = ("hits_total", "misses_total", "evictions_total")
    return {name: sample(f"substra_worker_cache_{name}") for name in names}


def use(cache: AssetCache, data: bytes) -> None:
    def fill(path: Path) -> None:
        path.write_bytes(data)

    with cache.use(hashlib.sha256(data).hexdigest(), fill):
        pass


def test_hits_misses_evictions_and_bytes_follow_the_caches_uses(tmp_path):
    cache = AssetCache(tmp_path / "cache", max_bytes=10)
    before = counts()

    use(cache, b"12345678")  # a miss
    use(cache, b"12345678")  # a hit
    use(cache, b"abcdefgh")  # a miss: 16 bytes, over 10, the least recently used goes

    after = counts()
    assert {name: after[name] - before[name] for name in after} == {
        "hits_total": 1, "misses_total": 2, "evictions_total": 1,
    }  # fmt: skip
    assert sample("substra_worker_cache_bytes") == cache.total_bytes() == 8
