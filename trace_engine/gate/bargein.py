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

import difflib
from typing import TYPE_CHECKING, Any

from trace_engine.gate.decision import Decision

if TYPE_CHECKING:
    from trace_engine.gate.call import Call


def recall(call: Call, owner: Any) -> bool:
    """Whether the call's checkpoint was taken for ``owner`` (a stream: its ``close`` takes it in the core, before
    the turn commits) and is still the call's latest (forgotten here: usable once). A call keeps one checkpoint, the
    latest: only the last committed turn can be rewound, so memory stays flat however long the call runs. It is
    cheap: the turn state is copied, the evidence lists only remember their lengths."""
    return call._recall_checkpoint(owner._checkpoint_id)


def stored_form(call: Call, text: str) -> str:
    """``text`` as the evidence stores it: PII the packs detect replaced by ``[kind]`` (nothing recorded)."""
    return call.stored_form(text)


def _spoken_offset(original: str, released: str, offset: int) -> int:
    """Where ``original[offset]`` landed in ``released`` (the gate's rewrite of it)."""
    for tag, i1, i2, j1, _j2 in difflib.SequenceMatcher(None, original, released, autojunk=False).get_opcodes():
        if i1 <= offset < i2:
            return j1 + (offset - i1) if tag == "equal" else j1
    return len(released)


def rescore(
    call: Call,
    saved: bool,
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
    rewindable = (
        saved
        and call.seq == committed_seq
        and call._last_timeline_seq == committed_seq
        and decision.action not in ("block", "handoff")
    )
    if not rewindable:
        call._drop_snapshot()
        call._amend_timeline(committed_seq, stored_form(call, spoken), barge)
        return decision
    findings_before = call._snapshot_findings
    turn_findings = call.findings_from(findings_before)
    latencies = call.latencies_ns
    latency = latencies[-1] if latencies else 0
    call._rewind()
    cap, observers = call.mode_cap, call._observers
    call.mode_cap, call._observers = 0, ()  # spoken words cannot be rewritten; Tier-2 already saw this turn
    try:
        redone = call.agent_turn(spoken, t)
    finally:
        call.mode_cap, call._observers = cap, observers
    if redone.preempt:  # not this turn's to take: leave them for the next generation
        call.preempt[:0] = list(redone.preempt)
    call._set_last_latency(latency)  # the gate's real cost was the first pass
    kept = [
        f
        for f in turn_findings
        if f["action_taken"] == "modify"
        and f["span"] is not None
        and _spoken_offset(original, released, f["span"][0]) < spoken_chars
    ]
    present = {(f["rule_id"], f["turn"]) for f in call.findings_from(findings_before)}
    for f in kept:
        if (f["rule_id"], f["turn"]) not in present:
            indexes = [r.index for r in call.program.rules if r.rule_id == f["rule_id"]]
            own = next((r.index for r in call.program.rules if (r.pack_id, r.rule_id) == (f["pack_id"], f["rule_id"])), None)
            call._append_finding(
                own if own is not None else indexes[0], f["action_taken"], f["at_t"], f["turn"],
                tuple(f["span"]), f["remediated"], bool(f.get("late")),
            )
            for index in indexes:
                call._mark_fired(index)
    if kept and redone.action != "modify":
        call.modified_turns += 1
    call._set_last_barge(barge)
    return Decision(redone.action, spoken, redone.findings, latency, ())
