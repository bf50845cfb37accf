"""The Trace DSL: parse ``.trace`` source, lower it to the IR, print it back canonically.

Public API::

    parse(text, filename="<string>") -> ast.PackNode            # syntax only
    lower(node, source) -> ir.Pack                              # names, types, RE2; fills source.locations
    load_pack_text(text, filename="<string>") -> (ir.Pack, SourceMap)
    load_pack(path) -> (ir.Pack, SourceMap)                     # .trace, or .json through dsl.jsonform
    print_pack(pack, comments=None) -> str                     # the one canonical layout
    format_source(text, filename="<string>") -> str            # parse -> lower -> print, comments kept
    format_pack_source(text, filename) -> str                  # the same for either form (.json: canonical JSON)

The :class:`SourceMap` returned with a pack carries its comments (``source.comments``), attached to pack items so
that they survive formatting and conversion (:mod:`trace_engine.dsl.comments`).

Everything raises :class:`trace_engine.errors.TraceSyntaxError` (with all diagnostics) on bad input, never
anything else. Error codes are listed in :mod:`trace_engine.dsl.parser` (TS0xx) and :mod:`trace_engine.dsl.lower`
(TS1xx).
"""

from __future__ import annotations

import os
import re

from trace_engine import ir
from trace_engine.dsl.lower import lower
from trace_engine.dsl.parser import parse
from trace_engine.errors import Diagnostic, Location, SourceMap, TraceSyntaxError

__all__ = [
    "parse",
    "lower",
    "load_pack_text",
    "load_pack",
    "print_pack",
    "format_source",
    "format_pack_source",
    "decode_source",
]


def load_pack_text(text: str, filename: str = "<string>") -> tuple[ir.Pack, SourceMap]:
    """Parse and lower ``.trace`` source.

    On a syntax error, the items that did parse are still checked, so one run reports the syntax errors *and* the
    semantic errors (unknown names, bad severities, invalid regexes...) of the rest of the file, sorted by line.
    Semantic errors that could be echoes of a broken item (inside it, naming something it defined, "no rules")
    are left out.
    """
    try:
        node = parse(text, filename)
    except TraceSyntaxError as exc:
        partial = getattr(exc, "partial", None)
        if partial is None:
            raise
        raise _with_semantic_errors(exc, partial, text, filename) from None
    source = SourceMap(filename, text)
    source.text = text
    pack = lower(node, source)
    if node.comments:
        from trace_engine.dsl.printer import attach_comments

        source.comments = attach_comments(pack, source, node.comments)
    return pack, source


_DEFINES = re.compile(r"^[ \t]*(?:phrases|pattern|state)[ \t]+([A-Za-z_][A-Za-z0-9_]*)", re.M)
_NAMED = re.compile(r"`([^`]+)`")
#: semantic codes that name a phrase set, pattern or state (echoes when a broken item defined that name)
_REFERENCE_CODES = frozenset({"TS103", "TS118"})


def _with_semantic_errors(exc: TraceSyntaxError, partial: object, text: str, filename: str) -> TraceSyntaxError:
    broken: list[tuple[int, int]] = getattr(exc, "broken", [])
    lines = text.split("\n")
    lost_names = {
        m.group(1) for begin, end in broken for m in _DEFINES.finditer("\n".join(lines[begin - 1 : end - 1]))
    }
    first_error = min((d.location.line for d in exc.diagnostics), default=1)
    try:
        lower(partial, SourceMap(filename, text))  # type: ignore[arg-type]
        semantic: list[Diagnostic] = []
    except TraceSyntaxError as sem:
        semantic = sem.diagnostics
    except Exception:  # noqa: BLE001 - the partial tree is best effort; the syntax errors stand on their own
        semantic = []

    def keep(d: Diagnostic) -> bool:
        line = d.location.line
        if any(begin <= line < end for begin, end in broken):
            return False
        if d.code in _REFERENCE_CODES and any(n in lost_names for n in _NAMED.findall(d.message)):
            return False
        if d.code == "TS113":  # "no rules": the rules may be the broken items
            return False
        return not (d.code == "TS116" and d.message.startswith("the pack header") and first_error <= (
            getattr(partial, "first_item_line", None) or first_error))

    merged = [*exc.diagnostics, *(d for d in semantic if keep(d))]
    merged.sort(key=lambda d: (d.location.line, d.location.col))
    return TraceSyntaxError(merged, exc.source)


def decode_source(data: bytes, filename: str) -> str:
    """UTF-8 bytes -> text; invalid UTF-8 raises TraceSyntaxError TS008 at the first bad byte."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        good = data[: e.start].decode("utf-8", errors="replace")
        line = good.count("\n") + 1
        col = len(good) - (good.rfind("\n") + 1) + 1
        raise TraceSyntaxError(
            [
                Diagnostic(
                    "TS008",
                    f"file is not valid UTF-8 at byte {e.start}",
                    Location(filename, line, col),
                    hint="save the file as UTF-8",
                )
            ],
            SourceMap(filename, good),
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text


def load_pack(path: str | os.PathLike[str]) -> tuple[ir.Pack, SourceMap]:
    """Load a pack file: ``.trace`` here, ``.json`` through :func:`trace_engine.dsl.jsonform.load_json_pack`."""
    filename = os.fspath(path)
    try:
        with open(filename, "rb") as fh:
            data = fh.read()
    except OSError as e:
        raise TraceSyntaxError(
            [Diagnostic("TS012", f"cannot read file: {e.strerror or e}", Location(filename, 1, 1))]
        ) from None
    from trace_engine.compile.limits import source_too_large

    too_large = source_too_large(len(data), filename)
    if too_large is not None:
        raise TraceSyntaxError([too_large], SourceMap(filename, ""))
    text = decode_source(data, filename)
    if filename.lower().endswith(".json"):
        from trace_engine.dsl.jsonform import load_json_pack

        return load_json_pack(text, filename)
    return load_pack_text(text, filename)


def print_pack(pack: ir.Pack, comments: list | None = None, source: SourceMap | None = None) -> str:
    """The canonical ``.trace`` text of ``pack``, with ``comments`` (usually ``source.comments`` of the file it
    was loaded from; see :mod:`trace_engine.dsl.printer`)."""
    from trace_engine.dsl.printer import print_pack as _print

    return _print(pack, comments)


def format_source(text: str, filename: str = "<string>") -> str:
    """Parse, lower and print ``text`` canonically, keeping its comments."""
    from trace_engine.dsl.printer import format_source as _format

    return _format(text, filename)


def format_pack_source(text: str, filename: str) -> str:
    """The canonical form of a pack file's text: ``.trace`` layout, or canonical JSON for a ``.json`` pack
    (comments kept either way). Raises :class:`TraceSyntaxError` on a pack that does not load."""
    if filename.lower().endswith(".json"):
        from trace_engine.dsl.jsonform import dump_json_pack, load_json_pack

        pack, source = load_json_pack(text, filename)
        return dump_json_pack(pack, comments=source.comments)
    return format_source(text, filename)
