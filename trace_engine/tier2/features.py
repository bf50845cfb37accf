"""How a window of turns becomes the text a classifier reads (shared by training and inference)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def _role(t: Any) -> str:
    if isinstance(t, dict):
        return t["role"]
    return t.role if hasattr(t, "role") else t[0]


def _text(t: Any) -> str:
    if isinstance(t, dict):
        return t["text"]
    return t.text if hasattr(t, "text") else t[1]


def last_text(turns: Sequence[Any]) -> str:
    return _text(turns[-1]) if turns else ""


def agent_with_caller_context(turns: Sequence[Any]) -> str:
    """The judged agent turn, then the caller's words of the window's earlier turns marked ``c_``, so that who
    is on the line ("i'm his neighbor", "my date of birth is...") is a feature of its own."""
    if not turns:
        return ""
    ctx = " ".join(_text(t) for t in turns[:-1] if _role(t) == "caller")
    marked = " ".join("c_" + w for w in ctx.lower().split())
    return f"{_text(turns[-1])} {marked}".strip()


FEATURE_TEXT: dict[str, Callable[[Sequence[Any]], str]] = {
    "ambiguous_optout": last_text,
    "brand_tone": last_text,
    "minimum_necessary": agent_with_caller_context,
}
