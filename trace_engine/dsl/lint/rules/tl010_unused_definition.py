"""TL010 unused-definition."""

from __future__ import annotations

from collections.abc import Iterator

from trace_engine import ir
from trace_engine.dsl.lint.base import LintContext, LintRule
from trace_engine.errors import Diagnostic, SourceMap


class UnusedDefinition(LintRule):
    code = "TL010"
    name = "unused-definition"
    category = "style"
    level = "warning"
    what = "A phrase set or pattern is declared but no rule, cue, exception or state uses it."
    why = (
        "An unused definition is usually a leftover or a typo in the name at the place that meant to use it. "
        "Either way the phrases in it are compiled and reviewed but never checked."
    )
    example = """\
pack demo
version "1.0.0"
jurisdiction "US"
legal_status "draft"

phrases guarantees ["we guarantee", "guaranteed results"]
phrases promises ["we promise", "you will definitely"]

rule no-guarantee {
  title "No guarantees"
  severity high
  citation "FTC Act § 5"
  reason "Outcomes cannot be guaranteed."
  must_not_say guarantees
  example "we guarantee results"
}
"""
    instead = example.replace("must_not_say guarantees", "must_not_say guarantees | promises")

    def check(self, pack: ir.Pack, source: SourceMap, ctx: LintContext) -> Iterator[Diagnostic]:
        used = ctx.used_refs
        for name, _items in pack.phrase_sets:
            if name not in used:
                yield self.diag(
                    ctx,
                    f'phrase set "{name}" is never used',
                    ctx.location("phrase_set", name),
                    hint="use it or remove it",
                )
        for name, _regex in pack.patterns:
            if name not in used:
                yield self.diag(
                    ctx,
                    f'pattern "{name}" is never used',
                    ctx.location("pattern", name),
                    hint="use it or remove it",
                )
