"""TL013 fact-value-never-seen."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from trace_engine import ir
from trace_engine.dsl.lint.base import LintContext, LintRule
from trace_engine.errors import Diagnostic, SourceKey, SourceMap
from trace_engine.facts import FACTS, CallFact

_COMPARISONS = ("==", "!=", "in", "not_in")


class FactValueNeverSeen(LintRule):
    code = "TL013"
    name = "fact-value-never-seen"
    category = "correctness"
    level = "error"
    what = (
        "An expression compares a call fact with a value the fact never has once the gate has normalized it: an "
        "AMD decision in a raw vocabulary (`voicemail`, `machine_end_beep`) instead of its category (`machine`), "
        "an unknown `direction` or `call_purpose`, a lower-case state code, a string for a boolean fact."
    )
    why = (
        "The gate reads call facts in every form the telephony side sends (both AMD vocabularies, any case) and "
        "normalizes them before any rule sees them (see the call-fact table in docs/dsl.md). A comparison with a "
        "raw or misspelled value is therefore always false: the rule silently never applies, which is how a "
        "voicemail once skipped the health-information check."
    )
    example = """\
pack demo
version "1.0.0"
jurisdiction "US"
legal_status "draft"

rule no-phi-on-voicemail {
  title "No health information on voicemail"
  severity high
  citation "45 CFR § 164.502(b)"
  reason "A machine may be heard by anyone."
  when answered_by == "voicemail"
  must_not_say ["biopsy", "oncology"]
  example "calling about your biopsy"
}
"""
    instead = example.replace('answered_by == "voicemail"', 'answered_by == "machine"')

    def check(self, pack: ir.Pack, source: SourceMap, ctx: LintContext) -> Iterator[Diagnostic]:
        sites: list[tuple[ir.Expr, SourceKey]] = []
        if pack.when is not None:
            sites.append((pack.when, ("header", "when")))
        for index, rule in enumerate(pack.rules):
            prefix = ctx.rule_prefix(index, rule)
            if rule.when is not None:
                sites.append((rule.when, (*prefix, "field", "when")))
            for i, check in enumerate(rule.checks):
                if isinstance(check, ir.Require):
                    sites.append((check.expr, (*prefix, "check", i)))
        for expr, key in sites:
            for fact, value in _compared(expr):
                problem = _never(fact, value)
                if problem is not None:
                    yield self.diag(ctx, problem[0], ctx.location(*key), hint=problem[1])


def _compared(expr: ir.Expr) -> Iterator[tuple[CallFact, Any]]:
    """Every (fact, constant) a comparison in ``expr`` pits against each other, in source order."""
    stack: list[Any] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, ir.Compare) and node.op in _COMPARISONS:
            for field, const in ((node.left, node.right), (node.right, node.left)):
                if isinstance(field, ir.Field) and isinstance(const, ir.Const) and field.name in FACTS:
                    values = const.value if isinstance(const.value, tuple) else (const.value,)
                    for value in values:
                        yield FACTS[field.name], value
        stack.extend(reversed(_children(node)))


def _children(node: Any) -> tuple[Any, ...]:
    if isinstance(node, ir.Call):
        return node.args
    if isinstance(node, ir.Compare):
        return (node.left, node.right)
    if isinstance(node, ir.Between):
        return (node.value, node.low, node.high)
    if isinstance(node, ir.BoolOp):
        return node.operands
    if isinstance(node, ir.Not):
        return (node.operand,)
    if isinstance(node, ir.IfElse):
        return (node.cond, node.then, node.otherwise)
    return ()


def _never(fact: CallFact, value: Any) -> tuple[str, str | None] | None:
    """Why ``fact`` never equals ``value`` after normalization, with a hint; ``None`` when it may."""
    shown = f'"{value}"' if isinstance(value, str) else repr(value).lower()
    if fact.type == "enum":
        if isinstance(value, str) and value in fact.values:
            return None
        normalized, _ = fact.normalize(value) if isinstance(value, str) else (None, None)
        hint = (
            f'the gate normalizes it: write "{normalized}"'
            if normalized is not None
            else f"{fact.name} is one of " + ", ".join(fact.values)
        )
        return f"{fact.name} is never {shown}", hint
    if fact.type == "bool" and not isinstance(value, bool):
        return f"{fact.name} is never {shown}: it is a boolean", "compare with true or false"
    if fact.type == "state_code" and isinstance(value, str) and not (value.isupper() and fact.normalize(value)[1] is None):
        normalized, _ = fact.normalize(value)
        hint = f'state codes are upper case: write "{normalized}"' if normalized else "use a US state code"
        return f"{fact.name} is never {shown}", hint
    return None
