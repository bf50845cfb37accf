"""Embedding the Trace gate in a voice agent's turn loop.

Run: python examples/turn_loop.py

The "agent" here is a scripted list of LLM outputs and the "caller" a list of transcribed replies; in a real
agent these come from your LLM and your speech recognizer. Every agent turn passes through the gate before it is
spoken (here: printed), caller turns are fed so the gate sees opt-outs and questions, and the call ends with a
scorecard.
"""

from __future__ import annotations

from trace_engine import Engine

CONFIG = {
    "rule_packs": {"tcpa": {"enabled": True}, "pii": {"enabled": True}, "brand_voice": {"enabled": True}},
    "guardrails": {
        "mode": "modify",  # warn | modify | block | human_handoff
        "block_pii": {"patterns": ["credit_card", "ssn", "email", "us_phone"]},
        "mandatory_disclosures": [{"text": "This call may be recorded.", "trigger": "call_start"}],
        "fail_open": True,
    },
    "variables": {"agent_name": "Sam"},
    "callback_numbers": ["415-555-0198"],
}

SCRIPT = [
    ("agent", "Hi, this is Sam calling from Acme Solar. This is a sales call; say stop anytime to be put on our do not call list."),
    ("caller", "uh okay, what's this about"),
    ("agent", "We can cut your bill in half, guaranteed. I have your card ending 4111 1111 1111 1111 on file from last time."),
    ("caller", "please stop calling me"),
    ("agent", "Understood, I've added you to our do not call list. You can reach us at 415-555-0198. Goodbye."),
]


def speak(text: str) -> None:
    print(f"  AGENT SAYS: {text}")


def main() -> None:
    engine = Engine.from_config(CONFIG)  # compile once; share across calls
    call = engine.start_call(
        "demo-call-1",
        agent_id="agent_7",
        metadata={
            "direction": "outbound",
            "call_purpose": "telemarketing",
            "business_name": "Acme Solar",
            "local_time": "2026-11-20T10:15:00-05:00",
            "callee_state": "NY",
            "recording_enabled": True,
        },
    )
    t = 0.0
    for role, text in SCRIPT:
        if role == "caller":
            print(f"CALLER: {text}")
            call.caller_turn(text, t=t)
        else:
            print(f"LLM WROTE: {text}")
            decision = call.agent_turn(text, t=t)
            for finding in decision.findings:
                print(f"  [{finding.action_taken}] {finding.rule_id}: {finding.reason}")
            if decision.handoff:
                print("  -> transferring to a person")
            if decision.text is not None:
                speak(decision.text)
        t += 6.0
    card = call.end(t=t)
    print(f"\nverdict {card.verdict}: {len(card.findings)} findings, {card.modified_turns} turns rewritten")
    for finding in card.findings:
        status = "remediated" if finding.remediated else "open"
        print(f"  {finding.rule_id} ({finding.severity}, {status}): {finding.citation}")


if __name__ == "__main__":
    main()
