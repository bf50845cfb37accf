"""Where a finding sits in the text the log stores.

A finding's ``span`` is ``[start, end)`` in its turn's **original** text, which the log never stores: the timeline
keeps the turn with every detector hit replaced by ``[kind]`` (``[credit_card]``), and the scorecard's
``redactions`` say where, in original coordinates. :func:`locate` maps a span through those replacements onto the
stored text, so a reader (the dashboard, ``trace diff``'s examples) can mark the exact words without the raw text.

It refuses to guess: a turn the gate rewrote (a finding acted on it with ``modify`` or ``block``: the stored text
is what was spoken, not what the agent wrote), a turn whose stored text does not carry its placeholders where the
redactions say, or a span beyond the text gives ``None``, and the finding is shown on its turn without a mark.
"""

from __future__ import annotations

from typing import Any

#: actions after which the stored turn is the rewritten one, so original spans do not apply to it
REWRITING_ACTIONS = frozenset({"modify", "block"})


def _edits(scorecard: dict[str, Any], turn: int) -> list[list[Any]]:
    """The turn's redactions as the gate applied them: sorted, overlapping ones merged into the widest (the first
    one's placeholder kept), as the gate applies edits (``core/src/engine/edits.rs``)."""
    raw = []
    for r in scorecard.get("redactions") or ():
        span = r.get("span") if isinstance(r, dict) else None
        if r.get("turn") == turn and isinstance(span, list | tuple) and len(span) == 2:
            start, end = span
            if isinstance(start, int) and isinstance(end, int) and 0 <= start < end:
                raw.append((start, end, f"[{r.get('kind')}]"))
    merged: list[list[Any]] = []
    for start, end, repl in sorted(set(raw), key=lambda e: (e[0], -e[1])):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
            continue
        merged.append([start, end, repl])
    return merged


def turn_text(scorecard: dict[str, Any], turn: int) -> str | None:
    """The stored (redacted) text of timeline turn ``turn``, or ``None``."""
    for event in scorecard.get("timeline") or ():
        if isinstance(event, dict) and event.get("seq") == turn:
            text = event.get("text")
            return text if isinstance(text, str) else None
    return None


def rewritten(scorecard: dict[str, Any], turn: int) -> bool:
    """Whether the gate rewrote (or suppressed) the turn, so that its stored text is not the agent's original."""
    return any(
        isinstance(f, dict) and f.get("turn") == turn and f.get("action_taken") in REWRITING_ACTIONS and not f.get("late")
        for f in scorecard.get("findings") or ()
    )


class SpanMap:
    """Original offsets of one turn -> offsets in its stored text."""

    def __init__(self, stored: str, edits: list[list[Any]]):
        self.stored = stored
        self.edits = edits

    def consistent(self) -> bool:
        """Each placeholder is in the stored text where the redactions put it."""
        for start, _end, repl in self.edits:
            at = self.offset(start)
            if self.stored[at : at + len(repl)] != repl:
                return False
        return True

    def offset(self, pos: int) -> int:
        """Where original position ``pos`` lands (inside a replaced span: at the placeholder's start)."""
        shift = 0
        for start, end, repl in self.edits:
            if pos >= end:
                shift += len(repl) - (end - start)
            elif pos > start:
                return start + shift
            else:
                break
        return pos + shift

    def end_offset(self, pos: int) -> int:
        """Like :meth:`offset`, but a position inside a replaced span lands after its placeholder."""
        shift = 0
        for start, end, repl in self.edits:
            if pos >= end:
                shift += len(repl) - (end - start)
            elif pos > start:
                return start + shift + len(repl)
            else:
                break
        return pos + shift

    def map(self, start: int, end: int) -> tuple[int, int] | None:
        s, e = self.offset(start), self.end_offset(end)
        if not 0 <= s <= e <= len(self.stored):
            return None
        return s, e


def span_map(scorecard: dict[str, Any], turn: int) -> SpanMap | None:
    """The map of one turn, or ``None`` when its stored text cannot carry original spans (see the module)."""
    stored = turn_text(scorecard, turn)
    if stored is None or rewritten(scorecard, turn):
        return None
    m = SpanMap(stored, _edits(scorecard, turn))
    return m if m.consistent() else None


def locate(scorecard: dict[str, Any], finding: dict[str, Any]) -> tuple[int, int] | None:
    """``finding``'s span in the stored text of its turn, or ``None`` when it cannot be placed exactly."""
    span, turn = finding.get("span"), finding.get("turn")
    if not isinstance(turn, int) or not isinstance(span, list | tuple) or len(span) != 2:
        return None
    start, end = span
    if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end:
        return None
    m = span_map(scorecard, turn)
    return m.map(start, end) if m is not None else None
