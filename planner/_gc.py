"""The garbage collector's setting during a run (fewer young-generation collections)."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

YOUNG_THRESHOLD = 50_000
"""Allocations between young-generation collections during a run (CPython's default is 700)."""


def collect_less() -> None:
    """Raise the young generation's threshold to YOUNG_THRESHOLD for the rest of the process (workers)."""
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], YOUNG_THRESHOLD), old[1], old[2])


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the young generation every YOUNG_THRESHOLD allocations instead of 700, restored afterwards.

    A run allocates millions of small objects (model rows, table cells, map features) while the
    region's frames stay alive, and each collection that reaches the old generation walks them
    all: about 6 % of a province's CPU time (measured). The planner's first imports (`regions`,
    `pipeline`: pandas, geopandas, networkx, the rule models) run under it too: importing them
    creates ~100,000 objects, few of them garbage, and the default setting collected the young
    generation ~240 times and everything twice meanwhile (0.86 -> 0.75 s CPU for the imports of a
    run, median of 16 alternating; BENCHMARKS §10 zhejiang9).
    """
    old = gc.get_threshold()
    collect_less()
    try:
        yield
    finally:
        gc.set_threshold(*old)
