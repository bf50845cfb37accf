"""Barge-in (``AgentStream.interrupt``), early suppression (``AgentStream.suppressing``) and ``Call.take_preempt``."""

from __future__ import annotations

import pytest

from trace_engine import Engine

META = {"direction": "outbound", "business_name": "Acme Solar", "recording_enabled": True, "answered_by": "human"}


def engine(mode="modify", **guardrails):
    return Engine.from_config(
        {
            "rule_packs": {"pii": {"enabled": True}},
            "guardrails": {
                "mode": mode,
                "inline_timeout_ms": 60000,
                "block_pii": {"patterns": ["credit_card", "ssn"]},
                **guardrails,
            },
        }
    )


def stream_turn(call, text, size=7):
    s = call.agent_stream(t=1.0)
    released = "".join(s.feed(text[i : i + size]) for i in range(0, len(text), size))
    s.close()
    return s, released + s.tail


def test_interrupt_after_close_keeps_only_the_spoken_text_and_marks_the_rest():
    call = engine().start_call("b1", metadata=META)
    s, released = stream_turn(call, "Thanks for holding. Your card 4111 1111 1111 1111 is on file, and we will ship today.")
    assert "XXXX XXXX XXXX 1111" in released
    cut = released.index("and we")
    decision = s.interrupt(cut)
    assert s.spoken == released[:cut]
    card = call.end()
    event = card.timeline[-1].to_dict()
    assert event["text"] == released[:cut]
    assert event["barge"] == {"interrupted": "and we will ship today."}
    # the masking happened inside what was said: the remediation stays on record
    whole = engine().start_call("b1-whole", metadata=META)
    stream_turn(whole, "Thanks for holding. Your card 4111 1111 1111 1111 is on file, and we will ship today.")
    expected = [(f.rule_id, f.action_taken) for f in whole.end().findings]
    assert ("pii-001", "modify") in expected
    assert [(f.rule_id, f.action_taken) for f in card.findings] == expected
    assert card.modified_turns == 1
    assert decision.text == released[:cut]


def test_interrupt_before_the_masked_number_drops_its_finding():
    call = engine().start_call("b2", metadata=META)
    s, released = stream_turn(call, "Thanks for holding, one moment please. Your card 4111 1111 1111 1111 is on file.")
    cut = released.index("Your card")
    s.interrupt(cut)
    card = call.end()
    assert card.findings == []  # nothing of it was said
    assert card.modified_turns == 0
    assert card.timeline[-1].barge == {"interrupted": "Your card XXXX XXXX XXXX 1111 is on file."}


def test_interrupted_rest_is_redacted_in_warn_mode():
    call = engine("warn").start_call("b3", metadata=META)
    s, released = stream_turn(call, "Let me check. Your social is 123-45-6789 as we have it.")
    assert "123-45-6789" in released  # warn mode speaks it
    s.interrupt(released.index("Your"))
    card = call.end()
    assert "123-45-6789" not in str(card.to_dict())
    assert card.timeline[-1].barge["interrupted"] == "Your social is [ssn] as we have it."
    assert card.findings == []


def test_a_disclosure_never_reached_is_still_missing():
    eng = engine(mandatory_disclosures=[{"text": "This call is recorded.", "trigger": "any"}])
    spoken_whole = eng.start_call("whole", metadata=META)
    stream_turn(spoken_whole, "Hi, this is Sam from Acme Solar. This call is recorded.")
    spoken_whole.agent_turn("Thanks, goodbye.")
    assert [f.rule_id for f in spoken_whole.end().findings] == []

    cut_short = eng.start_call("cut", metadata=META)
    s, released = stream_turn(cut_short, "Hi, this is Sam from Acme Solar. This call is recorded.")
    s.interrupt(released.index("This call"))
    cut_short.agent_turn("Thanks, goodbye.")
    card = cut_short.end()
    # not said in turn 1, so modify mode had to inject it into turn 2
    assert [(f.rule_id, f.action_taken, f.turn) for f in card.findings] == [("guardrails-disclosure-1", "modify", 2)]
    assert card.timeline[0].barge["interrupted"] == "This call is recorded."


def test_interrupt_an_open_stream_closes_it_on_what_was_released():
    call = engine().start_call("b4", metadata=META)
    s = call.agent_stream(t=2.0)
    released = s.feed("Sure, I can help with that today. Let me look ")
    released += s.feed("up your account now please")
    assert released
    s.interrupt(len(released) + 50)  # speech cannot have had more than was released
    assert s.closed and s.interrupted
    assert s.spoken == released
    card = call.end()
    assert card.timeline[-1].text == released
    assert card.timeline[-1].barge["interrupted"].strip()  # the held-back words are the unsaid rest
    with pytest.raises(RuntimeError):
        s.interrupt(1)


def test_interrupt_after_everything_was_said_changes_nothing():
    call = engine().start_call("b5", metadata=META)
    s, released = stream_turn(call, "All done here, thank you.")
    s.interrupt(len(released))
    card = call.end()
    assert card.timeline[-1].barge is None and card.timeline[-1].text == released


def test_interrupt_a_blocked_turn_truncates_the_fallback_line():
    call = engine("block").start_call("b6", metadata=META)
    s, released = stream_turn(call, "Great. And what's the CVV on the back of your card?")
    assert s.decision.action == "block" and released == "Sorry, let me rephrase that."
    s.interrupt(5)
    card = call.end()
    assert card.timeline[-1].text == "Sorry"
    assert card.timeline[-1].barge == {"interrupted": ", let me rephrase that."}
    assert [f.action_taken for f in card.findings] == ["block"]  # the block stands


def test_interrupt_after_a_later_turn_only_amends_the_timeline():
    call = engine().start_call("b7", metadata=META)
    s, released = stream_turn(call, "First part of the answer. Second part of the answer.")
    call.caller_turn("wait what", t=3.0)
    s.interrupt(released.index("Second"))
    card = call.end()
    agent = [e for e in card.timeline if e.role == "agent"][0]
    assert agent.text == "First part of the answer. "
    assert agent.barge == {"interrupted": "Second part of the answer."}


def test_interrupt_keeps_pending_preempt_for_the_next_generation():
    call = engine().start_call("b8", metadata=META)
    s, released = stream_turn(call, "One thing first. Then another thing.")
    call.preempt.append("Do not pitch.")
    s.interrupt(4, detect_ms=120.0)
    assert call.take_preempt() == ("Do not pitch.",)
    assert call.take_preempt() == ()
    assert call.end().timeline[-1].barge["detect_ms"] == 120.0


def test_take_preempt_then_decision_has_none():
    call = engine().start_call("p1", metadata=META)
    call.preempt.extend(["Confirm the opt-out.", "Be brief."])
    assert call.take_preempt() == ("Confirm the opt-out.", "Be brief.")
    assert call.agent_turn("Okay.").preempt == ()


def test_suppressing_is_known_before_close():
    call = engine("human_handoff").start_call("s1", metadata=META)
    s = call.agent_stream()
    assert s.feed("Great. And what's the CVV on the back ") == ""
    assert s.suppressing
    d = s.close()
    assert d.handoff and s.tail == "Let me connect you with a colleague who can help."


def test_barge_in_scorecard_validates_against_the_schema():
    import json
    from pathlib import Path

    import jsonschema

    schema = json.loads((Path(__file__).resolve().parents[1] / "schemas" / "scorecard-v1.json").read_text())
    call = engine().start_call("v1", metadata=META)
    s, released = stream_turn(call, "Hello there. Your card 4111 1111 1111 1111 is on file.")
    s.interrupt(6)
    jsonschema.validate(call.end().to_dict(), schema)


def test_a_question_the_caller_never_heard_is_not_answered():
    """Right party (debt-002): "yes" confirms only a question that was asked. Cut before the question, the
    caller's "yes" answers nothing, and the debt detail that follows is a violation."""
    eng = Engine.from_config({"rule_packs": {"debt_collection": {"enabled": True}}, "guardrails": {"mode": "warn"}})
    meta = {"direction": "outbound", "call_purpose": "debt_collection", "business_name": "Summit Recovery",
            "answered_by": "human", "local_time": "2026-11-20T10:15:00-05:00", "calls_last_7_days": 1}

    def play(cut_before):
        call = eng.start_call("qa", metadata=meta)
        s, released = stream_turn(call, "Hi, this is Max with Summit Recovery, a debt collector. "
                                        "Am I speaking with Daniel Reyes?")
        if cut_before is not None:
            s.interrupt(released.index(cut_before))
        call.caller_turn("yes", t=5.0)
        call.agent_turn("Thanks Daniel. Your past due balance is four hundred dollars.", t=8.0)
        return [f.rule_id for f in call.end().findings]

    assert "debt-002" not in play(None)
    assert "debt-002" in play("Am I")


def test_a_call_keeps_one_checkpoint_however_many_turns():
    from trace_engine.gate import bargein

    call = engine().start_call("mem", metadata=META)
    streams = [stream_turn(call, f"Turn number {i} of a long call, thanks for staying on.")[0] for i in range(50)]
    assert call._snapshot_findings is not None  # one rewind point (in the core), the latest turn's
    assert bargein.recall(call, streams[0]) is False  # an older turn can only be amended
    assert bargein.recall(call, streams[-1]) is True
    assert bargein.recall(call, streams[-1]) is False  # usable once
    streams[0].interrupt(4)
    assert call.end().timeline[0].barge == {"interrupted": streams[0].decision.text[4:]}


def test_a_streamed_call_is_freed_once_dropped():
    # the core's objects are not traversed by Python's cycle collector: a call that held its last stream (as its
    # barge-in checkpoint's owner) while the stream holds the call would never be freed
    import gc

    from trace_engine.gate.call import Call

    def calls_alive():
        gc.collect()
        return sum(1 for o in gc.get_objects() if type(o) is Call)

    before = calls_alive()
    eng = engine()
    for i in range(5):
        call = eng.start_call(f"free-{i}", metadata=META)
        stream_turn(call, "Your card 4111 1111 1111 1111 is on file.")
        call.end()
    del call
    assert calls_alive() == before
