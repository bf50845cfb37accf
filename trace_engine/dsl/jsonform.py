"""The JSON form of a rule pack: ``ir.Pack`` <-> dict <-> JSON text, with located diagnostics.

The JSON form is described by ``schemas/rule_pack_schema.json`` (JSON Schema 2020-12; a copy ships in
``trace_engine/data/`` so an installed wheel finds it). It maps one to one onto :mod:`trace_engine.ir`:

* ``pack_from_dict(pack_to_dict(p)) == p`` for every valid IR pack (see "Validity" below).
* ``load_json_pack(dump_json_pack(p), f)[0] == p``.

Canonical form (what :func:`pack_to_dict` and :func:`dump_json_pack` write)
----------------------------------------------------------------------------
Key order, everywhere (a key is omitted when the IR value is ``None`` or an empty tuple, or ``ir.Always``):

* pack: ``pack_id, version, jurisdiction, legal_status, description, applies_to, when, phrases, patterns, states,
  rules``, then ``comments`` (the ``.trace`` source's comments, kept through ``convert``; not part of the IR, see
  :mod:`trace_engine.dsl.comments`)
* rule: ``id, title, severity, citation, reason, applies_to, when, checks, remedy, damages, examples``
* checks (tag ``kind``): ``must_say``: ``kind, match, within``; ``must_not_say``: ``kind, match, unless, scope``;
  ``on_cue``: ``kind, speaker, match, and_not, after, then``; ``require``: ``kind, expr``; ``tier2``:
  ``kind, check_id``
* applies_to: ``{FACT: [VALUE, ...], ...}`` in the order written (``{"direction": ["outbound"]}``)
* matchers (one tag key): ``{"phrases": [...]}``, ``{"phrase_set": NAME}``, ``{"regex": SRC}``, ``{"pattern": NAME}``,
  ``{"detector": KIND, "exempt": VAR}``, ``{"any_of": [...]}``
* windows: ``{"first_turn": true}``, ``{"turns": N}``, ``{"seconds": N}``, ``{"call_end": true}``
* scopes: ``{"until": STATE}``, ``{"turns": N}`` (inside ``on_cue`` only); ``ir.Always`` is written by omitting ``scope``
* expressions: ``{"field": F}``, ``{"const": V}``, ``{"call": F, "args": [...]}``,
  ``{"compare": OP, "left": E, "right": E}``, ``{"between": E, "low": E, "high": E}``, ``{"and": [...]}``,
  ``{"or": [...]}``, ``{"not": E}``, ``{"if": C, "then": A, "else": B}``
* damages: ``low, high, per, citation, note``
* remedy: ``kind, keep_last, placeholder, text``; state: ``name, steps``; step (also ``after``):
  ``speaker, match, unless, and_not``

``Const`` list values are written as JSON arrays and read back as tuples. Integers stay integers and floats stay
floats (``30`` vs ``30.0``), in ``Seconds`` and in ``Const``.

Validity
--------
References are written by name and resolved on the way back, so an IR pack round-trips only if each
``Phrases(items, ref=NAME)`` carries exactly the items of the pack's phrase set ``NAME`` and each
``Regex(source, ref=NAME)`` the source of pattern ``NAME``; :func:`pack_to_dict` raises :class:`ValueError`
otherwise.

Diagnostic codes
----------------
``TJ001`` the text is not JSON; ``TJ002`` the JSON does not follow the schema (one diagnostic per violation);
``TJ003`` a reference to an undefined phrase set, pattern or state; ``TJ004`` an invalid RE2 regex;
``TJ005`` a duplicate (JSON object key, rule id or state name); ``TJ006`` a rule's ``applies_to`` that widens its
pack's; ``TJ007`` a two-step state that is not an agent step then a caller step, or an ``after`` on an agent cue;
``TJ008`` damages whose ``low`` is above their ``high``.
"""

from __future__ import annotations

import bisect
import difflib
import functools
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from trace_engine import ir
from trace_engine.errors import Diagnostic, Location, SourceMap, TraceSyntaxError

__all__ = [
    "SCHEMA_ID",
    "dump_json_pack",
    "load_json_pack",
    "pack_from_dict",
    "pack_to_dict",
    "schema",
    "schema_validator",
]

SCHEMA_ID = "https://trace.dev/schemas/rule_pack_schema.json"
_SCHEMA_NAME = "rule_pack_schema.json"
_PACKAGED_SCHEMA = Path(__file__).resolve().parents[1] / "data" / _SCHEMA_NAME
_REPO_SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / _SCHEMA_NAME

Path_ = tuple  # a JSON path: keys (str) and array indices (int)


# ============================================================================================ schema


@functools.cache
def schema() -> dict[str, Any]:
    """The rule pack JSON Schema (packaged copy first, then the repository's ``schemas/``)."""
    for path in (_PACKAGED_SCHEMA, _REPO_SCHEMA):
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
    raise FileNotFoundError(f"{_SCHEMA_NAME} not found in {_PACKAGED_SCHEMA.parent} or {_REPO_SCHEMA.parent}")


@functools.cache
def schema_validator() -> Any:
    """A cached ``jsonschema`` Draft 2020-12 validator for :func:`schema`."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema())


# ============================================================================================ IR -> dict


def pack_to_dict(pack: ir.Pack) -> dict[str, Any]:
    """The canonical JSON form of ``pack`` (plain dicts, lists, str, int, float, bool).

    Raises :class:`ValueError` when a ``Phrases.ref`` / ``Regex.ref`` does not match the pack's declarations.
    """
    phrase_sets = {name: tuple(items) for name, items in pack.phrase_sets}
    patterns = dict(pack.patterns)
    w = _Writer(phrase_sets, patterns)
    d: dict[str, Any] = {
        "pack_id": pack.pack_id,
        "version": pack.version,
        "jurisdiction": pack.jurisdiction,
        "legal_status": pack.legal_status,
    }
    if pack.description is not None:
        d["description"] = pack.description
    if pack.applies_to is not None:
        d["applies_to"] = _applies_to_dict(pack.applies_to)
    if pack.when is not None:
        d["when"] = w.expr(pack.when)
    if pack.phrase_sets:
        d["phrases"] = {name: list(items) for name, items in pack.phrase_sets}
    if pack.patterns:
        d["patterns"] = {name: source for name, source in pack.patterns}
    if pack.states:
        d["states"] = [{"name": s.name, "steps": [w.step(st) for st in s.steps]} for s in pack.states]
    d["rules"] = [w.rule(r) for r in pack.rules]
    return d


def _applies_to_dict(a: ir.AppliesTo) -> dict[str, list[Any]]:
    return {c.fact: list(c.values) for c in a.conditions}


class _Writer:
    def __init__(self, phrase_sets: dict[str, tuple[str, ...]], patterns: dict[str, str]):
        self.phrase_sets = phrase_sets
        self.patterns = patterns

    def rule(self, r: ir.Rule) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": r.id,
            "title": r.title,
            "severity": r.severity,
            "citation": r.citation,
            "reason": r.reason,
        }
        if r.applies_to is not None:
            d["applies_to"] = _applies_to_dict(r.applies_to)
        if r.when is not None:
            d["when"] = self.expr(r.when)
        d["checks"] = [self.check(c) for c in r.checks]
        if r.remedy is not None:
            rem: dict[str, Any] = {"kind": r.remedy.kind}
            if r.remedy.keep_last is not None:
                rem["keep_last"] = r.remedy.keep_last
            if r.remedy.placeholder is not None:
                rem["placeholder"] = r.remedy.placeholder
            if r.remedy.text is not None:
                rem["text"] = r.remedy.text
            d["remedy"] = rem
        if r.damages is not None:
            dmg: dict[str, Any] = {
                "low": r.damages.low,
                "high": r.damages.high,
                "per": r.damages.per,
                "citation": r.damages.citation,
            }
            if r.damages.note is not None:
                dmg["note"] = r.damages.note
            d["damages"] = dmg
        if r.examples:
            d["examples"] = list(r.examples)
        return d

    def check(self, c: ir.Check) -> dict[str, Any]:
        if isinstance(c, ir.MustSay):
            return {"kind": "must_say", "match": self.matcher(c.matcher), "within": self.window(c.window)}
        if isinstance(c, ir.MustNotSay):
            d: dict[str, Any] = {"kind": "must_not_say", "match": self.matcher(c.matcher)}
            if c.unless is not None:
                d["unless"] = self.matcher(c.unless)
            if isinstance(c.scope, ir.UntilState):
                d["scope"] = {"until": c.scope.state}
            elif isinstance(c.scope, ir.ForTurns):
                d["scope"] = {"turns": c.scope.count}
            elif not isinstance(c.scope, ir.Always):
                raise ValueError(f"not a scope: {c.scope!r}")
            return d
        if isinstance(c, ir.OnCue):
            cue: dict[str, Any] = {"kind": "on_cue", "speaker": c.speaker, "match": self.matcher(c.cue)}
            if c.and_not is not None:
                cue["and_not"] = self.matcher(c.and_not)
            if c.after is not None:
                cue["after"] = self.step(c.after)
            cue["then"] = [self.check(t) for t in c.then]
            return cue
        if isinstance(c, ir.Require):
            return {"kind": "require", "expr": self.expr(c.expr)}
        if isinstance(c, ir.Tier2Ref):
            return {"kind": "tier2", "check_id": c.check_id}
        raise ValueError(f"not a check: {c!r}")

    def step(self, st: ir.StateStep) -> dict[str, Any]:
        d: dict[str, Any] = {"speaker": st.speaker, "match": self.matcher(st.matcher)}
        if st.unless is not None:
            d["unless"] = self.matcher(st.unless)
        if st.and_not is not None:
            d["and_not"] = self.matcher(st.and_not)
        return d

    def window(self, win: ir.Window) -> dict[str, Any]:
        if isinstance(win, ir.FirstTurn):
            return {"first_turn": True}
        if isinstance(win, ir.Turns):
            return {"turns": win.count}
        if isinstance(win, ir.Seconds):
            return {"seconds": win.seconds}
        if isinstance(win, ir.CallEnd):
            return {"call_end": True}
        raise ValueError(f"not a window: {win!r}")

    def matcher(self, m: ir.Matcher) -> dict[str, Any]:
        if isinstance(m, ir.Phrases):
            if m.ref is None:
                return {"phrases": list(m.items)}
            if self.phrase_sets.get(m.ref) != tuple(m.items):
                raise ValueError(f"Phrases ref {m.ref!r} does not match the pack's phrase set of that name")
            return {"phrase_set": m.ref}
        if isinstance(m, ir.Regex):
            if m.ref is None:
                return {"regex": m.source}
            if self.patterns.get(m.ref) != m.source:
                raise ValueError(f"Regex ref {m.ref!r} does not match the pack's pattern of that name")
            return {"pattern": m.ref}
        if isinstance(m, ir.Detector):
            d: dict[str, Any] = {"detector": m.kind}
            if m.exempt is not None:
                d["exempt"] = m.exempt
            return d
        if isinstance(m, ir.AnyOf):
            return {"any_of": [self.matcher(x) for x in m.members]}
        raise ValueError(f"not a matcher: {m!r}")

    def expr(self, e: ir.Expr) -> dict[str, Any]:
        if isinstance(e, ir.Field):
            return {"field": e.name}
        if isinstance(e, ir.Const):
            v = e.value
            return {"const": list(v) if isinstance(v, (list, tuple)) else v}
        if isinstance(e, ir.Call):
            return {"call": e.name, "args": [self.expr(a) for a in e.args]}
        if isinstance(e, ir.Compare):
            return {"compare": e.op, "left": self.expr(e.left), "right": self.expr(e.right)}
        if isinstance(e, ir.Between):
            return {"between": self.expr(e.value), "low": self.expr(e.low), "high": self.expr(e.high)}
        if isinstance(e, ir.BoolOp):
            return {e.op: [self.expr(x) for x in e.operands]}
        if isinstance(e, ir.Not):
            return {"not": self.expr(e.operand)}
        if isinstance(e, ir.IfElse):
            return {"if": self.expr(e.cond), "then": self.expr(e.then), "else": self.expr(e.otherwise)}
        raise ValueError(f"not an expression: {e!r}")


def dump_json_pack(pack: ir.Pack, comments: list | None = None) -> str:
    """Canonical pretty JSON: 2-space indent, keys in the documented order, UTF-8 kept, trailing newline.

    ``comments`` (:class:`~trace_engine.dsl.comments.Comment`, e.g. ``source.comments`` of a loaded ``.trace``
    file) are written last, under ``comments``, each keyed by the JSON pointer of its item.
    """
    d = pack_to_dict(pack)
    if comments:
        from trace_engine.dsl.comments import to_json

        d["comments"] = to_json(list(comments), pack)
    return json.dumps(d, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


# ============================================================================================ dict -> IR


def pack_from_dict(d: dict[str, Any], source: SourceMap | None = None) -> ir.Pack:
    """Validate ``d`` (schema, then references and regexes) and build the IR pack.

    Raises :class:`TraceSyntaxError` with every problem found. ``source``, when given, locates the diagnostics
    (through its keys; see :func:`load_json_pack`, which locates them exactly from the text).
    """
    file = source.file if source is not None else "<json>"

    def locate(path: Path_, on_key: bool = False) -> Location:
        if source is None:
            return Location(file, 1, 1)
        return source.get(*_source_key_for(d, path))

    return _read(d, locate, source)


def load_json_pack(text: str, filename: str) -> tuple[ir.Pack, SourceMap]:
    """Parse, validate and lower a JSON pack. Raises :class:`TraceSyntaxError` (never anything else on bad input).

    The returned :class:`SourceMap` has keys ``("header", FIELD)``, ``("phrase_set", NAME)``,
    ``("phrase", NAME, i)``, ``("pattern", NAME)``, ``("state", NAME)``, ``("rule", ID)``,
    ``("rule", ID, "field", FIELD)``, ``("rule", ID, "check", i)`` and ``("rule", ID, "check", i, "then", j)``.
    """
    source = SourceMap(filename, text)
    try:
        return _load(text, filename, source)
    except TraceSyntaxError:
        raise
    except RecursionError:
        diag = Diagnostic("TJ001", "the JSON is nested too deeply", Location(filename, 1, 1))
        raise TraceSyntaxError([diag], source) from None


def _load(text: str, filename: str, source: SourceMap) -> tuple[ir.Pack, SourceMap]:
    if text.startswith("\ufeff"):  # a UTF-8 BOM: tolerate it without shifting columns
        text = " " + text[1:]

    def reject_constant(name: str) -> Any:
        raise ValueError(name)

    try:
        data = json.loads(text, parse_constant=reject_constant)
    except json.JSONDecodeError as e:
        msg = e.msg[:1].lower() + e.msg[1:]
        diag = Diagnostic("TJ001", f"invalid JSON: {msg}", Location(filename, e.lineno, e.colno))
        raise TraceSyntaxError([diag], source) from None
    except ValueError as e:  # NaN, Infinity, -Infinity
        loc = _find_constant(text, str(e), filename)
        diag = Diagnostic("TJ001", f"invalid JSON: {e} is not a JSON value", loc)
        raise TraceSyntaxError([diag], source) from None

    from trace_engine.compile.limits import LIMIT_CODES, LIMITS, json_depth_exceeds

    if json_depth_exceeds(data, LIMITS.nesting):
        diag = Diagnostic(
            LIMIT_CODES["nesting"],
            f"the JSON is nested more than {LIMITS.nesting} levels deep; the limit (nesting) is {LIMITS.nesting}",
            Location(filename, 1, 1),
        )
        raise TraceSyntaxError([diag], source)
    locator = _Locator(text)

    def locate(path: Path_, on_key: bool = False) -> Location:
        return locator.location(filename, path, on_key)

    dups = [
        Diagnostic(
            "TJ005",
            f"{_fmt_path(p[:-1])}: duplicate key {json.dumps(p[-1], ensure_ascii=False)}",
            locate(p, True),
        )
        for p in locator.duplicates
    ]
    pack = _read(data, locate, source, extra=dups)
    _fill_source_map(source, data, locator, filename)
    if isinstance(data.get("comments"), list):
        from trace_engine.dsl.comments import from_json

        source.comments = from_json(data["comments"], pack)
    return pack, source


def locate_json_path(text: str, filename: str, path: tuple) -> Location:
    """Where the value at ``path`` (keys and indices) sits in the JSON ``text`` (which must parse), or its
    closest located ancestor."""
    return _Locator(text).location(filename, path)


def _find_constant(text: str, name: str, filename: str) -> Location:
    m = re.search(r"(?<![\w\"])" + re.escape(name), text)
    off = m.start() if m else 0
    line = text.count("\n", 0, off) + 1
    col = off - (text.rfind("\n", 0, off) + 1) + 1
    return Location(filename, line, col, line, col + len(name))


Locate = Callable[..., Location]


def _read(data: Any, locate: Locate, source: SourceMap | None, extra: Iterable[Diagnostic] = ()) -> ir.Pack:
    diags = list(extra)
    try:
        diags += _schema_diagnostics(data, locate)
        if isinstance(data, dict):
            diags += _semantic_diagnostics(data, locate)
    except RecursionError:
        diags.append(Diagnostic("TJ002", "the pack is nested too deeply", locate(())))
    if diags:
        diags.sort(key=lambda x: (x.location.line, x.location.col))
        raise TraceSyntaxError(_dedupe(diags), source)
    try:
        return _Builder(data).pack()
    except RecursionError:
        raise TraceSyntaxError(
            [Diagnostic("TJ002", "the pack is nested too deeply", locate(()))], source
        ) from None


def _dedupe(diags: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[Diagnostic] = set()
    out = []
    for x in diags:
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out


class _Builder:
    """Builds IR from a dict that already passed the schema and the semantic checks."""

    def __init__(self, d: dict[str, Any]):
        self.d = d
        self.phrase_sets = {k: tuple(v) for k, v in d.get("phrases", {}).items()}
        self.patterns = dict(d.get("patterns", {}))

    def pack(self) -> ir.Pack:
        d = self.d
        return ir.Pack(
            pack_id=d["pack_id"],
            version=d["version"],
            jurisdiction=d["jurisdiction"],
            legal_status=d["legal_status"],
            rules=tuple(self.rule(r) for r in d["rules"]),
            description=d.get("description"),
            when=self.expr(d["when"]) if "when" in d else None,
            phrase_sets=tuple(self.phrase_sets.items()),
            patterns=tuple(self.patterns.items()),
            states=tuple(
                ir.State(s["name"], tuple(self.step(st) for st in s["steps"])) for s in d.get("states", ())
            ),
            applies_to=_applies_to(d["applies_to"]) if "applies_to" in d else None,
        )

    def step(self, st: dict[str, Any]) -> ir.StateStep:
        return ir.StateStep(
            st["speaker"],
            self.matcher(st["match"]),
            self.matcher(st["unless"]) if "unless" in st else None,
            self.matcher(st["and_not"]) if "and_not" in st else None,
        )

    def rule(self, r: dict[str, Any]) -> ir.Rule:
        rem = r.get("remedy")
        dmg = r.get("damages")
        return ir.Rule(
            id=r["id"],
            title=r["title"],
            severity=r["severity"],
            citation=r["citation"],
            reason=r["reason"],
            checks=tuple(self.check(c) for c in r["checks"]),
            when=self.expr(r["when"]) if "when" in r else None,
            remedy=(
                ir.Remedy(rem["kind"], rem.get("keep_last"), rem.get("placeholder"), rem.get("text"))
                if rem is not None
                else None
            ),
            examples=tuple(r.get("examples", ())),
            applies_to=_applies_to(r["applies_to"]) if "applies_to" in r else None,
            damages=(
                ir.Damages(dmg["low"], dmg["high"], dmg["per"], dmg["citation"], dmg.get("note"))
                if dmg is not None
                else None
            ),
        )

    def check(self, c: dict[str, Any]) -> Any:
        kind = c["kind"]
        if kind == "must_say":
            return ir.MustSay(self.matcher(c["match"]), self.window(c["within"]))
        if kind == "must_not_say":
            scope: ir.Scope = ir.Always()
            if "scope" in c:
                sc = c["scope"]
                scope = ir.UntilState(sc["until"]) if "until" in sc else ir.ForTurns(sc["turns"])
            unless = self.matcher(c["unless"]) if "unless" in c else None
            return ir.MustNotSay(self.matcher(c["match"]), unless, scope)
        if kind == "on_cue":
            return ir.OnCue(
                c["speaker"],
                self.matcher(c["match"]),
                tuple(self.check(t) for t in c["then"]),
                self.matcher(c["and_not"]) if "and_not" in c else None,
                self.step(c["after"]) if "after" in c else None,
            )
        if kind == "require":
            return ir.Require(self.expr(c["expr"]))
        return ir.Tier2Ref(c["check_id"])

    @staticmethod
    def window(w: dict[str, Any]) -> ir.Window:
        if "first_turn" in w:
            return ir.FirstTurn()
        if "turns" in w:
            return ir.Turns(w["turns"])
        if "seconds" in w:
            return ir.Seconds(w["seconds"])
        return ir.CallEnd()

    def matcher(self, m: dict[str, Any]) -> ir.Matcher:
        if "phrases" in m:
            return ir.Phrases(tuple(m["phrases"]))
        if "phrase_set" in m:
            return ir.Phrases(self.phrase_sets[m["phrase_set"]], ref=m["phrase_set"])
        if "regex" in m:
            return ir.Regex(m["regex"])
        if "pattern" in m:
            return ir.Regex(self.patterns[m["pattern"]], ref=m["pattern"])
        if "detector" in m:
            return ir.Detector(m["detector"], m.get("exempt"))
        return ir.AnyOf(tuple(self.matcher(x) for x in m["any_of"]))

    def expr(self, e: dict[str, Any]) -> ir.Expr:
        if "field" in e:
            return ir.Field(e["field"])
        if "const" in e:
            v = e["const"]
            return ir.Const(tuple(v) if isinstance(v, list) else v)
        if "call" in e:
            return ir.Call(e["call"], tuple(self.expr(a) for a in e["args"]))
        if "compare" in e:
            return ir.Compare(e["compare"], self.expr(e["left"]), self.expr(e["right"]))
        if "between" in e:
            return ir.Between(self.expr(e["between"]), self.expr(e["low"]), self.expr(e["high"]))
        if "and" in e:
            return ir.BoolOp("and", tuple(self.expr(x) for x in e["and"]))
        if "or" in e:
            return ir.BoolOp("or", tuple(self.expr(x) for x in e["or"]))
        if "not" in e:
            return ir.Not(self.expr(e["not"]))
        return ir.IfElse(self.expr(e["if"]), self.expr(e["then"]), self.expr(e["else"]))


def _applies_to(d: dict[str, list[Any]]) -> ir.AppliesTo:
    return ir.AppliesTo(tuple(ir.FactValues(fact, tuple(values)) for fact, values in d.items()))


# ============================================================================================ diagnostics


def _fmt_path(path: Iterable[Any]) -> str:
    out = "$"
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        elif isinstance(p, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", p):
            out += f".{p}"
        else:
            out += f"[{json.dumps(p, ensure_ascii=False)}]"
    return out


def _j(v: Any) -> str:
    """A value as JSON, shortened for messages."""
    try:
        s = json.dumps(v, ensure_ascii=False)
    except (TypeError, ValueError):
        s = repr(v)
    return s if len(s) <= 60 else s[:57] + "..."


_TYPE_NAMES = {
    "object": "an object",
    "array": "an array",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "null": "null",
}


def _type_of(v: Any) -> str:
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int):
        return "an integer"
    if isinstance(v, float):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "an array"
    if isinstance(v, dict):
        return "an object"
    if v is None:
        return "null"
    return type(v).__name__


def _hint(word: Any, candidates: Iterable[str]) -> str | None:
    if not isinstance(word, str):
        return None
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"did you mean {json.dumps(close[0], ensure_ascii=False)}?" if close else None


#: schema errors reported at most (like the parser's MAX_ERRORS): a pack of 10,000 empty rules is 60,000 errors,
#: and finding, locating and sending them all took seconds
MAX_SCHEMA_ERRORS = 100


def _schema_diagnostics(data: Any, locate: Locate) -> list[Diagnostic]:
    # counted once each: several schema branches often report the same problem, and a cap that counted those
    # repeats said "stopped after 100" over a handful of distinct errors
    out: list[Diagnostic] = []
    seen: set[Diagnostic] = set()
    for err in schema_validator().iter_errors(data):
        for d in _diagnostics_for(err, locate):
            if d not in seen:
                seen.add(d)
                out.append(d)
        if len(out) >= MAX_SCHEMA_ERRORS:
            out = out[:MAX_SCHEMA_ERRORS]
            out.append(
                Diagnostic("TS009", f"too many errors: reporting stopped after {MAX_SCHEMA_ERRORS}", locate(()))
            )
            break
    return out


def _diagnostics_for(err: Any, locate: Locate) -> list[Diagnostic]:
    path = tuple(err.absolute_path)
    where = _fmt_path(path)
    v = err.validator
    inst = err.instance
    val = err.validator_value
    hint = None
    if v == "required":
        missing = [k for k in val if isinstance(inst, dict) and k not in inst]
        return [
            Diagnostic(
                "TJ002",
                f"{where}: missing required property {json.dumps(k)}",
                locate(path),
                _hint_for_missing(k, inst),
            )
            for k in missing
        ] or [Diagnostic("TJ002", f"{where}: {err.message}", locate(path))]
    if v == "additionalProperties" and isinstance(inst, dict):
        allowed = list(err.schema.get("properties", {}))
        extra = [k for k in inst if k not in allowed]
        return [
            Diagnostic(
                "TJ002",
                f"{where}: unknown property {json.dumps(k, ensure_ascii=False)}",
                locate(path + (k,), True),
                _hint(k, allowed) or ("allowed: " + ", ".join(allowed) if allowed else None),
            )
            for k in extra
        ]
    if "propertyNames" in err.absolute_schema_path and isinstance(inst, str):
        return [
            Diagnostic(
                "TJ002",
                f"{where}: {_j(inst)} is not a valid name (letters, digits and _, not starting with a digit)",
                locate(path + (inst,), True),
            )
        ]
    if v == "not" and isinstance(val, dict) and list(val) == ["required"] and len(val["required"]) == 1:
        key = val["required"][0]
        desc = err.schema.get("description") if isinstance(err.schema, dict) else None
        msg = f"{where}: " + (desc or f"property {json.dumps(key)} is not allowed here")
        return [Diagnostic("TJ002", msg.replace("`", '"'), locate(path + (key,), True))]
    if v == "enum":
        msg = f"{where}: {_j(inst)} is not one of " + ", ".join(_j(x) for x in val)
        hint = _hint(inst, [x for x in val if isinstance(x, str)])
    elif v == "const":
        msg = f"{where}: expected {_j(val)}, got {_j(inst)}"
    elif v == "type":
        types = val if isinstance(val, list) else [val]
        msg = (
            f"{where}: expected "
            + " or ".join(_TYPE_NAMES.get(t, t) for t in types)
            + f", got {_type_of(inst)}"
        )
    elif v == "pattern":
        msg = f"{where}: {_j(inst)} does not match {val}"
    elif v == "minItems":
        n = len(inst) if isinstance(inst, list) else 0
        msg = f"{where}: expected at least {val} item{'s' if val != 1 else ''}, got {n}"
    elif v == "maxItems":
        n = len(inst) if isinstance(inst, list) else 0
        msg = f"{where}: expected at most {val} item{'s' if val != 1 else ''}, got {n}"
    elif v == "minLength":
        msg = (
            f"{where}: expected a non-empty string"
            if val == 1
            else f"{where}: expected at least {val} characters"
        )
    elif v == "minimum":
        msg = f"{where}: expected a number >= {val}, got {_j(inst)}"
    elif v == "exclusiveMinimum":
        msg = f"{where}: expected a number > {val}, got {_j(inst)}"
    elif v == "anyOf" and all(set(s) == {"required"} and len(s["required"]) == 1 for s in val):
        tags = [s["required"][0] for s in val]
        msg = f"{where}: expected an object with one of the keys " + ", ".join(json.dumps(t) for t in tags)
        if isinstance(inst, dict):
            hint = next((h for h in (_hint(k, tags) for k in inst) if h), None)
    else:
        msg = f"{where}: {err.message}"
    return [Diagnostic("TJ002", msg, locate(path), hint)]


def _hint_for_missing(key: str, inst: Any) -> str | None:
    if not isinstance(inst, dict):
        return None
    for k in inst:
        if isinstance(k, str) and difflib.get_close_matches(k, [key], n=1, cutoff=0.6) and k != key:
            return f"found {json.dumps(k, ensure_ascii=False)}; did you mean {json.dumps(key)}?"
    return None


def _semantic_diagnostics(d: dict[str, Any], locate: Locate) -> list[Diagnostic]:
    """References, regexes and duplicates, checked defensively (the dict may not follow the schema)."""
    out: list[Diagnostic] = []
    phrases = d.get("phrases") if isinstance(d.get("phrases"), dict) else {}
    patterns = d.get("patterns") if isinstance(d.get("patterns"), dict) else {}
    states_l = d.get("states") if isinstance(d.get("states"), list) else []
    state_names: list[str] = []
    for i, s in enumerate(states_l):
        if isinstance(s, dict) and isinstance(s.get("name"), str):
            if s["name"] in state_names:
                out.append(
                    Diagnostic(
                        "TJ005", f"duplicate state {json.dumps(s['name'])}", locate(("states", i, "name"))
                    )
                )
            state_names.append(s["name"])
    rules = d.get("rules") if isinstance(d.get("rules"), list) else []
    seen_ids: set[str] = set()
    for i, r in enumerate(rules):
        if isinstance(r, dict) and isinstance(r.get("id"), str):
            if r["id"] in seen_ids:
                out.append(
                    Diagnostic(
                        "TJ005", f"duplicate rule id {json.dumps(r['id'])}", locate(("rules", i, "id"))
                    )
                )
            seen_ids.add(r["id"])

    pack_scope = d.get("applies_to") if isinstance(d.get("applies_to"), dict) else {}
    for i, r in enumerate(rules):
        scope = r.get("applies_to") if isinstance(r, dict) else None
        if not isinstance(scope, dict):
            continue
        for fact, values in scope.items():
            allowed = pack_scope.get(fact)
            if isinstance(values, list) and isinstance(allowed, list) and any(v not in allowed for v in values):
                out.append(
                    Diagnostic(
                        "TJ006",
                        f"$.rules[{i}].applies_to.{fact}: the rule widens its pack's scope (the pack applies to "
                        f"{fact} {_j(allowed)}); a rule may only narrow where its pack applies",
                        locate(("rules", i, "applies_to", fact)),
                    )
                )
    for i, r in enumerate(rules):
        dmg = r.get("damages") if isinstance(r, dict) else None
        if isinstance(dmg, dict):
            low, high = dmg.get("low"), dmg.get("high")
            if all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high)) and low > high:
                out.append(
                    Diagnostic(
                        "TJ008",
                        f"$.rules[{i}].damages: low ({low}) is above high ({high})",
                        locate(("rules", i, "damages", "low")),
                    )
                )
    for i, s in enumerate(states_l):
        steps = s.get("steps") if isinstance(s, dict) else None
        if isinstance(steps, list) and len(steps) == 2 and all(isinstance(x, dict) for x in steps):
            if (steps[0].get("speaker"), steps[1].get("speaker")) != ("agent", "caller"):
                out.append(
                    Diagnostic(
                        "TJ007",
                        f"$.states[{i}]: two steps are a question and its answer: an agent step, then a caller step",
                        locate(("states", i, "steps")),
                    )
                )

    def after_on_agent_cue(node: Any, path: Path_) -> None:
        if isinstance(node, dict) and node.get("kind") == "on_cue" and "after" in node and node.get("speaker") != "caller":
            out.append(
                Diagnostic(
                    "TJ007", f"{_fmt_path(path)}: `after` is for caller cues (the agent turn a caller answers)",
                    locate(path + ("after",)),
                )
            )

    for i, r in enumerate(rules):
        for j, c in enumerate(r.get("checks", ()) if isinstance(r, dict) and isinstance(r.get("checks"), list) else ()):
            after_on_agent_cue(c, ("rules", i, "checks", j))

    def bad_regex(src: Any, path: Path_) -> None:
        if isinstance(src, str) and src:
            err = _re2_error(src)
            if err is not None:
                out.append(Diagnostic("TJ004", f"invalid RE2 regex {_j(src)}: {err}", locate(path)))

    for name, src in patterns.items():
        bad_regex(src, ("patterns", name))

    def undefined(kind: str, name: str, path: Path_, candidates: list[str], other: dict[str, str]) -> None:
        hint = None
        for other_kind, other_names in other.items():
            if name in other_names:
                hint = f"{json.dumps(name)} is a {other_kind}"
                break
        hint = hint or _hint(name, candidates)
        out.append(
            Diagnostic(
                "TJ003", f"undefined {kind} {json.dumps(name, ensure_ascii=False)}", locate(path), hint
            )
        )

    def walk(node: Any, path: Path_) -> None:
        # iterative, so deep nesting cannot overflow the stack
        stack = [(node, path)]
        while stack:
            n, p = stack.pop()
            if isinstance(n, dict):
                ps = n.get("phrase_set")
                if isinstance(ps, str) and ps not in phrases and _is_matcher_context(p):
                    undefined(
                        "phrase set",
                        ps,
                        p + ("phrase_set",),
                        list(phrases),
                        {'pattern; use {"pattern": ...}': patterns},  # type: ignore[dict-item]
                    )
                pt = n.get("pattern")
                if isinstance(pt, str) and pt not in patterns and _is_matcher_context(p):
                    undefined(
                        "pattern",
                        pt,
                        p + ("pattern",),
                        list(patterns),
                        {'phrase set; use {"phrase_set": ...}': phrases},  # type: ignore[dict-item]
                    )
                if "regex" in n and _is_matcher_context(p):
                    bad_regex(n["regex"], p + ("regex",))
                un = n.get("until")
                if isinstance(un, str) and un not in state_names and p[-1:] == ("scope",):
                    undefined("state", un, p + ("until",), state_names, {})
                fld = n.get("field")
                if isinstance(fld, str) and fld.startswith("state.") and fld[6:] not in state_names:
                    undefined("state", fld[6:], p + ("field",), state_names, {})
                for k, v in n.items():
                    if isinstance(v, (dict, list)):
                        stack.append((v, p + (k,)))
            elif isinstance(n, list):
                for i, v in enumerate(n):
                    if isinstance(v, (dict, list)):
                        stack.append((v, p + (i,)))

    for key in ("when", "states", "rules"):
        if key in d:
            walk(d[key], (key,))
    return out


def _is_matcher_context(path: Path_) -> bool:
    """True when the object at ``path`` sits where a matcher goes (not, say, inside an expression constant)."""
    if not path:
        return False
    last = path[-1]
    if last in ("match", "unless", "and_not"):
        return True
    if isinstance(last, int) and len(path) >= 2 and path[-2] == "any_of":
        return True
    return False


@functools.cache
def _re2_options() -> Any:
    import re2

    opts = re2.Options()
    opts.log_errors = False
    return opts


@functools.lru_cache(maxsize=1024)
def _re2_error(src: str) -> str | None:
    """``None`` when ``src`` compiles under RE2, else RE2's message."""
    import re2

    try:
        re2.compile(src, _re2_options())
    except re2.error as e:
        arg = e.args[0] if e.args else str(e)
        msg = arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)
        return msg.split(": ", 1)[0]
    except Exception as e:  # noqa: BLE001 - e.g. text RE2 cannot encode
        return str(e) or type(e).__name__
    return None


# ============================================================================================ source map


def _source_key_for(d: Any, path: Path_) -> tuple:
    """The :class:`SourceMap` key closest to a JSON path of ``d`` (``("rules", 2, "checks", 0)`` ->
    ``("rule", ID, "check", 0)``)."""
    if not path:
        return ("header", "pack_id")
    head = path[0]
    if head in ("pack_id", "version", "jurisdiction", "legal_status", "description", "applies_to", "when"):
        return ("header", head)
    if head == "phrases":
        if len(path) >= 3 and isinstance(path[2], int):
            return ("phrase", path[1], path[2])
        return ("phrase_set", path[1]) if len(path) >= 2 else ("header", "pack_id")
    if head == "patterns":
        return ("pattern", path[1]) if len(path) >= 2 else ("header", "pack_id")
    if head == "states" and len(path) >= 2:
        try:
            return ("state", d["states"][path[1]]["name"])
        except (KeyError, IndexError, TypeError):
            return ("header", "pack_id")
    if head == "rules" and len(path) >= 2:
        try:
            rid = d["rules"][path[1]]["id"]
        except (KeyError, IndexError, TypeError):
            return ("header", "pack_id")
        if len(path) >= 4 and path[2] == "checks" and isinstance(path[3], int):
            key: tuple = ("rule", rid, "check", path[3])
            if len(path) >= 6 and path[4] == "then" and isinstance(path[5], int):
                key += ("then", path[5])
            return key
        if len(path) >= 3 and isinstance(path[2], str):
            return ("rule", rid, "field", path[2])
        return ("rule", rid)
    return ("header", "pack_id")


def _fill_source_map(source: SourceMap, d: dict[str, Any], loc: _Locator, file: str) -> None:
    put = source.locations.__setitem__
    for k in ("pack_id", "version", "jurisdiction", "legal_status", "description", "applies_to", "when"):
        if k in d:
            put(("header", k), loc.location(file, (k,)))
    for name, items in d.get("phrases", {}).items():
        put(("phrase_set", name), loc.location(file, ("phrases", name), True))
        for i in range(len(items)):
            put(("phrase", name, i), loc.location(file, ("phrases", name, i)))
    for name in d.get("patterns", {}):
        put(("pattern", name), loc.location(file, ("patterns", name), True))
    for i, s in enumerate(d.get("states", ())):
        put(("state", s["name"]), loc.location(file, ("states", i, "name")))
    for i, r in enumerate(d["rules"]):
        rid = r["id"]
        base = ("rules", i)
        put(("rule", rid), loc.location(file, base + ("id",)))
        for k in r:
            put(("rule", rid, "field", k), loc.location(file, base + (k,)))
        for j, c in enumerate(r["checks"]):
            put(("rule", rid, "check", j), loc.location(file, base + ("checks", j, "kind")))
            for t in range(len(c.get("then", ()))):
                put(
                    ("rule", rid, "check", j, "then", t),
                    loc.location(file, base + ("checks", j, "then", t, "kind")),
                )


_WS = " \t\r\n"
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_SCALAR = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null")


class _Locator:
    """Maps JSON paths to spans in the text: a small iterative JSON scanner (the text is known to parse).

    ``values[path]`` is the (start, end) offset of the value at ``path``; ``keys[path]`` the span of the object key
    that introduces it. ``duplicates`` lists paths whose key occurs twice in an object (the last one wins, as in
    :func:`json.loads`).
    """

    def __init__(self, text: str):
        self.text = text
        self.values: dict[Path_, tuple[int, int]] = {}
        self.keys: dict[Path_, tuple[int, int]] = {}
        self.duplicates: list[Path_] = []
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        try:
            self._scan()
        except (IndexError, ValueError):  # pragma: no cover - only for text json.loads rejected
            pass

    def _ws(self, i: int) -> int:
        s = self.text
        n = len(s)
        while i < n and s[i] in _WS:
            i += 1
        return i

    def _key(self, i: int, frame: list[Any]) -> tuple[int, Path_]:
        m = _STRING.match(self.text, i)
        if m is None:
            raise ValueError("expected a key")
        key = json.loads(m.group())
        path = frame[1] + (key,)
        if key in frame[3]:
            self.duplicates.append(path)
        frame[3].add(key)
        self.keys[path] = (m.start(), m.end())
        i = self._ws(m.end())
        if self.text[i] != ":":
            raise ValueError("expected ':'")
        return self._ws(i + 1), path

    def _scan(self) -> None:
        s = self.text
        i = self._ws(0)
        path: Path_ = ()
        stack: list[list[Any]] = []  # [kind, path, start, seen_keys | index]
        while True:
            c = s[i]
            if c == "{" or c == "[":
                frame = [c, path, i, set() if c == "{" else 0]
                stack.append(frame)
                i = self._ws(i + 1)
                if s[i] in "}]":
                    pass  # empty container: closed below
                elif c == "{":
                    i, path = self._key(i, frame)
                    continue
                else:
                    path = path + (0,)
                    continue
            else:
                m = _STRING.match(s, i) if c == '"' else _SCALAR.match(s, i)
                if m is None:
                    raise ValueError("unexpected character")
                self.values[path] = (i, m.end())
                i = self._ws(m.end())
            # after a value (or at an empty container's closing bracket)
            while stack:
                frame = stack[-1]
                if s[i] == ",":
                    i = self._ws(i + 1)
                    if frame[0] == "{":
                        i, path = self._key(i, frame)
                    else:
                        frame[3] += 1
                        path = frame[1] + (frame[3],)
                    break
                # closing bracket
                self.values[frame[1]] = (frame[2], i + 1)
                stack.pop()
                i = self._ws(i + 1)
            else:
                return

    def _pos(self, off: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._line_starts, off)
        return line, off - self._line_starts[line - 1] + 1

    def location(self, file: str, path: Path_, on_key: bool = False) -> Location:
        """The key (``on_key``) or value at ``path``, falling back to the closest located ancestor."""
        probe = tuple(path)
        while True:
            span = self.keys.get(probe) if on_key else None
            if span is None:
                span = self.values.get(probe)
            if span is not None:
                (l1, c1), (l2, c2) = self._pos(span[0]), self._pos(span[1])
                return Location(file, l1, c1, l2, c2)
            if not probe:
                return Location(file, 1, 1)
            probe = probe[:-1]
            on_key = False
