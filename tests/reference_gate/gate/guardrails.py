"""Guardrails compile into an ordinary pack, ``guardrails``, so they are rules with ids like any other.

Rule ids: ``guardrails-pii-<kind>`` per blocked PII pattern, ``guardrails-disclosure-<n>`` per mandatory
disclosure (1-based, in config order), ``guardrails-blocked-phrases`` for the blocked phrase list.
"""

from __future__ import annotations

from reference_gate.gate.config import Guardrails
from trace_engine import ir

PACK_ID = "guardrails"

_PII: dict[str, tuple[str, str, ir.Remedy, str]] = {
    "credit_card": (
        "Never say a full card number",
        "critical",
        ir.Remedy("mask", keep_last=4),
        "A full card number was about to be spoken; only the last four digits may be.",
    ),
    "ssn": (
        "Never say a full Social Security number",
        "critical",
        ir.Remedy("mask", keep_last=4),
        "A full Social Security number was about to be spoken; only the last four digits may be.",
    ),
    "email": (
        "Don't read out email addresses",
        "medium",
        ir.Remedy("mask", placeholder="[email]"),
        "An email address was about to be read aloud.",
    ),
    "us_phone": (
        "Don't read out phone numbers other than the business's",
        "medium",
        ir.Remedy("mask", placeholder="[phone]"),
        "A phone number that is not one of the business's callback numbers was about to be read aloud.",
    ),
}


def guardrails_pack(guardrails: Guardrails) -> ir.Pack | None:
    """The synthesized pack for ``guardrails``, or ``None`` when they ask for nothing."""
    rules: list[ir.Rule] = []
    for kind in dict.fromkeys(guardrails.block_pii.patterns):
        title, severity, remedy, reason = _PII[kind]
        detector = ir.Detector(kind, "callback_numbers" if kind == "us_phone" else None)
        rules.append(
            ir.Rule(
                id=f"guardrails-pii-{kind}",
                title=title,
                severity=severity,
                citation=f"guardrails.block_pii: {kind}",
                reason=reason,
                checks=(ir.MustNotSay(detector),),
                remedy=remedy,
            )
        )
    for n, disclosure in enumerate(guardrails.mandatory_disclosures, start=1):
        if disclosure.trigger == "call_start":
            window: ir.Window = ir.FirstTurn()
            when_text = "on the first agent turn"
        elif disclosure.required_within_seconds is not None:
            window = ir.Seconds(float(disclosure.required_within_seconds))
            when_text = f"within {disclosure.required_within_seconds:g} seconds"
        else:
            window = ir.Turns(2)
            when_text = "within the first two agent turns"
        rules.append(
            ir.Rule(
                id=f"guardrails-disclosure-{n}",
                title="Mandatory disclosure",
                severity="high",
                citation="guardrails.mandatory_disclosures",
                reason=f'The agent must say "{disclosure.text}" {when_text}.',
                checks=(ir.MustSay(ir.Phrases((disclosure.text,)), window),),
                remedy=ir.Remedy("inject", text=disclosure.text),
            )
        )
    if guardrails.blocked_phrases:
        rules.append(
            ir.Rule(
                id="guardrails-blocked-phrases",
                title="Blocked phrase",
                severity="medium",
                citation="guardrails.blocked_phrases",
                reason="The agent said a phrase this deployment blocks.",
                checks=(ir.MustNotSay(ir.Phrases(tuple(guardrails.blocked_phrases))),),
                remedy=ir.Remedy("redact"),
            )
        )
    if not rules:
        return None
    return ir.Pack(
        pack_id=PACK_ID,
        version="config",
        jurisdiction="deployment",
        legal_status="deployment configuration",
        rules=tuple(rules),
        description="Synthesized from the config's guardrails.",
    )
