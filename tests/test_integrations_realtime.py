"""Realtime events: RealtimeGate against a fake OpenAI-Realtime-style server on loopback (websockets)."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("websockets", reason="the realtime extra is not installed")

from tests import integration_scripts as S  # noqa: E402
from trace_engine.integrations.core import TraceSession  # noqa: E402
from trace_engine.integrations.demo import DemoCall, Step, realtime_demo  # noqa: E402
from trace_engine.integrations.realtime import RealtimeGate, audio_delta  # noqa: E402


def run(coro):
    return asyncio.run(coro)


async def _feed(gate, text, *, audio=True, chunk=5):
    """Server events for one response, straight into the gate (no socket): returns what the app got."""
    got = []
    got += await gate.on_server_event({"type": "response.created", "response": {"id": "resp_1"}})
    got += await gate.on_server_event({"type": "response.output_item.added", "response_id": "resp_1",
                                       "item": {"id": "item_1"}})
    for i in range(0, len(text), chunk):
        piece = text[i : i + chunk]
        if audio:
            got += await gate.on_server_event({"type": "response.output_audio.delta", "response_id": "resp_1",
                                               "delta": audio_delta(b"\0" * 300 * len(piece))})
        got += await gate.on_server_event({"type": "response.output_audio_transcript.delta" if audio
                                           else "response.output_text.delta", "response_id": "resp_1",
                                           "delta": piece})
    got += await gate.on_server_event({"type": "response.done", "response": {"id": "resp_1"}})
    return got


def transcript(events):
    return "".join(e["delta"] for e in events if e["type"].endswith(("transcript.delta", "text.delta")))


def test_pii_is_masked_in_streamed_deltas_and_audio_is_held_in_step():
    sent = []

    async def send(event):
        sent.append(event)

    async def main():
        session = TraceSession(S.engine("modify", "pii"), "rt-pii", metadata=S.META)
        gate = RealtimeGate(session, send, audio=False)
        return await _feed(gate, f"The card on file is {S.CARD}, expiring next year, thanks for waiting.", audio=False)

    got = run(main())
    deltas = [e["delta"] for e in got if e["type"].endswith("text.delta")]
    assert len(deltas) > 1
    assert "".join(deltas) == "The card on file is XXXX XXXX XXXX 1111, expiring next year, thanks for waiting."
    assert all("4111" not in d for d in deltas)
    assert sent == []


def test_modify_in_audio_mode_never_plays_the_model_audio_for_the_changed_words():
    sent = []

    async def send(event):
        sent.append(event)

    async def main():
        session = TraceSession(S.engine("modify", "pii"), "rt-audio", metadata=S.META)
        gate = RealtimeGate(session, send, audio=True)
        return await _feed(gate, f"Hello there, thanks so much for calling us back today about your account. The card on file is {S.CARD} ok.")

    got = run(main())
    played = sum(len(e["delta"]) for e in got if e["type"] == "response.output_audio.delta")
    total = len(audio_delta(b"\0" * 300 * len(f"Hello there, thanks so much for calling us back today about your account. The card on file is {S.CARD} ok.")))
    assert 0 < played < total  # the words before the card played; the card's audio never did
    replacement = [e for e in sent if e["type"] == "response.create"]
    assert len(replacement) == 1 and replacement[0]["response"]["conversation"] == "none"
    assert "XXXX XXXX XXXX 1111" in replacement[0]["response"]["instructions"]
    assert "4111" not in replacement[0]["response"]["instructions"]


async def _run_with_server(server_cls, session, call, clock):
    """Run the realtime demo against ``server_cls`` (a FakeRealtimeServer subclass) instead of the fake server."""
    original = realtime_demo.FakeRealtimeServer
    realtime_demo.FakeRealtimeServer = server_cls
    try:
        return await realtime_demo.run(session, call, clock=clock)
    finally:
        realtime_demo.FakeRealtimeServer = original


def test_fake_server_pii_call():
    call = S.pii_call()
    session, clock = S.session(S.engine("modify", "pii"), call)
    result = run(realtime_demo.run(session, call, clock=clock))
    assert [t["spoken"] for t in result.turns] == [S.GREETING, S.PII_SPOKEN]
    assert "4111" not in str(result.scorecard.to_dict())


def test_fake_server_block_cancels_and_speaks_the_fallback_line():
    call = S.cvv_call()
    session, clock = S.session(S.engine("block", "pii"), call)
    seen = {}

    class Spy(realtime_demo.FakeRealtimeServer):
        async def __aexit__(self, *exc):
            seen["received"] = list(self.received)
            await super().__aexit__(*exc)

    result = run(_run_with_server(Spy, session, call, clock))
    assert result.turns[1]["action"] == "block"
    assert result.turns[1]["spoken"] == "Sorry, let me rephrase that."
    kinds = [e["type"] for e in seen["received"]]
    assert "response.cancel" in kinds
    replacements = [e for e in seen["received"] if e["type"] == "response.create" and e.get("response")]
    assert replacements and replacements[0]["response"]["instructions"].endswith("Sorry, let me rephrase that.")
    assert result.turns[2]["spoken"] == "Thanks, you're all set."


def test_fake_server_handoff_calls_the_transfer_callback():
    transfers = []
    call = S.cvv_call()
    session, clock = S.session(S.engine("human_handoff", "pii"), call, on_handoff=transfers.append)
    result = run(realtime_demo.run(session, call, clock=clock))
    assert result.turns[1]["handoff"] is True
    assert [t.rule_ids for t in transfers] == [("pii-002",)]


def test_fake_server_barge_in_truncates_the_evidence():
    call = S.barge_call(cut=38)
    session, clock = S.session(S.engine("modify", "pii"), call)
    result = run(realtime_demo.run(session, call, clock=clock))
    spoken = result.turns[1]["spoken"]
    assert spoken and "Let me check that for you now.".startswith(spoken.strip()) or spoken.startswith("Let me check")
    assert "XXXX" not in spoken and len(spoken) <= 38
    agent = [e for e in result.scorecard.timeline if e.role == "agent"]
    assert agent[1].text == spoken
    assert "card on file is XXXX XXXX XXXX 1111" in agent[1].barge["interrupted"]
    assert result.scorecard.findings == []


def test_fake_server_preempt_goes_out_in_session_update_before_the_response():
    call = S.preempt_call()
    session, clock = S.session(S.engine("modify", "pii"), call)
    result = run(realtime_demo.run(session, call, clock=clock))
    # the server had the instruction in force when it started the next response, and not for the greeting
    assert S.PREEMPT not in result.instructions_seen[0]
    assert S.PREEMPT in result.instructions_seen[1]
    assert result.turns[1]["preempt_before"] == S.PREEMPT


def test_preempt_instructions_are_restored_after_the_response():
    sent = []

    async def send(event):
        sent.append(event)

    async def main():
        session = TraceSession(S.engine("modify", "pii"), "rt-restore", metadata=S.META)
        gate = RealtimeGate(session, send, audio=False)
        await gate.on_server_event({"type": "session.created", "session": {"instructions": "Be Sam."}})
        session.call.preempt.append("Be brief.")
        await gate.on_server_event({"type": "input_audio_buffer.committed", "item_id": "i1"})
        await _feed(gate, "Okay.", audio=False)

    run(main())
    updates = [e["session"]["instructions"] for e in sent if e["type"] == "session.update"]
    assert updates[0].startswith("Be Sam.") and "Be brief." in updates[0]
    assert updates[1] == "Be Sam."


def test_fake_server_amd_switches_voicemail_rules_on():
    S.check_amd_switches_voicemail_rules_on(realtime_demo)


def test_caller_speaking_after_the_agent_finished_is_not_a_barge_in():
    sent = []

    async def send(event):
        sent.append(event)

    async def main():
        session = TraceSession(S.engine("modify", "pii"), "rt-turn-taking", metadata=S.META)
        gate = RealtimeGate(session, send, audio=True, playback_ms=lambda: None)
        await _feed(gate, "All done here, thank you for your time today.")
        await gate.on_server_event({"type": "input_audio_buffer.speech_started", "audio_start_ms": 0})
        return session

    session = run(main())
    assert sent == [] and not session.current.interrupted
    assert session.end().timeline[-1].barge is None



def test_a_replacement_does_not_shift_the_responses_of_later_turns():
    """A turn the gate changes in modify mode (here the greeting, which lacks the business name) is spoken by a
    replacement response, a second response for the same turn. The demo must wait for it, not take it for the
    next turn's response: it did, so every later turn was read one response early and the last one was cut off
    when the call ended (always after a replaced greeting; after other turns when the replacement outlasted a
    fixed 20 ms pause, as on a busy machine)."""
    script = [
        "Hi there, do you have a minute to talk about your electric bill?",
        "Great, I can help with that. You can reach us at 415-555-0198.",
        "Thanks for your time, goodbye now.",
    ]
    call = DemoCall("replaced", dict(S.META), [
        Step("agent", script[0], 0.0),
        Step("caller", "ok sure", 5.0),
        Step("agent", script[1], 8.0),
        Step("caller", "ok", 12.0),
        Step("agent", script[2], 14.0),
    ])
    session, clock = S.session(S.engine("modify", "tcpa", "pii"), call)

    class Slow(realtime_demo.FakeRealtimeServer):
        async def _respond(self, emit, request):
            if request.get("conversation") == "none":
                for _ in range(50):  # a replacement the server is slow to start
                    await asyncio.sleep(0.002)
            await super()._respond(emit, request)

    result = run(_run_with_server(Slow, session, call, clock))
    spoken = [t["spoken"] for t in result.turns]
    assert len(spoken) == 3, spoken
    assert result.turns[0]["action"] == "modify" and spoken[0] != script[0]
    for said, line in zip(spoken, script, strict=True):
        assert line in said, (line, said)
