"""IR → automata, as an ordered tuple of small passes (the way sqlglot orders its optimizer).

``compile_packs(packs)`` runs :data:`PASSES` over a :class:`Compilation`; each pass reads what earlier passes
left and adds one thing. The result, a :class:`~trace_engine.compile.program.CompiledPackSet`, is what the gate
shares across calls and what ``trace build`` writes to disk.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from trace_engine import ir
from trace_engine.compile.expr import compile_expr
from trace_engine.compile.limits import check_pack
from trace_engine.compile.matchers import MatcherBuilder
from trace_engine.compile.program import (
    ALWAYS,
    CALL_END,
    FIRST_TURN,
    FOR_TURNS,
    SECONDS,
    TURNS,
    UNTIL_STATE,
    CheckProgram,
    CompiledPackSet,
    CueProgram,
    MustNotSayProgram,
    MustSayProgram,
    RequireProgram,
    RuleInfo,
    StateProgram,
    StepProgram,
)
from trace_engine.version import ENGINE_VERSION

__all__ = ["compile_packs", "pack_set_etag", "CompiledPackSet", "PASSES"]


@dataclass(slots=True)
class Compilation:
    """Working state threaded through the passes."""

    packs: tuple[ir.Pack, ...]
    extra_etag_input: Any = None
    builder: MatcherBuilder = field(default_factory=MatcherBuilder)
    rules: list[RuleInfo] = field(default_factory=list)
    checks: list[CheckProgram] = field(default_factory=list)
    states: list[StateProgram] = field(default_factory=list)
    etag: str = ""
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
            steps = tuple(_lower_step(c, step) for step in state.steps)
            c.states.append(StateProgram(name=name, steps=steps))


def _lower_step(c: Compilation, step: ir.StateStep) -> StepProgram:
    unless = c.builder.add(step.unless) if step.unless is not None else None
    and_not = c.builder.add(step.and_not) if step.and_not is not None else None
    return (step.speaker, c.builder.add(step.matcher), unless, and_not)


def _scope(pack: ir.Pack, rule: ir.Rule) -> tuple[tuple[str, tuple[object, ...], bool], ...]:
    """The rule's scope conditions, the pack's first (a rule only narrows: for a fact both name, the rule's values
    are a subset of the pack's, and both conditions are kept so the reason names the one that failed)."""
    out: list[tuple[str, tuple[object, ...], bool]] = []
    for applies, from_pack in ((pack.applies_to, True), (rule.applies_to, False)):
        if applies is not None:
            out.extend((cond.fact, tuple(cond.values), from_pack) for cond in applies.conditions)
    return tuple(out)


def _combined_when(pack: ir.Pack, rule: ir.Rule) -> ir.Expr | None:
    if pack.when is None:
        when = rule.when
    elif rule.when is None:
        when = pack.when
    else:
        when = ir.BoolOp("and", (pack.when, rule.when))
    return _qualify_states(when, pack.pack_id) if when is not None else None


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


def lower_rules(c: Compilation) -> None:
    for pack in c.packs:
        for rule in pack.rules:
            remedy = rule.remedy or ir.Remedy("flag")
            when = _combined_when(pack, rule)
            info = RuleInfo(
                index=len(c.rules),
                rule_id=rule.id,
                pack_id=pack.pack_id,
                pack_version=pack.version,
                title=rule.title,
                severity=rule.severity,
                citation=rule.citation,
                reason=rule.reason,
                remedy_kind=remedy.kind,
                keep_last=remedy.keep_last,
                placeholder=remedy.placeholder,
                inject_text=remedy.text,
                when=compile_expr(when) if when is not None else None,
                when_source=when,
                examples=rule.examples,
                scope=_scope(pack, rule),
            )
            c.rules.append(info)
            tier2 = []
            for check in rule.checks:
                if isinstance(check, ir.Tier2Ref):
                    tier2.append(check.check_id)
                else:
                    _lower_check(c, info.index, check, pack.pack_id, in_cue=False)
                    info.check_count += 1
            info.tier2 = tuple(tier2)


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
        c.checks.append(MustSayProgram(index, rule, c.builder.add(check.matcher), kind, amount, in_cue))
    elif isinstance(check, ir.MustNotSay):
        scope = check.scope
        if isinstance(scope, ir.UntilState):
            kind, state, turns = UNTIL_STATE, f"{pack_id}.{scope.state}", 0
        elif isinstance(scope, ir.ForTurns):
            kind, state, turns = FOR_TURNS, None, scope.count
        else:
            kind, state, turns = ALWAYS, None, 0
        unless = c.builder.add(check.unless) if check.unless is not None else None
        c.checks.append(
            MustNotSayProgram(index, rule, c.builder.add(check.matcher), unless, kind, state, turns, in_cue)
        )
    elif isinstance(check, ir.OnCue):
        and_not = c.builder.add(check.and_not) if check.and_not is not None else None
        after = _lower_step(c, check.after) if check.after is not None else None
        c.checks.append(CueProgram(index, rule, check.speaker, c.builder.add(check.cue), (), and_not, after))
        then = tuple(_lower_check(c, rule, inner, pack_id, in_cue=True) for inner in check.then)
        c.checks[index].then = then  # type: ignore[union-attr]
    elif isinstance(check, ir.Require):
        expr = _qualify_states(check.expr, pack_id)
        c.checks.append(RequireProgram(index, rule, compile_expr(expr), expr))
    else:  # pragma: no cover
        raise TypeError(f"cannot lower check {check!r}")
    return index


def _speakers(c: Compilation) -> dict[int, frozenset[str]]:
    """Which turns each matcher is tested on: checks and agent steps on agent turns (a cue's ``after`` is an agent
    step), caller cues and one-step caller states on caller turns, and the answer step of a question and the caller
    cues that answer one (``after``) on caller turns while a question is open (``answer``)."""
    out: dict[int, set[str]] = {}

    def add(mid: int | None, speaker: str) -> None:
        if mid is not None:
            out.setdefault(mid, set()).add(speaker)

    def add_step(step: StepProgram, speaker: str | None = None) -> None:
        for m in step[1:]:
            add(m, speaker or step[0])

    for check in c.checks:
        if isinstance(check, MustSayProgram):
            add(check.matcher, "agent")
        elif isinstance(check, MustNotSayProgram):
            add(check.matcher, "agent")
            add(check.unless, "agent")
        elif isinstance(check, CueProgram):
            speaker = "answer" if check.after is not None and check.speaker == "caller" else check.speaker
            add(check.matcher, speaker)
            add(check.and_not, speaker)
            if check.after is not None:
                add_step(check.after)
    for state in c.states:
        for index, step in enumerate(state.steps):
            add_step(step, "answer" if index == 1 else None)
    return {mid: frozenset(speakers) for mid, speakers in out.items()}


def build_matchers(c: Compilation) -> None:
    matchers = c.builder.build(_speakers(c))
    by_matcher: dict[int, list[int]] = {}
    cues: dict[str, list[int]] = {"agent": [], "caller": []}
    top_must_say: list[int] = []
    requires: list[int] = []
    for check in c.checks:
        if isinstance(check, MustNotSayProgram) and not check.in_cue:
            by_matcher.setdefault(check.matcher, []).append(check.index)
        elif isinstance(check, MustSayProgram) and not check.in_cue:
            top_must_say.append(check.index)
        elif isinstance(check, CueProgram):
            cues[check.speaker].append(check.index)
        elif isinstance(check, RequireProgram):
            requires.append(check.index)
    state_steps: dict[int, list[tuple[int, int]]] = {}
    for si, state in enumerate(c.states):
        for step_index, (_, mid, _, _) in enumerate(state.steps):
            state_steps.setdefault(mid, []).append((si, step_index))
    two_step = tuple(si for si, state in enumerate(c.states) if len(state.steps) == 2)
    after_cues = tuple(ch.index for ch in c.checks if isinstance(ch, CueProgram) and ch.after is not None)
    redact_kinds = frozenset(kind for _, kind, _ in matchers.detector_leaves)
    c.result = CompiledPackSet(
        etag=c.etag,
        engine_version=ENGINE_VERSION,
        packs=tuple((p.pack_id, p.version) for p in c.packs),
        rules=c.rules,
        checks=c.checks,
        states=c.states,
        matchers=matchers,
        top_must_say=tuple(top_must_say),
        must_not_by_matcher={k: tuple(v) for k, v in by_matcher.items()},
        cues_by_speaker={k: tuple(v) for k, v in cues.items()},
        requires=tuple(requires),
        state_steps_by_matcher={k: tuple(v) for k, v in state_steps.items()},
        two_step_states=two_step,
        after_cues=after_cues,
        scoped_rules=tuple(r.index for r in c.rules if r.scope),
        redact_kinds=redact_kinds,
        hold_back_tokens=matchers.max_phrase_tokens + 2,
        ir_packs=c.packs,
        etag_input=c.extra_etag_input,
    )


#: The compiler, in order. Each pass is a small function of the :class:`Compilation`.
PASSES: tuple[Callable[[Compilation], None], ...] = (
    check_limits,
    compute_etag,
    lower_states,
    lower_rules,
    build_matchers,
)


def compile_packs(packs: Iterable[ir.Pack], *, extra_etag_input: Any = None) -> CompiledPackSet:
    """Compile IR packs (in enforcement order) into one shared :class:`CompiledPackSet`."""
    c = Compilation(packs=tuple(packs), extra_etag_input=extra_etag_input)
    for compiler_pass in PASSES:
        compiler_pass(c)
    assert c.result is not None
    return c.result
