"""The Trace DSL: parse ``.trace`` source, lower it to the IR, print it back canonically.

Public API::

    parse(text, filename="<string>") -> ast.PackNode            # syntax only
    lower(node, source) -> ir.Pack                              # names, types, RE2; fills source.locations
    load_pack_text(text, filename="<string>") -> (ir.Pack, SourceMap)
    load_pack(path) -> (ir.Pack, SourceMap)                     # .trace, or .json through dsl.jsonform
    print_pack(pack, comments=None, source=None) -> str        # the one canonical layout
    format_source(text, filename="<string>") -> str            # parse -> lower -> print, comments kept

Everything raises :class:`trace_engine.errors.TraceSyntaxError` (with all diagnostics) on bad input, never
anything else. Error codes are listed in :mod:`trace_engine.dsl.parser` (TS0xx) and :mod:`trace_engine.dsl.lower`
(TS1xx).
"""

from __future__ import annotations

import os

from trace_engine import ir
from trace_engine.dsl.lower import lower
from trace_engine.dsl.parser import parse
from trace_engine.errors import Diagnostic, Location, SourceMap, TraceSyntaxError

__all__ = ["parse", "lower", "load_pack_text", "load_pack", "print_pack", "format_source", "decode_source"]


def load_pack_text(text: str, filename: str = "<string>") -> tuple[ir.Pack, SourceMap]:
    """Parse and lower ``.trace`` source."""
    node = parse(text, filename)
    source = SourceMap(filename, text)
    source.text = text
    return lower(node, source), source


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
    text = decode_source(data, filename)
    if filename.lower().endswith(".json"):
        from trace_engine.dsl.jsonform import load_json_pack

        return load_json_pack(text, filename)
    return load_pack_text(text, filename)


def print_pack(pack: ir.Pack, comments: list[tuple[int, str]] | None = None, source: SourceMap | None = None) -> str:
    """The canonical ``.trace`` text of ``pack`` (see :mod:`trace_engine.dsl.printer`)."""
    from trace_engine.dsl.printer import print_pack as _print

    return _print(pack, comments, source)


def format_source(text: str, filename: str = "<string>") -> str:
    """Parse, lower and print ``text`` canonically, keeping its comments."""
    from trace_engine.dsl.printer import format_source as _format

    return _format(text, filename)
