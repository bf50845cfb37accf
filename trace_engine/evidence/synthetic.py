"""Deterministic synthetic scorecards for tests, benchmarks and demos (no real call data)."""

from __future__ import annotations

import random

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
from trace_engine.version import ENGINE_VERSION

RULES: tuple[tuple[str, str, str, str], ...] = (
    ("tcpa-001", "tcpa", "high", "47 CFR § 64.1200(b)(1)"),
    ("tcpa-003", "tcpa", "medium", "47 CFR § 64.1200(d)(4)"),
    ("tcpa-007", "tcpa", "critical", "47 CFR § 64.1200(c)(1)"),
    ("hipaa-002", "hipaa", "high", "45 CFR § 164.514(d)"),
    ("pii-001", "pii", "low", "internal policy"),
)


def synthetic_scorecard(
    i: int,
    tenant: str = "default",
    *,
    base_ms: int = 1_760_000_000_000,
    config_etag: str = "etag-1",
    seed: int = 0,
    timeline_turns: int = 6,
    agents: int = 5,
) -> Scorecard:
    """The ``i``-th synthetic scorecard: a realistic mix of verdicts, findings, redactions and a timeline."""
    rng = random.Random(seed * 1_000_003 + i)
    findings: list[Finding] = []
    for _ in range(rng.choice((0, 0, 0, 1, 1, 2))):
        rule_id, pack, sev, cite = rng.choice(RULES)
        turn = rng.randrange(timeline_turns or 1)
        start = rng.randrange(40)
        findings.append(
            Finding(
                rule_id=rule_id,
                pack_id=pack,
                severity=sev,
                action_taken=rng.choice(("flag", "modify", "block", "pass")),
                citation=cite,
                reason=f"{rule_id} fired on turn {turn}",
                at_t=round(turn * 4.5 + rng.random(), 3),
                turn=turn,
                span=(start, start + rng.randrange(1, 20)),
                remediated=rng.random() < 0.3,
            )
        )
    gh = GateHealth(
        turns=timeline_turns,
        latency_p50_us=round(8 + rng.random() * 4, 2),
        latency_p99_us=round(14 + rng.random() * 10, 2),
        fail_open=1 if rng.random() < 0.02 else 0,
    )
    timeline = []
    for t in range(timeline_turns):
        role = "agent" if t % 2 == 0 else "caller"
        ev = TimelineEvent(seq=t, t_ms=t * 4500 + rng.randrange(500), role=role, text=f"turn {t} text [REDACTED]")
        if role == "agent":
            ev.ttfb_ms = 200 + rng.randrange(400)
            if rng.random() < 0.1:
                ev.tool_calls = [{"name": "lookup", "args": {"id": t}, "result": "ok", "t_ms": t * 4500 + 10}]
        else:
            ev.endpointing_ms = 100 + rng.randrange(300)
            if rng.random() < 0.15:
                ev.barge = {"detect_ms": 50 + rng.randrange(150), "recovered": rng.random() < 0.8}
        timeline.append(ev)
    redactions = [Redaction("credit_card", 1, (10, 29), "pii-001")] if rng.random() < 0.1 else []
    return Scorecard(
        call_id=f"call-{seed}-{i:08d}",
        tenant=tenant,
        agent_id=f"agent-{i % agents}" if agents else None,
        product="agents",
        verdict=compute_verdict(findings, gh),
        packs_enforced=["tcpa@2026.11.0", "hipaa@2026.10.2"],
        config_etag=config_etag,
        engine_version=ENGINE_VERSION,
        scored_at=base_ms + i * 1000,
        started_at=base_ms + i * 1000 - 60_000,
        findings=findings,
        satisfied=[Satisfied("tcpa-002", "tcpa", 1.2, 0)],
        not_evaluated=[NotEvaluated("tcpa-010", "tcpa", "missing metadata: local_time")] if rng.random() < 0.2 else [],
        redactions=redactions,
        gate_health=gh,
        timeline=timeline,
        quality_metrics={"ttfb_ms": 310.0, "wer": 0.07} if rng.random() < 0.5 else None,
        blocked_turns=sum(1 for f in findings if f.action_taken == "block"),
        modified_turns=sum(1 for f in findings if f.action_taken == "modify"),
    )
