"""The one percentile every figure in Trace is computed with: the gate's health, the read views, ``trace bench`` and
the benchmarks. Linear interpolation between closest ranks (numpy's default, "type 7"), so a p99 over few samples is
not just the maximum."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(samples: Sequence[float], p: float, *, presorted: bool = False) -> float | None:
    """The ``p``-th percentile (``p`` in 0..100) of ``samples``; ``None`` without samples.

    ``presorted=True`` skips the sort when the caller already holds the samples in ascending order."""
    if not samples:
        return None
    xs = samples if presorted else sorted(samples)
    if len(xs) == 1:
        return float(xs[0])
    h = (len(xs) - 1) * (p / 100.0)
    lo = math.floor(h)
    hi = min(lo + 1, len(xs) - 1)
    return float(xs[lo] + (h - lo) * (xs[hi] - xs[lo]))
