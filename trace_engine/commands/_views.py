"""Human views of the evidence reads (``trace show``, ``trace exposure``): what a person needs, in words.

No Python values (``None``, ``False``), no raw JSON, times as ISO 8601 (UTC) or seconds into the call, turn numbers
from 1 (the scorecard's numbering, which ``trace explain`` uses too), ids never cut. ``--format json`` prints the
API's objects instead.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console

from trace_engine.commands._output import human, iso_time, print_table, seconds


def _where(turn: Any, at_t: Any, role_hint: str = "") -> str:
    """``turn 3 @ 8s``; a finding with no turn was judged at call start (t = 0) or call end."""
    if turn is None:
        return role_hint or ("call start" if not at_t else f"call end @ {seconds(at_t)}")
    return f"turn {turn} @ {seconds(at_t)}" if at_t is not None else f"turn {turn}"


def _percentiles(block: dict[str, Any] | None, unit: str) -> str:
    if not block or not block.get("count"):
        return "-"
    return f"p50 {human(block.get('p50'))} {unit}, p95 {human(block.get('p95'))} {unit} (n={block['count']})"


def print_interaction(res: dict[str, Any], console: Console) -> None:
    """``trace show``: one interaction's evidence."""
    sc = res.get("scorecard") or {}
    out = console.print
    packs = [p for p in str(res.get("packs_enforced") or "").split(",") if p]
    out(f"call {res['id']}", markup=False)
    rows = [
        ("verdict", res.get("verdict")),
        ("agent", res.get("agent_id")),
        ("product", res.get("product")),
        ("packs", packs),
        ("started", iso_time(sc.get("started_at"))),
        ("scored", iso_time(res.get("scored_at"))),
        ("turns", f"{human(res.get('findings'))} findings, {human(res.get('blocked_turns'))} blocked, "
                  f"{human(res.get('modified_turns'))} modified"),
        ("evidence", f"record {human(res.get('seq'))}, audit hash {res.get('audit_hash')}"),
        ("config", f"etag {human(sc.get('config_etag'))}, engine {human(sc.get('engine_version'))}"),
    ]
    facts = _facts(sc.get("facts"))
    if facts:
        rows.append(("facts", facts))
    speakers = (sc.get("input") or {}).get("speakers")
    if speakers == "unknown":
        rows.append(("speakers", "unknown: the transcript did not say who spoke (rules on the caller's words not judged)"))
    for label, value in rows:
        out(f"  {label:<9} {human(value)}", markup=False)

    findings = sc.get("findings") or []
    if findings:
        print_table(
            f"findings ({len(findings)})",
            ["where", "rule", "severity", "action", "remediated", "reason", "citation"],
            (
                [_where(f.get("turn"), f.get("at_t")), f.get("rule_id"), f.get("severity"), f.get("action_taken"),
                 f.get("remediated"), f.get("reason"), f.get("citation")]
                for f in findings
            ),
            console=console,
        )
    else:
        out("findings: none", markup=False)
    satisfied = sc.get("satisfied") or []
    if satisfied:
        out(f"satisfied ({len(satisfied)}): " + ", ".join(s.get("rule_id", "?") for s in satisfied), markup=False)
    for n in sc.get("not_evaluated") or []:
        out(f"not evaluated {n.get('rule_id')}: {human(n.get('reason'))}", markup=False)
    for n in sc.get("not_applicable") or []:  # outside the call's scope: neither passed nor failed
        what = n.get("rule_id") or f"pack {n.get('pack_id')}"
        out(f"not applicable {what}: {human(n.get('reason'))}", markup=False)
    redactions = sc.get("redactions") or []
    if redactions:
        print_table(
            f"redactions ({len(redactions)}; values are never stored)",
            ["turn", "kind", "characters", "rule"],
            ([r.get("turn"), r.get("kind"), _span(r.get("span")), r.get("rule_id")] for r in redactions),
            console=console,
        )
    health = sc.get("gate_health") or {}
    if health:
        latency = (
            f"latency p50 {human(health.get('latency_p50_us'))} us, p99 {human(health.get('latency_p99_us'))} us"
            if health.get("latency_p50_us") is not None
            else "latency not measured (re-scored offline)"
        )
        out(
            f"gate: {human(health.get('turns'))} agent turns checked, {human(health.get('errors'))} errors, "
            f"{human(health.get('timeouts'))} timeouts, {human(health.get('fail_open'))} failed open; {latency}",
            markup=False,
        )
    tier2 = res.get("tier2_findings") or []
    if tier2:
        print_table(
            f"tier-2 findings ({len(tier2)}; advisory)",
            ["where", "check", "severity", "action", "confidence", "reason"],
            (
                [_where(f.get("turn"), f.get("at_t")), f.get("check_id"), f.get("severity"), f.get("action"),
                 f.get("confidence"), f.get("reason")]
                for f in tier2
            ),
            console=console,
        )
    timeline = sc.get("timeline") or []
    if timeline:
        print_table(
            f"timeline ({len(timeline)} turns; as stored, PII redacted)",
            ["turn", "at", "role", "text"],
            ([e.get("seq"), _ms(e.get("t_ms")), e.get("role"), e.get("text")] for e in timeline),
            console=console,
        )
    dm = res.get("derived_metrics") or {}
    if dm:
        barge = dm.get("barge") or {}
        out(
            f"metrics: time to first byte {_percentiles(dm.get('ttfb_ms'), 'ms')}; "
            f"endpointing {_percentiles(dm.get('endpointing_ms'), 'ms')}; "
            f"barge-ins {human(barge.get('count'))} ({human(barge.get('recovered'))} recovered); "
            f"tool calls {human(dm.get('tool_calls'))}",
            markup=False,
        )


def _facts(facts: Any) -> str:
    """The call facts in force at the end, each with where it came from: ``direction inbound (metadata)``."""
    if not isinstance(facts, dict):
        return ""
    parts = []
    for name, fact in facts.items():
        if not isinstance(fact, dict):
            continue
        if "value" in fact:
            parts.append(f"{name} {human(fact.get('value'))} ({human(fact.get('source'))})")
        else:
            parts.append(f"{name} unusable: {human(fact.get('problem'))} ({human(fact.get('source'))})")
    return "; ".join(parts)


def _span(span: Any) -> str:
    if isinstance(span, list | tuple) and len(span) == 2:
        return f"{span[0]}-{span[1]}"
    return human(span)


def _ms(t_ms: Any) -> str:
    return seconds(t_ms / 1000.0) if isinstance(t_ms, int | float) and not isinstance(t_ms, bool) else "-"


def print_exposure(report: dict[str, Any], console: Console) -> None:
    """``trace exposure``: the headline, the verdict mix, the per-rule ranking and the estimated statutory exposure
    (an :func:`trace_engine.report.exposure_report`)."""
    from trace_engine.damages import amount_range
    from trace_engine.report import gap_label

    verdicts = report.get("by_verdict") or {}
    scope = "".join(
        f", {k} {report[k]}" for k in ("agent_id", "pack_id") if report.get(k)
    )
    console.print(
        f"{report['interactions_scanned']} interactions in the last {report['window_days']} days{scope}; "
        f"{report['with_a_gap']} {gap_label(report)} ({report['gap_rate']:.1%}); "
        f"PASS {verdicts.get('PASS', 0)}, WARN {verdicts.get('WARN', 0)}, FAIL {verdicts.get('FAIL', 0)}",
        markup=False,
    )
    ranking = report.get("ranking") or []
    if ranking:
        print_table(
            "exposure by rule",
            ["rule", "pack", "title", "calls", "rate", "damages figure"],
            (
                [r.get("rule_id"), r.get("pack_id"), r.get("title"), r.get("count"), f"{r.get('rate', 0):.1%}",
                 (r.get("damages") or {}).get("text")]
                for r in ranking
            ),
            console=console,
        )
    est = report["estimated_damages"]
    console.print(
        f"estimated statutory exposure: {amount_range(est['low'], est['high'])} from "
        f"{sum(c['count'] for c in est['claims'])} claim(s) under {len(est['claims'])} provision(s); "
        f"{est['rules_without_figure']} rule(s) that fired state no figure. {est['disclaimer']}",
        markup=False,
    )
