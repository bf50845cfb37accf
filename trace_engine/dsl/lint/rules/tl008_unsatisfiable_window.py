"""TL008 unsatisfiable-window."""

from __future__ import annotations

from collections.abc import Iterator

from trace_engine import ir
from trace_engine.dsl.lint.base import (
    LintContext,
    LintRule,
    MatcherSite,
    contains_words,
    leaves,
    prohibition_covers,
    quote,
)
from trace_engine.errors import Diagnostic, SourceMap


class UnsatisfiableWindow(LintRule):
    code = "TL008"
    name = "unsatisfiable-window"
    category = "correctness"
    level = "error"
    short = "A window or scope can never be satisfied"
    what = (
        "A check's window or scope can never be satisfied: a `must_say` that cannot be met without saying "
        "something the same rule forbids for the whole window, a window shorter than one second or of zero turns, or an `until STATE` whose "
        "state is not defined or can never be set."
    )
    why = (
        "Such a check is a contradiction rather than a policy: a `must_say` that its own rule forbids is "
        "violated on every call whatever the agent says, and an `until` state that is never set turns an "
        "ordering rule into a permanent ban. Either way every call is reported and the findings stop meaning "
        "anything."
    )
    example = """\
pack demo
version "1.0.0"
jurisdiction "US"
legal_status "draft"

rule honor-dnc {
  title "Honor a do-not-call request"
  severity critical
  citation "47 CFR § 64.1200(d)(3)"
  reason "The caller asked not to be called again."
  on caller "stop calling me" {
    must_say "we will not call you again" within 1 turn
    must_not_say ["call you", "special offer"]
  }
  example "sure, but first a special offer"
}
"""
    instead = example.replace('["call you", "special offer"]', '["special offer", "limited time"]')

    def check(self, pack: ir.Pack, source: SourceMap, ctx: LintContext) -> Iterator[Diagnostic]:
        states = {s.name: s for s in pack.states}
        for site in ctx.sites:
            rule, check = site.rule, site.check
            if rule is None or site.role == "unless":
                continue
            loc = ctx.location(*site.key)
            if isinstance(check, ir.MustSay):
                window = check.window
                if isinstance(window, ir.Seconds) and window.seconds < 1:
                    yield self.diag(
                        ctx,
                        f"window of {window.seconds:g} seconds is shorter than 1 second",
                        loc,
                        hint="no agent turn starts that early; use `within first_turn` or a longer window",
                    )
                elif isinstance(window, ir.Turns) and window.count < 1:
                    yield self.diag(ctx, f"window of {window.count} turns can never be met", loc)
                conflict = self._forbidden_by_same_rule(ctx, site)
                if conflict:
                    yield self.diag(
                        ctx, f'rule "{rule.id}" forbids what its must_say requires', loc, hint=conflict
                    )
            elif isinstance(check, ir.MustNotSay) and site.role == "must_not_say":
                scope = check.scope
                if isinstance(scope, ir.ForTurns) and scope.count < 1:
                    yield self.diag(ctx, f"scope of {scope.count} turns holds for no turn", loc)
                elif isinstance(scope, ir.UntilState):
                    state = states.get(scope.state)
                    if state is None:
                        yield self.diag(
                            ctx,
                            f'state "{scope.state}" is never defined',
                            loc,
                            hint=f"declare it: state {scope.state}: agent says ...",
                        )
                    elif any(ctx.never_matches(step.matcher) for step in state.steps):
                        yield self.diag(
                            ctx,
                            f'state "{scope.state}" can never be set',
                            loc,
                            hint="a step of the state uses phrases that never match after normalization",
                        )

    @staticmethod
    def _forbidden_by_same_rule(ctx: LintContext, site: MatcherSite) -> str | None:
        """Why saying what ``site`` requires always violates a prohibition of the same rule, or ``None``."""
        mine = ctx.canon(site.matcher)
        if not mine:
            return None
        covering = [o for o in ctx.sites if prohibition_covers(site, o)]
        for other in covering:
            if ctx.canon(other.matcher) == mine:
                return "saying it satisfies the must_say and violates the must_not_say"
        forbidden = [
            (p, ctx.tokens(p))
            for o in covering
            for leaf in leaves(o.matcher)
            if isinstance(leaf, ir.Phrases)
            for p in leaf.items
            if ctx.phrase_problem(p) is None
        ]
        if not forbidden:
            return None
        examples: list[str] = []
        for leaf in leaves(site.matcher):
            if not isinstance(leaf, ir.Phrases):
                return None
            for phrase in leaf.items:
                if ctx.phrase_problem(phrase) is not None:
                    continue
                hit = next((f for f, toks in forbidden if contains_words(ctx.tokens(phrase), toks)), None)
                if hit is None:
                    return None
                examples.append(f"{quote(phrase)} contains the forbidden {quote(hit)}")
        return examples[0] if examples else None
