"""The comparison the native gate is held to: a call replayed through it and through the frozen Python gate
(``tests/reference_gate``) must give the same decisions, streamed releases, scorecard and end states.

Shared by ``tests/test_reference_gate.py`` (bounded samples, hypothesis) and ``benchmarks/equivalence.py`` (whole
corpora).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from trace_engine.shared_data import shared_dir

REPO = Path(__file__).resolve().parents[1]
SHARED = shared_dir()

MODES = ("warn", "modify", "block", "human_handoff")
PACKS = ("tcpa", "hipaa", "pii", "brand_voice", "debt_collection")
CORPORA = {
    "sgd": SHARED / "corpora" / "sgd_calls.jsonl",
    "taskmaster": SHARED / "corpora" / "taskmaster_calls.jsonl",
    "mts": SHARED / "corpora" / "mts_dialog_calls.jsonl",
    "demo": REPO / "corpora" / "outbound_calls.jsonl",
}
#: call-fact variants laid over each transcript's own metadata (each call gets one, by its index)
FACT_VARIANTS: tuple[dict[str, Any], ...] = (
    {},
    {"direction": "outbound", "call_purpose": "telemarketing", "business_name": "Acme Solar", "agent_name": "Sam",
     "recording_enabled": True, "local_time": "2026-11-20T10:15:00-05:00", "callee_state": "FL",
     "callback_numbers": ["415-555-0198"]},
    {"direction": "outbound", "call_purpose": "healthcare", "answered_by": "voicemail"},
    {"direction": "inbound", "call_purpose": "debt_collection", "business_name": "The Lakeside Roofing Co.",
     "calls_last_7_days": 3, "last_conversation_at": "2026-11-01T09:00:00Z", "local_time": "2026-11-20T22:15:00Z"},
)


def configs(mode: str) -> list[dict[str, Any]]:
    """The configs compared in ``mode``: the packs alone, and the benchmark's config (guardrails, PII, phrases)."""
    from trace_engine.bench import default_gate_config

    bench = default_gate_config()
    bench["guardrails"] = {**bench["guardrails"], "mode": mode, "inline_timeout_ms": 600_000}
    bench["rule_packs"] = {p: {"enabled": True} for p in PACKS}
    return [
        {"rule_packs": {p: {"enabled": True} for p in PACKS}, "guardrails": {"mode": mode, "inline_timeout_ms": 600_000}},
        bench,
    ]


def stream_turn(gate: Any, text: str, t: Any, cuts: list[int]) -> tuple[Any, ...]:
    """Stream ``text`` cut at ``cuts``: every feed's release and ``suppressing``, the tail and the decision."""
    stream = gate.agent_stream(t)
    feeds, prev = [], 0
    for cut in [*cuts, len(text)]:
        feeds.append((stream.feed(text[prev:cut]), stream.suppressing))
        prev = cut
    d = stream.close()
    return ("stream", feeds, stream.tail, d.action, d.text, [f.to_dict() for f in d.findings])


def replay(engine: Any, call: Any, facts: dict[str, Any], streams: random.Random | None = None) -> Any:
    """Replay ``call`` (a transcript) through ``engine``: per agent turn what the gate decided (about a third of
    them streamed at random cuts when ``streams`` is given), then the scorecard minus timing, then the end states."""
    gate = engine.start_call(call.call_id, agent_id=call.agent_id, metadata={**call.metadata, **facts})
    turns = []
    for role, text, t in call.turns:
        if role == "agent":
            if streams is not None and streams.random() < 0.3:
                cuts = sorted(streams.sample(range(len(text) + 1), k=min(len(text) + 1, streams.randint(0, 6))))
                turns.append(stream_turn(gate, text, t, cuts))
            else:
                d = gate.agent_turn(text, t)
                turns.append((d.action, d.text, [f.to_dict() for f in d.findings]))
        elif role == "caller":
            gate.caller_turn(text, t)
        elif role in ("system", "tool"):
            gate.other_turn(role, text, t)
    card = gate.end().to_dict()
    for volatile in ("gate_health", "scored_at", "started_at"):
        card.pop(volatile, None)
    return turns, card, dict(gate.states)


def first_difference(a: Any, b: Any, path: str = "") -> str:
    """Where two replays first differ, as ``path: live != reference``."""
    if type(a) is not type(b):
        return f"{path}: {a!r} != {b!r}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b), key=str):
            if a.get(k) != b.get(k):
                return first_difference(a.get(k), b.get(k), f"{path}.{k}")
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            return f"{path}: length {len(a)} != {len(b)}: {a!r} vs {b!r}"[:2000]
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return first_difference(x, y, f"{path}[{i}]")
    return f"{path}: {a!r} != {b!r}"[:2000]
