"""TL002 unmatchable-phrase."""

from __future__ import annotations

from collections.abc import Iterator

from trace_engine import ir
from trace_engine.dsl.lint.base import LintContext, LintRule
from trace_engine.errors import Diagnostic, SourceMap


class UnmatchablePhrase(LintRule):
    code = "TL002"
    name = "unmatchable-phrase"
    category = "matching"
    level = "error"
    what = (
        "A phrase can never match after normalization. It normalizes to nothing (only fillers or punctuation), "
        "or it keeps a character that the normalized view of a turn never contains, such as `%`, `$` or `@`."
    )
    why = (
        "Phrases are matched against the normalized view of each turn: lower case, punctuation dropped, fillers "
        "dropped (`um`, `uh`, `er`, `hmm`...), symbols spelled as words. A phrase that is empty after "
        "normalization, or that still contains a symbol, is compiled but never fires, so the rule silently checks "
        "less than its author meant."
    )
    example = """\
pack demo
version "1.0.0"
jurisdiction "US"
legal_status "draft"

rule no-fillers {
  title "No hesitation words"
  severity low
  citation "Brand voice guide § 2"
  reason "Agents should sound confident."
  must_not_say ["um", "uh", "you know"]
  example "you know, it is a good plan"
}
"""
    instead = example.replace('["um", "uh", "you know"]', '["you know", "i guess"]')

    def check(self, pack: ir.Pack, source: SourceMap, ctx: LintContext) -> Iterator[Diagnostic]:
        # Named sets: once per phrase, at the phrase. Inline lists: once per site.
        for name, items in pack.phrase_sets:
            for i, text in enumerate(items):
                problem = ctx.phrase_problem(text)
                if problem:
                    yield self.diag(ctx, problem[0], ctx.location("phrase", name, i), hint=problem[1])
        seen: set[tuple] = set()
        for ps in ctx.phrase_sites:
            if ps.set_name is not None:
                continue
            marker = (ps.key, ps.text)
            if marker in seen:
                continue
            seen.add(marker)
            problem = ctx.phrase_problem(ps.text)
            if problem:
                yield self.diag(ctx, problem[0], ctx.location(*ps.key), hint=problem[1])
