"""IR → program, as an ordered tuple of small passes (the way sqlglot orders its optimizer).

``compile_packs(packs)`` runs :data:`PASSES` over a :class:`Compilation`; each pass reads what earlier passes
left and adds one thing. The result, a :class:`~trace_engine.compile.program.CompiledPackSet`, carries the
**program**: plain data (tables of rules, checks, states, matcher leaves, expressions) that the native core loads
and evaluates, shared across calls and written to disk by ``trace build``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from trace_engine import ir
from trace_engine.compile.expr import expr_data
from trace_engine.compile.limits import check_pack
from trace_engine.compile.matchers import MatcherBuilder
from trace_engine.compile.program import (
    ALWAYS,
    CALL_END,
    FIRST_TURN,
    FOR_TURNS,
    PROGRAM_FORMAT,
    SECONDS,
    TURNS,
    UNTIL_STATE,
    CompiledPackSet,
)
from trace_engine.errors import Diagnostic, Location, TraceCompileError
from trace_engine.version import ENGINE_VERSION

__all__ = ["compile_packs", "pack_set_etag", "CompiledPackSet", "PASSES"]


@dataclass(slots=True)
class Compilation:
    """Working state threaded through the passes."""

    packs: tuple[ir.Pack, ...]
    extra_etag_input: Any = None
    builder: MatcherBuilder = field(default_factory=MatcherBuilder)
    rules: list[dict[str, Any]] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    states: list[dict[str, Any]] = field(default_factory=list)
    etag: str = ""
    program: dict[str, Any] | None = None
    result: CompiledPackSet | None = None


def pack_set_etag(packs: Iterable[ir.Pack], extra: Any = None) -> str:
    """sha256 over the canonical JSON of each pack (either source form gives the same bytes), ``extra`` and the
    engine version."""
    import rfc8785

    from trace_engine.dsl.jsonform import pack_to_dict

    digest = hashlib.sha256()
    digest.update(f"trace-engine/{ENGINE_VERSION}\n".encode())
    for pack in packs:
        digest.update(rfc8785.dumps(pack_to_dict(pack)))
        digest.update(b"\n")
    if extra is not None:
        digest.update(rfc8785.dumps(json.loads(json.dumps(extra, default=str))))
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------- passes


def check_limits(c: Compilation) -> None:
    """Refuse a pack beyond :data:`trace_engine.compile.limits.LIMITS` before any automaton is built."""
    from trace_engine.errors import TraceCompileError

    problems = [d for pack in c.packs for d in check_pack(pack)]
    if problems:
        raise TraceCompileError(problems)


def compute_etag(c: Compilation) -> None:
    c.etag = pack_set_etag(c.packs, c.extra_etag_input)


def lower_states(c: Compilation) -> None:
    for pack in c.packs:
        for state in pack.states:
            name = f"{pack.pack_id}.{state.name}"  # states are per pack: two packs may both say "verified"
            c.states.append({"name": name, "steps": [_lower_step(c, step) for step in state.steps]})


def _lower_step(c: Compilation, step: ir.StateStep) -> dict[str, Any]:
    return {
        "speaker": step.speaker,
        "matcher": c.builder.add(step.matcher),
        "unless": c.builder.add(step.unless) if step.unless is not None else None,
        "and_not": c.builder.add(step.and_not) if step.and_not is not None else None,
    }


def _scope(pack: ir.Pack, rule: ir.Rule) -> list[list[Any]]:
    """The rule's scope conditions, the pack's first (a rule only narrows: for a fact both name, the rule's values
    are a subset of the pack's, and both conditions are kept so the reason names the one that failed)."""
    out: list[list[Any]] = []
    for applies, from_pack in ((pack.applies_to, True), (rule.applies_to, False)):
        if applies is not None:
            out.extend([cond.fact, list(cond.values), from_pack] for cond in applies.conditions)
    return out


def _combined_when(pack: ir.Pack, rule: ir.Rule) -> ir.Expr | None:
    if pack.when is None:
        return rule.when
    if rule.when is None:
        return pack.when
    return ir.BoolOp("and", (pack.when, rule.when))


def _qualify_states(expr: ir.Expr, pack_id: str) -> ir.Expr:
    """Rewrite ``state.X`` to ``state.<pack_id>.X`` so each pack reads its own states."""
    if isinstance(expr, ir.Field):
        if expr.name.startswith("state."):
            return ir.Field(f"state.{pack_id}.{expr.name[len('state.'):]}")
        return expr
    if isinstance(expr, ir.Call):
        return ir.Call(expr.name, tuple(_qualify_states(a, pack_id) for a in expr.args))
    if isinstance(expr, ir.Compare):
        return ir.Compare(expr.op, _qualify_states(expr.left, pack_id), _qualify_states(expr.right, pack_id))
    if isinstance(expr, ir.Between):
        return ir.Between(*(_qualify_states(e, pack_id) for e in (expr.value, expr.low, expr.high)))
    if isinstance(expr, ir.BoolOp):
        return ir.BoolOp(expr.op, tuple(_qualify_states(o, pack_id) for o in expr.operands))
    if isinstance(expr, ir.Not):
        return ir.Not(_qualify_states(expr.operand, pack_id))
    if isinstance(expr, ir.IfElse):
        return ir.IfElse(*(_qualify_states(e, pack_id) for e in (expr.cond, expr.then, expr.otherwise)))
    return expr


def _when_text(when: ir.Expr) -> str:
    """The condition as the pack writes it, for the "applies when ..." reason of a rule whose condition is false."""
    from trace_engine.dsl.printer import expr

    return expr(when)


def lower_rules(c: Compilation) -> None:
    for pack in c.packs:
        for rule in pack.rules:
            remedy = rule.remedy or ir.Remedy("flag")
            when = _combined_when(pack, rule)
            info: dict[str, Any] = {
                "id": rule.id,
                "pack_id": pack.pack_id,
                "pack_version": pack.version,
                "title": rule.title,
                "severity": rule.severity,
                "citation": rule.citation,
                "reason": rule.reason,
                "remedy": {
                    "kind": remedy.kind,
                    "keep_last": remedy.keep_last,
                    "placeholder": remedy.placeholder,
                    "text": remedy.text,
                },
                "when": expr_data(_qualify_states(when, pack.pack_id)) if when is not None else None,
                "when_text": _when_text(when) if when is not None else None,
                "tier2": [],
                "check_count": 0,
                "scope": _scope(pack, rule),
                "examples": list(rule.examples),
            }
            index = len(c.rules)
            c.rules.append(info)
            for check in rule.checks:
                if isinstance(check, ir.Tier2Ref):
                    info["tier2"].append(check.check_id)
                else:
                    _lower_check(c, index, check, pack.pack_id, in_cue=False)
                    info["check_count"] += 1


def _lower_check(c: Compilation, rule: int, check: ir.Check, pack_id: str, *, in_cue: bool) -> int:
    index = len(c.checks)
    if isinstance(check, ir.MustSay):
        window = check.window
        if isinstance(window, ir.FirstTurn):
            kind, amount = FIRST_TURN, 1.0
        elif isinstance(window, ir.Turns):
            kind, amount = TURNS, float(window.count)
        elif isinstance(window, ir.Seconds):
            kind, amount = SECONDS, float(window.seconds)
        else:
            kind, amount = CALL_END, 0.0
        c.checks.append(
            {"kind": "must_say", "rule": rule, "matcher": c.builder.add(check.matcher), "window": kind,
             "amount": amount, "in_cue": in_cue}
        )
    elif isinstance(check, ir.MustNotSay):
        scope = check.scope
        if isinstance(scope, ir.UntilState):
            kind, state, turns = UNTIL_STATE, f"{pack_id}.{scope.state}", 0
        elif isinstance(scope, ir.ForTurns):
            kind, state, turns = FOR_TURNS, None, scope.count
        else:
            kind, state, turns = ALWAYS, None, 0
        matcher = c.builder.add(check.matcher)
        unless = c.builder.add(check.unless) if check.unless is not None else None
        c.checks.append(
            {"kind": "must_not_say", "rule": rule, "matcher": matcher, "unless": unless, "scope": kind,
             "state": state, "turns": turns, "in_cue": in_cue}
        )
    elif isinstance(check, ir.OnCue):
        and_not = c.builder.add(check.and_not) if check.and_not is not None else None
        after = _lower_step(c, check.after) if check.after is not None else None
        cue: dict[str, Any] = {"kind": "cue", "rule": rule, "speaker": check.speaker,
                               "matcher": c.builder.add(check.cue), "then": [], "and_not": and_not, "after": after}
        c.checks.append(cue)
        cue["then"] = [_lower_check(c, rule, inner, pack_id, in_cue=True) for inner in check.then]
    elif isinstance(check, ir.Require):
        c.checks.append({"kind": "require", "rule": rule, "expr": expr_data(_qualify_states(check.expr, pack_id))})
    else:  # pragma: no cover
        raise TypeError(f"cannot lower check {check!r}")
    return index


def emit_program(c: Compilation) -> None:
    """The program as data: the tables the passes built and the matcher leaves."""
    c.program = {
        "format": PROGRAM_FORMAT,
        "rules": c.rules,
        "checks": c.checks,
        "states": c.states,
        "matchers": c.builder.tables(),
    }


def load_core(c: Compilation) -> None:
    """Hand the program to the native core, which validates it and builds its automaton and indexes."""
    assert c.program is not None
    try:
        c.result = CompiledPackSet.load(
            c.program,
            etag=c.etag,
            engine_version=ENGINE_VERSION,
            packs=tuple((p.pack_id, p.version) for p in c.packs),
            ir_packs=c.packs,
            etag_input=c.extra_etag_input,
        )
    except ValueError as exc:  # e.g. a regex RE2 accepts that the core's engine cannot run
        where = Location(c.packs[0].pack_id if c.packs else "<packs>", 1, 1)
        raise TraceCompileError([Diagnostic("TC100", f"the packs do not compile: {exc}", where)]) from None


#: The compiler, in order. Each pass is a small function of the :class:`Compilation`.
PASSES: tuple[Callable[[Compilation], None], ...] = (
    check_limits,
    compute_etag,
    lower_states,
    lower_rules,
    emit_program,
    load_core,
)


def compile_packs(packs: Iterable[ir.Pack], *, extra_etag_input: Any = None) -> CompiledPackSet:
    """Compile IR packs (in enforcement order) into one shared :class:`CompiledPackSet`."""
    c = Compilation(packs=tuple(packs), extra_etag_input=extra_etag_input)
    for compiler_pass in PASSES:
        compiler_pass(c)
    assert c.result is not None
    return c.result
