"""Turn a finished :class:`~trace_engine.gate.session.Call` into its :class:`Scorecard`."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from trace_engine.compile.expr import missing_inputs, truth
from trace_engine.evidence.scorecard import (
    Finding,
    GateHealth,
    NotEvaluated,
    Redaction,
    Satisfied,
    Scorecard,
    TimelineEvent,
    compute_verdict,
)
from trace_engine.gate.session import _missing_reason
from trace_engine.version import ENGINE_VERSION

if TYPE_CHECKING:
    from trace_engine.gate.session import Call


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (the method the read views use too)."""
    if not sorted_values:
        return None
    if len(sorted_values) == 1:
        return float(sorted_values[0])
    pos = (len(sorted_values) - 1) * q
    low = int(pos)
    high = min(low + 1, len(sorted_values) - 1)
    return float(sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (pos - low))


def build_scorecard(call: Call) -> Scorecard:
    program = call.program
    rules = program.rules
    findings = [Finding.from_dict(f) for f in call.findings]
    latencies = sorted(ns / 1000.0 for ns in call.latencies_ns)
    health = GateHealth(
        turns=len(call.latencies_ns),
        latency_p50_us=_round(percentile(latencies, 0.50)),
        latency_p99_us=_round(percentile(latencies, 0.99)),
        timeouts=call.timeouts,
        errors=call.errors,
        fail_open=call.fail_open_events,
        unavailable=call.fail_open_events,
    )
    satisfied: list[Satisfied] = []
    not_evaluated: list[NotEvaluated] = []
    for rule in rules:
        if rule.index in call.rule_fired:
            continue
        if rule.index in call.rule_satisfied:
            at_t, turn = call.rule_satisfied[rule.index]
            satisfied.append(Satisfied(rule.rule_id, rule.pack_id, at_t, turn))
        elif rule.index in call.rule_unknown:
            not_evaluated.append(NotEvaluated(rule.rule_id, rule.pack_id, call.unknown_reason(rule.index)))
        elif rule.tier2 and not rule.check_count:
            reason = "judged by Tier-2 (" + ", ".join(rule.tier2) + "): advisory, not inline"
            not_evaluated.append(NotEvaluated(rule.rule_id, rule.pack_id, reason))
        elif call.agent_turns:
            applies = True if rule.when is None else truth(rule.when(call.metadata, call.states))
            if applies is None:
                reason = _missing_reason(missing_inputs(rule.when_source, call.metadata))
                not_evaluated.append(NotEvaluated(rule.rule_id, rule.pack_id, reason))
            elif applies:
                satisfied.append(Satisfied(rule.rule_id, rule.pack_id, call.last_t, None))
    return Scorecard(
        call_id=call.call_id,
        tenant=call.tenant,
        verdict=compute_verdict(findings, health),
        packs_enforced=program.packs_enforced(),
        config_etag=call.engine.etag,
        engine_version=ENGINE_VERSION,
        scored_at=int(time.time() * 1000),
        agent_id=call.agent_id,
        product=call.product,
        started_at=call.started_at_ms,
        findings=findings,
        satisfied=satisfied,
        not_evaluated=not_evaluated,
        redactions=[Redaction.from_dict(r) for r in call.redactions],
        gate_health=health,
        timeline=[TimelineEvent(seq, round(t * 1000.0, 3), role, text) for seq, t, role, text in call.timeline],
        quality_metrics=None,
        blocked_turns=call.blocked_turns,
        modified_turns=call.modified_turns,
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
