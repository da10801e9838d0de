"""Garbage collection for long-running processes (`cxbot serve`'s workers, `cxbot socket`).

CPython's cyclic collector stops every thread while it runs. With its default thresholds
a busy worker ran a full (oldest-generation) collection every couple of seconds, and each
one walked every object the process made at start-up (modules, SQLAlchemy's mappers,
Bolt, Jinja's templates): 70–120 ms of CPU with every acknowledgement in that worker
waiting, and about 5 % of the worker's time in all (measured in `bench.load`).

`settle()` runs once the process has started: it collects what start-up left behind and
moves everything still alive to the permanent generation (`gc.freeze()`), which the
collector no longer walks, and it lets the youngest generation grow to `YOUNG` objects
between collections, so most objects of a request have died before the collector looks
at them. Reference counting frees everything that is not in a cycle at once, as before;
the thresholds only decide how often cycles are looked for. On the load benchmark,
collections took 0.2–0.35 s of CPU in a minute's run instead of 1.5–4 s, and SQLite's
vote acknowledgement p99 fell from 107–128 ms to 60–69 ms.
"""

from __future__ import annotations

import gc

YOUNG = 10_000      # allocations (net of deallocations) between young collections (CPython: 700)
MIDDLE = 20         # young collections per middle one (CPython: 10)
OLD = 100           # middle collections per full one (CPython: 10)


def settle() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG, MIDDLE, OLD)
