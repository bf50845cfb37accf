"""Print an IR pack as canonical ``.trace`` source (the layout ``trace fmt`` writes).

One layout only: the header lines, a blank line, each phrase set (one phrase per line, trailing commas) followed
by a blank line, the patterns, the states, then the rules separated by blank lines. Inside a rule the fields come
in the order title, severity, citation, reason, applies_to, when, checks, remedy, examples, indented by two spaces. Strings
are JSON-escaped; ``within 1 turn`` is singular; expressions get the fewest parentheses that keep their meaning.

Comments: each comment is attached to the first printed item that starts on a later line (per the
:class:`~trace_engine.errors.SourceMap`) and printed just above it at its indentation; comments after the last item
go at the end. Printing is idempotent: ``format_source(format_source(x)) == format_source(x)``.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from trace_engine import ir
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
    """One printed line; ``anchor`` is where its item started in the source (for comments)."""

    depth: int
    text: str
    anchor: Location | None = None
    comments: list[str] = field(default_factory=list)


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
        self.lines.append(_Line(depth, text, self.loc(*keys) if keys else None))

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
        for i, ex in enumerate(r.examples):
            out.add(1, f"example {q(ex)}", at + ("example", i), by + ("example", i))
        out.add(0, "}")
        out.blank()
    return out


def print_pack(
    pack: ir.Pack, comments: list[tuple[int, str]] | None = None, source: SourceMap | None = None
) -> str:
    """The canonical text of ``pack``; ``comments`` (``(line, text)``) are placed using ``source``."""
    layout = _layout(pack, source)
    lines = layout.lines
    while lines and lines[-1].text == "":
        lines.pop()
    trailing: list[str] = []
    if comments:
        anchored = sorted(
            ((ln.anchor.line, ln.anchor.col, i) for i, ln in enumerate(lines) if ln.anchor is not None),
        )
        import bisect

        keys = [(a[0], a[1]) for a in anchored]
        for line, text in sorted(comments, key=lambda c: c[0]):
            k = bisect.bisect_right(keys, (line, 10**9))
            if k < len(anchored):
                lines[anchored[k][2]].comments.append(text.strip())
            else:
                trailing.append(text.strip())
    out: list[str] = []
    for ln in lines:
        pad = INDENT * ln.depth
        for c in ln.comments:
            out.append(pad + c)
        out.append(pad + ln.text if ln.text else "")
    if trailing:
        out.append("")
        out.extend(trailing)
    return "\n".join(out) + "\n"


def format_source(text: str, filename: str = "<string>") -> str:
    """parse -> lower -> print, with the comments of ``text`` kept."""
    from trace_engine.dsl.lower import lower
    from trace_engine.dsl.parser import parse

    node = parse(text, filename)
    source = SourceMap(filename, text)
    pack = lower(node, source)
    return print_pack(pack, [(line, c) for line, _col, c in node.comments], source)
