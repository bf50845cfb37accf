"""SVG charts, drawn on the server: no chart library, no script, readable without colour.

:func:`daily_trend` is the Exposure page's chart: one stacked bar per day (PASS at the bottom, then WARN, then
FAIL), each bar a link to that day's calls, each with a ``<title>`` a screen reader and a mouse both get. The
page also carries the same figures as a table (the chart's ``aria-describedby``). Colours are the page's CSS
classes (``bar-pass`` ...), which pair each with a pattern-free, 3:1-contrast fill against the background.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

WIDTH, HEIGHT = 720, 200
PAD_L, PAD_R, PAD_T, PAD_B = 44, 8, 10, 26
STACK = ("PASS", "WARN", "FAIL")


def _nice_max(n: int) -> int:
    """A round axis maximum at or above ``n``."""
    if n <= 4:
        return 4
    step = 1
    while step * 10 <= n:
        step *= 10
    for m in (1, 2, 2.5, 5, 10):
        top = int(m * step)
        if top >= n:
            return top
    return n


def daily_trend(days: list[dict[str, Any]], link: Callable[[dict[str, Any]], str], *, label: str, table_id: str) -> str:
    """``days``: :func:`trace_engine.store.reads.exposure_days` rows. ``link(day)``: the URL of the day's calls."""
    top = _nice_max(max((d["calls"] for d in days), default=0))
    plot_w, plot_h = WIDTH - PAD_L - PAD_R, HEIGHT - PAD_T - PAD_B
    n = max(1, len(days))
    slot = plot_w / n
    bar = max(1.0, slot * 0.8)
    out = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(label)}" '
        f'aria-describedby="{escape(table_id)}" xmlns="http://www.w3.org/2000/svg">',
    ]
    for i in range(5):  # grid lines and the axis
        v = top * i // 4
        y = PAD_T + plot_h - plot_h * i / 4
        out.append(f'<line class="grid" x1="{PAD_L}" x2="{WIDTH - PAD_R}" y1="{y:.1f}" y2="{y:.1f}"/>')
        out.append(f'<text class="axis" x="{PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end">{v:,}</text>')
    every = max(1, n // 8)
    for i, d in enumerate(days):
        x = PAD_L + i * slot + (slot - bar) / 2
        y = PAD_T + plot_h
        parts = []
        for verdict in STACK:
            h = plot_h * d[verdict] / top if top else 0
            if h > 0:
                y -= h
                parts.append(
                    f'<rect class="bar-{verdict.lower()}" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}"/>'
                )
        tip = (f'{d["day"]}: {d["calls"]:,} calls, {d["with_a_gap"]:,} with a gap '
               f'(PASS {d["PASS"]:,}, WARN {d["WARN"]:,}, FAIL {d["FAIL"]:,})')
        hit = f'<rect class="hit" x="{PAD_L + i * slot:.1f}" y="{PAD_T}" width="{slot:.1f}" height="{plot_h}"/>'
        out.append(f'<a href="{escape(link(d))}"><title>{escape(tip)}</title>{hit}{"".join(parts)}</a>')
        if i % every == 0:
            out.append(
                f'<text class="axis" x="{PAD_L + i * slot + slot / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle">'
                f'{escape(d["day"][5:])}</text>'
            )
    out.append("</svg>")
    return "".join(out)
