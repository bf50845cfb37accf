"""TL006 missing-citation."""

from __future__ import annotations

from collections.abc import Iterator

from trace_engine import ir
from trace_engine.dsl.lint.base import LintContext, LintRule
from trace_engine.errors import Diagnostic, SourceMap


class MissingCitation(LintRule):
    code = "TL006"
    name = "missing-citation"
    category = "documentation"
    level = "error"
    what = "A rule's `citation` or `reason` is missing or empty."
    why = (
        "Every finding is shown with the rule's reason, and evidence records carry its citation: they are what "
        "lets a reviewer check that the rule enforces a real obligation, and what tells the agent's operator why "
        "a turn was changed. A rule without them cannot be audited."
    )
    example = """\
pack demo
version "1.0.0"
jurisdiction "US"
legal_status "draft"

rule no-guarantee {
  title "No guarantees"
  severity high
  citation ""
  reason "Outcomes cannot be guaranteed."
  must_not_say "we guarantee"
  example "we guarantee results"
}
"""
    instead = example.replace('citation ""', 'citation "FTC Act § 5"')

    def check(self, pack: ir.Pack, source: SourceMap, ctx: LintContext) -> Iterator[Diagnostic]:
        for index, rule in enumerate(pack.rules):
            for field in ("citation", "reason"):
                value = getattr(rule, field)
                if value is None or not str(value).strip():
                    yield self.diag(
                        ctx,
                        f'rule "{rule.id}" has an empty {field}',
                        ctx.location(*ctx.rule_prefix(index, rule), "field", field),
                        hint=(
                            "cite the regulation or policy the rule enforces"
                            if field == "citation"
                            else "explain in one sentence why the agent must not do this"
                        ),
                    )
