"""The asset cache's Prometheus metrics (prometheus-client only: no web framework here). The
worker serves them with its own (substrapp/metrics.py; docs/operator-guide.md, "Metrics")."""

from prometheus_client import Counter, Gauge

CACHE_HITS = Counter("substra_worker_cache_hits_total", "asset cache uses that found their entry")
CACHE_MISSES = Counter("substra_worker_cache_misses_total", "asset cache uses that had to fetch their entry")
CACHE_EVICTIONS = Counter("substra_worker_cache_evictions_total", "asset cache entries evicted to fit its size")
CACHE_BYTES = Gauge(
    "substra_worker_cache_bytes", "bytes in the asset cache, at its last eviction pass", multiprocess_mode="mostrecent"
)
