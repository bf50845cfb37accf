"""Lint for rule packs: ``lint_pack(pack, source)`` runs every registered rule over the IR.

Modelled on Ruff and Regal: one rule per module under :mod:`trace_engine.dsl.lint.rules`, each with a stable code
(``TL001``...), a category, a level and What / Why / Example / Instead docs (rendered to ``docs/lint/`` by
:mod:`trace_engine.dsl.lint.docs`); all codes live in :mod:`trace_engine.dsl.lint.registry`.

Lint works on the IR, so ``.trace`` and JSON packs are linted alike. In ``.trace`` source a finding is silenced with
``# trace: ignore[TL003]`` (or ``# trace: ignore[TL003,TL004]``) at the end of the offending line, or alone on the
line above it. JSON has no comments, so JSON packs cannot suppress findings.

A pack beyond the compiler's limits (:mod:`trace_engine.compile.limits`) gets those errors (TS301-TS307) and no
lint findings: they are the first thing to fix, and the rules are only linear-time within the limits.

Output formats (text, json, sarif, github) are in :mod:`trace_engine.dsl.lint.report`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from trace_engine import ir
from trace_engine.dsl.lint.base import CATEGORIES, LintContext, LintRule
from trace_engine.dsl.lint.registry import RULES, RULES_BY_CODE, docs_path, lookup
from trace_engine.errors import Diagnostic, SourceMap

__all__ = [
    "CATEGORIES",
    "RULES",
    "RULES_BY_CODE",
    "LintRule",
    "apply_suppressions",
    "docs_path",
    "lint_pack",
    "lookup",
    "suppressions",
]

_IGNORE = re.compile(r"#\s*trace:\s*ignore\[\s*([A-Za-z0-9_\-,\s]*?)\s*\]")


def lint_pack(
    pack: ir.Pack,
    source: SourceMap,
    *,
    strict: bool = False,
    select: set[str] | None = None,
    ignore: set[str] | None = None,
    normalize: Callable[[str], str] | None = None,
) -> list[Diagnostic]:
    """Run the registered lint rules over ``pack`` and return their findings, sorted by location.

    Args:
        pack: the pack (from either form).
        source: where its elements came from; ``source.text`` enables inline suppression.
        strict: raise rules with a ``strict_level`` to it (TL004 becomes an error).
        select: run only these rules (codes or names); ``None`` runs all. Unknown codes raise ``KeyError``.
        ignore: skip these rules (codes or names).
        normalize: override the phrase normalizer (tests); defaults to
            :func:`trace_engine.text.normalize.normalize_phrase`.
    """
    from trace_engine.compile.limits import check_pack

    beyond = check_pack(pack, source)
    if beyond:
        # a pack beyond the compiler's limits is an error already; the rules' own automata are not built for it
        return sorted(beyond, key=_sort_key)
    chosen = {lookup(c).code for c in select} if select is not None else None
    skipped = {lookup(c).code for c in ignore} if ignore else set()
    ctx = LintContext(pack, source, strict=strict, normalize=normalize)
    found: list[Diagnostic] = []
    seen: set[tuple] = set()
    for rule_cls in RULES:
        if (chosen is not None and rule_cls.code not in chosen) or rule_cls.code in skipped:
            continue
        for diag in rule_cls().check(pack, source, ctx):
            marker = (diag.code, diag.message, diag.location)
            if marker not in seen:
                seen.add(marker)
                found.append(diag)
    found = apply_suppressions(found, source)
    found.sort(key=_sort_key)
    return found


def _sort_key(d: Diagnostic) -> tuple:
    loc = d.location
    return (loc.file, loc.line, loc.col, d.code)


def suppressions(text: str) -> dict[int, frozenset[str]]:
    """Line number (1-based) -> codes silenced on it, from ``# trace: ignore[...]`` comments.

    A comment after code silences its own line; a comment alone on its line silences the next line (and itself).
    """
    out: dict[int, set[str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        for match in _IGNORE.finditer(line):
            if _inside_string(line, match.start()):
                continue
            codes = {c.strip().upper() for c in match.group(1).split(",") if c.strip()}
            codes = {lookup(c).code if _known(c) else c for c in codes}
            out.setdefault(number, set()).update(codes)
            if not line[: match.start()].strip():
                out.setdefault(number + 1, set()).update(codes)
    return {k: frozenset(v) for k, v in out.items()}


def apply_suppressions(diags: Iterable[Diagnostic], source: SourceMap) -> list[Diagnostic]:
    """Drop the diagnostics silenced by an inline comment in ``source.text``."""
    diags = list(diags)
    if not source.text or "trace:" not in source.text:
        return diags
    table = suppressions(source.text)
    return [d for d in diags if d.code not in table.get(d.location.line, frozenset())]


def _known(code: str) -> bool:
    try:
        lookup(code)
    except KeyError:
        return False
    return True


def _inside_string(line: str, pos: int) -> bool:
    """Whether ``pos`` lies inside a double-quoted string of ``line`` (``"# trace: ignore"`` is not a comment)."""
    inside = False
    i = 0
    while i < pos:
        ch = line[i]
        if ch == "\\" and inside:
            i += 2
            continue
        if ch == '"':
            inside = not inside
        i += 1
    return inside
