"""Whole calls from corpora/outbound_calls.jsonl through the public API, in each of the four modes.

Calls carry their own metadata; the purpose (and, for some agents, the direction and business) comes from the
per-agent ``call_defaults`` of ``examples/demo_config.json``, as it would in production."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trace_engine import Engine
from trace_engine.transcripts import load_transcripts

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpora" / "outbound_calls.jsonl"
CALLS = {tr.call_id: tr for tr in load_transcripts(str(CORPUS))}
CALL_DEFAULTS = json.loads((ROOT / "examples" / "demo_config.json").read_text())["call_defaults"]
FAMILY_PACKS = {
    "solar": ["tcpa", "brand_voice", "pii"],
    "billing": ["pii", "brand_voice"],
    "support": ["tcpa", "pii", "brand_voice", "debt_collection", "hipaa"],
    "clinic": ["hipaa", "pii"],
    "collections": ["debt_collection", "pii"],
}
MODES = ["warn", "modify", "block", "human_handoff"]


def run(call_id, mode, timeout_ms=60000.0):
    tr = CALLS[call_id]
    packs = FAMILY_PACKS[call_id.split("-")[0]]
    engine = Engine.from_config(
        {
            "rule_packs": {p: {"enabled": True} for p in packs},
            "guardrails": {"mode": mode, "inline_timeout_ms": timeout_ms},
            "call_defaults": CALL_DEFAULTS,
        }
    )
    call = engine.start_call(call_id, agent_id=tr.agent_id, metadata=tr.metadata)
    decisions = []
    for role, text, t in tr.turns:
        if role == "agent":
            decisions.append((text, call.agent_turn(text, t)))
        else:
            assert call.caller_turn(text, t) is None
    return decisions, call.end()


def verdict_of(card):
    """The verdict rule, restated: FAIL when a high/critical finding was not remediated; WARN when any finding
    remains or was remediated, or the gate failed open; else PASS."""
    if any(f.severity in ("high", "critical") and not f.remediated for f in card.findings):
        return "FAIL"
    if card.findings or card.gate_health.fail_open or card.gate_health.unavailable:
        return "WARN"
    return "PASS"


# What the rules say, per call: findings (rule ids) and verdict in warn/modify and in block/human_handoff.
#  - warn/modify cannot fix a rule whose remedy is block, nor a missed call_end obligation or a metadata rule;
#  - block/handoff suppress the turns that carry block-remedy violations, so those count as remediated.
EXPECTED = {
    "solar-001-compliant": (set(), "PASS", "PASS"),
    "solar-002-optout-ignored": (
        {"brand-001", "brand-003", "tcpa-001", "tcpa-002", "tcpa-003", "tcpa-004", "tcpa-007", "tsr-001"},
        "FAIL",
        "FAIL",  # tcpa-002: no callback number was ever given (remedy flag): never remediated
    ),
    "solar-003-after-hours-florida": ({"tcpa-005"}, "FAIL", "FAIL"),  # 8:30 pm in Florida
    "solar-004-robot-question": ({"tcpa-006"}, "FAIL", "WARN"),  # block modes suppress the false "real person" claim
    "billing-005-card-read-back": ({"pii-001", "pii-002", "pii-005"}, "FAIL", "WARN"),
    "billing-006-clean": (set(), "PASS", "PASS"),
    "clinic-007-phi-before-verification": ({"hipaa-001"}, "FAIL", "WARN"),
    "clinic-008-verified": (set(), "PASS", "PASS"),  # name and date of birth given to the question
    "clinic-009-voicemail": ({"hipaa-001", "hipaa-002"}, "FAIL", "WARN"),
    "clinic-010-third-party-compliant": (set(), "PASS", "PASS"),
    "collections-011-threat": ({"debt-001", "debt-006"}, "FAIL", "WARN"),  # "is this daniel?" "yes": right party
    "collections-012-compliant": (set(), "PASS", "PASS"),
    "support-013-inbound-clean": (set(), "PASS", "PASS"),  # balance talk on an inbound service call: no debt rules
    "clinic-014-voicemail-pyai-compliant": (set(), "PASS", "PASS"),
    "collections-015-voicemail-twilio-compliant": (set(), "PASS", "PASS"),
    "collections-016-voicemail-twilio-balance": ({"debt-001", "debt-002", "debt-003"}, "FAIL", "WARN"),
    "collections-017-right-party-compliant": (set(), "PASS", "PASS"),  # "is this pat morgan?" "yes"
    "clinic-018-verification-refused-phi-shared": ({"hipaa-001"}, "FAIL", "WARN"),
    "clinic-019-verification-refused-compliant": (set(), "PASS", "PASS"),
}


def test_corpus_is_covered():
    assert set(CALLS) == set(EXPECTED)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("call_id", sorted(EXPECTED))
def test_call_verdicts(call_id, mode):
    rule_ids, soft_verdict, hard_verdict = EXPECTED[call_id]
    expected = soft_verdict if mode in ("warn", "modify") else hard_verdict
    if expected is None:
        pytest.skip("covered by test_robot_question_in_block_modes")
    decisions, card = run(call_id, mode)
    assert {f.rule_id for f in card.findings} == rule_ids
    assert card.verdict == expected
    assert verdict_of(card) == card.verdict
    assert card.gate_health.errors == 0 and card.gate_health.fail_open == 0 and card.gate_health.timeouts == 0
    assert card.gate_health.turns == len(decisions)
    for original, d in decisions:
        assert d.latency_ns > 0
        if mode == "warn":
            assert d.text == original and d.action in ("pass", "flag")
        if mode == "modify":
            assert d.action in ("pass", "flag", "modify")
        if d.action in ("block", "handoff"):
            assert d.text in ("Sorry, let me rephrase that.", "Let me connect you with a colleague who can help.")
    # nothing stored carries a raw card number or email
    for event in card.timeline:
        assert "4111 1111 1111 1111" not in event.text and "jane.doe@example.com" not in event.text
    assert card.blocked_turns == sum(d.action in ("block", "handoff") for _, d in decisions)
    assert card.modified_turns == sum(d.action == "modify" for _, d in decisions)


@pytest.mark.parametrize("mode", ["block", "human_handoff"])
def test_robot_question_in_block_modes(mode):
    decisions, card = run("solar-004-robot-question", mode)
    assert decisions[1][1].action in ("block", "handoff")
    assert card.verdict == "WARN"


def test_modify_mode_exact_spoken_text():
    decisions, _ = run("solar-002-optout-ignored", "modify")
    assert [d.text for _, d in decisions[:2]] == [
        "This is Sam calling from Acme Solar. Hi there, do you have a minute to talk about your electric bill?",
        "We help homeowners save on energy with guaranteed results. If you'd like us to stop calling, just say stop "
        "and we'll add you to our do not call list. This call may be recorded for quality and training purposes.",
    ]
    decisions, _ = run("billing-005-card-read-back", "modify")
    assert [d.text for _, d in decisions] == [
        "Sure. I see the card on file is XXXX XXXX XXXX 1111, expiring next year. Is that the one you'd like to use?",
        "Great, and what's the CVV, the three digits on the back?",
        "Thanks, you're all set. A receipt will go to [email].",
    ]
    decisions, _ = run("solar-004-robot-question", "modify")
    assert decisions[1][1].text == "Ha, no, I'm a real person, just like you. Just so you know, I'm an AI assistant, not a person."
    decisions, _ = run("solar-003-after-hours-florida", "modify")
    # the business's own callback number, spoken, is exempt
    assert decisions[1][1].text == decisions[1][0]


def test_block_mode_spoken_text():
    decisions, card = run("billing-005-card-read-back", "block")
    assert [d.action for _, d in decisions] == ["modify", "block", "modify"]
    assert decisions[1][1].text == "Sorry, let me rephrase that."
    assert [e.text for e in card.timeline if e.role == "agent"][1] == "Sorry, let me rephrase that."


@pytest.mark.parametrize("call_id, expected", [("solar-001-compliant", "WARN"), ("solar-003-after-hours-florida", "FAIL")])
def test_fail_open_whole_call(call_id, expected):
    decisions, card = run(call_id, "modify", timeout_ms=0.000001)
    assert all(d.action == "pass" and d.text == original for original, d in decisions)
    assert card.gate_health.timeouts == len(decisions) == card.gate_health.fail_open
    assert card.verdict == expected == verdict_of(card)
