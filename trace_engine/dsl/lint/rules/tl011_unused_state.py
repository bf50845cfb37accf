"""TL011 unused-state."""

from __future__ import annotations

from collections.abc import Iterator

from trace_engine import ir
from trace_engine.dsl.lint.base import LintContext, LintRule, expr_fields
from trace_engine.errors import Diagnostic, SourceMap


class UnusedState(LintRule):
    code = "TL011"
    name = "unused-state"
    category = "style"
    level = "warning"
    what = "A state is declared but never used: no `until NAME` scope and no `state.NAME` in an expression."
    why = (
        "States cost a little on every turn (their step matchers run and their transitions are tracked), and an "
        "unused state usually means an ordering rule that was meant to reference it does not."
    )
    example = """\
pack demo
version "1.0.0"
jurisdiction "US"
legal_status "draft"

state verified: agent says "can you confirm your date of birth" then caller says ["yes", "that is right"]

rule no-balance-early {
  title "Verify before account details"
  severity high
  citation "GLBA Safeguards Rule"
  reason "Account details only go to a verified caller."
  must_not_say "your balance is"
  example "your balance is 200 dollars"
}
"""
    instead = example.replace(
        'must_not_say "your balance is"', 'must_not_say "your balance is" until verified'
    )

    def check(self, pack: ir.Pack, source: SourceMap, ctx: LintContext) -> Iterator[Diagnostic]:
        used: set[str] = set()
        exprs: list[ir.Expr | None] = [pack.when]
        for rule in pack.rules:
            exprs.append(rule.when)
            for check in rule.checks:
                inner = check.then if isinstance(check, ir.OnCue) else (check,)
                for c in inner:
                    if isinstance(c, ir.MustNotSay) and isinstance(c.scope, ir.UntilState):
                        used.add(c.scope.state)
                    elif isinstance(c, ir.Require):
                        exprs.append(c.expr)
        for expr in exprs:
            for name in expr_fields(expr):
                if name.startswith("state."):
                    used.add(name[len("state.") :])
        for state in pack.states:
            if state.name not in used:
                yield self.diag(
                    ctx,
                    f'state "{state.name}" is never used',
                    ctx.location("state", state.name),
                    hint=f"reference it with `until {state.name}` or `state.{state.name}`, or remove it",
                )
