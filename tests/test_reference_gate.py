"""The frozen Python gate (tests/reference_gate) and the live gate agree: decisions and scorecards, every mode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from reference_gate.gate.engine import Engine as ReferenceEngine

from trace_engine import Engine
from trace_engine.transcripts import load_transcripts

REPO = Path(__file__).resolve().parents[1]
PACKS = {p: {"enabled": True} for p in ("tcpa", "hipaa", "pii", "brand_voice", "debt_collection")}


def _replay(engine, call):
    gate = engine.start_call(call.call_id, agent_id=call.agent_id, metadata=call.metadata)
    decisions = []
    for role, text, t in call.turns:
        if role == "agent":
            d = gate.agent_turn(text, t)
            decisions.append((d.action, d.text, [f.to_dict() for f in d.findings]))
        elif role == "caller":
            gate.caller_turn(text, t)
    card = gate.end().to_dict()
    for volatile in ("gate_health", "scored_at", "started_at"):
        card.pop(volatile, None)
    return decisions, card


@pytest.mark.parametrize("mode", ["warn", "modify", "block", "human_handoff"])
def test_demo_corpus_identical(mode: str) -> None:
    cfg = {"rule_packs": PACKS, "guardrails": {"mode": mode, "inline_timeout_ms": 60_000}}
    live, ref = Engine.from_config(cfg), ReferenceEngine.from_config(cfg)
    for call in load_transcripts(str(REPO / "corpora" / "outbound_calls.jsonl")):
        a, b = _replay(live, call), _replay(ref, call)
        assert json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str), call.call_id
