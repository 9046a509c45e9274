"""The cyclic garbage collector of a long-lived service process (orchestrator, API workers,
event consumer, compute workers).

A request or a batch of events allocates a few hundred thousand short-lived objects (a batch of
500 tasks decoded, checked, written and answered). With Python's default threshold (700
allocations), the collector runs hundreds of times per batch, and each time it reaches the older
generations it walks every object the process has held since it started (Django, DRF, gRPC and
protobuf modules): pauses of 100 to 200 ms in the middle of a request on the test machine.
"""

import gc

YOUNG_THRESHOLD = 50_000


def settle() -> None:
    """Called once a process has loaded what it keeps for its whole life: a higher threshold for
    the youngest generation, and what is alive now frozen, so that the collector never walks it
    again."""
    gc.set_threshold(YOUNG_THRESHOLD, 50, 100)
    gc.collect()
    gc.freeze()
