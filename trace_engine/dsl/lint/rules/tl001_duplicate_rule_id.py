"""TL001 duplicate-rule-id."""

from __future__ import annotations

import re
from collections.abc import Iterator

from trace_engine import ir
from trace_engine.dsl.lint.base import LintContext, LintRule
from trace_engine.errors import Diagnostic, Location, SourceMap


class DuplicateRuleId(LintRule):
    code = "TL001"
    name = "duplicate-rule-id"
    category = "correctness"
    level = "error"
    what = "Two rules of a pack share the same id."
    why = (
        "Configs enable, disable and override rules by id, scorecards and evidence records name the rule by id, "
        "and `trace test` looks expectations up by id. With two rules under one id, an override silently applies "
        "to both and a finding cannot be traced back to the rule that raised it."
    )
    example = """\
pack demo
version "1.0.0"
jurisdiction "US"
legal_status "draft"

rule no-guarantee {
  title "No guaranteed returns"
  severity high
  citation "FTC Act § 5"
  reason "Promising returns is deceptive."
  must_not_say "guaranteed returns"
  example "you get guaranteed returns"
}

rule no-guarantee {
  title "No risk-free claims"
  severity high
  citation "FTC Act § 5"
  reason "No investment is free of risk."
  must_not_say "risk free"
  example "it is completely risk free"
}
"""
    instead = example.replace(
        'rule no-guarantee {\n  title "No risk-free', 'rule no-risk-free {\n  title "No risk-free'
    )

    def check(self, pack: ir.Pack, source: SourceMap, ctx: LintContext) -> Iterator[Diagnostic]:
        seen: dict[str, int] = {}
        for index, rule in enumerate(pack.rules):
            count = seen.get(rule.id, 0)
            seen[rule.id] = count + 1
            if count:
                yield self.diag(
                    ctx,
                    f'rule id "{rule.id}" is already used',
                    _nth_rule_location(source, rule.id, count, index),
                    hint="give every rule a unique id",
                )


def _nth_rule_location(source: SourceMap, rule_id: str, n: int, index: int) -> Location:
    """Where the ``index``-th rule (the ``n``-th, 0-based, with this id) starts: the recorded ``("rule_at", index)``
    location, else the ``n``-th ``rule ID`` header in the source text, else the recorded rule location."""
    recorded = source.locations.get(("rule_at", index))
    if recorded is not None:
        return recorded
    if source.text:
        pattern = re.compile(r"^[ \t]*rule[ \t]+(" + re.escape(rule_id) + r")(?![\w-])", re.MULTILINE)
        hits = list(pattern.finditer(source.text))
        if len(hits) > n:
            m = hits[n]
            line = source.text.count("\n", 0, m.start(1)) + 1
            col = m.start(1) - (source.text.rfind("\n", 0, m.start(1)) + 1) + 1
            return Location(source.file, line, col, line, col + len(rule_id))
    return source.get("rule", rule_id)
