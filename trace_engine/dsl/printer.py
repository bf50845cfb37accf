"""Print an IR pack as canonical ``.trace`` source (the layout ``trace fmt`` writes).

One layout only: the header lines, a blank line, each phrase set (one phrase per line, trailing commas) followed
by a blank line, the patterns, the states, then the rules separated by blank lines. Inside a rule the fields come
in the order title, severity, citation, reason, applies_to, when, checks, remedy, damages, examples, indented by two
spaces. Strings are JSON-escaped; ``within 1 turn`` is singular; expressions get the fewest parentheses that keep their meaning.

Comments (:mod:`trace_engine.dsl.comments`): a comment alone on its line is attached to the first printed item that
starts after it (per the :class:`~trace_engine.errors.SourceMap`) and printed just above it at its indentation; a
comment after code on its line stays at the end of the line of the last item that starts before it
(``must_not_say x  # trace: ignore[TL003]``); comments after the last item go at the end. Printing is idempotent:
``format_source(format_source(x)) == format_source(x)``.
"""

from __future__ import annotations

import bisect
import functools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from trace_engine import ir
from trace_engine.dsl.comments import Comment
from trace_engine.errors import Location, SourceMap

INDENT = "  "


def q(s: str) -> str:
    """A JSON-escaped, double-quoted string."""
    return json.dumps(s, ensure_ascii=False)


def regex_literal(source: str) -> str:
    """``/source/`` with every unescaped ``/`` written as ``\\/``."""
    out = []
    i = 0
    while i < len(source):
        c = source[i]
        if c == "\\" and i + 1 < len(source):
            out.append(source[i : i + 2])
            i += 2
            continue
        out.append("\\/" if c == "/" else c)
        i += 1
    return "/" + "".join(out) + "/"


def number(v: int | float) -> str:
    if isinstance(v, bool):
        raise ValueError("a boolean is not a number")
    if isinstance(v, int):
        return str(v)
    return repr(v)  # "2.0", not "2": the type is part of the value and must survive convert


# --------------------------------------------------------------------------------------------- matchers


def matcher(m: ir.Matcher) -> str:
    if isinstance(m, ir.AnyOf):
        return " | ".join(matcher(x) for x in m.members)
    if isinstance(m, ir.Phrases):
        if m.ref is not None:
            return m.ref
        if len(m.items) == 1:
            return q(m.items[0])
        return "[" + ", ".join(q(i) for i in m.items) + "]"
    if isinstance(m, ir.Regex):
        return m.ref if m.ref is not None else regex_literal(m.source)
    if isinstance(m, ir.Detector):
        return f"detector {m.kind}" + (f" excluding {m.exempt}" if m.exempt else "")
    raise ValueError(f"not a matcher: {m!r}")


def step(st: ir.StateStep) -> str:
    """``SPEAKER says M [unless U] [and not N]``."""
    out = f"{st.speaker} says {matcher(st.matcher)}"
    if st.unless is not None:
        out += f" unless {matcher(st.unless)}"
    if st.and_not is not None:
        out += f" and not {matcher(st.and_not)}"
    return out


def cue_head(c: ir.OnCue) -> str:
    """``on SPEAKER M [and not N] [after STEP] {``."""
    out = f"on {c.speaker} {matcher(c.cue)}"
    if c.and_not is not None:
        out += f" and not {matcher(c.and_not)}"
    if c.after is not None:
        out += f" after {step(c.after)}"
    return out + " {"


# --------------------------------------------------------------------------------------------- applicability

_NAME = re.compile(r"[a-z_][a-z0-9_]*")


@functools.cache
def _keywords() -> frozenset[str]:
    from trace_engine.dsl.parser import get_parser

    words = set()
    for term in get_parser().terminals:
        if term.pattern.type == "str" and term.pattern.value.isidentifier():
            words.add(term.pattern.value)
    return frozenset(words)


def fact_value(v: Any) -> str:
    """A value in ``applies_to``: ``true``/``false``, a bare name when it is one (and not a keyword), else a string."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str) and _NAME.fullmatch(v) and v not in _keywords():
        return v
    return q(str(v))


def applies_to(a: ir.AppliesTo) -> str:
    """``FACT: V1 | V2, FACT: V``."""
    return ", ".join(f"{c.fact}: " + " | ".join(fact_value(v) for v in c.values) for c in a.conditions)


# --------------------------------------------------------------------------------------------- expressions

_PREC_IF, _PREC_OR, _PREC_AND, _PREC_NOT, _PREC_CMP, _PREC_ATOM = range(6)
_OPS = {"==", "!=", "<", "<=", ">", ">="}


def _prec(e: ir.Expr) -> int:
    if isinstance(e, ir.IfElse):
        return _PREC_IF
    if isinstance(e, ir.BoolOp):
        return _PREC_OR if e.op == "or" else _PREC_AND
    if isinstance(e, ir.Not):
        return _PREC_NOT
    if isinstance(e, ir.Compare | ir.Between):
        return _PREC_CMP
    return _PREC_ATOM


def literal(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return number(v)
    if isinstance(v, str):
        return q(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(literal(x) for x in v) + "]"
    raise ValueError(f"cannot write {v!r} in the DSL")


def expr(e: ir.Expr, min_prec: int = _PREC_IF) -> str:
    text = _expr(e)
    return f"({text})" if _prec(e) < min_prec else text


def _expr(e: ir.Expr) -> str:
    if isinstance(e, ir.Const):
        return literal(e.value)
    if isinstance(e, ir.Field):
        return e.name
    if isinstance(e, ir.Call):
        return f"{e.name}(" + ", ".join(expr(a) for a in e.args) + ")"
    if isinstance(e, ir.Compare):
        op = {"in": "in", "not_in": "not in"}.get(e.op, e.op)
        if op not in _OPS and op not in ("in", "not in"):
            raise ValueError(f"unknown comparison {e.op!r}")
        return f"{expr(e.left, _PREC_ATOM)} {op} {expr(e.right, _PREC_ATOM)}"
    if isinstance(e, ir.Between):
        return f"{expr(e.value, _PREC_ATOM)} between {expr(e.low, _PREC_ATOM)} and {expr(e.high, _PREC_ATOM)}"
    if isinstance(e, ir.BoolOp):
        inner = _PREC_AND if e.op == "or" else _PREC_NOT
        # a nested BoolOp of the same kind keeps its parentheses so that the IR shape survives a round trip
        parts = [expr(o, inner + (1 if isinstance(o, ir.BoolOp) and o.op == e.op else 0)) for o in e.operands]
        return f" {e.op} ".join(parts)
    if isinstance(e, ir.Not):
        return "not " + expr(e.operand, _PREC_NOT)
    if isinstance(e, ir.IfElse):
        return f"if {expr(e.cond)} then {expr(e.then)} else {expr(e.otherwise)}"
    raise ValueError(f"not an expression: {e!r}")


# --------------------------------------------------------------------------------------------- checks


def window(w: ir.Window) -> str:
    if isinstance(w, ir.FirstTurn):
        return "first_turn"
    if isinstance(w, ir.CallEnd):
        return "call_end"
    if isinstance(w, ir.Turns):
        return f"{w.count} turn" + ("" if w.count == 1 else "s")
    if isinstance(w, ir.Seconds):
        return f"{number(w.seconds)} seconds"
    raise ValueError(f"not a window: {w!r}")


def check_line(c: Any) -> str:
    if isinstance(c, ir.MustSay):
        return f"must_say {matcher(c.matcher)} within {window(c.window)}"
    if isinstance(c, ir.MustNotSay):
        out = f"must_not_say {matcher(c.matcher)}"
        if c.unless is not None:
            out += f" unless {matcher(c.unless)}"
        if isinstance(c.scope, ir.UntilState):
            out += f" until {c.scope.state}"
        elif isinstance(c.scope, ir.ForTurns):
            out += f" for {c.scope.count} turn" + ("" if c.scope.count == 1 else "s")
        return out
    if isinstance(c, ir.Require):
        return f"require {expr(c.expr)}"
    if isinstance(c, ir.Tier2Ref):
        return f"tier2 {c.check_id}"
    raise ValueError(f"not a check: {c!r}")


def damages(d: ir.Damages) -> str:
    """``damages 500 to 1500 per call citation "..." note "..."`` (one amount when low and high are equal)."""
    amount = str(d.low) if d.low == d.high else f"{d.low} to {d.high}"
    line = f"damages {amount} per {d.per} citation {q(d.citation)}"
    return line + (f" note {q(d.note)}" if d.note is not None else "")


def remedy(r: ir.Remedy) -> str:
    if r.kind == "mask":
        if r.placeholder is not None:
            return f"remedy mask {q(r.placeholder)}"
        return f"remedy mask keep_last {r.keep_last if r.keep_last is not None else 0}"
    if r.kind == "inject":
        return f"remedy inject {q(r.text or '')}"
    return f"remedy {r.kind}"


# --------------------------------------------------------------------------------------------- layout


@dataclass
class _Line:
    """One printed line; ``key`` names its item (for comments), ``anchor`` is where it started in the source."""

    depth: int
    text: str
    key: tuple | None = None
    anchor: Location | None = None
    comments: list[str] = field(default_factory=list)
    trailing: str | None = None


class _Layout:
    def __init__(self, source: SourceMap | None):
        self.source = source
        self.lines: list[_Line] = []

    def loc(self, *keys: tuple) -> Location | None:
        if self.source is None:
            return None
        for k in keys:
            loc = self.source.locations.get(k)
            if loc is not None:
                return loc
        return None

    def add(self, depth: int, text: str, *keys: tuple) -> None:
        self.lines.append(_Line(depth, text, keys[0] if keys else None, self.loc(*keys) if keys else None))

    def blank(self) -> None:
        if self.lines and self.lines[-1].text != "":
            self.lines.append(_Line(0, ""))


def _layout(pack: ir.Pack, source: SourceMap | None) -> _Layout:
    out = _Layout(source)
    out.add(0, f"pack {pack.pack_id}", ("header", "pack_id"))
    out.add(0, f"version {q(pack.version)}", ("header", "version"))
    out.add(0, f"jurisdiction {q(pack.jurisdiction)}", ("header", "jurisdiction"))
    out.add(0, f"legal_status {q(pack.legal_status)}", ("header", "legal_status"))
    if pack.description is not None:
        out.add(0, f"description {q(pack.description)}", ("header", "description"))
    if pack.applies_to is not None:
        out.add(0, f"applies_to {applies_to(pack.applies_to)}", ("header", "applies_to"))
    if pack.when is not None:
        out.add(0, f"when {expr(pack.when)}", ("header", "when"))
    out.blank()
    for name, items in pack.phrase_sets:
        out.add(0, f"phrases {name} [", ("phrase_set", name))
        for i, item in enumerate(items):
            out.add(1, f"{q(item)},", ("phrase", name, i))
        out.add(0, "]")
        out.blank()
    for name, src in pack.patterns:
        out.add(0, f"pattern {name} {regex_literal(src)}", ("pattern", name))
    out.blank()
    for st in pack.states:
        steps = " then ".join(step(s) for s in st.steps)
        out.add(0, f"state {st.name}: {steps}", ("state", st.name))
    out.blank()
    for index, r in enumerate(pack.rules):
        at, by = ("rule_at", index), ("rule", r.id)
        out.add(0, f"rule {r.id} {{", at, by)
        out.add(1, f"title {q(r.title)}", at + ("field", "title"), by + ("field", "title"))
        out.add(1, f"severity {r.severity}", at + ("field", "severity"), by + ("field", "severity"))
        out.add(1, f"citation {q(r.citation)}", at + ("field", "citation"), by + ("field", "citation"))
        out.add(1, f"reason {q(r.reason)}", at + ("field", "reason"), by + ("field", "reason"))
        if r.applies_to is not None:
            out.add(
                1, f"applies_to {applies_to(r.applies_to)}", at + ("field", "applies_to"), by + ("field", "applies_to")
            )
        if r.when is not None:
            out.add(1, f"when {expr(r.when)}", at + ("field", "when"), by + ("field", "when"))
        for i, c in enumerate(r.checks):
            key = ("check", i)
            if isinstance(c, ir.OnCue):
                out.add(1, cue_head(c), at + key, by + key)
                for j, inner in enumerate(c.then):
                    sub = key + ("then", j)
                    out.add(2, check_line(inner), at + sub, by + sub)
                out.add(1, "}")
            else:
                out.add(1, check_line(c), at + key, by + key)
        if r.remedy is not None:
            out.add(1, remedy(r.remedy), at + ("remedy",), by + ("remedy",))
        if r.damages is not None:
            out.add(1, damages(r.damages), at + ("damages",), by + ("damages",))
        for i, ex in enumerate(r.examples):
            out.add(1, f"example {q(ex)}", at + ("example", i), by + ("example", i))
        out.add(0, "}")
        out.blank()
    return out


def printed_keys(pack: ir.Pack) -> set[tuple]:
    """The keys of every item the printer writes for ``pack`` (what a comment can be attached to)."""
    return {ln.key for ln in _layout(pack, None).lines if ln.key is not None}


def attach_comments(
    pack: ir.Pack, source: SourceMap, raw: Iterable[tuple[int, int, str]]
) -> list[Comment]:
    """Attach ``(line, col, text)`` comments of ``source`` to the items of ``pack`` (see the module docstring).

    A trailing comment goes with the last item that starts before it on its line; a trailing
    ``# trace: ignore[...]`` goes with the item its silenced finding points at, so that the suppression still
    covers that finding once ``fmt`` has put each item on its own line.
    """
    layout = _layout(pack, source)
    anchored = sorted(
        (ln.anchor.line, ln.anchor.col, i) for i, ln in enumerate(layout.lines) if ln.anchor is not None
    )
    keys = [(a[0], a[1]) for a in anchored]
    findings: list[Any] | None = None
    out: list[Comment] = []
    for line, col, text in sorted(raw):
        text = text.strip()
        if source.line_text(line)[: max(col - 1, 0)].strip():  # code before it: a trailing comment
            first = bisect.bisect_left(keys, (line, 0))
            last = bisect.bisect_left(keys, (line, col)) - 1
            if first <= last:
                k = last
                if last > first and _SUPPRESSION in text:
                    if findings is None:
                        findings = _unsuppressed_findings(pack, source)
                    k = _silenced_item(text, line, findings, keys, first, last)
                out.append(Comment(text, layout.lines[anchored[k][2]].key, trailing=True))
                continue
        k = bisect.bisect_right(keys, (line, 10**9))
        out.append(Comment(text, layout.lines[anchored[k][2]].key if k < len(anchored) else None))
    return out


_SUPPRESSION = "trace: ignore["


def _unsuppressed_findings(pack: ir.Pack, source: SourceMap) -> list[Any]:
    from trace_engine.dsl.lint import lint_pack

    try:
        return lint_pack(pack, SourceMap(source.file, "", source.locations))
    except Exception:  # noqa: BLE001 - placement is best effort; formatting must not fail on a lint bug
        return []


def _silenced_item(text: str, line: int, findings: list[Any], keys: list[tuple[int, int]], first: int, last: int) -> int:
    """Among the items ``first..last`` on ``line``, the one a finding silenced by ``text`` points at (else
    ``first``, the outermost item on the line)."""
    codes = {c.strip().upper() for c in text.split(_SUPPRESSION, 1)[1].split("]", 1)[0].split(",")}
    for d in findings:
        if d.code in codes and d.location.line == line:
            k = bisect.bisect_right(keys, (line, d.location.col), first, last + 1) - 1
            return max(k, first)
    return first


def print_pack(
    pack: ir.Pack, comments: Sequence[Comment] | None = None, source: SourceMap | None = None
) -> str:
    """The canonical text of ``pack`` with ``comments`` (:class:`~trace_engine.dsl.comments.Comment`) in place.

    ``source`` is accepted for callers that pass it; placement uses each comment's anchor only.
    """
    lines = _layout(pack, None).lines
    while lines and lines[-1].text == "":
        lines.pop()
    by_key = {ln.key: ln for ln in lines if ln.key is not None}
    trailing_block: list[str] = []
    for c in comments or ():
        target = by_key.get(c.anchor) if c.anchor is not None else None
        if target is None:
            trailing_block.append(c.text)
        elif c.trailing and target.trailing is None:
            target.trailing = c.text
        else:
            target.comments.append(c.text)
    out: list[str] = []
    for ln in lines:
        pad = INDENT * ln.depth
        for c in ln.comments:
            out.append(pad + c)
        text = pad + ln.text if ln.text else ""
        out.append(f"{text}  {ln.trailing}" if ln.trailing else text)
    if trailing_block:
        out.append("")
        out.extend(trailing_block)
    return "\n".join(out) + "\n"


def format_source(text: str, filename: str = "<string>") -> str:
    """parse -> lower -> print, with the comments of ``text`` kept."""
    from trace_engine.dsl import load_pack_text

    pack, source = load_pack_text(text, filename)
    return print_pack(pack, source.comments)
