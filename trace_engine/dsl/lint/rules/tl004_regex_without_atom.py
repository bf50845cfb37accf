"""TL004 regex-without-atom."""

from __future__ import annotations

from collections.abc import Iterator

from trace_engine import ir
from trace_engine.compile.atoms import DEFAULT_MIN_LEN, atoms_or_none
from trace_engine.dsl.lint.base import LintContext, LintRule
from trace_engine.errors import Diagnostic, SourceMap


class RegexWithoutAtom(LintRule):
    code = "TL004"
    name = "regex-without-atom"
    category = "performance"
    level = "warning"
    strict_level = "error"
    short = "A regex has no literal atom of 3 or more characters"
    what = (
        f"A regular expression has no literal atom of at least {DEFAULT_MIN_LEN} characters that every match "
        "must contain. It is an error under `--strict`."
    )
    why = (
        "The compiler puts each pattern's atoms into the pack's single Aho-Corasick automaton and runs the regex "
        "only on turns where an atom occurs. A pattern without an atom must run on every turn, which costs "
        "latency on the inline gate for every call."
    )
    example = """\
pack demo
version "1.0.0"
jurisdiction "US"
legal_status "draft"

pattern account_number /\\d{6,17}/

rule no-account-number {
  title "Do not read back account numbers"
  severity high
  citation "GLBA Safeguards Rule"
  reason "Account numbers must not be spoken in full."
  must_not_say account_number
  example "your number is 12345678"
}
"""
    instead = example.replace("/\\d{6,17}/", "/account (number )?(is )?\\d{6,17}/").replace(
        '"your number is 12345678"', '"your account number is 12345678"'
    )

    def check(self, pack: ir.Pack, source: SourceMap, ctx: LintContext) -> Iterator[Diagnostic]:
        for regex, location in ctx.regex_sites():
            diag = self._check(ctx, regex, location)
            if diag:
                yield diag

    def _check(self, ctx: LintContext, regex: str, location) -> Diagnostic | None:
        atoms = atoms_or_none(regex)
        if atoms is None or atoms:  # unparseable: TL005 or the loader reports it
            return None
        return self.diag(
            ctx,
            f"regex /{regex}/ has no literal atom of {DEFAULT_MIN_LEN} or more characters",
            location,
            hint="add a fixed word that every match contains, e.g. /account (number )?\\d{6,17}/",
        )
