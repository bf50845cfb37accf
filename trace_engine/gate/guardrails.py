"""Guardrails compile into an ordinary pack, ``guardrails``, so they are rules with ids like any other.

Rule ids: ``guardrails-pii-<kind>`` per blocked PII pattern (title, severity, remedy and reason from the detector's
registry entry, :class:`~trace_engine.text.detectors.Guardrail`), ``guardrails-disclosure-<n>`` per mandatory
disclosure (1-based, in config order), ``guardrails-blocked-phrases`` for the blocked phrase list.
"""

from __future__ import annotations

from trace_engine import ir
from trace_engine.gate.config import Guardrails
from trace_engine.text.detectors import DETECTORS

PACK_ID = "guardrails"

def guardrails_pack(guardrails: Guardrails) -> ir.Pack | None:
    """The synthesized pack for ``guardrails``, or ``None`` when they ask for nothing."""
    rules: list[ir.Rule] = []
    for kind in dict.fromkeys(guardrails.block_pii.patterns):
        g = DETECTORS[kind].guardrail
        assert g is not None  # the config only accepts kinds with a guardrail (PiiPattern)
        rules.append(
            ir.Rule(
                id=f"guardrails-pii-{kind}",
                title=g.title,
                severity=g.severity,
                citation=f"guardrails.block_pii: {kind}",
                reason=g.reason,
                checks=(ir.MustNotSay(ir.Detector(kind, g.exempt_variable)),),
                remedy=ir.Remedy("mask", keep_last=g.keep_last, placeholder=g.placeholder),
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
