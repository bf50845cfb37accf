"""The framework-neutral adapter (TraceSession): profile facts, greeting through the gate, preempt hook, handoff,
barge-in by heard words, the demo CLI, and that the core never imports a voice framework."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests import integration_scripts as S
from trace_engine import Engine
from trace_engine.integrations.core import AgentProfile, TraceSession, heard_chars
from trace_engine.integrations.demo import load_calls

ROOT = Path(__file__).resolve().parents[1]


def run(coro):
    return asyncio.run(coro)


AGENT = {  # a seed-001 Agent object
    "object": "agent",
    "agent_id": "agent_7f3a0b12",
    "name": "Solar outreach",
    "greeting": "Hi, this is Sam from Acme Solar.",
    "consent_line": "This call is recorded for quality.",
    "recordings_enabled": True,
    "metadata": {"business_name": "Acme Solar", "agent_name": "Sam"},
    "voice_id": "stock_emma_en_gb",
    "tools": [],
}


def test_profile_facts_and_opening():
    profile = AgentProfile.from_dict(AGENT)
    assert profile.facts() == {"business_name": "Acme Solar", "agent_name": "Sam", "recording_enabled": True}
    assert profile.opening() == "This call is recorded for quality. Hi, this is Sam from Acme Solar."
    quiet = AgentProfile.from_dict({**AGENT, "recordings_enabled": False})
    assert quiet.opening() == "Hi, this is Sam from Acme Solar."  # the consent line is for recorded calls
    assert quiet.facts()["recording_enabled"] is False
    assert AgentProfile.from_dict({}).opening() is None
    with pytest.raises(TypeError, match="greeting must be a string"):
        AgentProfile.from_dict({"greeting": 5})
    with pytest.raises(TypeError, match="metadata must be an object"):
        AgentProfile.from_dict({"metadata": ["x"]})


def test_greeting_passes_the_gate_as_turn_one():
    eng = Engine.from_config({
        "rule_packs": {"pii": {"enabled": True}},
        "guardrails": {"mode": "modify", "mandatory_disclosures": [
            {"text": "I'm an AI assistant.", "trigger": "call_start"}]},
    })
    session = TraceSession(eng, "greet", profile=AGENT, metadata={"direction": "outbound"})
    turn = run(session.start(t=0.0))
    assert turn.released == "I'm an AI assistant. This call is recorded for quality. Hi, this is Sam from Acme Solar."
    assert turn.result.decision.action == "modify"
    assert session.call.metadata["recording_enabled"] is True  # from the profile
    card = session.end()
    assert card.agent_id == "agent_7f3a0b12"
    assert card.timeline[0].role == "agent" and card.timeline[0].text.startswith("I'm an AI assistant.")


def test_call_metadata_wins_over_the_profile():
    session = TraceSession(S.engine("modify", "pii"), "m", profile=AGENT, metadata={"business_name": "Other"})
    assert session.call.metadata["business_name"] == "Other"


def test_before_generation_hands_pending_instructions_to_the_hook_once():
    seen = []

    async def hook(lines):
        seen.append(lines)

    session = TraceSession(S.engine("modify", "pii"), "p", on_instructions=hook)
    assert run(session.before_generation()) == ()
    session.call.preempt.append("Be brief.")
    assert run(session.before_generation()) == ("Be brief.",)
    assert seen == [("Be brief.",)]
    turn = session.agent_turn()
    assert turn.preempt_before == ("Be brief.",)
    turn.feed("Sure.")
    result = run(session.finish_turn(turn))
    assert result.decision.preempt == ()  # delivered before, not after
    assert session.agent_turn().preempt_before == ()


def test_handoff_callback_async_and_failing_callbacks_do_not_break_the_loop():
    calls = []

    async def transfer(request):
        calls.append(request.rule_ids)
        raise RuntimeError("the SIP trunk is down")

    session = TraceSession(S.engine("human_handoff", "pii"), "h", on_handoff=transfer)
    turn = session.agent_turn()
    turn.feed("What's the CVV on the back of your card?")
    result = run(session.finish_turn(turn))
    assert result.handoff and result.tail == "Let me connect you with a colleague who can help."
    assert calls == [("pii-002",)]
    assert run(session.finish_turn(turn)) is result  # finishing twice transfers once
    assert len(calls) == 1


def test_barge_in_by_heard_words():
    session = TraceSession(S.engine("modify", "pii"), "b")
    turn = session.agent_turn()
    text = "Thanks for waiting, I have pulled up your account and everything looks fine."
    released = turn.feed(text)
    run(session.finish_turn(turn))
    assert released + turn.result.tail == text
    session.barge_in(heard="thanks for waiting")
    assert turn.spoken == "Thanks for waiting, "
    assert session.barge_in(heard="Thanks") is None  # a turn is cut once
    card = session.end()
    assert card.timeline[-1].barge["interrupted"] == "I have pulled up your account and everything looks fine."


@pytest.mark.parametrize(
    ("released", "heard", "expected"),
    [
        ("Hello there, friend.", "", 0),
        ("Hello there, friend.", "Hello", 6),
        ("Hello there,  friend.", "hello there", 14),
        ("Hello there, friend.", "Hello there friend extra", 20),
        ("XXXX XXXX 1111 ok", "X X X X", 17),  # a TTS that spells things out says more words: capped
    ],
)
def test_heard_chars(released, heard, expected):
    assert heard_chars(released, heard) == expected


def test_amd_event_becomes_call_facts():
    session = TraceSession(S.engine("block", "debt_collection"), "amd", metadata={"direction": "outbound"})
    facts = session.amd({"event": "amd", "answered_by": "voicemail", "answered_by_twilio": "machine_end_beep",
                         "confidence": 0.97, "decision_ms": 640, "reason": "beep"})
    assert facts == {"answered_by": "voicemail", "answered_by_twilio": "machine_end_beep"}
    assert session.amd({"event": "amd", "confidence": 0.5}) == {}


def test_core_imports_no_voice_framework():
    code = (
        "import sys, trace_engine.integrations, trace_engine.integrations.core, trace_engine.integrations.demo;"
        "bad = [m for m, v in sys.modules.items() if v is not None and m.split('.')[0] in ('pipecat', 'livekit', 'websockets')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


def test_session_from_service_pulls_the_config(tmp_path):
    from trace_engine.api import distribution
    from trace_engine.api.auth import create_key
    from trace_engine.api.tables import open_db
    from trace_engine.api.testing import running_server

    db = tmp_path / "trace.db"
    conn = open_db(str(db))
    key = create_key(conn, "acme", "trace:configure")[0]
    conn.close()
    distribution._MEMORY.clear()
    config = {"agent_id": "agent-x", "enabled": True, "rule_packs": {"pii": {"enabled": True}},
              "guardrails": {"mode": "modify"}}
    with running_server(db, tmp_path / "s.log") as srv:
        with httpx.Client(base_url=srv.url, headers={"x-api-key": key}, timeout=10) as c:
            assert c.put("/v1/trace/config", json=config).status_code == 200
        session = TraceSession.from_service(srv.url, key, "agent-x", "svc-call", cache_dir=str(tmp_path / "cache"))
    assert session.engine.distribution["source"] == "service"
    turn = session.agent_turn()
    turn.feed(f"Your card {S.CARD} is on file.")
    assert run(session.finish_turn(turn)).decision.action == "modify"
    assert session.end().agent_id == "agent-x"


def _demo(*args):
    return subprocess.run([sys.executable, "-m", "trace_engine.integrations.demo", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_demo_cli_rejects_bad_usage():
    done = _demo("--framework", "pipecat", "--transcript", "corpora/outbound_calls.jsonl",
                 "--config", "examples/demo_config.json", "--interrupt-at", "two:5")
    assert done.returncode == 2 and "expected TURN:CHARS" in done.stderr
    done = _demo("--framework", "pipecat", "--transcript", "nope.jsonl", "--config", "examples/demo_config.json")
    assert done.returncode == 2 and "nope.jsonl" in done.stderr


@pytest.mark.parametrize("framework", ["pipecat", "livekit", "realtime"])
def test_demo_cli_plays_a_transcript(framework, tmp_path):
    module = {"pipecat": "pipecat", "livekit": "livekit.agents", "realtime": "websockets"}[framework]
    pytest.importorskip(module, reason=f"the {framework} extra is not installed")
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"rule_packs": {"pii": {"enabled": True}, "debt_collection": {"enabled": True}},
                               "guardrails": {"mode": "modify"}}))
    done = _demo("--framework", framework, "--transcript", "corpora/outbound_calls.jsonl", "--config", str(cfg),
                 "--call-id", "collections-012-compliant", "--interrupt-at", "2:40")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    turns, verdict = lines[:-1], lines[-1]
    assert [t["turn"] for t in turns] == [1, 2, 3]
    assert set(turns[0]) == {"turn", "spoken", "action", "handoff", "preempt_before"}
    assert "Thanks Daniel. This is a debt collector.".startswith(turns[1]["spoken"].rstrip())
    assert len(turns[1]["spoken"].rstrip()) <= 40
    assert verdict["call_id"] == "collections-012-compliant" and verdict["verdict"] in ("PASS", "WARN", "FAIL")


@pytest.mark.parametrize("framework", ["pipecat", "livekit", "realtime"])
def test_demo_applies_the_transcript_agents_call_defaults(framework):
    # collections-012-compliant names no business or callback number in its metadata: they are its agent's
    # call_defaults in the demo config. Without the agent the call failed tcpa-001 and pii-006 in the demo while
    # `trace rescore` (the same config) passed it.
    module = {"pipecat": "pipecat", "livekit": "livekit.agents", "realtime": "websockets"}[framework]
    pytest.importorskip(module, reason=f"the {framework} extra is not installed")
    done = _demo("--framework", framework, "--transcript", "corpora/outbound_calls.jsonl",
                 "--config", "examples/demo_config.json", "--call-id", "collections-012-compliant")
    assert done.returncode == 0, done.stderr
    verdict = json.loads(done.stdout.splitlines()[-1])
    # PASS, or WARN when a loaded machine made the gate fail open on a turn; never a finding
    assert verdict["findings"] == [] and verdict["verdict"] in ("PASS", "WARN"), verdict


def test_demo_reads_the_transcripts_agent(tmp_path):
    path = tmp_path / "calls.jsonl"
    turns = {"turns": [{"role": "assistant", "text": "Hi."}]}
    path.write_text(json.dumps({"call_id": "a", "agent_id": "summit-collections", "transcript": turns}) + "\n"
                    + json.dumps({"call_id": "b", "transcript": turns}) + "\n")
    assert [c.agent_id for c in load_calls(path)] == ["summit-collections", None]
    path.write_text(json.dumps({"call_id": "a", "agent_id": 7, "transcript": turns}) + "\n")
    with pytest.raises(ValueError, match="agent_id must be a string"):
        load_calls(path)
