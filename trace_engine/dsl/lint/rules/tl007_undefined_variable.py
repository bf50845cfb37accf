"""TL007 undefined-variable."""

from __future__ import annotations

from collections.abc import Iterator

from trace_engine import ir
from trace_engine.dsl.lint.base import CALL_METADATA_KEYS, LintContext, LintRule, leaves, placeholders
from trace_engine.errors import Diagnostic, SourceMap

_HINT = "pass it in the config's `variables`"


class UndefinedVariable(LintRule):
    code = "TL007"
    name = "undefined-variable"
    category = "correctness"
    level = "warning"
    short = "A variable is not a call metadata key"
    what = (
        "A `{variable}` in a phrase or an `inject` text, or the list named by `excluding`, is not a call "
        "metadata key. It must then come from the config's `variables`, which lint cannot see."
    )
    why = (
        "Variables are resolved per call, from call metadata first and then from the config. A name that is in "
        "neither is a runtime error in strict mode and an unmatched phrase otherwise; a typo such as "
        "`{bussiness_name}` is the usual cause."
    )
    example = """\
pack demo
version "1.0.0"
jurisdiction "US"
legal_status "draft"

rule identify-business {
  title "Identify the business"
  severity medium
  citation "47 CFR § 64.1200(b)(1)"
  reason "The caller must know who is calling."
  must_say "calling from {bussiness_name}" within first_turn
  remedy inject "This is {bussiness_name}."
  example "hi there, how are you today"
}
"""
    instead = example.replace("bussiness_name", "business_name")

    def check(self, pack: ir.Pack, source: SourceMap, ctx: LintContext) -> Iterator[Diagnostic]:
        reported: set[tuple] = set()

        def report(name: str, key: tuple, what: str) -> Iterator[Diagnostic]:
            if name in CALL_METADATA_KEYS or (key, name) in reported:
                return
            reported.add((key, name))
            yield self.diag(
                ctx, f'variable "{name}" in {what} is not a call metadata key', ctx.location(*key), hint=_HINT
            )

        for set_name, items in pack.phrase_sets:
            for i, text in enumerate(items):
                for var in placeholders(text):
                    yield from report(var, ("phrase", set_name, i), "a phrase")
        for site in ctx.sites:
            for leaf in leaves(site.matcher):
                if isinstance(leaf, ir.Phrases) and leaf.ref is None:
                    for text in leaf.items:
                        for var in placeholders(text):
                            yield from report(var, site.key, "a phrase")
                elif isinstance(leaf, ir.Detector) and leaf.exempt:
                    yield from report(leaf.exempt, site.key, "`excluding`")
        for index, rule in enumerate(pack.rules):
            remedy = rule.remedy
            if remedy is not None and remedy.text:
                for var in placeholders(remedy.text):
                    yield from report(var, (*ctx.rule_prefix(index, rule), "remedy"), "the inject text")
