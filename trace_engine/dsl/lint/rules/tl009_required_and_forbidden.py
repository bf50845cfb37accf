"""TL009 required-and-forbidden."""

from __future__ import annotations

from collections.abc import Iterator

from trace_engine import ir
from trace_engine.dsl.lint.base import (
    LintContext,
    LintRule,
    PhraseSite,
    contains_words,
    prohibition_covers,
    quote,
)
from trace_engine.errors import Diagnostic, SourceMap


class RequiredAndForbidden(LintRule):
    code = "TL009"
    name = "required-and-forbidden"
    category = "correctness"
    level = "warning"
    short = "A required phrase is forbidden elsewhere in the pack"
    what = (
        "A phrase that one check requires (`must_say`) is forbidden for the whole call by a `must_not_say` "
        "elsewhere in the pack, after normalization: the same phrase, or a required phrase that contains the "
        "forbidden one word for word."
    )
    why = (
        "An agent that follows one rule breaks the other, so the pack reports a violation whatever the agent "
        "does. Conflicts like this usually come from two authors writing rules for the same pack, or from a "
        "prohibition that is broader than intended."
    )
    example = """\
pack demo
version "1.0.0"
jurisdiction "US"
legal_status "draft"

rule sales-purpose {
  title "State the sales purpose"
  severity medium
  citation "16 CFR § 310.4(d)"
  reason "The caller must learn the call is a sales call."
  must_say "this is a sales call" within first_turn
  example "hi, how are you today"
}

rule no-sales-talk {
  title "No sales language"
  severity low
  citation "Brand policy"
  reason "Support calls must not sound like sales calls."
  must_not_say "sales call"
  example "this is not a sales call"
}
"""
    instead = example.replace('must_not_say "sales call"', 'must_not_say "special offer"').replace(
        '"this is not a sales call"', '"we have a special offer"'
    )

    def check(self, pack: ir.Pack, source: SourceMap, ctx: LintContext) -> Iterator[Diagnostic]:
        required = [
            ps
            for ps in ctx.phrase_sites
            if ps.site.role == "must_say" and ctx.phrase_problem(ps.text) is None
        ]
        forbidden: list[PhraseSite] = []
        for ps in ctx.phrase_sites:
            check = ps.site.check
            if (
                ps.site.role == "must_not_say"
                and isinstance(check, ir.MustNotSay)
                and isinstance(check.scope, ir.Always)
                and check.unless is None
                and ctx.phrase_problem(ps.text) is None
            ):
                forbidden.append(ps)
        reported: set[tuple] = set()
        for req in required:
            req_toks = ctx.tokens(req.text)
            for bad in forbidden:
                if prohibition_covers(req.site, bad.site):
                    continue  # TL008 reports conflicts within one rule
                bad_toks = ctx.tokens(bad.text)
                if not contains_words(req_toks, bad_toks):
                    continue
                assert req.site.rule is not None and bad.site.rule is not None
                marker = (req.key, req.text, bad.site.rule.id, bad.text)
                if marker in reported:
                    continue
                reported.add(marker)
                where = f'rule "{bad.site.rule.id}"'
                if req_toks == bad_toks:
                    message = f"phrase {quote(req.text)} is required here and forbidden by {where}"
                else:
                    message = (
                        f"required phrase {quote(req.text)} contains {quote(bad.text)}, forbidden by {where}"
                    )
                yield self.diag(
                    ctx,
                    message,
                    ctx.location(*req.key),
                    hint="an agent that follows one rule breaks the other; narrow the prohibition",
                )
