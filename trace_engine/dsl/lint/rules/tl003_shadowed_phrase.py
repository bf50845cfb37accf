"""TL003 shadowed-phrase."""

from __future__ import annotations

from collections.abc import Iterator

from trace_engine import ir
from trace_engine.dsl.lint.base import LintContext, LintRule, PhraseSite, contains_words, leaves, quote
from trace_engine.errors import Diagnostic, SourceKey, SourceMap


class ShadowedPhrase(LintRule):
    code = "TL003"
    name = "shadowed-phrase"
    category = "matching"
    level = "warning"
    what = (
        "A phrase is shadowed by a shorter one. Either a forbidden phrase contains, word for word, a phrase that "
        "another rule forbids everywhere (so that rule fires too, every time), or a phrase contains a shorter "
        "phrase of its own set (so it adds nothing)."
    )
    why = (
        'Phrases match on whole words over the normalized view, so `"do not call me again"` also contains '
        '`"call me"`. Overlapping prohibitions report one utterance twice under two rules, which inflates '
        "scorecards and hides which rule was meant to own it; a redundant phrase in a set is dead weight that "
        "suggests the author expected it to behave differently."
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
  must_not_say ["guarantee", "we guarantee it"]
  example "i guarantee it"
}
"""
    instead = example.replace('["guarantee", "we guarantee it"]', '["guarantee"]')

    def check(self, pack: ir.Pack, source: SourceMap, ctx: LintContext) -> Iterator[Diagnostic]:
        yield from self._within_sets(pack, ctx)
        yield from self._across_rules(pack, ctx)

    def _within_sets(self, pack: ir.Pack, ctx: LintContext) -> Iterator[Diagnostic]:
        lists: list[tuple[tuple[str, ...], object]] = [
            (items, lambda i, n=name: ("phrase", n, i)) for name, items in pack.phrase_sets
        ]
        seen_inline: set[tuple] = set()
        for site in ctx.sites:
            for leaf in leaves(site.matcher):
                if (
                    isinstance(leaf, ir.Phrases)
                    and leaf.ref is None
                    and (site.key, leaf.items) not in seen_inline
                ):
                    seen_inline.add((site.key, leaf.items))
                    lists.append((leaf.items, lambda i, k=site.key: k))
        for items, key_of in lists:
            toks = [ctx.tokens(p) if ctx.phrase_problem(p) is None else () for p in items]
            for i, mine in enumerate(toks):
                for j, other in enumerate(toks):
                    if i == j or not other or not mine:
                        continue
                    if mine == other and j > i:
                        continue
                    if contains_words(mine, other):
                        msg = (
                            f"phrase {quote(items[i])} repeats {quote(items[j])} of the same set"
                            if mine == other
                            else f"phrase {quote(items[i])} is redundant: {quote(items[j])} of the same set already matches it"
                        )
                        yield self.diag(ctx, msg, ctx.location(*key_of(i)), hint="remove the longer phrase")
                        break

    def _across_rules(self, pack: ir.Pack, ctx: LintContext) -> Iterator[Diagnostic]:
        order = {rule.id: n for n, rule in enumerate(pack.rules)}
        forbidden: list[tuple[PhraseSite, tuple[str, ...]]] = []
        always: list[tuple[PhraseSite, tuple[str, ...]]] = []
        for ps in ctx.phrase_sites:
            site = ps.site
            if site.role != "must_not_say" or ctx.phrase_problem(ps.text) is not None:
                continue
            toks = ctx.tokens(ps.text)
            forbidden.append((ps, toks))
            check = site.check
            if (
                site.cue is None
                and isinstance(check, ir.MustNotSay)
                and isinstance(check.scope, ir.Always)
                and check.unless is None
                and site.rule is not None
                and site.rule.when is None
            ):
                always.append((ps, toks))
        reported: set[tuple[SourceKey, str, str]] = set()
        for ps, mine in forbidden:
            mine_rule = ps.site.rule
            assert mine_rule is not None
            for other, theirs in always:
                other_rule = other.site.rule
                assert other_rule is not None
                if other_rule.id == mine_rule.id:
                    continue
                if mine == theirs and order[mine_rule.id] < order[other_rule.id]:
                    continue
                if not contains_words(mine, theirs):
                    continue
                marker = (ps.key, ps.text, other_rule.id)
                if marker in reported:
                    continue
                reported.add(marker)
                yield self.diag(
                    ctx,
                    f'phrase {quote(ps.text)} also triggers rule "{other_rule.id}" through {quote(other.text)}',
                    ctx.location(*ps.key),
                    hint=f'every match is reported twice; drop the phrase or leave it to rule "{other_rule.id}"',
                )
