"""``trace diff``: what a new config or pack version would change, before it ships.

The same calls are re-scored twice, under a **before** and an **after** side (each an :class:`Engine` in ``warn``
mode, as ``trace rescore`` scores), and the two scorecards of each call are compared. Nothing is written to the
evidence log. The report says:

* how many calls changed: their verdict, or only their findings;
* per rule, findings added and removed (and the calls that gained or lost the rule);
* examples: the call, the turn, its stored (PII-redacted) text with the finding's words marked, and the reason.

A finding is identified by ``(pack_id, rule_id, turn, span)``: the same rule firing on the same words is not a
change, even when its reason text was reworded; the same rule firing on other words is one finding removed and
one added.

One implementation serves both surfaces: the CLI (:mod:`trace_engine.commands.diff`, transcripts from files, sides
from configs and pack files) and the dashboard's Diff page (:mod:`trace_engine.web.diffjob`, the tenant's recent
calls as the log stores them, the draft pack against the packs in force), which build :class:`Side` objects and
feed :class:`DiffRun`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from trace_engine.evidence import spans
from trace_engine.evidence.scorecard import Scorecard
from trace_engine.gate.engine import Engine
from trace_engine.transcripts import Transcript

#: examples kept per rule and direction (added / removed)
EXAMPLES_PER_RULE = 3
#: changed calls listed in full in a report (all are counted)
CALLS_LISTED = 200
SNIPPET = 240


@dataclass(slots=True)
class Side:
    """What one side enforces. ``label``: how the report names it (the argument as given, ``draft tcpa@2``)."""

    label: str
    engine: Engine

    @property
    def packs(self) -> list[str]:
        return sorted({f"{r.pack_id}@{r.pack_version}" for r in self.engine.program.rules})


FindingKey = tuple[str | None, str, int | None, tuple[int, int] | None]


def _key(f: dict[str, Any]) -> FindingKey:
    span = f.get("span")
    return (f.get("pack_id"), f["rule_id"], f.get("turn"), tuple(span) if isinstance(span, list | tuple) else None)


def example(card: dict[str, Any], finding: dict[str, Any], call_id: str, change: str, source: str = "") -> dict[str, Any]:
    """One example: where the finding is, the stored text of its turn (cut around the finding), and why."""
    turn = finding.get("turn")
    text = spans.turn_text(card, turn) if isinstance(turn, int) else None
    role = next((e.get("role") for e in card.get("timeline") or () if e.get("seq") == turn), None)
    mark = spans.locate(card, finding)
    snippet, at = None, None
    if text is not None:
        lo = 0
        if mark is not None and len(text) > SNIPPET:
            lo = max(0, min(mark[0] - SNIPPET // 3, len(text) - SNIPPET))
        snippet = ("…" if lo else "") + text[lo : lo + SNIPPET] + ("…" if lo + SNIPPET < len(text) else "")
        if mark is not None and mark[1] <= lo + SNIPPET:
            shift = lo - (1 if lo else 0)
            at = [mark[0] - shift, mark[1] - shift]
    return {
        "change": change,
        "call_id": call_id,
        "source": source,
        "rule_id": finding["rule_id"],
        "pack_id": finding.get("pack_id"),
        "severity": finding.get("severity"),
        "turn": turn,
        "role": role,
        "at_t": finding.get("at_t"),
        "text": snippet,
        "mark": at,
        "reason": finding.get("reason") or "",
        "citation": finding.get("citation") or "",
    }


@dataclass
class DiffRun:
    """Accumulates the comparison of scorecard pairs; :meth:`report` is the result."""

    before: Side
    after: Side
    examples_per_rule: int = EXAMPLES_PER_RULE
    calls_listed: int = CALLS_LISTED
    calls: int = 0
    changed: int = 0
    verdicts_before: Counter = field(default_factory=Counter)
    verdicts_after: Counter = field(default_factory=Counter)
    verdict_changes: Counter = field(default_factory=Counter)
    added: Counter = field(default_factory=Counter)
    removed: Counter = field(default_factory=Counter)
    calls_added: Counter = field(default_factory=Counter)
    calls_removed: Counter = field(default_factory=Counter)
    titles: dict[tuple[str | None, str], str] = field(default_factory=dict)
    changed_calls: list[dict[str, Any]] = field(default_factory=list)
    examples: dict[tuple[str, str | None, str], list[dict[str, Any]]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for side in (self.before, self.after):
            for r in side.engine.program.rules:
                self.titles.setdefault((r.pack_id, r.rule_id), r.title)

    def add(self, call_id: str, before: Scorecard | dict[str, Any], after: Scorecard | dict[str, Any],
            source: str = "") -> None:
        """Compare one call's two scorecards."""
        b = before.to_dict() if isinstance(before, Scorecard) else before
        a = after.to_dict() if isinstance(after, Scorecard) else after
        self.calls += 1
        self.verdicts_before[b["verdict"]] += 1
        self.verdicts_after[a["verdict"]] += 1
        fb = Counter(_key(f) for f in b["findings"])
        fa = Counter(_key(f) for f in a["findings"])
        plus, minus = fa - fb, fb - fa
        if b["verdict"] == a["verdict"] and not plus and not minus:
            return
        self.changed += 1
        if b["verdict"] != a["verdict"]:
            self.verdict_changes[(b["verdict"], a["verdict"])] += 1
        entry_added, entry_removed = [], []
        for card, delta, counts, calls, kind, out in (
            (a, plus, self.added, self.calls_added, "added", entry_added),
            (b, minus, self.removed, self.calls_removed, "removed", entry_removed),
        ):
            rules_here: set[tuple[str, str | None]] = set()
            left = Counter(delta)
            for f in card["findings"]:
                k = _key(f)
                if left[k] <= 0:
                    continue
                left[k] -= 1
                rk = (f["rule_id"], f.get("pack_id"))
                counts[rk] += 1
                rules_here.add(rk)
                ex = example(card, f, call_id, kind, source)
                out.append(ex)
                bucket = self.examples.setdefault((*rk, kind), [])
                if len(bucket) < self.examples_per_rule:
                    bucket.append(ex)
            for rk in rules_here:
                calls[rk] += 1
        if len(self.changed_calls) < self.calls_listed:
            self.changed_calls.append(
                {
                    "call_id": call_id,
                    "source": source,
                    "agent_id": a.get("agent_id"),
                    "verdict_before": b["verdict"],
                    "verdict_after": a["verdict"],
                    "added": entry_added,
                    "removed": entry_removed,
                }
            )

    def score(self, transcript: Transcript, *, tenant: str = "default") -> None:
        """Score ``transcript`` on both sides and compare (a call the gate cannot score is listed as skipped)."""
        from trace_engine.rescore import score_transcript

        try:
            before = score_transcript(self.before.engine, transcript, tenant=tenant)
            after = score_transcript(self.after.engine, transcript, tenant=tenant)
        except Exception as exc:  # noqa: BLE001 - one call's failure must not stop the diff
            self.skipped.append(f"{transcript.source or transcript.call_id}: cannot score: {type(exc).__name__}: {exc}")
            return
        self.add(transcript.call_id, before, after, transcript.source)

    def report(self) -> dict[str, Any]:
        keys = set(self.added) | set(self.removed)
        rules = [
            {
                "rule_id": rule_id,
                "pack_id": pack_id,
                "title": self.titles.get((pack_id, rule_id)),
                "added": self.added[(rule_id, pack_id)],
                "removed": self.removed[(rule_id, pack_id)],
                "calls_added": self.calls_added[(rule_id, pack_id)],
                "calls_removed": self.calls_removed[(rule_id, pack_id)],
            }
            for rule_id, pack_id in keys
        ]
        rules.sort(key=lambda r: (-(r["added"] + r["removed"]), r["pack_id"] or "", r["rule_id"]))
        examples = [ex for r in rules for kind in ("added", "removed")
                    for ex in self.examples.get((r["rule_id"], r["pack_id"], kind), [])]
        return {
            "object": "trace.diff",
            "before": {"label": self.before.label, "etag": self.before.engine.etag, "packs": self.before.packs},
            "after": {"label": self.after.label, "etag": self.after.engine.etag, "packs": self.after.packs},
            "calls": self.calls,
            "changed": self.changed,
            "verdict_changed": sum(self.verdict_changes.values()),
            "verdicts": {
                "before": {v: self.verdicts_before[v] for v in ("PASS", "WARN", "FAIL")},
                "after": {v: self.verdicts_after[v] for v in ("PASS", "WARN", "FAIL")},
            },
            "verdict_changes": [
                {"from": f, "to": t, "calls": n}
                for (f, t), n in sorted(self.verdict_changes.items(), key=lambda x: (-x[1], x[0]))
            ],
            "rules": rules,
            "findings_added": sum(self.added.values()),
            "findings_removed": sum(self.removed.values()),
            "examples": examples,
            "changed_calls": self.changed_calls,
            "changed_calls_omitted": self.changed - len(self.changed_calls),
            "skipped": self.skipped,
        }


def run_diff(
    transcripts: Iterable[Transcript],
    before: Side,
    after: Side,
    *,
    tenant: str = "default",
    examples_per_rule: int = EXAMPLES_PER_RULE,
    on_call: Callable[[], None] | None = None,
) -> DiffRun:
    """Score every transcript on both sides; returns the run (``.report()`` for the result)."""
    run = DiffRun(before, after, examples_per_rule=examples_per_rule)
    for t in transcripts:
        run.score(t, tenant=tenant)
        if on_call is not None:
            on_call()
    return run


# ------------------------------------------------------------------------------------ calls from the log


def transcript_from_scorecard(sc: dict[str, Any]) -> Transcript:
    """A stored call as a transcript to re-score: its timeline (as stored: PII already redacted, so detector rules
    cannot fire on either side), the facts it was judged with (those learned mid-call replayed where they were
    learned), its agent and start. System and tool turns stay unscored; the call's own fact lines are replayed."""
    changes = {c.get("seq"): c for c in sc.get("fact_changes") or () if isinstance(c, dict)}
    changed_keys = {k for c in changes.values() for k in (c.get("facts") or {})}
    metadata = {
        k: v["value"] for k, v in (sc.get("facts") or {}).items()
        if isinstance(v, dict) and "value" in v and k not in changed_keys
    }
    turns: list[tuple[str, str, float | None]] = []
    for e in sc.get("timeline") or ():
        role, t = e.get("role"), e.get("t_ms")
        secs = t / 1000.0 if isinstance(t, int | float) and not isinstance(t, bool) else None
        if role == "facts":
            change = changes.get(e.get("seq"))
            if change and isinstance(change.get("facts"), dict):
                turns.append(("facts", json.dumps(change["facts"]), secs))
            continue
        if role in ("agent", "caller", "unknown", "system", "tool") and isinstance(e.get("text"), str):
            turns.append((role, e["text"], secs))
    speakers = (sc.get("input") or {}).get("speakers", "labeled")
    return Transcript(
        call_id=sc["call_id"],
        turns=turns,
        metadata=metadata,
        agent_id=sc.get("agent_id"),
        source=sc["call_id"],
        started_at=sc.get("started_at"),
        speakers=speakers if speakers in ("labeled", "unknown") else "labeled",
    )


# ------------------------------------------------------------------------------------------- renderings


def _calls(n: int) -> str:
    return f"{n} call" if n == 1 else f"{n} calls"


def _verdict_changes(report: dict[str, Any]) -> str:
    return ", ".join(f"{c['from']}→{c['to']} {c['calls']}" for c in report["verdict_changes"]) or "none"


def _marked(ex: dict[str, Any], left: str, right: str) -> str:
    text = ex.get("text")
    if text is None:
        return "(no text stored for this turn)"
    mark = ex.get("mark")
    if mark:
        text = text[: mark[0]] + left + text[mark[0] : mark[1]] + right + text[mark[1] :]
    return text


def _where(ex: dict[str, Any]) -> str:
    turn = f"turn {ex['turn']}" + (f" ({ex['role']})" if ex.get("role") else "") if ex.get("turn") else "call level"
    return f"call {ex['call_id']}, {turn}"


def to_text(report: dict[str, Any]) -> str:
    """For people, in a terminal or a pipe."""
    r = report
    out = [
        f"re-scored {_calls(r['calls'])}: before = {r['before']['label']} ({', '.join(r['before']['packs']) or 'no packs'}), "
        f"after = {r['after']['label']} ({', '.join(r['after']['packs']) or 'no packs'})",
        f"changed: {_calls(r['changed'])} ({(r['changed'] / r['calls']) if r['calls'] else 0:.1%}); verdict changed in "
        f"{r['verdict_changed']} ({_verdict_changes(r)}); findings +{r['findings_added']} / -{r['findings_removed']}",
        "verdicts before: " + " ".join(f"{k} {v}" for k, v in r["verdicts"]["before"].items())
        + "; after: " + " ".join(f"{k} {v}" for k, v in r["verdicts"]["after"].items()),
    ]
    if r["rules"]:
        out += ["", f"{'rule':<16} {'pack':<16} {'added':>6} {'removed':>8} {'calls +':>8} {'calls -':>8}  title"]
        for x in r["rules"]:
            out.append(
                f"{x['rule_id']:<16} {x['pack_id'] or '-':<16} {x['added']:>6} {x['removed']:>8} "
                f"{x['calls_added']:>8} {x['calls_removed']:>8}  {x['title'] or ''}"
            )
    if r["examples"]:
        out += ["", "examples:"]
        for ex in r["examples"]:
            sign = "+" if ex["change"] == "added" else "-"
            out.append(f"  {sign} {ex['rule_id']} in {_where(ex)}: {_marked(ex, '[[', ']]')}")
            out.append(f"      {ex['reason']}")
    for s in r["skipped"]:
        out.append(f"skipped {s}")
    return "\n".join(out) + "\n"


def to_markdown(report: dict[str, Any]) -> str:
    """For a pull request or a change ticket."""
    r = report

    def cell(x: Any) -> str:
        return str("" if x is None else x).replace("|", "\\|").replace("\n", " ")

    out = [
        "# trace diff",
        "",
        f"**Before:** `{cell(r['before']['label'])}` ({cell(', '.join(r['before']['packs']))})  ",
        f"**After:** `{cell(r['after']['label'])}` ({cell(', '.join(r['after']['packs']))})",
        "",
        f"{_calls(r['calls'])} re-scored; **{r['changed']} changed** ({(r['changed'] / r['calls']) if r['calls'] else 0:.1%}): "
        f"verdict changed in {r['verdict_changed']} ({_verdict_changes(r)}), findings +{r['findings_added']} / "
        f"-{r['findings_removed']}.",
        "",
        "| verdict | before | after |",
        "|---|---|---|",
        *(f"| {v} | {r['verdicts']['before'][v]} | {r['verdicts']['after'][v]} |" for v in ("PASS", "WARN", "FAIL")),
        "",
    ]
    if r["rules"]:
        out += ["| rule | pack | title | findings added | removed | calls gained | calls lost |",
                "|---|---|---|---|---|---|---|"]
        out += [
            f"| `{cell(x['rule_id'])}` | {cell(x['pack_id'])} | {cell(x['title'])} | {x['added']} | {x['removed']} | "
            f"{x['calls_added']} | {x['calls_removed']} |"
            for x in r["rules"]
        ]
        out.append("")
    if r["examples"]:
        out += ["## Examples", ""]
        for ex in r["examples"]:
            sign = "added" if ex["change"] == "added" else "removed"
            out.append(f"- **{sign}** `{cell(ex['rule_id'])}`, {cell(_where(ex))}: "
                       f"{cell(_marked(ex, '**', '**'))}  \n  _{cell(ex['reason'])}_")
        out.append("")
    if r["skipped"]:
        out += ["## Skipped", "", *(f"- {cell(s)}" for s in r["skipped"]), ""]
    return "\n".join(out)
