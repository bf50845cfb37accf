"""TL003 shadowed-phrase."""

from __future__ import annotations

from collections.abc import Iterator

from trace_engine import ir
from trace_engine.dsl.lint.base import LintContext, LintRule, PhraseIndex, PhraseSite, leaves, quote
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

    #: at most this many other rules are named per forbidden phrase (then one line says there are more)
    MAX_SHADOWING_RULES = 10

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
            index = PhraseIndex(toks)
            positions: dict[tuple[str, ...], list[int]] = {}
            for i, t in enumerate(toks):
                if t:
                    positions.setdefault(t, []).append(i)
            for i, mine in enumerate(toks):
                if not mine:
                    continue
                # the first other phrase of the set that ``mine`` contains (an equal one only if it came earlier)
                best: int | None = None
                for n in index.contained_in(mine):
                    other = index.needles[n]
                    at = positions[other]
                    j = at[0] if other == mine else (at[0] if at[0] != i else (at[1] if len(at) > 1 else None))
                    if other == mine and j is not None and j >= i:
                        j = None
                    if j is not None and (best is None or j < best):
                        best = j
                if best is None:
                    continue
                same = toks[best] == mine
                msg = (
                    f"phrase {quote(items[i])} repeats {quote(items[best])} of the same set"
                    if same
                    else f"phrase {quote(items[i])} is redundant: {quote(items[best])} of the same set already matches it"
                )
                yield self.diag(ctx, msg, ctx.location(*key_of(i)), hint="remove the longer phrase")
            ctx.lint_work += index.work

    def _across_rules(self, pack: ir.Pack, ctx: LintContext) -> Iterator[Diagnostic]:
        order = {rule.id: n for n, rule in enumerate(pack.rules)}
        forbidden: list[tuple[PhraseSite, tuple[str, ...]]] = []
        # tokens -> the always-forbidding sites with those tokens, one per rule, in rule order
        always: dict[tuple[str, ...], dict[str, PhraseSite]] = {}
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
                always.setdefault(toks, {}).setdefault(site.rule.id, ps)
        ranked = {t: sorted(by_rule.items(), key=lambda kv: order[kv[0]]) for t, by_rule in always.items()}
        index = PhraseIndex(ranked)
        reported: set[tuple[SourceKey, str, str]] = set()
        for ps, mine in forbidden:
            mine_rule = ps.site.rule
            assert mine_rule is not None
            named = 0
            more = False
            for n in index.contained_in(mine):
                theirs = index.needles[n]
                for other_rule_id, other in ranked[theirs]:
                    ctx.lint_work += 1
                    if other_rule_id == mine_rule.id:
                        continue
                    if mine == theirs and order[mine_rule.id] < order[other_rule_id]:
                        break  # ranked by rule order: every later one is skipped too
                    marker = (ps.key, ps.text, other_rule_id)
                    if marker in reported:
                        continue
                    if named == self.MAX_SHADOWING_RULES:
                        more = True
                        break
                    reported.add(marker)
                    named += 1
                    yield self.diag(
                        ctx,
                        f'phrase {quote(ps.text)} also triggers rule "{other_rule_id}" through {quote(other.text)}',
                        ctx.location(*ps.key),
                        hint=f'every match is reported twice; drop the phrase or leave it to rule "{other_rule_id}"',
                    )
                if more:
                    break
            if more:
                yield self.diag(
                    ctx,
                    f"phrase {quote(ps.text)} also triggers more rules than the {self.MAX_SHADOWING_RULES} named above",
                    ctx.location(*ps.key),
                    hint="many rules forbid the same words; give them to one rule",
                )
        ctx.lint_work += index.work
