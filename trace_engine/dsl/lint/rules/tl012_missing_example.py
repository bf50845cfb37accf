"""TL012 missing-example."""

from __future__ import annotations

from collections.abc import Iterator

from trace_engine import ir
from trace_engine.dsl.lint.base import LintContext, LintRule
from trace_engine.errors import Diagnostic, SourceMap


class MissingExample(LintRule):
    code = "TL012"
    name = "missing-example"
    category = "documentation"
    level = "warning"
    what = (
        "A rule has no `example` line. Rules whose checks are all `require` predicates are exempt: there is "
        "nothing an agent could say to illustrate them."
    )
    why = (
        "Examples are the violating agent lines shown in the generated pack docs, and they tell a reviewer at a "
        "glance what the rule is meant to catch. A rule without one is harder to review and to test."
    )
    example = """\
pack demo
version "1.0.0"
jurisdiction "US"
legal_status "draft"

rule no-guarantee {
  title "No guarantees"
  severity high
  citation "FTC Act § 5"
  reason "Outcomes cannot be guaranteed."
  must_not_say "we guarantee"
}
"""
    instead = example.replace(
        '  must_not_say "we guarantee"\n', '  must_not_say "we guarantee"\n  example "we guarantee results"\n'
    )

    def check(self, pack: ir.Pack, source: SourceMap, ctx: LintContext) -> Iterator[Diagnostic]:
        for index, rule in enumerate(pack.rules):
            if rule.examples:
                continue
            if rule.checks and all(isinstance(c, ir.Require) for c in rule.checks):
                continue
            yield self.diag(
                ctx,
                f'rule "{rule.id}" has no example',
                ctx.location(*ctx.rule_prefix(index, rule)),
                hint='add a violating agent line: example "..."',
            )
