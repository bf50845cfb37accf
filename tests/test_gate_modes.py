"""The four gate modes, with exact expected spoken text."""

from __future__ import annotations

import pytest

from trace_engine import Engine

ALL_PII = ["ssn", "credit_card", "email", "us_phone"]


def engine(mode, packs=(), **extra):
    guardrails = {"mode": mode, "inline_timeout_ms": 60000}
    guardrails.update(extra.pop("guardrails", {}))
    return Engine.from_config(
        {"rule_packs": {p: {"enabled": True} for p in packs}, "guardrails": guardrails, **extra}
    )


def pii_engine(mode, **g):
    return engine(mode, guardrails={"block_pii": {"patterns": ALL_PII}, **g})


PII_TURNS = [
    "Your card is 4111 1111 1111 1111 and your SSN is 123-45-6789.",
    "Email jane.doe@example.com or call 212-555-0143.",
]

# ------------------------------------------------------------------------------------------------ warn


@pytest.mark.parametrize("text", [*PII_TURNS, "Trust me, this is fine.", "Hello."])
def test_warn_never_changes_text(text):
    e = pii_engine(
        "warn",
        blocked_phrases=["trust me"],
        mandatory_disclosures=[{"text": "This call is recorded.", "trigger": "call_start"}],
    )
    d = e.start_call("c").agent_turn(text)
    assert d.text == text
    assert d.action in ("pass", "flag")
    assert all(f.action_taken == "flag" for f in d.findings)
    assert d.findings  # the disclosure is missing on turn 1, so something is always recorded


def test_warn_records_findings_on_scorecard_unremediated():
    call = pii_engine("warn").start_call("c")
    call.agent_turn(PII_TURNS[0])
    card = call.end()
    assert sorted(f.rule_id for f in card.findings) == ["guardrails-pii-credit_card", "guardrails-pii-ssn"]
    assert all(not f.remediated and f.action_taken == "flag" for f in card.findings)
    assert card.verdict == "FAIL"
    assert card.modified_turns == 0 and card.blocked_turns == 0


# ------------------------------------------------------------------------------------------------ modify


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "Your card is 4111 1111 1111 1111 and your SSN is 123-45-6789.",
            "Your card is XXXX XXXX XXXX 1111 and your SSN is XXX-XX-6789.",
        ),
        ("Card 4111-1111-1111-1111 on file.", "Card XXXX-XXXX-XXXX-1111 on file."),
        ("Card 4111111111111111 on file.", "Card XXXXXXXXXXXX1111 on file."),
        ("Card 3782 822463 10005, amex.", "Card XXXX XXXXXX X0005, amex."),
        ("SSN 123 45 6789.", "SSN XXX XX 6789."),
        ("Email jane.doe@example.com or call 212-555-0143.", "Email [email] or call [phone]."),
        ("Call 212.555.0143 today.", "Call [phone] today."),
        ("It is four one one one, one one one one, one one one one, one one one one.", "It is ending in 1 1 1 1."),
        ("Your social is one two three, four five, six seven eight nine.", "Your social is ending in 6 7 8 9."),
        ("Write to jane dot doe at example dot com please.", "Write to [email] please."),
        ("Call two one two, five five five, zero one four three.", "Call [phone]."),
    ],
)
def test_modify_masks_pii_exactly(text, expected):
    d = pii_engine("modify").start_call("c").agent_turn(text)
    assert d.action == "modify"
    assert d.text == expected
    assert {f.action_taken for f in d.findings} == {"modify"}


def test_modify_call_start_disclosure_prefixed_to_first_agent_turn_only():
    e = engine("modify", guardrails={"mandatory_disclosures": [{"text": "This call is recorded.", "trigger": "call_start"}]})
    call = e.start_call("c")
    d1 = call.agent_turn("Hello there.")
    assert d1.action == "modify"
    assert d1.text == "This call is recorded. Hello there."
    (f,) = d1.findings
    assert (f.rule_id, f.span, f.action_taken) == ("guardrails-disclosure-1", None, "modify")
    d2 = call.agent_turn("How are you?")
    assert (d2.action, d2.text) == ("pass", "How are you?")
    card = call.end()
    assert [(f.rule_id, f.remediated) for f in card.findings] == [("guardrails-disclosure-1", True)]
    assert card.verdict == "WARN"
    assert card.modified_turns == 1


def test_modify_call_start_disclosure_said_by_agent_is_not_injected():
    e = engine("modify", guardrails={"mandatory_disclosures": [{"text": "This call is recorded.", "trigger": "call_start"}]})
    call = e.start_call("c")
    d = call.agent_turn("Hi! This call is recorded, by the way.")
    assert (d.action, d.text, d.findings) == ("pass", "Hi! This call is recorded, by the way.", ())
    assert call.end().verdict == "PASS"


def test_modify_default_two_turn_disclosure_injected_on_second_turn():
    e = engine("modify", guardrails={"mandatory_disclosures": [{"text": "I am an AI assistant."}]})
    call = e.start_call("c")
    d1 = call.agent_turn("Hi.")
    assert (d1.action, d1.text) == ("pass", "Hi.")
    call.caller_turn("hello")
    d2 = call.agent_turn("How are you?")
    assert d2.action == "modify"
    assert d2.text == "How are you? I am an AI assistant."
    d3 = call.agent_turn("Bye.")
    assert (d3.action, d3.text) == ("pass", "Bye.")


def test_modify_two_turn_disclosure_said_on_first_turn_needs_nothing():
    e = engine("modify", guardrails={"mandatory_disclosures": [{"text": "I am an AI assistant."}]})
    call = e.start_call("c")
    assert call.agent_turn("Hi, I am an AI assistant.").action == "pass"
    assert call.agent_turn("How are you?").text == "How are you?"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("We can trust me do it.", "We can do it."),
        ("Honestly trust me", "Honestly"),
        ("trust me we can help", "we can help"),
    ],
)
def test_modify_removes_blocked_phrases_with_tidy_spacing(text, expected):
    e = engine("modify", guardrails={"blocked_phrases": ["trust me", "to be honest"]})
    d = e.start_call("c").agent_turn(text)
    assert d.action == "modify"
    assert d.text == expected
    assert {f.rule_id for f in d.findings} == {"guardrails-blocked-phrases"}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("I will, trust me.", "I will."),
        ("It works, trust me.", "It works."),
        ("We can, to be honest, help today.", "We can help today."),
        ("To be honest, trust me, it works.", "It works."),
    ],
)
def test_modify_blocked_phrase_removal_leaves_no_orphan_punctuation(text, expected):
    e = engine("modify", guardrails={"blocked_phrases": ["trust me", "to be honest"]})
    d = e.start_call("c").agent_turn(text)
    assert d.text == expected


def test_modify_flags_what_cannot_be_rewritten():
    e = engine("modify", packs=["brand_voice"])
    d = e.start_call("c").agent_turn("We guarantee you will save.")
    assert (d.action, d.text) == ("flag", "We guarantee you will save.")
    assert [(f.rule_id, f.span, f.action_taken) for f in d.findings] == [("brand-001", (3, 12), "flag")]


# ------------------------------------------------------------------------------------------------ block / handoff


@pytest.mark.parametrize("mode", ["block", "human_handoff"])
def test_block_modes_still_modify_what_can_be_fixed(mode):
    d = pii_engine(mode).start_call("c").agent_turn(PII_TURNS[0])
    assert d.action == "modify"
    assert d.text == "Your card is XXXX XXXX XXXX 1111 and your SSN is XXX-XX-6789."


def test_block_replaces_turn_in_violation_with_fallback_line():
    call = engine("block", packs=["brand_voice"]).start_call("c")
    d = call.agent_turn("We guarantee you will save.")
    assert (d.action, d.text) == ("block", "Sorry, let me rephrase that.")
    assert [(f.rule_id, f.action_taken) for f in d.findings] == [("brand-001", "block")]
    assert not d.handoff
    card = call.end()
    assert card.blocked_turns == 1
    assert [(f.rule_id, f.remediated) for f in card.findings] == [("brand-001", True)]
    assert card.verdict == "WARN"
    # what is stored is what was spoken
    assert [e.text for e in card.timeline] == ["Sorry, let me rephrase that."]


def test_block_fallback_line_is_configurable():
    e = engine("block", packs=["brand_voice"], fallback_line="Let me check on that for you.")
    d = e.start_call("c").agent_turn("We guarantee you will save.")
    assert (d.action, d.text) == ("block", "Let me check on that for you.")
    e = engine("block", packs=["brand_voice"], fallback_line=None)
    d = e.start_call("c").agent_turn("We guarantee you will save.")
    assert (d.action, d.text) == ("block", None)


def test_block_suppresses_whole_turn_even_with_maskable_pii():
    e = engine("block", packs=["brand_voice", "pii"])
    d = e.start_call("c").agent_turn("We guarantee it. Card 4111 1111 1111 1111.")
    assert (d.action, d.text) == ("block", "Sorry, let me rephrase that.")
    assert {f.action_taken for f in d.findings} == {"block"}


def test_human_handoff_for_handoff_rule():
    e = engine("human_handoff", packs=["brand_voice"], handoff_line="Transferring you now.")
    call = e.start_call("c")
    call.caller_turn("I want to talk to a real person")
    d = call.agent_turn("Sure, one moment.")
    assert (d.action, d.text, d.handoff) == ("handoff", "Transferring you now.", True)
    assert [f.rule_id for f in d.findings] == ["brand-004"]
    # the same turn in block mode is blocked, not handed off
    call = engine("block", packs=["brand_voice"]).start_call("c")
    call.caller_turn("I want to talk to a real person")
    assert call.agent_turn("Sure, one moment.").action == "block"


def test_human_handoff_mode_hands_off_every_suppressed_turn():
    d = engine("human_handoff", packs=["brand_voice"]).start_call("c").agent_turn("We guarantee you will save.")
    assert (d.action, d.text) == ("handoff", "Let me connect you with a colleague who can help.")


def test_block_suppresses_turn_still_in_violation_after_modification():
    e = engine("block", packs=["tcpa"])
    meta = {"direction": "outbound", "business_name": "Acme Solar", "agent_name": "Sam"}
    call = e.start_call("c", metadata=meta)
    call.agent_turn("Hi, this is Sam calling from Acme Solar. To opt out, say stop.")
    call.caller_turn("are you a robot?")
    d = call.agent_turn("No, I'm a real person.")
    assert d.action == "block"
    assert d.text == "Sorry, let me rephrase that."


# ------------------------------------------------------------------------------------------------ caller turns


@pytest.mark.parametrize("mode", ["warn", "modify", "block", "human_handoff"])
def test_caller_turns_never_blocked_and_redacted_in_timeline(mode):
    call = pii_engine(mode).start_call("c")
    assert call.caller_turn("sure, my card is 4111 1111 1111 1111 and email jane@example.com") is None
    call.caller_turn("my social is one two three, four five, six seven eight nine")
    call.caller_turn("call me at 212-555-0143")
    card = call.end()
    caller = [e.text for e in card.timeline if e.role == "caller"]
    assert caller == [
        "sure, my card is [credit_card] and email [email]",
        "my social is [ssn]",
        "call me at [us_phone]",
    ]
    assert card.findings == []
    assert {r.kind for r in card.redactions} == {"credit_card", "email", "ssn", "us_phone"}


def test_agent_timeline_stores_masked_text_in_warn_mode():
    call = pii_engine("warn").start_call("c")
    call.agent_turn("Card 4111 1111 1111 1111.")
    (event,) = call.end().timeline
    assert "4111 1111 1111 1111" not in event.text
    assert event.text == "Card [credit_card]."
