"""TL005 non-linear-regex."""

from __future__ import annotations

import re
from collections.abc import Iterator

from trace_engine import ir
from trace_engine.dsl.lint.base import LintContext, LintRule
from trace_engine.errors import Diagnostic, Location, SourceMap


class NonLinearRegex(LintRule):
    code = "TL005"
    name = "non-linear-regex"
    category = "performance"
    level = "error"
    parser_code = "TS115"
    short = "A regex needs backtracking (backreference, lookaround) or is rejected by RE2"
    what = (
        "A regular expression uses a feature that RE2 cannot run in linear time, such as a backreference or "
        "lookaround, or is otherwise rejected by RE2."
    )
    why = (
        "Patterns run inline, on every agent turn, within a latency budget. Trace compiles them with RE2, which "
        "guarantees linear time and so cannot be stalled by a pathological turn; backreferences and lookaround "
        "need backtracking, so RE2 refuses them and the pack does not compile."
    )
    example = """\
pack demo
version "1.0.0"
jurisdiction "US"
legal_status "draft"

pattern guarantee /guarantee(?! not)/

rule no-guarantee {
  title "No guarantees"
  severity high
  citation "FTC Act § 5"
  reason "Outcomes cannot be guaranteed."
  must_not_say guarantee
  example "we guarantee results"
}
"""
    instead = example.replace("/guarantee(?! not)/", "/guarantee/").replace(
        "  must_not_say guarantee\n", '  must_not_say guarantee unless "can not guarantee"\n'
    )

    def check(self, pack: ir.Pack, source: SourceMap, ctx: LintContext) -> Iterator[Diagnostic]:
        for regex, location in ctx.regex_sites():
            diag = self._check(ctx, regex, location)
            if diag:
                yield diag

    def _check(self, ctx: LintContext, regex: str, location: Location) -> Diagnostic | None:
        error = re2_error(regex)
        if error is None:
            return None
        if _BACKREF.search(regex):
            message = f"regex /{regex}/ uses a backreference, which RE2 cannot run in linear time"
            hint = "repeat the group instead of referring back to it"
        elif _LOOKAROUND.search(regex):
            message = f"regex /{regex}/ uses lookaround, which RE2 cannot run in linear time"
            hint = "match the text itself, or express the exception with `unless`"
        else:
            message = f"regex /{regex}/ is rejected by RE2: {error}"
            hint = None
        return self.diag(ctx, message, location, hint=hint)


_BACKREF = re.compile(r"(?<!\\)(?:\\\\)*\\(?:[1-9]|k<|g<|g\{)|\(\?P=")
_LOOKAROUND = re.compile(r"\(\?<?[=!]")


def re2_error(regex: str) -> str | None:
    """RE2's complaint about ``regex``, or ``None`` when RE2 accepts it."""
    import re2

    options = re2.Options()
    options.log_errors = False
    try:
        re2.compile(regex, options=options)
    except Exception as exc:  # re2.error
        detail = exc.args[0] if exc.args else str(exc)
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        return str(detail)
    return None
