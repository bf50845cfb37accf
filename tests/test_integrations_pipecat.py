"""Pipecat: the Trace processors in Pipecat's own test harness (``pipecat.tests.utils.run_test``) and in a full
scripted pipeline (PipelineWorker + WorkerRunner). No audio devices, no network."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("pipecat", reason="the pipecat extra is not installed")

from pipecat.frames.frames import (  # noqa: E402
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    TextFrame,
    TranscriptionFrame,
    TTSSpeakFrame,
)
from pipecat.tests.utils import run_test  # noqa: E402

from tests import integration_scripts as S  # noqa: E402
from trace_engine.integrations.core import TraceSession  # noqa: E402
from trace_engine.integrations.demo import chunks, pipecat_demo  # noqa: E402
from trace_engine.integrations.pipecat import TracePipecat  # noqa: E402


def gate_frames(text: str, size: int = 5) -> list:
    return [LLMFullResponseStartFrame(), *(LLMTextFrame(c) for c in chunks(text, size)), LLMFullResponseEndFrame()]


def texts(frames) -> list[str]:
    return [f.text for f in frames if isinstance(f, LLMTextFrame)]


def run(coro):
    return asyncio.run(coro)


def test_pii_is_masked_before_tts_in_streamed_chunks():
    session = TraceSession(S.engine("modify", "pii"), "pc-pii", metadata=S.META)
    text = f"Sure. The card on file is {S.CARD}, expiring next year, and we will charge it today."
    down, _ = run(run_test(TracePipecat(session).gate(), frames_to_send=gate_frames(text)))
    released = texts(down)
    assert len(released) > 1  # streamed, not held to the end
    assert "".join(released) == "Sure. The card on file is XXXX XXXX XXXX 1111, expiring next year, and we will charge it today."
    assert all("4111" not in r and "1111 1111" not in r for r in released)
    assert isinstance(down[0], LLMFullResponseStartFrame) and isinstance(down[-1], LLMFullResponseEndFrame)
    card = session.end()
    assert "4111" not in str(card.to_dict())


def test_block_is_replaced_by_the_fallback_line():
    session = TraceSession(S.engine("block", "pii"), "pc-block", metadata=S.META)
    down, _ = run(run_test(TracePipecat(session).gate(),
                           frames_to_send=gate_frames("Great. What's the CVV on the back of your card?")))
    assert texts(down) == ["Sorry, let me rephrase that."]
    assert session.end().blocked_turns == 1


def test_handoff_calls_the_transfer_callback():
    transfers = []
    session = TraceSession(S.engine("human_handoff", "pii"), "pc-handoff", metadata=S.META,
                           on_handoff=transfers.append)
    down, _ = run(run_test(TracePipecat(session).gate(),
                           frames_to_send=gate_frames("Great. What's the CVV on the back of your card?")))
    assert texts(down) == ["Let me connect you with a colleague who can help."]
    assert [(t.call_id, t.rule_ids) for t in transfers] == [("pc-handoff", ("pii-002",))]
    assert transfers[0].decision.handoff


def test_canned_lines_are_gated_as_whole_turns():
    session = TraceSession(S.engine("modify", "pii"), "pc-say", metadata=S.META)
    down, _ = run(run_test(TracePipecat(session).gate(), frames_to_send=[
        TTSSpeakFrame(f"Card {S.CARD} is on file."),
        TextFrame(f"One moment, checking card {S.CARD} now."),
        TranscriptionFrame("my card is 4111 1111 1111 1111", "caller", ""),  # the caller's words: not speech
    ]))
    assert [type(f) for f in down] == [TTSSpeakFrame, TextFrame, TranscriptionFrame]  # nothing said twice
    assert [f.text for f in down] == ["Card XXXX XXXX XXXX 1111 is on file.",
                                      "One moment, checking card XXXX XXXX XXXX 1111 now.",
                                      "my card is 4111 1111 1111 1111"]
    assert [e.role for e in session.end().timeline] == ["agent", "agent"]


def test_scripted_pipeline_pii_and_greeting():
    call = S.pii_call()
    session, clock = S.session(S.engine("modify", "pii"), call)
    result = run(pipecat_demo.run(session, call, clock=clock))
    assert [t["spoken"] for t in result.turns] == [
        S.GREETING,
        S.PII_SPOKEN,
    ]
    assert [t["action"] for t in result.turns] == ["pass", "modify"]
    assert [e.role for e in result.scorecard.timeline] == ["agent", "caller", "agent"]  # the greeting is turn 1


def test_scripted_pipeline_barge_in_truncates_the_evidence():
    call = S.barge_call(cut=38)  # cut inside "card": the words played end at "The "
    session, clock = S.session(S.engine("modify", "pii"), call)
    result = run(pipecat_demo.run(session, call, clock=clock))
    assert result.turns[1]["spoken"] == "Let me check that for you now. The "
    agent = [e for e in result.scorecard.timeline if e.role == "agent"]
    assert agent[1].text == "Let me check that for you now. The "
    assert agent[1].barge["interrupted"].startswith("card on file is XXXX XXXX XXXX 1111")
    assert result.scorecard.findings == []  # the card number was never spoken
    assert result.turns[2]["spoken"] == "No problem."


def test_scripted_pipeline_preempt_reaches_the_next_generation():
    call = S.preempt_call()
    session, clock = S.session(S.engine("modify", "pii"), call)
    result = run(pipecat_demo.run(session, call, clock=clock))
    assert any(S.PREEMPT in m for m in result.instructions_seen)  # in the LLM context before it generated
    assert result.turns[1]["preempt_before"] == S.PREEMPT
    assert result.turns[0]["preempt_before"] is None


def test_scripted_pipeline_handoff_through_the_pipeline():
    transfers = []
    call = S.cvv_call()
    session, clock = S.session(S.engine("human_handoff", "pii"), call, on_handoff=transfers.append)
    result = run(pipecat_demo.run(session, call, clock=clock))
    assert result.turns[1]["handoff"] and result.turns[1]["spoken"] == "Let me connect you with a colleague who can help."
    assert len(transfers) == 1


def test_scripted_pipeline_amd_switches_voicemail_rules_on():
    S.check_amd_switches_voicemail_rules_on(pipecat_demo)


def test_tier2_preempt_from_the_runner_reaches_the_llm_context():
    from trace_engine import Engine
    from trace_engine.integrations.demo import SessionClock, load_calls
    from trace_engine.tier2.runner import Tier2Runner

    tier2 = Tier2Runner({"checks": ["ambiguous_optout"]})
    eng = Engine.from_config({"rule_packs": {"tcpa": {"enabled": True}}, "guardrails": {"mode": "modify"}},
                             observers=(tier2,))
    call = next(c for c in load_calls(S.ROOT / "corpora" / "outbound_calls.jsonl")
                if c.call_id == "solar-002-optout-ignored")
    clock = SessionClock()
    session = TraceSession(eng, call.call_id, profile={"greeting": call.greeting}, metadata=call.metadata, clock=clock)
    result = run(pipecat_demo.run(session, call, clock=clock, tier2=tier2))
    instruction = result.turns[2]["preempt_before"]  # the caller asked to stop, then the agent pitched again
    assert instruction and "do-not-call" in instruction
    assert any(instruction.splitlines()[0] in seen for seen in result.instructions_seen)
