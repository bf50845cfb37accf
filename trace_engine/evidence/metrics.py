"""Read-time per-call eval aggregates (the seed's ``TraceDerivedCallMetrics``) derived from a scorecard timeline.

Percentiles use linear interpolation between closest ranks (NumPy's default ``"linear"`` method, Hyndman &
Fan type 7): for sorted samples ``x[0..n-1]`` and ``p`` in [0, 100], ``h = (n - 1) * p / 100`` and the value is
``x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)])``. One sample gives that sample for every
percentile; no samples give ``null``. This is the method the offline eval harness uses, so an online per-call
score lines up with the offline benchmark.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from trace_engine.stats import percentile


def latency_summary(samples: Iterable[float]) -> dict[str, Any]:
    xs = [float(x) for x in samples]
    return {"count": len(xs), "p50": percentile(xs, 50), "p95": percentile(xs, 95), "p99": percentile(xs, 99)}


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def derived_metrics(timeline: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Turns, turns by role, TTFB / endpointing distributions, barge-in counts and recovery, tool calls."""
    turns = 0
    by_role: dict[str, int] = {}
    ttfb: list[float] = []
    endp: list[float] = []
    barge_n = barge_rec = tools = 0
    detect: list[float] = []
    for ev in timeline:
        turns += 1
        role = ev.get("role")
        if isinstance(role, str):
            by_role[role] = by_role.get(role, 0) + 1
        if _num(ev.get("ttfb_ms")):
            ttfb.append(ev["ttfb_ms"])
        if _num(ev.get("endpointing_ms")):
            endp.append(ev["endpointing_ms"])
        b = ev.get("barge")
        if isinstance(b, dict):
            barge_n += 1
            if b.get("recovered") is True:
                barge_rec += 1
            if _num(b.get("detect_ms")):
                detect.append(b["detect_ms"])
        tc = ev.get("tool_calls")
        if isinstance(tc, list):
            tools += len(tc)
    return {
        "turns": turns,
        "turns_by_role": by_role,
        "ttfb_ms": latency_summary(ttfb),
        "endpointing_ms": latency_summary(endp),
        "barge": {
            "count": barge_n,
            "recovered": barge_rec,
            "recovery_rate": (barge_rec / barge_n) if barge_n else None,
            "detect_ms": latency_summary(detect),
        },
        "tool_calls": tools,
    }
