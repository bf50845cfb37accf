"""Scripted calls shared by the framework integration tests (each framework plays them through its own runner)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from trace_engine import Engine
from trace_engine.integrations.core import TraceSession
from trace_engine.integrations.demo import DemoCall, SessionClock, Step

ROOT = Path(__file__).resolve().parents[1]
META = {
    "direction": "outbound",
    "business_name": "Acme Solar",
    "agent_name": "Sam",
    "local_time": "2026-11-20T10:15:00-05:00",
    "callee_state": "NY",
    "recording_enabled": True,
    "answered_by": "human",
    "callback_numbers": ["415-555-0198"],
}
CARD = "4111 1111 1111 1111"
GREETING = "Hi, this is Sam calling from Acme Solar. This call may be recorded."
PROFILE = {"agent_id": "agent_7f3a0b12", "greeting": GREETING, "recordings_enabled": True}


@functools.cache
def engine(mode: str, *packs: str) -> Engine:
    return Engine.from_config(
        {
            "rule_packs": {p: {"enabled": True} for p in packs or ("pii",)},
            "guardrails": {"mode": mode, "inline_timeout_ms": 60000, "block_pii": {"patterns": ["credit_card", "ssn"]}},
        }
    )


def session(eng: Engine, call: DemoCall, **kwargs: Any) -> tuple[TraceSession, SessionClock]:
    clock = SessionClock()
    profile = {**PROFILE, "greeting": call.greeting}
    return TraceSession(eng, call.call_id, profile=profile, metadata=call.metadata, clock=clock, **kwargs), clock


PII_TEXT = f"Sure, I can help with that. The card on file is {CARD}, expiring next year, and I can use it today."
PII_SPOKEN = "Sure, I can help with that. The card on file is XXXX XXXX XXXX 1111, expiring next year, and I can use it today."


def pii_call() -> DemoCall:
    return DemoCall("pii", dict(META), [
        Step("agent", GREETING, 0.0),
        Step("caller", "what card do you have on file", 5.0),
        Step("agent", PII_TEXT, 8.0),
    ])


def cvv_call() -> DemoCall:
    return DemoCall("cvv", dict(META), [
        Step("agent", GREETING, 0.0),
        Step("caller", "i want to pay", 5.0),
        Step("agent", "Great. What's the CVV on the back of your card?", 8.0),
        Step("caller", "one two three", 12.0),
        Step("agent", "Thanks, you're all set.", 14.0),
    ])


def barge_call(cut: int) -> DemoCall:
    call = DemoCall("barge", dict(META), [
        Step("agent", GREETING, 0.0),
        Step("caller", "what card do you have", 5.0),
        Step("agent", f"Let me check that for you now. The card on file is {CARD}, expiring next year.", 8.0),
        Step("caller", "stop, never mind", 12.0),
        Step("agent", "No problem.", 14.0),
    ])
    call.interrupt_at = {2: cut}
    return call


PREEMPT = "Confirm the do-not-call request before anything else."


def preempt_call() -> DemoCall:
    return DemoCall("preempt", dict(META), [
        Step("agent", GREETING, 0.0),
        Step("preempt", PREEMPT),  # Tier-2 judged the greeting's reply window; pending when the caller is done
        Step("caller", "i don't really want these calls", 5.0),
        Step("agent", "Understood, I'll make sure you're not called again.", 8.0),
    ])


def amd_call(with_amd: bool) -> DemoCall:
    meta = {k: v for k, v in META.items() if k != "answered_by"}
    meta["call_purpose"] = "debt_collection"
    steps = [Step("agent", "Hello, this is Sam from Acme Recovery, please call us back.", 0.0)]
    if with_amd:
        steps.append(Step("amd", event={"event": "amd", "answered_by": "voicemail",
                                        "answered_by_twilio": "machine_end_beep", "confidence": 0.97,
                                        "decision_ms": 640, "reason": "greeting then beep"}))
    steps.append(Step("agent", "It's about your past due balance of four hundred dollars.", 6.0))
    return DemoCall("amd", meta, steps)


def check_amd_switches_voicemail_rules_on(runner: Any) -> None:
    """The same call twice through ``runner`` (a demo runner module): only the one whose AMD decision says
    voicemail before the second agent turn gets the limited-content voicemail finding, on that turn."""
    import asyncio

    def play(with_amd: bool) -> Any:
        call = amd_call(with_amd)
        sess, clock = session(engine("block", "debt_collection"), call)
        return asyncio.run(runner.run(sess, call, clock=clock))

    human, machine = play(False), play(True)
    assert "debt-003" not in [f.rule_id for f in human.scorecard.findings]
    assert "debt-003" in [f.rule_id for f in machine.scorecard.findings]
    assert machine.turns[1]["action"] == "block"
