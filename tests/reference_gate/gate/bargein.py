"""Barge-in: re-score an agent turn the caller cut short, so the evidence holds what was actually spoken.

A streamed turn is decided and committed when the model finishes writing it, usually well before its audio has
finished playing. When the caller talks over the agent, only the first ``n`` characters of the released text were
heard. This module puts the call back as it was before that turn (a :func:`checkpoint` taken at commit) and scores
the spoken part again, as text that can no longer be changed:

* obligations count as met only by what was said (a disclosure the agent never reached is still missing);
* a state or cue the unsaid rest would have set is not set;
* remediations the gate made inside the spoken part (a masked card number) stay on record, with their spans in the
  model's original text as always;
* the timeline keeps the spoken text, and the unsaid rest, redacted like any stored text, under
  ``barge.interrupted`` (the seed's barge object counts the barge-in in ``derived_metrics``).

Rewinding is only sound while the turn is the last thing the call committed. If a caller turn (or another agent
turn) was committed after it, the turn's timeline entry is amended (spoken text + the rest marked interrupted) and
the rules' verdict on it stands.

Separate from evaluation: this module only snapshots and restores per-call state and calls the public
:meth:`Call.agent_turn`. Attributes that belong to the call rather than to its turns (facts, pending preempt
instructions, the engine) are never rewound, so an AMD decision that arrived meanwhile survives.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import is_dataclass
from typing import TYPE_CHECKING, Any

from reference_gate.gate.decision import Decision
from reference_gate.gate.session import apply_edits
from reference_gate.text import normalize

if TYPE_CHECKING:
    from reference_gate.gate.session import Call

#: Call attributes that describe the call, not the turns so far: a rewind leaves them alone.
CALL_LEVEL = frozenset(
    {
        "engine", "program", "call_id", "agent_id", "tenant", "product", "metadata", "facts", "started_at_ms",
        "mode_cap", "preempt", "_observers", "var_tokens", "unmatchable", "needles", "_var_key", "exempt", "ended",
        "_bargein_saved",
    }
)


def _copied(value: Any) -> Any:
    if isinstance(value, list):
        if value and is_dataclass(value[0]):  # obligations and prohibitions are mutated in place (turns_seen)
            return [copy.copy(item) for item in value]
        return value.copy()
    if isinstance(value, (dict, set)):
        return value.copy()
    return value


def checkpoint(call: Call) -> dict[str, Any]:
    """The per-turn state of ``call`` (shallow copies; a few microseconds per turn)."""
    return {name: _copied(value) for name, value in vars(call).items() if name not in CALL_LEVEL}


def remember(call: Call, owner: object) -> None:
    """Checkpoint ``call`` for ``owner`` (the stream about to commit). A call keeps one checkpoint, the latest:
    only the last committed turn can be rewound, so memory stays flat however long the call runs."""
    try:
        call._bargein_saved = (owner, checkpoint(call))  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - without a checkpoint a barge-in only amends the timeline
        call._bargein_saved = None  # type: ignore[attr-defined]


def recall(call: Call, owner: object) -> dict[str, Any] | None:
    """The checkpoint taken for ``owner``, if it is still the call's latest (and forget it: usable once)."""
    kept = getattr(call, "_bargein_saved", None)
    if kept is None or kept[0] is not owner:
        return None
    call._bargein_saved = None  # type: ignore[attr-defined]
    return kept[1]


def rollback(call: Call, saved: dict[str, Any]) -> None:
    """Put ``call`` back to ``saved`` (a :func:`checkpoint`); usable once."""
    for name, value in saved.items():
        setattr(call, name, value)


def stored_form(call: Call, text: str) -> str:
    """``text`` as the evidence stores it: PII the packs detect replaced by ``[kind]`` (nothing recorded)."""
    if not text:
        return text
    try:
        matches = call.program.matchers.scan(normalize(text), call.var_tokens, call.exempt)
    except Exception:  # noqa: BLE001 - never keep what we could not check
        return "[unavailable]"
    edits = sorted({(s, e, f"[{k}]") for spans in matches.values() for s, e, k in spans if k is not None})
    return apply_edits(text, edits) if edits else text


def _spoken_offset(original: str, released: str, offset: int) -> int:
    """Where ``original[offset]`` landed in ``released`` (the gate's rewrite of it)."""
    for tag, i1, i2, j1, _j2 in difflib.SequenceMatcher(None, original, released, autojunk=False).get_opcodes():
        if i1 <= offset < i2:
            return j1 + (offset - i1) if tag == "equal" else j1
    return len(released)


def rescore(
    call: Call,
    saved: dict[str, Any] | None,
    *,
    committed_seq: int,
    original: str,
    decision: Decision,
    released: str,
    spoken_chars: int,
    t: float | None,
    detect_ms: float | None = None,
) -> Decision:
    """Score again the turn committed as ``committed_seq``: only ``released[:spoken_chars]`` was heard.

    ``original`` is what the model wrote, ``decision`` the gate's answer on it, ``released`` the text handed to
    speech. Returns the decision on what was spoken (``flag``/``pass``, or the original one when the turn could
    only be amended)."""
    spoken, rest = released[:spoken_chars], released[spoken_chars:]
    barge: dict[str, Any] = {"interrupted": stored_form(call, rest)}
    if detect_ms is not None:
        barge["detect_ms"] = float(detect_ms)
    last = call.timeline[-1] if call.timeline else None
    rewindable = (
        saved is not None
        and call.seq == committed_seq
        and last is not None
        and last[0] == committed_seq
        and decision.action not in ("block", "handoff")
    )
    if not rewindable:
        _amend(call, committed_seq, spoken, barge)
        return decision
    findings_before = len(saved["findings"])
    turn_findings = call.findings[findings_before:]
    latency = call.latencies_ns[-1] if call.latencies_ns else 0
    rollback(call, saved)
    cap, observers = call.mode_cap, call._observers
    call.mode_cap, call._observers = 0, ()  # spoken words cannot be rewritten; Tier-2 already saw this turn
    try:
        redone = call.agent_turn(spoken, t)
    finally:
        call.mode_cap, call._observers = cap, observers
    if redone.preempt:  # not this turn's to take: leave them for the next generation
        call.preempt[:0] = list(redone.preempt)
    if call.latencies_ns:
        call.latencies_ns[-1] = latency  # the gate's real cost was the first pass
    kept = [
        f
        for f in turn_findings
        if f["action_taken"] == "modify"
        and f["span"] is not None
        and _spoken_offset(original, released, f["span"][0]) < spoken_chars
    ]
    present = {(f["rule_id"], f["turn"]) for f in call.findings[findings_before:]}
    for f in kept:
        if (f["rule_id"], f["turn"]) not in present:
            call.findings.append(f)
            call.rule_fired.update(r.index for r in call.program.rules if r.rule_id == f["rule_id"])
    if kept and redone.action != "modify":
        call.modified_turns += 1
    seq, at, role, text = call.timeline[-1][:4]
    call.timeline[-1] = (seq, at, role, text, barge)
    return Decision(redone.action, spoken, redone.findings, latency, ())


def _amend(call: Call, seq: int, spoken: str, barge: dict[str, Any]) -> None:
    for i in range(len(call.timeline) - 1, -1, -1):
        entry = call.timeline[i]
        if entry[0] == seq and entry[2] == "agent":
            call.timeline[i] = (entry[0], entry[1], entry[2], stored_form(call, spoken), barge)
            return
