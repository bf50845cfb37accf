"""Run pack tests: ``.calls`` files next to their packs, with ``ruleid:`` / ``ok:`` markers on turns.

Each call is replayed in ``warn`` mode (so every turn is checked as written, and later turns see what the agent
really said) with only the pack under test enabled. A marker passes when:

* ``ruleid: X`` — rule X produced a finding attributed to that line;
* ``ok: X`` — it did not;
* ``todoruleid: X`` / ``todook: X`` — known gaps: reported, never failing (and reported when they start to pass).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trace_engine.dsl import load_pack
from trace_engine.errors import Diagnostic, TraceError
from trace_engine.gate.engine import Engine
from trace_engine.packtest import Marker, PackTestCall, check_rule_ids, discover, load_calls
from trace_engine.replay import Replay, TurnReport

WARN_CONFIG = {"guardrails": {"mode": "warn", "inline_timeout_ms": 60_000}}


@dataclass(slots=True)
class MarkerResult:
    """The outcome of one marker."""

    file: str
    call: str
    line: int
    kind: str
    rule_id: str
    passed: bool
    role: str
    text: str
    reason: str
    fired: list[str]

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "call": self.call,
            "line": self.line,
            "kind": self.kind,
            "rule_id": self.rule_id,
            "passed": self.passed,
            "role": self.role,
            "text": self.text,
            "fired": self.fired,
        }


@dataclass(slots=True)
class PackTestReport:
    results: list[MarkerResult] = field(default_factory=list)
    errors: list[Diagnostic] = field(default_factory=list)

    @property
    def failed(self) -> list[MarkerResult]:
        return [r for r in self.results if not r.passed and r.kind in ("ruleid", "ok")]

    @property
    def passed(self) -> list[MarkerResult]:
        return [r for r in self.results if r.passed and r.kind in ("ruleid", "ok")]

    @property
    def todo(self) -> list[MarkerResult]:
        return [r for r in self.results if r.kind in ("todoruleid", "todook")]


def run_pack_tests(paths: list[str]) -> PackTestReport:
    """Discover and run every pack test under ``paths``."""
    report = PackTestReport()
    try:
        pairs = discover(paths)
    except TraceError as exc:
        report.errors.extend(exc.diagnostics)
        return report
    for pack_path, calls_path in pairs:
        try:
            pack, _ = load_pack(pack_path)
            calls = load_calls(calls_path)
        except TraceError as exc:
            report.errors.extend(exc.diagnostics)
            continue
        with open(calls_path, encoding="utf-8") as fh:
            unknown = check_rule_ids(calls, {r.id for r in pack.rules}, calls_path, fh.read())
        report.errors.extend(unknown)
        reasons = {r.id: r.reason for r in pack.rules}
        for call in calls:
            engine = Engine.from_config({**WARN_CONFIG, "variables": call.variables}, packs=[pack])
            report.results.extend(_run_call(engine, call, calls_path, reasons))
    return report


def _run_call(engine: Engine, call: PackTestCall, file: str, reasons: dict[str, str]) -> list[MarkerResult]:
    replay = Replay(engine, f"test:{call.name}", metadata=call.metadata)
    lines: list[tuple[list[Marker], TurnReport]] = [(call.start_markers, replay.reports[0])]
    for turn in call.turns:
        lines.append((turn.markers, replay.turn(turn.role, turn.text, turn.t)))
    replay.end()
    lines.append((call.end_markers, replay.reports[-1]))
    out: list[MarkerResult] = []
    for markers, turn_report in lines:
        fired = turn_report.fired
        for marker in markers:
            expect_fire = marker.kind in ("ruleid", "todoruleid")
            passed = (marker.rule_id in fired) == expect_fire
            out.append(
                MarkerResult(
                    file,
                    call.name,
                    marker.line,
                    marker.kind,
                    marker.rule_id,
                    passed,
                    turn_report.role,
                    turn_report.text,
                    reasons.get(marker.rule_id, ""),
                    sorted(fired),
                )
            )
    return out


def render_text(report: PackTestReport) -> str:
    """Failures with their turn and the rule's reason, then ``N passed, N failed``."""
    lines: list[str] = []
    for diag in report.errors:
        lines.append(diag.render())
    for r in report.failed:
        verb = "should fire" if r.kind == "ruleid" else "should not fire"
        where = f"{r.role}: {r.text}" if r.role in ("agent", "caller") else f"({r.role} of call)"
        lines.append(f"FAIL {r.file}:{r.line} {r.rule_id} {verb} [{r.call}]")
        lines.append(f"     {where}")
        lines.append(f"     fired here: {', '.join(r.fired) or 'nothing'}")
        if r.reason:
            lines.append(f"     rule: {r.reason}")
    todo = report.todo
    if todo:
        fixed = [r for r in todo if r.passed]
        lines.append(f"{len(todo)} known gaps (todo markers), {len(fixed)} of them now pass")
        for r in fixed:
            lines.append(f"  now passing: {r.file}:{r.line} {r.kind}: {r.rule_id} (promote the marker)")
    failed = len(report.failed) + len(report.errors)
    lines.append(f"{len(report.passed)} passed, {failed} failed")
    return "\n".join(lines) + "\n"
