"""The ``.calls`` pack-test format: scripted calls with expected findings, next to the pack they test.

A ``.calls`` file sits next to its pack (same stem: ``tcpa.trace`` / ``tcpa.calls``) and holds calls::

    # a comment line
    === call: opt-out is honored
    meta: {"direction": "outbound", "business_name": "Acme Solar"}
    vars: {"agent_name": "Sam"}
    start   # ok: tcpa-005
    agent: hi this is sam calling from acme solar   # ok: tcpa-001
    caller: please stop calling me
    agent: i'm sorry, we have a great offer before you go   # ruleid: tcpa-004
    @42.5 agent: you can reach us at four one five, five five five, zero one nine eight   # ok: tcpa-002
    end   # ruleid: tcpa-002

Lines
    ``=== call: NAME``      starts a call; names are unique within a file.
    ``meta: {JSON}``        optional, one line, a JSON object: the call metadata.
    ``vars: {JSON}``        optional, one line, a JSON object: config variables.
    ``start`` / ``end``     pseudo-lines that carry markers for findings at call start (``require``) and at call
                            end (a ``within call_end`` obligation never met, a window still open).
    ``[@SECONDS ]agent: TEXT`` / ``[@SECONDS ]caller: TEXT``  a turn; ``@SECONDS`` is its start time.
    ``[@SECONDS ]facts: {JSON}``  call facts learned during the call (an AMD decision): one line, a JSON object,
                            given to ``Call.update_facts`` between the turns around it.
    blank lines and lines whose first non-blank character is ``#`` are ignored.

Order inside a call: ``meta:``/``vars:`` first, then ``start``, the turns, ``end``.

Markers
    A turn, ``start`` or ``end`` line may end in a marker comment: the text after the LAST `` # `` when it
    is a comma-separated list of ``KIND: RULE_ID`` items. KIND is ``ruleid`` (the rule must produce a
    finding attributed to this line), ``ok`` (it must not), ``todoruleid`` / ``todook`` (known gaps: reported,
    never failing). A `` # `` whose tail does not start with ``word:`` is ordinary turn text
    (``press # to continue``); a tail that starts with ``word:`` must be a valid marker list.

Diagnostics (all errors in a file are reported together, as :class:`~trace_engine.errors.TraceSyntaxError`)
    TT001  a line outside any call (before the first ``=== call:``)
    TT002  a line that is not a call header, ``meta:``, ``vars:``, ``start``, ``end``, a turn or a comment
    TT003  a ``meta:``/``vars:``/``facts:`` value that is not a one-line JSON object
    TT004  ``meta:``/``vars:`` repeated, or after ``start``/a turn
    TT005  a bad time prefix (``@SECONDS`` must be a non-negative number)
    TT006  a malformed marker (unknown kind, missing rule id, bad rule id)
    TT007  the same rule marked twice on one line, or both expected and not expected
    TT008  ``start``/``end`` repeated or out of place (``start`` after a turn, anything after ``end``)
    TT009  a call header with no name, or a name used twice in the file
    TT010  a call with no turns and no ``start``/``end`` line
    TT011  a turn that starts earlier than the previous timed turn
    TT012  a turn with no text
    TT013  (from :func:`check_rule_ids`) a marker naming a rule the pack does not define
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any

from trace_engine.errors import Diagnostic, Location, SourceMap, TraceError, TraceSyntaxError

MARKER_KINDS: tuple[str, ...] = ("ruleid", "ok", "todoruleid", "todook")
ROLES: tuple[str, ...] = ("agent", "caller")
#: The pseudo-role of a ``facts:`` line (a :class:`PackTestTurn` whose text is a JSON object of call facts).
FACTS_ROLE = "facts"
#: Kinds that expect a finding vs. kinds that expect none, for conflict checks.
_EXPECTS_FINDING = {"ruleid": True, "todoruleid": True, "ok": False, "todook": False}

_CALL_HEADER = re.compile(r"^===\s*call\s*:(?P<name>.*)$")
_KEYVALUE = re.compile(r"^(?P<key>meta|vars)\s*:(?P<value>.*)$")
_PSEUDO = re.compile(r"^(?P<word>start|end)(?P<rest>(\s.*)?)$")
_TURN = re.compile(r"^(?:@(?P<time>\S*)\s+)?(?P<role>[A-Za-z_]+)\s*:(?P<text>.*)$")
_MARKER_TAIL = re.compile(r"^\s*[A-Za-z][A-Za-z_-]*\s*:")
_MARKER_KIND_ONLY = re.compile(r"^\s*(?P<kind>[A-Za-z][A-Za-z_-]*)\b")
_MARKER_ITEM = re.compile(r"^(?P<kind>[A-Za-z][A-Za-z_-]*)\s*:\s*(?P<rule>\S*)\s*$")
_STRAY_MARKER = re.compile(r"(?P<hash>#)\s*(?:ruleid|ok|todoruleid|todook)\s*:", re.IGNORECASE)
_RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_ROLE_HINTS = {
    "user": "agent:",
    "customer": "caller:",
    "human": "caller:",
    "assistant": "agent:",
    "bot": "agent:",
    "ai": "agent:",
    "callee": "caller:",
    "consumer": "caller:",
}


@dataclass
class Marker:
    """One expectation: ``kind`` is one of :data:`MARKER_KINDS`; ``line`` is the 1-based line it sits on."""

    kind: str
    rule_id: str
    line: int

    @property
    def expects_finding(self) -> bool:
        return _EXPECTS_FINDING[self.kind]

    @property
    def todo(self) -> bool:
        return self.kind.startswith("todo")


@dataclass
class PackTestTurn:
    """One scripted turn. ``t`` is the start time in seconds when the line had an ``@SECONDS`` prefix."""

    line: int
    role: str
    text: str
    t: float | None
    markers: list[Marker] = field(default_factory=list)


@dataclass
class PackTestCall:
    """One scripted call with its metadata, config variables, turns and start/end markers."""

    name: str
    line: int
    metadata: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    turns: list[PackTestTurn] = field(default_factory=list)
    start_markers: list[Marker] = field(default_factory=list)
    end_markers: list[Marker] = field(default_factory=list)

    def all_markers(self) -> list[Marker]:
        """Every marker of the call in line order."""
        out = list(self.start_markers)
        for turn in self.turns:
            out.extend(turn.markers)
        out.extend(self.end_markers)
        return out


class _Parser:
    def __init__(self, text: str, filename: str):
        self.text = text
        self.filename = filename
        self.diagnostics: list[Diagnostic] = []
        self.calls: list[PackTestCall] = []
        # per-call parse state
        self.call: PackTestCall | None = None
        self.seen_meta = False
        self.seen_vars = False
        self.seen_start = False
        self.seen_end = False
        self.last_t: float | None = None
        self.names: dict[str, int] = {}
        self.errors_before_call = 0

    # ----------------------------------------------------------------------------------------- helpers

    def error(
        self,
        code: str,
        message: str,
        line: int,
        col: int,
        end_col: int | None = None,
        hint: str | None = None,
    ) -> None:
        loc = Location(self.filename, line, col, line, end_col)
        self.diagnostics.append(Diagnostic(code, message, loc, hint))

    # ----------------------------------------------------------------------------------------- lines

    def parse(self) -> list[PackTestCall]:
        for lineno, raw in enumerate(self.text.splitlines(), start=1):
            stripped = raw.strip()
            if not stripped or stripped.startswith("#"):
                continue
            indent = len(raw) - len(raw.lstrip())
            self.parse_line(lineno, raw.rstrip(), stripped, indent + 1)
        self.finish_call()
        return self.calls

    def parse_line(self, lineno: int, raw: str, s: str, col: int) -> None:
        header = _CALL_HEADER.match(s)
        if header:
            self.start_call(lineno, header.group("name").strip(), col)
            return
        if s.startswith("="):
            self.error(
                "TT002",
                "malformed call header",
                lineno,
                col,
                col + len(s),
                hint="a call starts with `=== call: NAME`",
            )
            return
        if self.call is None:
            self.error(
                "TT001",
                "line outside a call",
                lineno,
                col,
                col + len(s),
                hint="start the first call with `=== call: NAME`",
            )
            return
        kv = _KEYVALUE.match(s)
        if kv:
            self.parse_keyvalue(lineno, kv.group("key"), kv.group("value"), col, col + kv.start("value"))
            return
        pseudo = _PSEUDO.match(s)
        if pseudo:
            self.parse_pseudo(
                lineno, pseudo.group("word"), pseudo.group("rest"), col, col + pseudo.end("word")
            )
            return
        turn = _TURN.match(s)
        if turn and turn.group("role") in (*ROLES, FACTS_ROLE):
            self.parse_turn(lineno, s, turn, col)
            if turn.group("role") == FACTS_ROLE and self.call.turns and self.call.turns[-1].line == lineno:
                self.check_facts(lineno, self.call.turns[-1].text, col + turn.start("text"))
            return
        if turn:
            role = turn.group("role")
            hint = None
            if role.lower() in ROLES:
                hint = f"roles are lower case: `{role.lower()}:`"
            elif role.lower() in _ROLE_HINTS:
                hint = f"did you mean `{_ROLE_HINTS[role.lower()]}`?"
            else:
                close = difflib.get_close_matches(role.lower(), [*ROLES, "meta", "vars"], n=1)
                if close:
                    hint = f"did you mean `{close[0]}:`?"
            if hint is None:
                hint = "turns start with `agent:` or `caller:`"
            role_col = col + turn.start("role")
            self.error(
                "TT002", f"unknown line kind `{role}:`", lineno, role_col, role_col + len(role), hint=hint
            )
            return
        word = s.split()[0]
        hint = None
        close = difflib.get_close_matches(word.lower(), ["start", "end"], n=1, cutoff=0.75)
        if close:
            hint = f"did you mean `{close[0]}`?"
        else:
            hint = "expected `=== call:`, `meta:`, `vars:`, `start`, `end`, `agent:`, `caller:` or `facts:`"
        self.error("TT002", "unrecognized line", lineno, col, col + len(s), hint=hint)

    def start_call(self, lineno: int, name: str, col: int) -> None:
        self.finish_call()
        self.call = PackTestCall(name=name, line=lineno)
        self.errors_before_call = len(self.diagnostics)
        self.seen_meta = self.seen_vars = self.seen_start = self.seen_end = False
        self.last_t = None
        if not name:
            self.error("TT009", "call has no name", lineno, col, hint="write `=== call: NAME`")
        elif name in self.names:
            self.error(
                "TT009",
                f"duplicate call name `{name}` (first used on line {self.names[name]})",
                lineno,
                col,
                hint="give every call in a file its own name",
            )
        else:
            self.names[name] = lineno

    def finish_call(self) -> None:
        call = self.call
        if call is None:
            return
        clean = len(self.diagnostics) == self.errors_before_call
        if clean and not call.turns and not self.seen_start and not self.seen_end:
            self.error(
                "TT010",
                f"call `{call.name}` has no turns",
                call.line,
                1,
                hint="add `agent:`/`caller:` lines, or a `start` line for metadata-only checks",
            )
        self.calls.append(call)
        self.call = None

    def parse_keyvalue(self, lineno: int, key: str, value: str, col: int, value_col: int) -> None:
        assert self.call is not None
        seen = self.seen_meta if key == "meta" else self.seen_vars
        if seen:
            self.error(
                "TT004",
                f"`{key}:` given twice in call `{self.call.name}`",
                lineno,
                col,
                col + len(key),
                hint=f"merge them into one `{key}:` line",
            )
            return
        if self.seen_start or self.call.turns or self.seen_end:
            self.error(
                "TT004",
                f"`{key}:` after the call has started",
                lineno,
                col,
                col + len(key),
                hint=f"put `{key}:` right after the `=== call:` line",
            )
        if key == "meta":
            self.seen_meta = True
        else:
            self.seen_vars = True
        body = value.strip()
        body_col = value_col + (len(value) - len(value.lstrip()))
        try:
            data = json.loads(body) if body else None
        except json.JSONDecodeError as exc:
            self.error(
                "TT003",
                f"invalid JSON in `{key}:`: {exc.msg}",
                lineno,
                body_col + exc.pos,
                hint="the value must be a JSON object on one line, keys in double quotes",
            )
            return
        if not isinstance(data, dict):
            what = "nothing" if data is None and not body else type(data).__name__
            what = {
                "list": "an array",
                "str": "a string",
                "int": "a number",
                "float": "a number",
                "bool": "a boolean",
                "NoneType": "null",
            }.get(what, what)
            self.error(
                "TT003",
                f"`{key}:` must be a JSON object, not {what}",
                lineno,
                body_col,
                body_col + max(len(body), 1),
                hint=f'write `{key}: {{"key": "value"}}`',
            )
            return
        if key == "meta":
            self.call.metadata = data
        else:
            self.call.variables = data

    def parse_pseudo(self, lineno: int, word: str, rest: str, col: int, rest_col: int) -> None:
        assert self.call is not None
        rest_stripped = rest.strip()
        markers: list[Marker] = []
        if rest_stripped:
            lead = len(rest) - len(rest.lstrip())
            if rest_stripped.startswith("#"):
                markers = self.parse_markers(lineno, rest_stripped[1:], rest_col + lead + 1)
            else:
                self.error(
                    "TT002",
                    f"unexpected text after `{word}`",
                    lineno,
                    rest_col + lead,
                    rest_col + lead + len(rest_stripped),
                    hint=f"`{word}` takes only a marker comment: `{word}   # ruleid: RULE_ID`",
                )
                return
        if word == "start":
            if self.seen_start:
                self.error("TT008", "`start` given twice", lineno, col, col + 5)
            elif self.call.turns or self.seen_end:
                self.error(
                    "TT008",
                    "`start` after the first turn",
                    lineno,
                    col,
                    col + 5,
                    hint="`start` comes before the first turn",
                )
            self.seen_start = True
            self.call.start_markers.extend(markers)
        else:
            if self.seen_end:
                self.error("TT008", "`end` given twice", lineno, col, col + 3)
            self.seen_end = True
            self.call.end_markers.extend(markers)

    def parse_turn(self, lineno: int, s: str, m: re.Match[str], col: int) -> None:
        assert self.call is not None
        role = m.group("role")
        if self.seen_end:
            self.error(
                "TT008",
                "turn after `end`",
                lineno,
                col,
                col + len(s),
                hint="`end` is the last line of a call",
            )
        t: float | None = None
        if m.group("time") is not None:
            raw_t = m.group("time")
            t_col = col + 1
            try:
                t = float(raw_t)
                if not math.isfinite(t) or t < 0:
                    raise ValueError
            except ValueError:
                self.error(
                    "TT005",
                    f"bad time `@{raw_t}`",
                    lineno,
                    col,
                    t_col + len(raw_t),
                    hint="write the turn's start in seconds: `@42.5 agent: ...`",
                )
                t = None
            else:
                if self.last_t is not None and t < self.last_t:
                    self.error(
                        "TT011",
                        f"turn starts at {_fmt_t(t)}s, before the previous turn ({_fmt_t(self.last_t)}s)",
                        lineno,
                        col,
                        t_col + len(raw_t),
                        hint="turns are listed in the order they happen",
                    )
                self.last_t = t if self.last_t is None else max(self.last_t, t)
        text = m.group("text")
        text_col = col + m.start("text")
        markers: list[Marker] = []
        cut = text.rfind(" # ")
        if cut >= 0:
            tail = text[cut + 3 :]
            if _MARKER_TAIL.match(tail) or _looks_like_bare_marker(tail):
                markers = self.parse_markers(lineno, tail, text_col + cut + 3)
                text = text[:cut]
        stray = _STRAY_MARKER.search(text)
        if stray:
            hash_col = text_col + stray.start("hash")
            self.error(
                "TT006",
                "marker comment must start with ` # ` (a space on both sides of `#`)",
                lineno,
                hash_col,
                hash_col + 1,
                hint="write `TEXT   # ruleid: RULE_ID`",
            )
        body = text.strip()
        if not body:
            self.error(
                "TT012",
                f"`{role}:` turn has no text",
                lineno,
                col,
                col + len(s),
                hint="write what was said after the colon",
            )
        self.call.turns.append(PackTestTurn(line=lineno, role=role, text=body, t=t, markers=markers))

    def check_facts(self, lineno: int, body: str, col: int) -> None:
        """A ``facts:`` line must hold a JSON object on one line."""
        try:
            data = json.loads(body)
        except json.JSONDecodeError as exc:
            self.error(
                "TT003", f"invalid JSON in `facts:`: {exc.msg}", lineno, col + exc.pos,
                hint='write `facts: {"answered_by": "voicemail"}`',
            )
            return
        if not isinstance(data, dict) or not data:
            self.error(
                "TT003", "`facts:` must be a non-empty JSON object", lineno, col, col + len(body),
                hint='write `facts: {"answered_by": "voicemail"}`',
            )

    def parse_markers(self, lineno: int, tail: str, tail_col: int) -> list[Marker]:
        """Parse ``ruleid: X, ok: Y`` (``tail_col`` is the 1-based column of ``tail[0]``)."""
        markers: list[Marker] = []
        seen: dict[str, str] = {}
        pos = 0
        for item in tail.split(","):
            item_col = tail_col + pos + (len(item) - len(item.lstrip()))
            pos += len(item) + 1
            body = item.strip()
            end_col = item_col + max(len(body), 1)
            if not body:
                self.error(
                    "TT006",
                    "empty marker",
                    lineno,
                    item_col,
                    end_col,
                    hint="markers are comma-separated `ruleid: ID` / `ok: ID` items",
                )
                continue
            im = _MARKER_ITEM.match(body)
            if im is None:
                kind_only = _MARKER_KIND_ONLY.match(body)
                kind = kind_only.group("kind") if kind_only else body
                if kind.lower() in MARKER_KINDS:
                    self.error(
                        "TT006",
                        f"marker `{body}` has no colon",
                        lineno,
                        item_col,
                        end_col,
                        hint=f"write `{kind.lower()}: RULE_ID`",
                    )
                else:
                    self.error(
                        "TT006",
                        f"malformed marker `{body}`",
                        lineno,
                        item_col,
                        end_col,
                        hint="markers are `ruleid: ID`, `ok: ID`, `todoruleid: ID` or `todook: ID`",
                    )
                continue
            kind, rule_id = im.group("kind"), im.group("rule")
            if kind not in MARKER_KINDS:
                close = difflib.get_close_matches(kind.lower(), MARKER_KINDS, n=1, cutoff=0.6)
                hint = (
                    f"did you mean `{close[0]}`?"
                    if close
                    else "markers are `ruleid: ID`, `ok: ID`, `todoruleid: ID` or `todook: ID`"
                )
                self.error(
                    "TT006",
                    f"unknown marker kind `{kind}`",
                    lineno,
                    item_col,
                    item_col + len(kind),
                    hint=hint,
                )
                continue
            if not rule_id:
                self.error(
                    "TT006",
                    f"`{kind}:` marker has no rule id",
                    lineno,
                    item_col,
                    end_col,
                    hint=f"write `{kind}: RULE_ID`, e.g. `{kind}: tcpa-004`",
                )
                continue
            if not _RULE_ID.match(rule_id):
                rule_col = item_col + im.start("rule")
                self.error(
                    "TT006",
                    f"bad rule id `{rule_id}`",
                    lineno,
                    rule_col,
                    rule_col + len(rule_id),
                    hint="rule ids are letters, digits, `-`, `_` and `.`, e.g. `tcpa-004`",
                )
                continue
            if rule_id in seen:
                previous = seen[rule_id]
                if previous == kind:
                    self.error(
                        "TT007", f"`{kind}: {rule_id}` given twice on one line", lineno, item_col, end_col
                    )
                elif _EXPECTS_FINDING[previous] != _EXPECTS_FINDING[kind]:
                    self.error(
                        "TT007",
                        f"`{rule_id}` is marked both `{previous}` and `{kind}`",
                        lineno,
                        item_col,
                        end_col,
                        hint="a line either expects a finding from a rule or it does not",
                    )
                else:
                    self.error(
                        "TT007",
                        f"`{rule_id}` is marked both `{previous}` and `{kind}`",
                        lineno,
                        item_col,
                        end_col,
                        hint="keep one of them",
                    )
                continue
            seen[rule_id] = kind
            markers.append(Marker(kind=kind, rule_id=rule_id, line=lineno))
        return markers


def _looks_like_bare_marker(tail: str) -> bool:
    """``# ruleid tcpa-004`` (colon forgotten): treat as a marker comment so the typo is reported."""
    m = _MARKER_KIND_ONLY.match(tail)
    return bool(m and m.group("kind").lower() in MARKER_KINDS and len(tail.split()) == 2)


def _fmt_t(t: float) -> str:
    return f"{t:g}"


def parse_calls(text: str, filename: str) -> list[PackTestCall]:
    """Parse a ``.calls`` file. Raises :class:`TraceSyntaxError` carrying every error found."""
    parser = _Parser(text, filename)
    calls = parser.parse()
    if parser.diagnostics:
        diagnostics = sorted(parser.diagnostics, key=lambda d: (d.location.line, d.location.col))
        raise TraceSyntaxError(diagnostics, SourceMap(file=filename, text=text))
    return calls


def load_calls(path: str | os.PathLike[str]) -> list[PackTestCall]:
    """Read and parse a ``.calls`` file."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    return parse_calls(text, os.fspath(path))


def check_rule_ids(
    calls: list[PackTestCall], rule_ids: set[str] | frozenset[str], filename: str, text: str = ""
) -> list[Diagnostic]:
    """TT013 diagnostics for markers naming rules that ``rule_ids`` (the pack's rules) does not contain."""
    out: list[Diagnostic] = []
    known = sorted(rule_ids)
    for call in calls:
        for marker in call.all_markers():
            if marker.rule_id in rule_ids:
                continue
            col = 1
            if text:
                lines = text.splitlines()
                if 0 < marker.line <= len(lines):
                    found = lines[marker.line - 1].rfind(marker.rule_id)
                    col = found + 1 if found >= 0 else 1
            close = difflib.get_close_matches(marker.rule_id, known, n=1)
            hint = f"did you mean `{close[0]}`?" if close else None
            out.append(
                Diagnostic(
                    "TT013",
                    f"`{marker.kind}: {marker.rule_id}` names a rule the pack does not define",
                    Location(filename, marker.line, col, marker.line, col + len(marker.rule_id)),
                    hint,
                )
            )
    return out


# --------------------------------------------------------------------------------------------- discovery

_PACK_SUFFIXES: tuple[str, ...] = (".trace", ".json")
_SKIP_DIRS = {"__pycache__", "node_modules", ".venv", "venv"}


def _sibling_pack(calls_path: str) -> str | None:
    stem = calls_path[: -len(".calls")]
    for suffix in _PACK_SUFFIXES:
        candidate = stem + suffix
        if os.path.isfile(candidate):
            return candidate
    return None


def discover(paths: list[str]) -> list[tuple[str, str]]:
    """``(pack_path, calls_path)`` pairs for ``paths``, sorted and without duplicates.

    - a directory is searched recursively for ``*.calls`` files whose sibling ``*.trace`` (preferred) or
      ``*.json`` pack exists; hidden directories, ``__pycache__`` and virtualenvs are skipped;
    - a ``.calls`` file is paired with its sibling pack; it is an error (TT020) when there is none;
    - a ``.trace``/``.json`` pack is paired with its sibling ``.calls`` when there is one.

    A path that does not exist raises :class:`FileNotFoundError`.
    """
    pairs: list[tuple[str, str]] = []
    diagnostics: list[Diagnostic] = []
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
                for name in sorted(files):
                    if not name.endswith(".calls"):
                        continue
                    calls_path = os.path.join(root, name)
                    pack = _sibling_pack(calls_path)
                    if pack is not None:
                        pairs.append((pack, calls_path))
        elif os.path.isfile(path):
            if path.endswith(".calls"):
                pack = _sibling_pack(path)
                if pack is None:
                    stem = path[: -len(".calls")]
                    diagnostics.append(
                        Diagnostic(
                            "TT020",
                            "no pack next to this test file",
                            Location(path, 1, 1),
                            f"expected `{stem}.trace` or `{stem}.json`",
                        )
                    )
                else:
                    pairs.append((pack, path))
            elif path.endswith(_PACK_SUFFIXES):
                calls_path = os.path.splitext(path)[0] + ".calls"
                if os.path.isfile(calls_path):
                    pairs.append((path, calls_path))
        else:
            raise FileNotFoundError(path)
    if diagnostics:
        raise TraceError(diagnostics)
    seen: set[tuple[str, str]] = set()
    out: list[tuple[str, str]] = []
    for pair in sorted(pairs, key=lambda p: p[1]):
        if pair not in seen:
            seen.add(pair)
            out.append(pair)
    return out


__all__ = [
    "MARKER_KINDS",
    "Marker",
    "PackTestCall",
    "PackTestTurn",
    "check_rule_ids",
    "discover",
    "load_calls",
    "parse_calls",
]
