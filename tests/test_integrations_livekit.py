"""LiveKit Agents: TraceAgent in a real AgentSession (no room, no server, no audio), with LiveKit's own
interruption, chat context and conversation events."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("livekit.agents", reason="the livekit extra is not installed")

from livekit.agents import llm  # noqa: E402

from tests import integration_scripts as S  # noqa: E402
from trace_engine.integrations.core import TraceSession  # noqa: E402
from trace_engine.integrations.demo import livekit_demo  # noqa: E402
from trace_engine.integrations.livekit import gate_text_stream  # noqa: E402


def run(coro):
    return asyncio.run(coro)


def test_pii_is_masked_before_tts_in_streamed_chunks():
    call = S.pii_call()
    session, clock = S.session(S.engine("modify", "pii"), call)
    result = run(livekit_demo.run(session, call, clock=clock, chunk=4))
    received = result.received[2]  # what the speech side got for agent turn 2, delta by delta
    assert len(received) > 1
    assert "".join(received) == S.PII_SPOKEN
    assert all("4111" not in r for r in received)
    assert [t["spoken"] for t in result.turns] == [S.GREETING, S.PII_SPOKEN]
    assert "4111" not in str(result.scorecard.to_dict())


def test_tool_call_chunks_pass_through_untouched():
    session = TraceSession(S.engine("modify", "pii"), "lk-tools", metadata=S.META)
    call = llm.FunctionToolCall(name="transfer_to_human", arguments="{}", call_id="c1")

    async def source():
        yield llm.ChatChunk(id="a", delta=llm.ChoiceDelta(role="assistant", tool_calls=[call]))
        yield llm.ChatChunk(id="a", delta=llm.ChoiceDelta(role="assistant", content=f"Card {S.CARD} is on file."))

    async def main():
        return [c async for c in gate_text_stream(session, source())]

    out = run(main())
    assert out[0].delta.tool_calls == [call]
    text = "".join(c if isinstance(c, str) else (c.delta.content or "") for c in out[1:])
    assert text == "Card XXXX XXXX XXXX 1111 is on file."


def test_block_is_replaced_by_the_fallback_line():
    call = S.cvv_call()
    session, clock = S.session(S.engine("block", "pii"), call)
    result = run(livekit_demo.run(session, call, clock=clock))
    assert result.turns[1]["action"] == "block"
    assert result.turns[1]["spoken"] == "Sorry, let me rephrase that."
    assert result.turns[2]["spoken"] == "Thanks, you're all set."


def test_handoff_calls_the_transfer_callback():
    transfers = []
    call = S.cvv_call()
    session, clock = S.session(S.engine("human_handoff", "pii"), call, on_handoff=transfers.append)
    result = run(livekit_demo.run(session, call, clock=clock))
    assert result.turns[1]["handoff"] is True
    assert result.turns[1]["spoken"] == "Let me connect you with a colleague who can help."
    assert [t.rule_ids for t in transfers] == [("pii-002",)]


def test_barge_in_truncates_the_evidence():
    call = S.barge_call(cut=38)
    session, clock = S.session(S.engine("modify", "pii"), call)
    result = run(livekit_demo.run(session, call, clock=clock))
    assert result.turns[1]["spoken"] == "Let me check that for you now. The "
    agent = [e for e in result.scorecard.timeline if e.role == "agent"]
    assert agent[1].text == "Let me check that for you now. The "
    assert agent[1].barge["interrupted"].startswith("card on file is XXXX XXXX XXXX 1111")
    assert result.scorecard.findings == []
    assert result.turns[2]["spoken"] == "No problem."


def test_preempt_reaches_the_next_generation_chat_context():
    call = S.preempt_call()
    session, clock = S.session(S.engine("modify", "pii"), call)
    result = run(livekit_demo.run(session, call, clock=clock))
    assert any(S.PREEMPT in m for m in result.instructions_seen)  # a system message in the model's chat_ctx
    assert result.turns[1]["preempt_before"] == S.PREEMPT


def test_caller_turns_are_on_record_before_the_reply():
    call = S.cvv_call()
    session, clock = S.session(S.engine("modify", "pii"), call)
    result = run(livekit_demo.run(session, call, clock=clock))
    assert [e.role for e in result.scorecard.timeline] == ["agent", "caller", "agent", "caller", "agent"]


def test_amd_switches_voicemail_rules_on():
    S.check_amd_switches_voicemail_rules_on(livekit_demo)


def test_livekit_amd_predictions_map_to_seed_003_events():
    from livekit.agents.voice.amd.classifier import AMDCategory, AMDPredictionEvent

    from trace_engine.integrations.livekit import amd_event

    def event(category):
        return amd_event(AMDPredictionEvent(speech_duration=2.0, category=category, reason="greeting then beep",
                                            transcript="leave a message", delay=0.64))

    assert event(AMDCategory.MACHINE_VM) == {"event": "amd", "answered_by": "voicemail",
                                             "reason": "greeting then beep", "decision_ms": 640}
    assert event(AMDCategory.HUMAN)["answered_by"] == "human"
    assert event(AMDCategory.MACHINE_IVR)["answered_by"] == "ivr"
    assert event(AMDCategory.UNCERTAIN) == {}
