"""Turn a finished :class:`~trace_engine.gate.call.Call` into its :class:`Scorecard`."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from trace_engine.evidence.scorecard import (
    Finding,
    GateHealth,
    NotApplicable,
    NotEvaluated,
    Redaction,
    Satisfied,
    Scorecard,
    TimelineEvent,
    compute_verdict,
)
from trace_engine.facts import FACTS
from trace_engine.stats import percentile
from trace_engine.version import ENGINE_VERSION

if TYPE_CHECKING:
    from trace_engine.gate.call import Call


def build_scorecard(call: Call) -> Scorecard:
    """The scorecard of an ended call, from the core's per-call state."""
    program = call.program
    rules = program.rules
    findings = [Finding.from_dict(f) for f in call.findings]
    latencies = sorted(ns / 1000.0 for ns in call.latencies_ns)
    health = GateHealth(
        turns=len(latencies),
        latency_p50_us=_round(percentile(latencies, 50, presorted=True)),
        latency_p99_us=_round(percentile(latencies, 99, presorted=True)),
        timeouts=call.timeouts,
        errors=call.errors,
        fail_open=call.fail_open_events,
        unavailable=call.fail_open_events,
    )
    satisfied: list[Satisfied] = []
    not_evaluated: list[NotEvaluated] = []
    not_applicable: list[NotApplicable] = []
    packs_not_applicable: set[str] = set()
    for index, status, detail in call._rule_statuses():
        rule = rules[index]
        if status == "satisfied":
            at_t, turn = detail
            satisfied.append(Satisfied(rule.rule_id, rule.pack_id, at_t, turn))
        elif status == "scope":
            missing, reason, from_pack = detail
            if missing:
                not_evaluated.append(NotEvaluated(rule.rule_id, rule.pack_id, reason))
            elif not from_pack:
                not_applicable.append(NotApplicable(rule.pack_id, rule.rule_id, reason))
            elif rule.pack_id not in packs_not_applicable:  # the pack's own scope: listed once, for the pack
                packs_not_applicable.add(rule.pack_id)
                not_applicable.append(NotApplicable(rule.pack_id, None, reason))
        elif status == "unknown":
            not_evaluated.append(NotEvaluated(rule.rule_id, rule.pack_id, detail))
        elif status in ("unknown_keys", "when_unknown"):
            not_evaluated.append(NotEvaluated(rule.rule_id, rule.pack_id, call.missing_reason(detail)))
        elif status == "tier2":
            reason = f"judged by Tier-2 ({detail}): advisory, not inline"
            not_evaluated.append(NotEvaluated(rule.rule_id, rule.pack_id, reason))
        elif status == "always":
            satisfied.append(Satisfied(rule.rule_id, rule.pack_id, detail, None))
        elif status == "when_false":
            reason = f"{rule.rule_id} applies when {detail}; it was false on this call"
            not_applicable.append(NotApplicable(rule.pack_id, rule.rule_id, reason))
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
        timeline=[
            TimelineEvent(seq, round(t * 1000.0, 3), role, text, barge=extra[0] if extra else None)
            for seq, t, role, text, *extra in call.timeline  # a barged-in agent turn carries its barge object
        ],
        quality_metrics=None,
        blocked_turns=call.blocked_turns,
        modified_turns=call.modified_turns,
        facts=_facts_in_force(call),
        fact_changes=[dict(c) for c in call.fact_changes],
        not_applicable=not_applicable,
    )


def _facts_in_force(call: Call) -> dict[str, dict[str, object]]:
    """Every call fact the call had at its end, with where it came from (and why an unusable one was unusable)."""
    info = call.fact_info
    out: dict[str, dict[str, object]] = {}
    for name in FACTS:
        source = info.sources.get(name)
        if source is None:
            continue
        if name in info.problems:
            raw = info.raw.get(name)
            shown = raw if isinstance(raw, (str, int, float, bool)) else str(raw)
            out[name] = {"value": None, "given": shown, "source": source, "problem": info.problems[name]}
        else:
            out[name] = {"value": info.values[name], "source": source}
    return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
