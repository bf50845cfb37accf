"""Helpers shared by the checks."""

from __future__ import annotations

import re

from trace_engine.tier2.judges import Turn


def last(window: tuple[Turn, ...]) -> Turn | None:
    return window[-1] if window else None


def earlier(window: tuple[Turn, ...], role: str) -> str:
    return " ".join(t.text for t in window[:-1] if t.role == role)


def rx(*alts: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{a})" for a in alts), re.IGNORECASE)
