"""Literal atoms of a regular expression: strings that every match must contain (YARA-style).

The compiler runs a pattern only where one of its atoms occurs in the normalized view (the atoms go into the
pack's Aho-Corasick automaton), and lint rule TL004 warns about patterns without a usable atom.

The expression is parsed with Python's ``re._parser`` (sre_parse) and the parse tree is walked:

* concatenations of literals form *runs*; a run is a candidate atom;
* an alternation is a candidate *set*: the regex needs one atom per branch (``(act now|last chance)``);
* optional parts (``?``, ``*``, ``{0,n}``), character classes, ``.``, backreferences and lookaround break runs;
  classes are not expanded, except tiny literal-only ones (at most :data:`MAX_CLASS_EXPANSION` characters) because
  sre_parse itself rewrites ``cat|car`` into ``ca[tr]``;
* anchors and ``\\b`` are zero-width and do not break runs;
* atoms are lower-cased (the normalized view is lower case) and stripped of edge whitespace.

Among the candidates of a concatenation the one whose shortest atom is longest wins (ties: fewer atoms, then the
first). The result is minimal: an atom that contains another atom of the set is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

try:  # Python 3.11+
    import re._constants as _c  # type: ignore[import-not-found]
    import re._parser as _parser  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - older interpreters
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _parser  # type: ignore[no-redef]

__all__ = ["DEFAULT_MIN_LEN", "MAX_CLASS_EXPANSION", "atoms_or_none", "extract_atoms", "translate_re2"]

DEFAULT_MIN_LEN = 3
#: A literal-only character class with at most this many characters is expanded (``ca[tr]`` -> cat, car).
MAX_CLASS_EXPANSION = 4
#: The largest literal language a run may stand for before it is cut (cross products of alternations).
_MAX_STRINGS = 64


@dataclass(frozen=True, slots=True)
class _Lit:
    """A finite literal language: the element matches exactly one of ``strings``."""

    strings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Other:
    """A non-literal element. ``req``: atoms of which every match contains one, or ``None``."""

    req: tuple[str, ...] | None


# RE2 escapes that Python's parser does not know, mapped to something with the same literal content.
_RE2_ESCAPES = {"z": r"\Z", "C": ".", "pN": r"\d", "PN": r"\D"}


def translate_re2(regex: str) -> str:
    """Rewrite RE2-only syntax (``\\pL``, ``\\p{Greek}``, ``\\z``, ``\\C``, ``\\Q..\\E``, ``[[:alpha:]]``) so that
    Python's parser accepts it with the same literal structure."""
    out: list[str] = []
    i = 0
    n = len(regex)
    in_class = False  # inside a bracket expression: only there is `[:alpha:]` a POSIX class
    while i < n:
        ch = regex[i]
        if ch == "\\" and i + 1 < n:
            nxt = regex[i + 1]
            if nxt in "pP":
                if i + 2 < n and regex[i + 2] == "{":
                    end = regex.find("}", i + 3)
                    end = n - 1 if end < 0 else end
                    name = regex[i + 3 : end]
                    i = end + 1
                else:
                    name = regex[i + 2 : i + 3]
                    i += 3
                out.append(_RE2_ESCAPES.get(nxt + name, r"\w" if nxt == "p" else r"\W"))
                continue
            if nxt == "Q":
                end = regex.find(r"\E", i + 2)
                end = n if end < 0 else end
                out.append(re.escape(regex[i + 2 : end]))
                i = end + 2
                continue
            if nxt in _RE2_ESCAPES:
                out.append(_RE2_ESCAPES[nxt])
                i += 2
                continue
            out.append(regex[i : i + 2])
            i += 2
            continue
        if regex.startswith("(?<", i) and i + 3 < n and regex[i + 3] not in "=!":
            out.append("(?P<")  # RE2's (?<name>...) is Python's (?P<name>...)
            i += 3
            continue
        if ch == "[" and in_class and regex.startswith("[:", i):
            end = regex.find(":]", i + 2)
            if end > 0:
                out.append(r"\w")
                i = end + 2
                continue
        if ch == "[" and not in_class:
            # a bracket expression opens (outside one, `[:a]` is the class of ":" and "a"); a `^` and a `]` right
            # after it are its own
            in_class = True
            j = i + 1 + (regex.startswith("^", i + 1))
            j += regex.startswith("]", j)
            out.append(regex[i:j])
            i = j
            continue
        if ch == "]" and in_class:
            in_class = False
        out.append(ch)
        i += 1
    return "".join(out)


def extract_atoms(regex: str, min_len: int = DEFAULT_MIN_LEN) -> list[str]:
    """Literal substrings such that every match of ``regex`` contains at least one of them.

    Returns ``[]`` when some match could contain no literal of at least ``min_len`` characters, and also when the
    expression cannot be parsed (the caller then runs it on every turn, which is always correct); use
    :func:`atoms_or_none` to tell the two apart.

    >>> extract_atoms(r"account (number )?(is )?\\d{6,17}")
    ['account']
    >>> extract_atoms(r"(act now|last chance)")
    ['act now', 'last chance']
    >>> extract_atoms(r"\\d{3}-\\d{2}")
    []
    """
    atoms = atoms_or_none(regex, min_len)
    return atoms if atoms is not None else []


def atoms_or_none(regex: str, min_len: int = DEFAULT_MIN_LEN) -> list[str] | None:
    """Like :func:`extract_atoms`, but ``None`` when the expression cannot be parsed."""
    try:
        tree = _parser.parse(translate_re2(regex))
        req = _requirement(_seq(list(tree), min_len), min_len)
    except (_c.error, RecursionError, OverflowError, ValueError, TypeError):  # type: ignore[attr-defined]
        return None
    if not req:
        return []
    return _minimal(req)


# --------------------------------------------------------------------------------------------- internals


def _clean(strings: tuple[str, ...], min_len: int) -> tuple[str, ...] | None:
    """The strings as atoms (lower case, edge whitespace stripped), or None if any is too short."""
    atoms = tuple(s.strip().lower() for s in strings)
    if not atoms or any(len(a) < min_len for a in atoms):
        return None
    return atoms


def _requirement(node: _Lit | _Other, min_len: int) -> tuple[str, ...] | None:
    if isinstance(node, _Lit):
        return _clean(node.strings, min_len)
    return node.req


def _score(req: tuple[str, ...]) -> tuple[int, int]:
    return (min(len(a) for a in req), -len(set(req)))


def _best(cands: list[tuple[str, ...]]) -> tuple[str, ...] | None:
    best: tuple[str, ...] | None = None
    for cand in cands:
        if best is None or _score(cand) > _score(best):
            best = cand
    return best


def _minimal(req: tuple[str, ...]) -> list[str]:
    uniq = list(dict.fromkeys(req))
    return [a for a in uniq if not any(b != a and b in a for b in uniq)]


def _seq(items: list, min_len: int) -> _Lit | _Other:
    """Analyse a concatenation."""
    run: tuple[str, ...] | None = ("",)
    cands: list[tuple[str, ...]] = []
    all_literal = True

    def flush() -> None:
        nonlocal run
        if run is not None:
            cleaned = _clean(run, min_len)
            if cleaned:
                cands.append(cleaned)
        run = None

    for item in items:
        node = _element(item, min_len)
        if node is None:  # zero-width: anchors, \b
            continue
        if isinstance(node, _Lit):
            if run is None:
                run = node.strings
            elif len(run) * len(node.strings) <= _MAX_STRINGS:
                run = tuple(a + b for a in run for b in node.strings)
            else:
                all_literal = False
                flush()
                run = node.strings
            continue
        all_literal = False
        flush()
        if node.req:
            cands.append(node.req)
    if all_literal and run is not None:
        return _Lit(run)
    flush()
    return _Other(_best(cands))


def _element(item: tuple, min_len: int) -> _Lit | _Other | None:
    op, av = item
    if op is _c.LITERAL:
        return _Lit((chr(av).lower(),))
    if op is _c.AT:
        return None
    if op is _c.SUBPATTERN:
        sub = av[-1]
        return _seq(list(sub), min_len)
    if op is getattr(_c, "ATOMIC_GROUP", None):
        return _seq(list(av), min_len)
    if op is _c.BRANCH:
        branches = [_seq(list(b), min_len) for b in av[1]]
        if all(isinstance(b, _Lit) for b in branches):
            strings = tuple(dict.fromkeys(s for b in branches for s in b.strings))  # type: ignore[union-attr]
            if len(strings) <= _MAX_STRINGS:
                return _Lit(strings)
        reqs = [_requirement(b, min_len) for b in branches]
        if any(r is None for r in reqs):
            return _Other(None)
        return _Other(tuple(a for r in reqs for a in r))  # type: ignore[union-attr]
    if op is _c.IN:
        members = list(av)
        if 0 < len(members) <= MAX_CLASS_EXPANSION and all(m[0] is _c.LITERAL for m in members):
            return _Lit(tuple(dict.fromkeys(chr(m[1]).lower() for m in members)))
        return _Other(None)
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT) or op is getattr(_c, "POSSESSIVE_REPEAT", None):
        lo, hi, sub = av
        if lo == 0:
            return _Other(None)
        inner = _seq(list(sub), min_len)
        if isinstance(inner, _Lit) and lo == hi and len(inner.strings) ** lo <= _MAX_STRINGS and lo <= 16:
            strings: tuple[str, ...] = ("",)
            for _ in range(lo):
                strings = tuple(a + b for a in strings for b in inner.strings)
            return _Lit(strings)
        return _Other(_requirement(inner, min_len))
    # ANY, NOT_LITERAL, CATEGORY, GROUPREF, GROUPREF_EXISTS, ASSERT, ASSERT_NOT, ...
    return _Other(None)
