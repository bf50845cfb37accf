"""The compiler's input limits: one definition, enforced for every pack wherever it comes from.

A rule pack is untrusted input (a tenant's upload, a config's ``blocked_phrases``, a file handed to ``trace
check``), and the automata it compiles into are built by C code that trusts its input. So the compiler refuses,
with a diagnostic naming the limit, any pack beyond these bounds before it builds anything:

==================  =========  ======  ==========================================================================
limit               default    code    what it bounds
==================  =========  ======  ==========================================================================
``pack_bytes``      2 MiB      TS301   a pack's source (a ``.trace`` or ``.json`` file, an upload body)
``nesting``         100        TS302   nesting depth: JSON arrays/objects, ``.trace`` syntax, expressions, unions
``rules``           10,000     TS303   rules in one pack
``phrases``         50,000     TS304   phrases in one pack (named sets plus inline lists)
``phrase_chars``    1,000      TS305   characters in one phrase
``phrase_words``    64         TS306   words in one phrase
``regex_chars``     2,000      TS307   characters in one regular expression
==================  =========  ======  ==========================================================================

Why ``phrase_chars`` matters beyond tidiness: a phrase becomes one key of a pyahocorasick trie, one node per
character, and pyahocorasick frees its trie recursively (``clear_aux`` in ``src/Automaton.c`` calls itself once
per level). A key of about a million characters (a 300,000-word phrase is 2.1 million) overflows the 8 MiB C stack
when the automaton is garbage-collected, and the process dies with SIGSEGV (``trace check`` exited 139; the HTTP
server died for every tenant). Bounding every key to ``phrase_chars`` (after normalization, at most a few times
longer) keeps the trie at most a few thousand levels deep.

Users: :func:`trace_engine.compile.compile_packs` (its first pass), :func:`trace_engine.dsl.load_pack` (source
size), the JSON form (nesting), :func:`trace_engine.dsl.lint.lint_pack` (lint reports the limits and skips its
own automata on a pack beyond them), the ``.trace`` parser (size and nesting) and the HTTP API (upload and config
bodies, which get a 400 naming the limit; see ``docs/api.md``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any

from trace_engine import ir
from trace_engine.errors import Diagnostic, Location, SourceMap

__all__ = [
    "LIMITS",
    "Limits",
    "LIMIT_CODES",
    "check_pack",
    "has_non_finite",
    "json_depth_exceeds",
    "source_too_large",
]


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on one pack. Every field is documented in the module table; :data:`LIMITS` holds the defaults."""

    pack_bytes: int = 2 * 1024 * 1024
    nesting: int = 100
    rules: int = 10_000
    phrases: int = 50_000
    phrase_chars: int = 1_000
    phrase_words: int = 64
    regex_chars: int = 2_000

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


#: The limits in force (the HTTP API reports them in ``docs/api.md`` and in every 400 that names one).
LIMITS = Limits()

#: limit name -> diagnostic code
LIMIT_CODES: dict[str, str] = {
    "pack_bytes": "TS301",
    "nesting": "TS302",
    "rules": "TS303",
    "phrases": "TS304",
    "phrase_chars": "TS305",
    "phrase_words": "TS306",
    "regex_chars": "TS307",
}
#: diagnostic code -> limit name
CODE_LIMITS: dict[str, str] = {v: k for k, v in LIMIT_CODES.items()}


def _diag(name: str, message: str, location: Location, hint: str) -> Diagnostic:
    return Diagnostic(LIMIT_CODES[name], message, location, hint=hint)


def source_too_large(size: int, filename: str, limits: Limits = LIMITS) -> Diagnostic | None:
    """TS301 when a pack's source of ``size`` bytes exceeds ``limits.pack_bytes``."""
    if size <= limits.pack_bytes:
        return None
    return _diag(
        "pack_bytes",
        f"the pack is {size} bytes; the limit (pack_bytes) is {limits.pack_bytes}",
        Location(filename, 1, 1),
        "split it into several packs",
    )


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """Whether parsed JSON ``value`` nests arrays/objects deeper than ``limit`` (iterative: any depth is safe)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def has_non_finite(value: Any) -> bool:
    """Whether parsed JSON ``value`` holds a float JSON cannot represent (``1e999`` parses to ``inf``; storing it
    would write ``Infinity``, which is not JSON)."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            return True
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def reject_constant(name: str) -> Any:
    """``json.loads(parse_constant=...)``: ``NaN``, ``Infinity`` and ``-Infinity`` are not JSON."""
    raise ValueError(f"{name} is not a JSON value")


# ------------------------------------------------------------------------------------------------ the pack


def _matcher_leaves(m: ir.Matcher, depth: int) -> Iterator[tuple[ir.Matcher, int]]:
    stack = [(m, depth)]
    while stack:
        node, d = stack.pop()
        if isinstance(node, ir.AnyOf):
            stack.extend((member, d + 1) for member in node.members)
        else:
            yield node, d


def _expr_depth(expr: ir.Expr) -> int:
    deepest = 0
    stack: list[tuple[Any, int]] = [(expr, 1)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        if isinstance(node, ir.Call):
            kids: tuple = node.args
        elif isinstance(node, ir.Compare):
            kids = (node.left, node.right)
        elif isinstance(node, ir.Between):
            kids = (node.value, node.low, node.high)
        elif isinstance(node, ir.BoolOp):
            kids = node.operands
        elif isinstance(node, ir.Not):
            kids = (node.operand,)
        elif isinstance(node, ir.IfElse):
            kids = (node.cond, node.then, node.otherwise)
        else:
            kids = ()
        stack.extend((k, d + 1) for k in kids)
    return deepest


def _checks(rule: ir.Rule) -> Iterator[tuple[int, ir.Check, int]]:
    """(check index, check, nesting) of a rule's checks, ``on`` cues' inner checks included."""
    for i, check in enumerate(rule.checks):
        yield i, check, 1
        if isinstance(check, ir.OnCue):
            for inner in check.then:
                yield i, inner, 2


def _check_matchers(check: ir.Check) -> Iterator[ir.Matcher]:
    if isinstance(check, ir.MustSay):
        yield check.matcher
    elif isinstance(check, ir.MustNotSay):
        yield check.matcher
        if check.unless is not None:
            yield check.unless
    elif isinstance(check, ir.OnCue):
        yield check.cue


def check_pack(pack: ir.Pack, source: SourceMap | None = None, limits: Limits = LIMITS) -> list[Diagnostic]:
    """Every way ``pack`` exceeds ``limits`` (an empty list when it is within them). Linear in the pack's size;
    one diagnostic per limit kind at most for counts, one per offending phrase or pattern (up to 20) otherwise."""
    file = source.file if source is not None else f"<pack {pack.pack_id}>"

    def where(*key: object) -> Location:
        return source.get(*key) if source is not None else Location(file, 1, 1)

    out: list[Diagnostic] = []
    if len(pack.rules) > limits.rules:
        out.append(
            _diag(
                "rules",
                f"the pack has {len(pack.rules)} rules; the limit (rules) is {limits.rules}",
                where("header", "pack_id"),
                "split it into several packs",
            )
        )
    phrase_count = 0
    per_item: list[Diagnostic] = []

    def phrase(text: str, loc: Location) -> None:
        if len(text) > limits.phrase_chars:
            per_item.append(
                _diag(
                    "phrase_chars",
                    f"a phrase of {len(text)} characters; the limit (phrase_chars) is {limits.phrase_chars}",
                    loc,
                    "a phrase is something said in one breath: shorten it",
                )
            )
            return
        words = len(text.split())
        if words > limits.phrase_words:
            per_item.append(
                _diag(
                    "phrase_words",
                    f"a phrase of {words} words; the limit (phrase_words) is {limits.phrase_words}",
                    loc,
                    "a phrase is something said in one breath: shorten it",
                )
            )

    def regex(text: str, loc: Location) -> None:
        if len(text) > limits.regex_chars:
            per_item.append(
                _diag(
                    "regex_chars",
                    f"a pattern of {len(text)} characters; the limit (regex_chars) is {limits.regex_chars}",
                    loc,
                    "split it into several patterns",
                )
            )

    def nesting(depth: int, loc: Location) -> None:
        if depth > limits.nesting:
            per_item.append(
                _diag(
                    "nesting",
                    f"nested {depth} levels deep; the limit (nesting) is {limits.nesting}",
                    loc,
                    "split it with `and`/`or`, or simplify it",
                )
            )

    for name, items in pack.phrase_sets:
        phrase_count += len(items)
        for i, text in enumerate(items):
            phrase(text, where("phrase", name, i))
    for name, text in pack.patterns:
        regex(text, where("pattern", name))
    if pack.when is not None:
        nesting(_expr_depth(pack.when), where("header", "when"))

    def matcher(m: ir.Matcher, depth: int, loc: Location) -> None:
        nonlocal phrase_count
        for leaf, d in _matcher_leaves(m, depth):
            nesting(d, loc)
            if isinstance(leaf, ir.Phrases) and leaf.ref is None:
                phrase_count += len(leaf.items)
                for text in leaf.items:
                    phrase(text, loc)
            elif isinstance(leaf, ir.Regex) and leaf.ref is None:
                regex(leaf.source, loc)

    for state in pack.states:
        for step in state.steps:
            matcher(step.matcher, 1, where("state", state.name))
    for rule in pack.rules:
        if rule.when is not None:
            nesting(_expr_depth(rule.when), where("rule", rule.id, "field", "when"))
        for i, check, depth in _checks(rule):
            loc = where("rule", rule.id, "check", i)
            for m in _check_matchers(check):
                matcher(m, depth, loc)
            if isinstance(check, ir.Require):
                nesting(_expr_depth(check.expr), loc)
        if len(per_item) > 20:
            break
    if phrase_count > limits.phrases:
        out.append(
            _diag(
                "phrases",
                f"the pack has {phrase_count} phrases; the limit (phrases) is {limits.phrases}",
                where("header", "pack_id"),
                "split it into several packs",
            )
        )
    return out + per_item[:20]
