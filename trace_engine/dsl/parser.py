"""Parse ``.trace`` source into :mod:`trace_engine.dsl.ast` nodes.

The grammar (``grammar.lark``) is compiled once per process into a Lark LALR(1) parser (``strict=True`` when the
``interegular`` package is available, which turns any shift/reduce conflict or terminal collision into an error at
build time). Parsing never raises anything but :class:`~trace_engine.errors.TraceSyntaxError`: binary junk,
undecodable bytes, huge files and absurdly nested expressions all come back as diagnostics.

Error recovery: when the parser meets a token (or character) it cannot use, it records one diagnostic, then
jumps to the next line that starts with a top-level keyword (``rule``, ``phrases``, ``pattern``, ``state``, or a
header keyword) and resumes there with the parser stack cut back to the top level. Errors further inside the same
broken item are not reported (they are usually echoes of the first); errors in later items are. A top-level
keyword met where it cannot go (``rule`` inside an unclosed rule) is reported ("missing closing `}`") and parsing
resumes at it. At most :data:`MAX_ERRORS` are reported.

Friendly messages come from Lark's ``match_examples`` over :data:`ERROR_EXAMPLES` (broken snippets -> message),
then from a few checks on the set of expected tokens, then from a generic "unexpected X; expected Y".

Codes
-----
=====  ==========================================================================================
TS001  unexpected token (the message names it and what was expected, or says what is missing)
TS002  unexpected character
TS003  unterminated string (a ``"`` with no closing ``"`` on the same line)
TS004  unterminated regex (a ``/`` with no closing ``/`` on the same line)
TS005  unexpected end of file (missing ``}``, missing ``]``, a field with no value ...)
TS006  expression (or other construct) nested too deeply: more than :data:`MAX_DEPTH` levels
TS007  file too large: more than :data:`MAX_SOURCE_CHARS` characters
TS008  file is not valid UTF-8 (reported by :func:`trace_engine.dsl.load_pack`)
TS009  too many errors: reporting stopped after :data:`MAX_ERRORS`
TS010  invalid escape sequence in a string
TS011  number out of range (not finite)
=====  ==========================================================================================

Semantic errors (TS1xx) are raised by :mod:`trace_engine.dsl.lower`.
"""

from __future__ import annotations

import bisect
import contextvars
import difflib
import functools
import json
import math
import re
from collections.abc import Callable
from importlib import resources
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from trace_engine.compile.limits import LIMITS  # the one definition of the compiler's limits
from trace_engine.dsl import ast
from trace_engine.errors import Diagnostic, Location, SourceMap, TraceSyntaxError

MAX_SOURCE_CHARS = LIMITS.pack_bytes
MAX_DEPTH = LIMITS.nesting
MAX_ERRORS = 50

#: Tokens that start a top-level item; error recovery resynchronises on them.
TOP_LEVEL_TOKENS = frozenset(
    {"RULE", "PHRASES", "PATTERN", "STATE", "PACK", "VERSION", "JURISDICTION", "LEGAL_STATUS", "DESCRIPTION"}
)

_comment_sink: contextvars.ContextVar[list | None] = contextvars.ContextVar("trace_dsl_comments", default=None)


def _on_comment(tok: Token) -> Token:
    sink = _comment_sink.get()
    if sink is not None:
        sink.append((tok.line, tok.column, tok.value.rstrip()))
    return tok


@functools.cache
def get_parser() -> Lark:
    """The Lark parser, built once per process."""
    grammar = resources.files("trace_engine.dsl").joinpath("grammar.lark").read_text(encoding="utf-8")
    options: dict[str, Any] = dict(
        parser="lalr",
        lexer="basic",  # keywords are reserved everywhere
        propagate_positions=True,
        maybe_placeholders=False,
        lexer_callbacks={"COMMENT": _on_comment},
    )
    try:
        import interegular  # noqa: F401

        options["strict"] = True
    except ImportError:  # strict mode needs interegular; the grammar is checked strictly in the test suite
        pass
    return Lark(grammar, **options)


# --------------------------------------------------------------------------------------------- friendly messages

#: label -> broken snippets; the label keys :data:`_FRIENDLY`.
ERROR_EXAMPLES: dict[str, list[str]] = {
    "missing_brace": [
        'rule a-1 { title "t"',
        'rule a-1 { title "t"\nrule b-2 { }',
        'rule a-1 { title "t"\nphrases p ["x"]',
        'rule a-1 { title "t"\npattern p /abc/',
        'rule a-1 { title "t"\nstate s: agent says "x"',
        'rule a-1 { on caller x { must_not_say y',
        'rule a-1 { on caller x { must_not_say y }',
        'rule a-1 { on caller x { must_not_say y }\nrule b-2 { }',
        'rule a-1 { on caller x { must_not_say y\nrule b-2 { }',
        'rule a-1 { must_not_say y\nrule b-2 { }',
        'rule a-1 { must_not_say y',
        'rule a-1 { must_not_say "y"',
        'rule a-1 { must_say y within 1 turn',
        'rule a-1 { must_say y within 1 turn\nrule b-2 { }',
        'rule a-1 { remedy block',
        'rule a-1 { example "x"\nrule b-2 { }',
    ],
    "rule_without_id": ['rule { title "t" }'],
    "severity_string": ['rule a-1 { severity "high" }'],
    "missing_within": [
        "rule a-1 { must_say x }",
        "rule a-1 { must_say x 1 turn }",
        'rule a-1 { must_say "x" }',
        'rule a-1 { must_say "x" 1 turn }',
        "rule a-1 { must_say x\nmust_not_say y }",
        'rule a-1 { must_say x\ntitle "t" }',
        'rule a-1 { must_say ["x"] }',
        "rule a-1 { on caller x { must_say y } }",
        "rule a-1 { on caller x { must_say y 1 turn } }",
    ],
    "missing_count": ["rule a-1 { must_say x within turns }", "rule a-1 { must_say x within seconds }"],
    "missing_bracket": ['phrases p [ "a", "b"\nrule a-1 { }', 'phrases p [ "a" "b" ]'],
    "missing_colon": ['state s agent says "x"'],
}

_FRIENDLY: dict[str, tuple[str, str | None]] = {
    "missing_brace": ("missing closing `}`", "every `{` needs a matching `}`"),
    "rule_without_id": ("a rule needs an id after `rule`", "write `rule tcpa-001 {`"),
    "severity_string": ("a severity is a bare word, not a string", "write `severity high`"),
    "missing_within": (
        "`must_say` needs a window",
        "add `within N turns`, `within N seconds`, `within first_turn` or `within call_end`",
    ),
    "missing_count": ("a window needs a number", "write `within 2 turns` or `within 30 seconds`"),
    "missing_bracket": ("phrases must be separated by `,` and the list closed with `]`", None),
    "missing_colon": ("missing `:` after the state name", 'write `state NAME: agent says "..."`'),
}

_TERMINAL_NAMES = {
    "NAME": "a name",
    "RULE_ID": "a rule id",
    "STRING": "a string",
    "NUMBER": "a number",
    "REGEX": "a /regex/",
    "COMP_OP": "a comparison",
    "$END": "end of file",
}


def _example_parse(text: str) -> Any:
    return get_parser().parse(text)


def _terminal_text(name: str) -> str | None:
    """The literal text of an anonymous terminal (``RULE`` -> ``rule``, ``LBRACE`` -> ``{``), else None."""
    try:
        term = get_parser().get_terminal(name)
    except KeyError:
        return None
    if term.pattern.type == "str":
        return term.pattern.value
    return None


def _describe_expected(names: set[str]) -> str:
    parts = []
    for n in sorted(names):
        if n in _TERMINAL_NAMES:
            parts.append(_TERMINAL_NAMES[n])
        else:
            txt = _terminal_text(n)
            parts.append(f"`{txt}`" if txt is not None else n)
    parts = sorted(set(parts))
    if len(parts) > 10:
        parts = parts[:10] + ["..."]
    return ", ".join(parts)


def _describe_token(tok: Token) -> str:
    if tok.type == "$END":
        return "end of file"
    if tok.type == "NAME":
        return f"name `{tok.value}`"
    if tok.type == "RULE_ID":
        return f"rule id `{tok.value}`"
    if tok.type == "STRING":
        v = tok.value if len(tok.value) <= 40 else tok.value[:37] + '..."'
        return f"string {v}"
    if tok.type == "NUMBER":
        return f"number {tok.value}"
    if tok.type == "REGEX":
        return "regex"
    return f"`{tok.value}`"


def _keyword_hint(tok: Token, expected: set[str]) -> str | None:
    if tok.type not in ("NAME", "RULE_ID") and not tok.type.isalpha():
        return None
    words = [w for w in (_terminal_text(n) for n in expected) if w and w[0].isalpha()]
    close = difflib.get_close_matches(str(tok.value), words, n=1, cutoff=0.7)
    if close and close[0] != tok.value:
        return f"did you mean `{close[0]}`?"
    return None


def _char_display(ch: str) -> str:
    if ch.isprintable() and not ch.isspace():
        return f"`{ch}`"
    return f"character {ascii(ch)}"


# --------------------------------------------------------------------------------------------- error recovery


_RESYNC_RE = re.compile(
    r"^[ \t]*(?:rule|phrases|pattern|state|pack|version|jurisdiction|legal_status|description)\b(?![ \t]*\.)",
    re.M,
)


class _Recovery:
    """The ``on_error`` handler: records a diagnostic, then jumps to the next line that starts a top-level item
    (or a header field) and resumes there with the parser stack cut back to the top level."""

    def __init__(self, file: str, text: str):
        self.file = file
        self.text = text
        self.diagnostics: list[Diagnostic] = []
        self.resync_pos: int | None = None  # where the last jump landed
        self.stopped = False
        #: the tree of the items that did parse, when the error is at the end of the file (an unclosed last item)
        self.tree: Any = None

    def _record(self, diag: Diagnostic) -> None:
        if len(self.diagnostics) >= MAX_ERRORS:
            if not self.stopped:
                self.diagnostics.append(
                    Diagnostic("TS009", f"too many errors; stopped after {MAX_ERRORS}", diag.location)
                )
            self.stopped = True
            return
        self.diagnostics.append(diag)

    def _jump(self, ip: Any, pos: int) -> None:
        """Move the lexer to the next resync line after ``pos``."""
        m = _RESYNC_RE.search(self.text, pos)
        target = m.start() if m else len(self.text)
        if m:
            target = m.start() + len(m.group(0)) - len(m.group(0).lstrip(" \t"))
        line_ctr = ip.lexer_thread.state.line_ctr
        if target > line_ctr.char_pos:
            line_ctr.feed(self.text[line_ctr.char_pos : target])
        self.resync_pos = target

    def __call__(self, e: UnexpectedInput) -> bool:
        if self.stopped:
            return False
        try:
            if isinstance(e, UnexpectedCharacters):
                return self._on_chars(e)
            if isinstance(e, UnexpectedToken):
                return self._on_token(e)
        except Exception:  # noqa: BLE001 - recovery is best effort; the diagnostics so far stand
            return False
        return False

    def _on_chars(self, e: UnexpectedCharacters) -> bool:
        ip = e.interactive_parser
        pos = ip.lexer_thread.state.line_ctr.char_pos
        text = self.text
        ch = text[pos] if pos < len(text) else ""
        loc = Location(self.file, e.line, e.column)
        if ch == '"':
            diag = Diagnostic(
                "TS003", "unterminated string", Location(self.file, e.line, e.column, e.line, e.column + 1),
                hint='close it with `"` on the same line',
            )
        elif ch == "/":
            diag = Diagnostic(
                "TS004", "unterminated regex", Location(self.file, e.line, e.column, e.line, e.column + 1),
                hint="close it with `/` on the same line; write `\\/` for a slash inside it",
            )
        else:
            hint = None
            m = re.match(r"[A-Za-z_][A-Za-z0-9_-]*", text[pos : pos + 200])
            if ch.isalpha() and ch.isascii() and m:
                hint = f"names and keywords are lower case: `{m.group(0).lower()}`"
            elif ch == "'":
                hint = 'strings use double quotes: "..."'
            diag = Diagnostic("TS002", f"unexpected {_char_display(ch)}", loc, hint=hint)
        self._record(diag)
        self._jump(ip, pos + 1)
        return True

    def _friendly(self, e: UnexpectedToken) -> tuple[str, str | None] | None:
        try:
            label = e.match_examples(_example_parse, ERROR_EXAMPLES, use_accepts=True)
        except Exception:  # noqa: BLE001
            label = None
        if label is not None:
            return _FRIENDLY[label]
        exp = set(e.expected or ())
        if "WITHIN" in exp:
            return _FRIENDLY["missing_within"]
        if "RBRACE" in exp and (e.token.type == "$END" or e.token.type in TOP_LEVEL_TOKENS):
            return _FRIENDLY["missing_brace"]
        return None

    def _is_top_level_keyword(self, tok: Token) -> bool:
        if tok.type not in TOP_LEVEL_TOKENS:
            return False
        if tok.type == "STATE":
            rest = self.text[tok.end_pos : tok.end_pos + 64].lstrip()
            return not rest.startswith(".")
        return True

    def _on_token(self, e: UnexpectedToken) -> bool:
        ip = e.interactive_parser
        tok = e.token
        if tok.type == "$END":
            if self.resync_pos != len(self.text):
                self._record(self._token_diagnostic(e))
            self.tree = self._close_at_top_level(ip)
            return False
        landed = tok.start_pos == self.resync_pos
        if self._is_top_level_keyword(tok):
            if not landed:
                self._record(self._token_diagnostic(e))
            ps = ip.parser_state
            del ps.state_stack[2:]
            del ps.value_stack[1:]
            self.resync_pos = None
            ip.feed_token(tok)
            return True
        self._record(self._token_diagnostic(e))
        self._jump(ip, tok.end_pos)
        return True

    @staticmethod
    def _close_at_top_level(ip: Any) -> Any:
        """Drop the unfinished item and end the parse there: the tree of everything before it, or ``None``."""
        try:
            ps = ip.parser_state
            del ps.state_stack[2:]
            del ps.value_stack[1:]
            return ip.feed_eof()
        except Exception:  # noqa: BLE001 - best effort: without a partial tree only the syntax errors are reported
            return None

    def _token_diagnostic(self, e: UnexpectedToken) -> Diagnostic:
        tok = e.token
        if tok.type == "$END":
            body = self.text.rstrip()
            lines = body.split("\n")
            loc = Location(self.file, len(lines), len(lines[-1]) + 1)
        else:
            loc = Location(self.file, tok.line, tok.column, tok.end_line, tok.end_column)
        code = "TS005" if tok.type == "$END" else "TS001"
        friendly = self._friendly(e)
        if friendly is not None:
            msg, hint = friendly
            if tok.type == "$END":
                msg = f"{msg} before end of file"
            return Diagnostic(code, msg, loc, hint=hint)
        expected = set(e.expected or ())
        msg = f"unexpected {_describe_token(tok)}; expected {_describe_expected(expected)}"
        return Diagnostic(code, msg, loc, hint=_keyword_hint(tok, expected))


# --------------------------------------------------------------------------------------------- tree -> AST


class _TooDeep(Exception):
    def __init__(self, loc: Location):
        self.loc = loc


_LOC_NONE = None


class _AndNot:
    """``and not M`` while building (a wrapper, so it is not mistaken for an ``unless`` matcher)."""

    __slots__ = ("matcher",)

    def __init__(self, matcher: ast.MatcherNode):
        self.matcher = matcher


class _After:
    """``after STEP`` while building."""

    __slots__ = ("step",)

    def __init__(self, step: ast.StateStepNode):
        self.step = step


class _Builder:
    """Turns the Lark tree into AST nodes without recursion (a deeply nested tree cannot overflow the stack)."""

    def __init__(self, file: str, diagnostics: list[Diagnostic]):
        self.file = file
        self.diagnostics = diagnostics

    # locations
    def tloc(self, tok: Token) -> Location:
        return Location(self.file, tok.line, tok.column, tok.end_line, tok.end_column)

    def mloc(self, tree: Tree) -> Location:
        m = tree.meta
        if getattr(m, "empty", True):
            return Location(self.file, 1, 1)
        return Location(self.file, m.line, m.column, m.end_line, m.end_column)

    def build(self, tree: Tree) -> ast.PackNode:
        out: list[Any] = []
        stack: list[tuple[Any, bool, int]] = [(tree, False, 1)]
        while stack:
            node, done, depth = stack.pop()
            if not isinstance(node, Tree):
                out.append(node)
                continue
            if not done:
                if depth > MAX_DEPTH:
                    loc = self.mloc(node)
                    raise _TooDeep(Location(loc.file, loc.line, loc.col))
                stack.append((node, True, depth))
                for ch in reversed(node.children):
                    stack.append((ch, False, depth + 1))
                continue
            n = len(node.children)
            args = out[len(out) - n :] if n else []
            if n:
                del out[len(out) - n :]
            handler: Callable[..., Any] = getattr(self, "_" + str(node.data))
            out.append(handler(node, args))
        return out[0]

    # values
    def string(self, tok: Token) -> str:
        raw = str(tok.value)
        try:
            return json.loads(raw, strict=False)
        except ValueError:
            self.diagnostics.append(
                Diagnostic(
                    "TS010",
                    "invalid escape sequence in string",
                    self.tloc(tok),
                    hint='strings use JSON escapes: \\" \\\\ \\n \\t \\uXXXX',
                )
            )
            return raw[1:-1]

    def number(self, tok: Token) -> int | float:
        raw = str(tok.value)
        if re.fullmatch(r"-?[0-9]+", raw):
            return int(raw)
        value = float(raw)
        if not math.isfinite(value):
            self.diagnostics.append(Diagnostic("TS011", f"number out of range: {raw}", self.tloc(tok)))
            return 0.0
        return value

    @staticmethod
    def regex_source(tok: Token) -> str:
        body = str(tok.value)[1:-1]
        out = []
        i = 0
        while i < len(body):
            c = body[i]
            if c == "\\" and i + 1 < len(body):
                nxt = body[i + 1]
                out.append("/" if nxt == "/" else c + nxt)
                i += 2
                continue
            out.append(c)
            i += 1
        return "".join(out)

    # top level
    def _start(self, tree: Tree, args: list[Any]) -> ast.PackNode:
        pack = ast.PackNode(loc=Location(self.file, 1, 1))
        for a in args:
            if isinstance(a, ast.HeaderNode):
                pack.headers.append(a)
                continue
            if pack.first_item_line is None:
                pack.first_item_line = a.loc.line
            if isinstance(a, ast.PhraseSetNode):
                pack.phrase_sets.append(a)
            elif isinstance(a, ast.PatternNode):
                pack.patterns.append(a)
            elif isinstance(a, ast.StateNode):
                pack.states.append(a)
            elif isinstance(a, ast.RuleNode):
                pack.rules.append(a)
        return pack

    def _header(self, key: str, tree: Tree, value: Any, value_loc: Location) -> ast.HeaderNode:
        return ast.HeaderNode(self.mloc(tree), key, value, value_loc)

    def _h_pack(self, tree: Tree, args: list[Any]) -> ast.HeaderNode:
        value, loc = args[0]
        return self._header("pack", tree, value, loc)

    def _pack_id(self, tree: Tree, args: list[Any]) -> tuple[str, Location]:
        first, last = args[0], args[-1]
        for a, b in zip(args, args[1:], strict=False):
            if a.end_pos != b.start_pos:
                self.diagnostics.append(
                    Diagnostic("TS001", "a pack id is a single word", self.tloc(b), hint="write `pack my_pack`")
                )
                break
        loc = Location(self.file, first.line, first.column, last.end_line, last.end_column)
        return "".join(str(a.value) for a in args), loc

    def _rule_id(self, tree: Tree, args: list[Any]) -> tuple[str, Location]:
        return str(args[0].value), self.tloc(args[0])

    def _h_version(self, tree: Tree, args: list[Any]) -> ast.HeaderNode:
        return self._header("version", tree, self.string(args[0]), self.tloc(args[0]))

    def _h_jurisdiction(self, tree: Tree, args: list[Any]) -> ast.HeaderNode:
        return self._header("jurisdiction", tree, self.string(args[0]), self.tloc(args[0]))

    def _h_legal_status(self, tree: Tree, args: list[Any]) -> ast.HeaderNode:
        return self._header("legal_status", tree, self.string(args[0]), self.tloc(args[0]))

    def _h_description(self, tree: Tree, args: list[Any]) -> ast.HeaderNode:
        return self._header("description", tree, self.string(args[0]), self.tloc(args[0]))

    def _h_when(self, tree: Tree, args: list[Any]) -> ast.HeaderNode:
        return self._header("when", tree, args[0], args[0].loc)

    def _h_applies_to(self, tree: Tree, args: list[Any]) -> ast.HeaderNode:
        return self._header("applies_to", tree, args[0], args[0].loc)

    def _applies_to(self, tree: Tree, args: list[Any]) -> ast.AppliesToNode:
        return ast.AppliesToNode(self.mloc(tree), list(args))

    def _fact_condition(self, tree: Tree, args: list[Any]) -> ast.FactConditionNode:
        fact, *values = args
        return ast.FactConditionNode(self.mloc(tree), str(fact.value), self.tloc(fact), values)

    def _v_name(self, tree: Tree, args: list[Any]) -> ast.FactValueNode:
        return ast.FactValueNode(self.tloc(args[0]), str(args[0].value))

    def _v_string(self, tree: Tree, args: list[Any]) -> ast.FactValueNode:
        return ast.FactValueNode(self.tloc(args[0]), self.string(args[0]), quoted=True)

    def _v_true(self, tree: Tree, args: list[Any]) -> ast.FactValueNode:
        return ast.FactValueNode(self.mloc(tree), True)

    def _v_false(self, tree: Tree, args: list[Any]) -> ast.FactValueNode:
        return ast.FactValueNode(self.mloc(tree), False)

    def _phrase_set(self, tree: Tree, args: list[Any]) -> ast.PhraseSetNode:
        name, items = args
        return ast.PhraseSetNode(self.mloc(tree), str(name.value), self.tloc(name), items.items)

    def _string_list(self, tree: Tree, args: list[Any]) -> ast.ListAtom:
        return ast.ListAtom(self.mloc(tree), [ast.StringNode(self.tloc(t), self.string(t)) for t in args])

    def _pattern_def(self, tree: Tree, args: list[Any]) -> ast.PatternNode:
        name, rx = args
        return ast.PatternNode(self.mloc(tree), str(name.value), self.tloc(name), self.regex_source(rx), self.tloc(rx))

    def _state_def(self, tree: Tree, args: list[Any]) -> ast.StateNode:
        name, *steps = args
        return ast.StateNode(self.mloc(tree), str(name.value), self.tloc(name), steps)

    def _state_step(self, tree: Tree, args: list[Any]) -> ast.StateStepNode:
        speaker, matcher, *rest = args
        node = ast.StateStepNode(self.mloc(tree), speaker, matcher)
        for a in rest:
            if isinstance(a, _AndNot):
                node.and_not = a.matcher
            else:
                node.unless = a
        return node

    def _and_not_clause(self, tree: Tree, args: list[Any]) -> _AndNot:
        return _AndNot(args[0])

    def _after_clause(self, tree: Tree, args: list[Any]) -> _After:
        return _After(args[0])

    def _speaker(self, tree: Tree, args: list[Any]) -> str:
        return str(args[0].value)

    # matchers
    def _matcher(self, tree: Tree, args: list[Any]) -> ast.MatcherNode:
        return ast.MatcherNode(self.mloc(tree), list(args))

    def _m_ref(self, tree: Tree, args: list[Any]) -> ast.RefAtom:
        return ast.RefAtom(self.tloc(args[0]), str(args[0].value))

    def _m_string(self, tree: Tree, args: list[Any]) -> ast.StringAtom:
        return ast.StringAtom(self.tloc(args[0]), self.string(args[0]))

    def _m_list(self, tree: Tree, args: list[Any]) -> ast.ListAtom:
        return args[0]

    def _m_regex(self, tree: Tree, args: list[Any]) -> ast.RegexAtom:
        return ast.RegexAtom(self.tloc(args[0]), self.regex_source(args[0]))

    def _m_detector(self, tree: Tree, args: list[Any]) -> ast.DetectorAtom:
        kind = args[0]
        exempt = str(args[1].value) if len(args) > 1 else None
        return ast.DetectorAtom(self.mloc(tree), str(kind.value), self.tloc(kind), exempt)

    # rules
    def _rule(self, tree: Tree, args: list[Any]) -> ast.RuleNode:
        (rid, rid_loc), *items = args
        rule = ast.RuleNode(self.mloc(tree), rid, rid_loc)
        for it in items:
            if isinstance(it, ast.FieldNode):
                rule.fields.append(it)
            elif isinstance(it, ast.RemedyNode):
                rule.remedies.append(it)
            elif isinstance(it, ast.StringNode):
                rule.examples.append(it)
            elif isinstance(it, ast.DamagesNode):
                rule.damages.append(it)
            else:
                rule.checks.append(it)
        return rule

    def _field(self, name: str, tree: Tree, tok: Token, is_string: bool = True) -> ast.FieldNode:
        value = self.string(tok) if is_string else str(tok.value)
        return ast.FieldNode(self.mloc(tree), name, value, self.tloc(tok))

    def _f_title(self, tree: Tree, args: list[Any]) -> ast.FieldNode:
        return self._field("title", tree, args[0])

    def _f_severity(self, tree: Tree, args: list[Any]) -> ast.FieldNode:
        return self._field("severity", tree, args[0], is_string=False)

    def _f_citation(self, tree: Tree, args: list[Any]) -> ast.FieldNode:
        return self._field("citation", tree, args[0])

    def _f_reason(self, tree: Tree, args: list[Any]) -> ast.FieldNode:
        return self._field("reason", tree, args[0])

    def _f_applies_to(self, tree: Tree, args: list[Any]) -> ast.FieldNode:
        return ast.FieldNode(self.mloc(tree), "applies_to", args[0], args[0].loc)

    def _f_when(self, tree: Tree, args: list[Any]) -> ast.FieldNode:
        return ast.FieldNode(self.mloc(tree), "when", args[0], args[0].loc)

    def _f_remedy(self, tree: Tree, args: list[Any]) -> ast.RemedyNode:
        r: ast.RemedyNode = args[0]
        r.loc = self.mloc(tree)
        return r

    def _f_damages(self, tree: Tree, args: list[Any]) -> ast.DamagesNode:
        d: ast.DamagesNode = args[0]
        d.loc = self.mloc(tree)
        return d

    def _damages(self, tree: Tree, args: list[Any]) -> ast.DamagesNode:
        # NUMBER [("to", NUMBER)] NAME("per") NAME(basis) STRING [("note", STRING)]
        low_tok, *rest = args
        words: list[tuple[str, str, Location]] = []
        high = None
        if rest and isinstance(rest[0], tuple):
            (to_tok, high_tok), *rest = rest
            words.append(("to", str(to_tok.value), self.tloc(to_tok)))
            high = self.number(high_tok)
        per_tok, basis, citation, *rest = rest
        words.append(("per", str(per_tok.value), self.tloc(per_tok)))
        note = None
        if rest:
            note_tok, note_str = rest[0]
            words.append(("note", str(note_tok.value), self.tloc(note_tok)))
            note = self.string(note_str)
        return ast.DamagesNode(
            self.mloc(tree),
            self.number(low_tok),
            high,
            str(basis.value),
            self.tloc(basis),
            self.string(citation),
            note,
            words,
        )

    def _damages_high(self, tree: Tree, args: list[Any]) -> tuple[Token, Token]:
        return (args[0], args[1])

    def _damages_note(self, tree: Tree, args: list[Any]) -> tuple[Token, Token]:
        return (args[0], args[1])

    def _f_example(self, tree: Tree, args: list[Any]) -> ast.StringNode:
        return ast.StringNode(self.mloc(tree), self.string(args[0]))

    # checks
    def _c_must_say(self, tree: Tree, args: list[Any]) -> ast.MustSayNode:
        return ast.MustSayNode(self.mloc(tree), args[0], args[1])

    def _c_must_not_say(self, tree: Tree, args: list[Any]) -> ast.MustNotSayNode:
        node = ast.MustNotSayNode(self.mloc(tree), args[0])
        for a in args[1:]:
            if isinstance(a, ast.ScopeNode):
                node.scope = a
            else:
                node.unless = a
        return node

    def _unless_clause(self, tree: Tree, args: list[Any]) -> ast.MatcherNode:
        return args[0]

    def _c_on(self, tree: Tree, args: list[Any]) -> ast.OnNode:
        speaker, cue, *rest = args
        node = ast.OnNode(self.mloc(tree), speaker, cue, [])
        for a in rest:
            if isinstance(a, _AndNot):
                node.and_not = a.matcher
            elif isinstance(a, _After):
                node.after = a.step
            else:
                node.checks.append(a)
        return node

    def _c_require(self, tree: Tree, args: list[Any]) -> ast.RequireNode:
        return ast.RequireNode(self.mloc(tree), args[0])

    def _c_tier2(self, tree: Tree, args: list[Any]) -> ast.Tier2Node:
        return ast.Tier2Node(self.mloc(tree), str(args[0].value), self.tloc(args[0]))

    def _w_first_turn(self, tree: Tree, args: list[Any]) -> ast.WindowNode:
        return ast.WindowNode(self.mloc(tree), "first_turn")

    def _w_call_end(self, tree: Tree, args: list[Any]) -> ast.WindowNode:
        return ast.WindowNode(self.mloc(tree), "call_end")

    def _w_turns(self, tree: Tree, args: list[Any]) -> ast.WindowNode:
        return ast.WindowNode(self.mloc(tree), "turns", self.number(args[0]))

    def _w_seconds(self, tree: Tree, args: list[Any]) -> ast.WindowNode:
        return ast.WindowNode(self.mloc(tree), "seconds", self.number(args[0]))

    def _s_until(self, tree: Tree, args: list[Any]) -> ast.ScopeNode:
        return ast.ScopeNode(self.tloc(args[0]), "until", state=str(args[0].value))

    def _s_for(self, tree: Tree, args: list[Any]) -> ast.ScopeNode:
        return ast.ScopeNode(self.mloc(tree), "for", count=self.number(args[0]))

    # remedies (loc is replaced by _f_remedy)
    def _r_flag(self, tree: Tree, args: list[Any]) -> ast.RemedyNode:
        return ast.RemedyNode(self.mloc(tree), "flag")

    def _r_mask_keep(self, tree: Tree, args: list[Any]) -> ast.RemedyNode:
        return ast.RemedyNode(self.mloc(tree), "mask", keep_last=self.number(args[0]))

    def _r_mask_placeholder(self, tree: Tree, args: list[Any]) -> ast.RemedyNode:
        return ast.RemedyNode(self.mloc(tree), "mask", placeholder=self.string(args[0]))

    def _r_redact(self, tree: Tree, args: list[Any]) -> ast.RemedyNode:
        return ast.RemedyNode(self.mloc(tree), "redact")

    def _r_inject(self, tree: Tree, args: list[Any]) -> ast.RemedyNode:
        return ast.RemedyNode(self.mloc(tree), "inject", text=self.string(args[0]))

    def _r_block(self, tree: Tree, args: list[Any]) -> ast.RemedyNode:
        return ast.RemedyNode(self.mloc(tree), "block")

    def _r_handoff(self, tree: Tree, args: list[Any]) -> ast.RemedyNode:
        return ast.RemedyNode(self.mloc(tree), "handoff")

    # expressions
    def _e_if(self, tree: Tree, args: list[Any]) -> ast.IfNode:
        return ast.IfNode(self.mloc(tree), *args)

    def _e_or(self, tree: Tree, args: list[Any]) -> ast.BoolNode:
        return ast.BoolNode(self.mloc(tree), "or", list(args))

    def _e_and(self, tree: Tree, args: list[Any]) -> ast.BoolNode:
        return ast.BoolNode(self.mloc(tree), "and", list(args))

    def _e_not(self, tree: Tree, args: list[Any]) -> ast.NotNode:
        return ast.NotNode(self.mloc(tree), args[0])

    def _e_compare(self, tree: Tree, args: list[Any]) -> ast.CompareNode:
        return ast.CompareNode(self.mloc(tree), str(args[1].value), args[0], args[2])

    def _e_in(self, tree: Tree, args: list[Any]) -> ast.CompareNode:
        return ast.CompareNode(self.mloc(tree), "in", args[0], args[1])

    def _e_not_in(self, tree: Tree, args: list[Any]) -> ast.CompareNode:
        return ast.CompareNode(self.mloc(tree), "not_in", args[0], args[1])

    def _e_between(self, tree: Tree, args: list[Any]) -> ast.BetweenNode:
        return ast.BetweenNode(self.mloc(tree), *args)

    def _e_field(self, tree: Tree, args: list[Any]) -> ast.FieldRefNode:
        return ast.FieldRefNode(self.tloc(args[0]), str(args[0].value))

    def _e_state(self, tree: Tree, args: list[Any]) -> ast.StateRefNode:
        return ast.StateRefNode(self.mloc(tree), str(args[0].value), self.tloc(args[0]))

    def _e_call(self, tree: Tree, args: list[Any]) -> ast.CallNode:
        name, *rest = args
        return ast.CallNode(self.mloc(tree), str(name.value), self.tloc(name), list(rest))

    def _e_list(self, tree: Tree, args: list[Any]) -> ast.ListNode:
        return ast.ListNode(self.mloc(tree), list(args))

    def _e_string(self, tree: Tree, args: list[Any]) -> ast.LiteralNode:
        return ast.LiteralNode(self.tloc(args[0]), self.string(args[0]))

    def _e_number(self, tree: Tree, args: list[Any]) -> ast.LiteralNode:
        return ast.LiteralNode(self.tloc(args[0]), self.number(args[0]))

    def _e_true(self, tree: Tree, args: list[Any]) -> ast.LiteralNode:
        return ast.LiteralNode(self.mloc(tree), True)

    def _e_false(self, tree: Tree, args: list[Any]) -> ast.LiteralNode:
        return ast.LiteralNode(self.mloc(tree), False)


# --------------------------------------------------------------------------------------------- entry point


def _attach_partial(error: TraceSyntaxError, tree: Any, diagnostics: list[Diagnostic], filename: str, text: str) -> None:
    """Give a syntax error what :func:`trace_engine.dsl.load_pack_text` needs to report semantic errors too:
    ``error.partial``, the AST of the items that did parse (``None`` if there is none), and ``error.broken``,
    the ``(first_line, end_line)`` ranges of the items recovery skipped (end exclusive)."""
    error.partial = None
    error.broken = _broken_ranges(diagnostics, text)
    if tree is None:
        return
    try:
        node = _Builder(filename, []).build(tree)
    except Exception:  # noqa: BLE001 - too deep, or a half-built item: report the syntax errors alone
        return
    if isinstance(node, ast.PackNode):
        error.partial = node


def _broken_ranges(diagnostics: list[Diagnostic], text: str) -> list[tuple[int, int]]:
    """The line range of the top-level item around each syntax error. An error reported at the keyword that starts
    an item ("missing closing `}`" at the next ``rule``) belongs to the item before it."""
    starts: list[int] = []
    line, pos = 1, 0
    for m in _RESYNC_RE.finditer(text):  # line numbers in one pass (a 10 MB file must stay linear)
        line += text.count("\n", pos, m.start())
        pos = m.start()
        starts.append(line)
    last_line = line + text.count("\n", pos) + 1
    ranges = []
    for d in diagnostics:
        line = d.location.line
        k = bisect.bisect_right(starts, line) - 1
        if k >= 0 and starts[k] == line and d.code in ("TS001", "TS005") and "`}`" in d.message:
            k -= 1  # the unclosed item is the one before this keyword
            end = line
        else:
            end = starts[k + 1] if k + 1 < len(starts) else last_line
        begin = starts[k] if k >= 0 else 1
        ranges.append((begin, end))
    return ranges


def parse(text: str, filename: str = "<string>") -> ast.PackNode:
    """Parse ``.trace`` source into an AST; raise :class:`TraceSyntaxError` with every syntax error found."""
    source = SourceMap(filename, text if isinstance(text, str) else "")
    if not isinstance(text, str):
        raise TraceSyntaxError(
            [Diagnostic("TS002", f"expected text, got {type(text).__name__}", Location(filename, 1, 1))], source
        )
    if len(text) > MAX_SOURCE_CHARS:
        raise TraceSyntaxError(
            [
                Diagnostic(
                    "TS007",
                    f"file too large: {len(text)} characters (the limit is {MAX_SOURCE_CHARS})",
                    Location(filename, 1, 1),
                    hint="split the pack into several packs",
                )
            ],
            SourceMap(filename, ""),
        )
    if text.startswith("\ufeff"):
        text = " " + text[1:]  # keep columns stable; a BOM is not an error
        source.text = text
    recovery = _Recovery(filename, text)
    comments: list[tuple[int, int, str]] = []
    token = _comment_sink.set(comments)
    tree = None
    try:
        try:
            tree = get_parser().parse(text, on_error=recovery)
        except UnexpectedInput as e:
            if not recovery.diagnostics:  # pragma: no cover - every error passes through on_error first
                recovery.diagnostics.append(
                    Diagnostic("TS001", "syntax error", Location(filename, e.line or 1, e.column or 1))
                )
        except RecursionError:  # pragma: no cover - the LALR parser is iterative
            recovery.diagnostics.append(Diagnostic("TS006", "input nested too deeply", Location(filename, 1, 1)))
    finally:
        _comment_sink.reset(token)
    if recovery.diagnostics or tree is None:
        if not recovery.diagnostics:
            recovery.diagnostics.append(Diagnostic("TS001", "syntax error", Location(filename, 1, 1)))
        error = TraceSyntaxError(recovery.diagnostics, source)
        _attach_partial(error, tree if tree is not None else recovery.tree, recovery.diagnostics, filename, text)
        raise error
    diagnostics: list[Diagnostic] = []
    try:
        pack = _Builder(filename, diagnostics).build(tree)
    except _TooDeep as e:
        raise TraceSyntaxError(
            [
                Diagnostic(
                    "TS006",
                    f"expression nested too deeply (more than {MAX_DEPTH} levels)",
                    e.loc,
                    hint="split it with `and`/`or`, or simplify it",
                )
            ],
            source,
        ) from None
    if diagnostics:
        raise TraceSyntaxError(diagnostics, source)
    pack.comments = comments
    return pack
