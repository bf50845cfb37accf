"""Diagnostics: every problem Trace reports about user input carries a place, a code and a hint.

A :class:`Diagnostic` is one message; :class:`TraceError` carries one or more of them. Parsing, lowering,
the JSON form and compilation all raise :class:`TraceSyntaxError` (a subclass) with *every* error found, never only the
first, so ``trace check`` can print them all as ``file:line:col CODE message`` with the source line and a caret.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Location:
    """A span in a source file. Lines and columns are 1-based; ``end_*`` point just past the span.

    A place in a document that has no text (a config passed as a dict) has ``line`` 0 and a JSON pointer
    (RFC 6901, ``/guardrails/mode``) in ``pointer``; a whole file that could not be read has ``line`` 0 and no
    pointer. :meth:`where` prints each kind the way people read it.
    """

    file: str
    line: int
    col: int
    end_line: int | None = None
    end_col: int | None = None
    pointer: str | None = None

    def where(self) -> str:
        """``file:line:col``, ``file#/json/pointer`` or ``file``."""
        if self.line > 0:
            return f"{self.file}:{self.line}:{self.col}"
        if self.pointer is not None:
            return f"{self.file}#{self.pointer}"
        return self.file

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "end_line": self.end_line if self.end_line is not None else self.line,
            "end_col": self.end_col if self.end_col is not None else self.col + 1,
        }
        if self.pointer is not None:
            out["pointer"] = self.pointer
        return out


def json_pointer(path: tuple | list) -> str:
    """The RFC 6901 pointer of a path of keys and indices: ``("rule_packs", "a/b", 0)`` -> ``/rule_packs/a~1b/0``."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


#: Keys into a :class:`SourceMap`. ``("rule", "tcpa-001")``, ``("rule", "tcpa-001", "check", 0)``,
#: ``("phrase_set", "opt_out")``, ``("phrase", "opt_out", 2)``, ``("pattern", "price")``, ``("state", "verified")``,
#: ``("rule", "tcpa-001", "field", "citation")``, ``("header", "pack_id")``.
SourceKey = tuple


@dataclass(slots=True)
class SourceMap:
    """Where each IR element came from, so lint and the compiler can point at source lines.

    Fields:
        file: the path shown in messages.
        text: the whole source text (for printing the offending line with a caret).
        locations: :data:`SourceKey` -> :class:`Location`.
        comments: the file's comments, each attached to a pack item
            (:class:`trace_engine.dsl.comments.Comment`), so that ``fmt`` and ``convert`` keep them.
    """

    file: str
    text: str = ""
    locations: dict[SourceKey, Location] = field(default_factory=dict)
    comments: list = field(default_factory=list)

    def get(self, *key: object) -> Location:
        """The location of ``key``, falling back to its closest recorded parent, then to line 1."""
        probe = tuple(key)
        while probe:
            loc = self.locations.get(probe)
            if loc is not None:
                return loc
            probe = probe[:-1]
        return Location(self.file, 1, 1)

    def line_text(self, line: int) -> str:
        lines = self.text.splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else ""


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem in user input.

    Fields:
        code: stable code, ``TS`` for syntax/semantic errors, ``TL`` for lint (``TS001``, ``TL003``).
        message: one sentence, no trailing period.
        location: where.
        hint: an optional suggestion ("did you mean `critical`?").
        level: ``error`` or ``warning``.
    """

    code: str
    message: str
    location: Location
    hint: str | None = None
    level: str = "error"

    def render(self, source_line: str | None = None) -> str:
        """``file:line:col CODE message``, then the source line with a caret, then the hint."""
        loc = self.location
        out = [f"{loc.where()} {self.code} {self.message}"]
        if source_line is not None and loc.line > 0:
            width = 1
            if loc.end_line in (None, loc.line) and loc.end_col is not None and loc.end_col > loc.col:
                width = loc.end_col - loc.col
            out.append(f"    {source_line}")
            out.append("    " + " " * (loc.col - 1) + "^" * width)
        if self.hint:
            out.append(f"    hint: {self.hint}")
        return "\n".join(out)


class TraceError(Exception):
    """Base class for Trace errors about user input; carries diagnostics."""

    def __init__(self, diagnostics: list[Diagnostic], source: SourceMap | None = None):
        self.diagnostics = list(diagnostics)
        self.source = source
        first = self.diagnostics[0] if self.diagnostics else None
        super().__init__(
            f"{first.location.where()} {first.code} {first.message}"
            if first
            else "invalid input"
        )

    def render(self) -> str:
        """All diagnostics, each with its source line and caret when the text is known."""
        parts = []
        for d in self.diagnostics:
            line = self.source.line_text(d.location.line) if self.source and self.source.text else None
            parts.append(d.render(line))
        return "\n".join(parts)


class TraceSyntaxError(TraceError):
    """A pack (either form) that cannot be parsed or lowered."""


class TraceCompileError(TraceError):
    """A pack that parses but cannot be compiled (an invalid regex, an unknown variable in strict mode...)."""


class TraceConfigError(TraceError):
    """A config that does not follow ``TraceConfigInput``."""
