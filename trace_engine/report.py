"""The exposure report: what the dashboard's Exposure page and ``trace exposure`` show, computed once.

:func:`exposure_report` puts together, for one tenant and window (optionally one agent, optionally one pack):

* the exposure read (:func:`trace_engine.store.reads.exposure`: calls scanned, share with a gap, verdict mix,
  per-rule ranking) with its statutory estimate (:mod:`trace_engine.damages`);
* the window day by day by call time (:func:`trace_engine.store.reads.exposure_days`);
* the ranking with each rule's title, severity, citation and damages figure, from the pack the tenant has.

With a pack, the ranking and the estimate are that pack's rules, and the headline's "with a gap" becomes "with a
finding of the pack" (calls in which any of its rules fired), day by day as well; calls scanned and the verdict
mix stay the whole window's (a verdict is the call's, not a pack's).

:func:`to_markdown` and :func:`to_csv` are ``trace exposure --format markdown|csv``. Every figure comes from
the same reads as ``GET /v1/trace/exposure``, so the numbers agree with the API's.
"""

from __future__ import annotations

import csv
import io
import time
from typing import Any

from trace_engine import damages
from trace_engine.store import reads
from trace_engine.store.interfaces import Store

TITLE = "Compliance exposure"


def rule_info(conn: Store, tenant: str, keys: list[tuple[str, str | None]]) -> dict[tuple, dict[str, Any]]:
    """``(rule_id, pack_id)`` -> ``{"title", "severity", "citation", "damages", "remedy"}`` from the tenant's packs (latest
    versions); rules of a pack the tenant no longer has are absent."""
    out: dict[tuple, dict[str, Any]] = {}
    packs: dict[str, Any] = {}
    for rule_id, pack_id in keys:
        if pack_id is None:
            continue
        if pack_id not in packs:
            packs[pack_id] = damages.tenant_pack(conn, tenant, pack_id)
        pack = packs[pack_id]
        rule = next((r for r in pack.rules if r.id == rule_id), None) if pack is not None else None
        if rule is not None:
            out[(rule_id, pack_id)] = {
                "title": rule.title,
                "severity": rule.severity,
                "citation": rule.citation,
                "damages": _damages_dict(rule.damages),
                "remedy": rule.remedy.kind if rule.remedy is not None else "flag",
            }
    return out


def _damages_dict(d: Any) -> dict[str, Any] | None:
    if d is None:
        return None
    return {"low": d.low, "high": d.high, "per": d.per, "citation": d.citation, "note": d.note,
            "text": damages.describe(d)}


def exposure_report(
    conn: Store,
    tenant: str,
    window_days: int = 30,
    *,
    agent_id: str | None = None,
    pack_id: str | None = None,
    now_ms: int | None = None,
    memo: Any = None,
) -> dict[str, Any]:
    """The report (see the module docstring). ``memo``: the API's whole-hours memo, when there is one."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    window_days = max(1, min(365, int(window_days)))
    since = reads.window_start(window_days, now)
    exp = reads.exposure(conn, tenant, window_days, agent_id, now_ms=now, memo=memo)
    days = reads.exposure_days(conn, tenant, window_days, agent_id, now_ms=now)
    ranking_rows = exp["by_rule"]
    scanned = exp["interactions_scanned"]
    with_gap = exp["with_a_gap"]
    if pack_id is not None:
        ranking_rows = [r for r in ranking_rows if r["pack_id"] == pack_id]
        act = reads.rule_activity(conn, tenant, pack_id=pack_id, since_ms=since, agent_id=agent_id)
        with_gap = act["calls"]
        for d in days:
            d["with_a_gap"] = act["days"].get(d["end_ms"] - reads.DAY_MS, 0)
    scoped = {**exp, "by_rule": ranking_rows}
    estimate = damages.exposure_with_estimate(conn, tenant, scoped, since_ms=since, agent_id=agent_id)
    info = rule_info(conn, tenant, [(r["rule_id"], r["pack_id"]) for r in ranking_rows])
    ranking = [{**r, **info.get((r["rule_id"], r["pack_id"]), {"title": None, "severity": None, "citation": None,
                                                              "damages": None, "remedy": None})} for r in ranking_rows]
    return {
        "object": "trace.exposure_report",
        "tenant": tenant,
        "window_days": window_days,
        "agent_id": agent_id,
        "pack_id": pack_id,
        "now_ms": now,
        "since_ms": since,
        "exposure": {**exp, "estimated_damages": estimate["estimated_damages"]},
        "interactions_scanned": scanned,
        "with_a_gap": with_gap,
        "gap_rate": (with_gap / scanned) if scanned else 0.0,
        "by_verdict": exp["by_verdict"],
        "days": days,
        "ranking": ranking,
        "estimated_damages": estimate["estimated_damages"],
    }


# ----------------------------------------------------------------------------------------------- renderings


def _pct(x: float) -> str:
    return f"{x:.1%}"


def _iso(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _md(text: Any) -> str:
    """A table cell: pipes escaped, newlines flattened."""
    return str("" if text is None else text).replace("|", "\\|").replace("\n", " ")


def gap_label(report: dict[str, Any]) -> str:
    return f"with a {report['pack_id']} finding" if report["pack_id"] else "with a gap (WARN or FAIL)"


def to_markdown(report: dict[str, Any]) -> str:
    """``trace exposure --format markdown``: a report a compliance officer can paste into a ticket or a memo."""
    r = report
    v = r["by_verdict"]
    scope = ", ".join(
        x for x in (f"agent `{r['agent_id']}`" if r["agent_id"] else "", f"pack `{r['pack_id']}`" if r["pack_id"] else "") if x
    )
    est = r["estimated_damages"]
    out = [
        f"# {TITLE}: tenant `{r['tenant']}`, last {r['window_days']} days" + (f" ({scope})" if scope else ""),
        "",
        f"Calls from {_iso(r['since_ms'])} to {_iso(r['now_ms'])}, by call time.",
        "",
        "| | |",
        "|---|---|",
        f"| calls scanned | {r['interactions_scanned']:,} |",
        f"| {gap_label(r)} | {r['with_a_gap']:,} ({_pct(r['gap_rate'])}) |",
        f"| verdicts | PASS {v.get('PASS', 0):,} · WARN {v.get('WARN', 0):,} · FAIL {v.get('FAIL', 0):,} |",
        f"| estimated statutory exposure | {damages.amount_range(est['low'], est['high'])} |",
        "",
        "## Rules",
        "",
    ]
    if r["ranking"]:
        out += ["| rule | title | citation | calls | share | damages figure |", "|---|---|---|---|---|---|"]
        for row in r["ranking"]:
            fig = row["damages"]["text"] if row.get("damages") else ""
            out.append(
                f"| `{_md(row['rule_id'])}` ({_md(row['pack_id'])}) | {_md(row.get('title'))} | "
                f"{_md(row.get('citation'))} | {row['count']:,} | {_pct(row['rate'])} | {_md(fig)} |"
            )
    else:
        out.append("No rule fired in this window.")
    out += ["", "## Estimated statutory exposure", "", f"_{est['disclaimer']}_", ""]
    if est["claims"]:
        out += ["| provision | figure | rules | counted | estimate |", "|---|---|---|---|---|"]
        for c in est["claims"]:
            rules = ", ".join(f"`{x['rule_id']}`" for x in c["rules"])
            unit = "calls" if c["per"] == "call" else "findings"
            out.append(
                f"| {_md(c['citation'])} | {damages.amount_range(c['low'], c['high'])} per {c['per']} | {rules} | "
                f"{c['count']:,} {unit} | {damages.amount_range(c['estimated_low'], c['estimated_high'])} |"
            )
        notes = [(c["citation"], c["note"]) for c in est["claims"] if c.get("note")]
        if notes:
            out.append("")
            out += [f"- {_md(cite)}: {_md(note)}" for cite, note in notes]
    else:
        out.append("No rule that fired in this window states a damages figure.")
    if est["rules_without_figure"]:
        out += ["", f"{est['rules_without_figure']} rule(s) that fired state no damages figure and add nothing."]
    out += ["", "## By day", "", f"| day | calls | {gap_label(r)} | PASS | WARN | FAIL |", "|---|---|---|---|---|---|"]
    for d in r["days"]:
        out.append(f"| {d['day']} | {d['calls']:,} | {d['with_a_gap']:,} | {d['PASS']:,} | {d['WARN']:,} | {d['FAIL']:,} |")
    return "\n".join(out) + "\n"


CSV_COLUMNS = (
    "rule_id", "pack_id", "title", "severity", "citation", "calls", "rate", "damages_per", "damages_low",
    "damages_high", "damages_citation", "window_days", "since", "until",
)


def to_csv(report: dict[str, Any]) -> str:
    """``trace exposure --format csv``: the per-rule ranking, one row per rule, with its damages figure."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for row in report["ranking"]:
        d = row.get("damages") or {}
        w.writerow(
            [
                csv_cell(row["rule_id"]), csv_cell(row["pack_id"]), csv_cell(row.get("title")), csv_cell(row.get("severity")),
                csv_cell(row.get("citation")), row["count"], f"{row['rate']:.6f}", csv_cell(d.get("per")),
                d.get("low", ""), d.get("high", ""), csv_cell(d.get("citation")), report["window_days"],
                _iso(report["since_ms"]), _iso(report["now_ms"]),
            ]
        )
    return buf.getvalue()


def csv_cell(value: Any) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (``=``, ``+``, ``-``, ``@`` lead with a quote)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
