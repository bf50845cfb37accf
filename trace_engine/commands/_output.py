"""What every command shares: the ``--format`` vocabulary, errors and exit codes, tables, human values and progress.

* ``--format``: ``text`` (people; rich on a terminal, plain in a pipe) and ``json`` (one JSON document) on every
  command that prints data, plus the data formats a command really has: ``sarif``/``github`` for lint, ``jsonl``
  (one object per line) and ``csv`` for lists and streams. One enum, :class:`OutputFormat`; a command narrows it
  with :func:`format_type`.
* errors: :func:`fail` prints ``error: ...`` on stderr and returns the :class:`typer.Exit` to raise, with a code from
  :class:`~trace_engine.commands._exit.ExitCode`.
* tables: :func:`print_table` never truncates a cell (ids are copied from it into ``trace show``); in a pipe it
  does not wrap either, so each row stays on one line for ``grep``.
* progress: :func:`progress` shows count, rate and ETA on stderr when stderr is a terminal, and nothing otherwise.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from trace_engine.commands._exit import ExitCode


class OutputFormat(StrEnum):
    """Every output format a command may offer; each command accepts the subset that makes sense for it
    (declared with :func:`format_type`; this enum names the whole vocabulary)."""

    text = "text"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    sarif = "sarif"
    github = "github"
    markdown = "markdown"


def choices(name: str, *values: str) -> Any:
    """A ``StrEnum`` of ``values`` for an option with a fixed set of values (typer turns it into a choice that lists
    them in ``--help`` and in the usage error)."""
    return StrEnum(name, {v: v for v in values})


_FORMAT_HELP = {
    "text": "text for people",
    "json": "json (one document)",
    "jsonl": "jsonl (one object per line)",
    "csv": "csv",
    "sarif": "sarif",
    "github": "github (workflow annotations)",
    "markdown": "markdown (a report)",
}


def format_type(*formats: str, help: str | None = None) -> Any:
    """The annotated type of a ``--format`` option accepting ``formats`` (``text`` and ``json`` first, by
    convention): ``output: format_type("text", "json", "csv") = "text"``.

    The value is a ``StrEnum`` member (compare it with plain strings), matched case-insensitively; an unknown
    value is a usage error (exit 2) that lists the choices.
    """
    enum = choices("Format", *(formats or ("text", "json")))
    text = help or "Output: " + ", ".join(_FORMAT_HELP[f] for f in enum) + "."
    return Annotated[enum, typer.Option("--format", case_sensitive=False, help=text)]


#: ``--format text|json``: the option of every command that prints data and has no other data format.
TextOrJson = format_type("text", "json")
#: ``--format text|json|jsonl|csv``: list commands (one row per record).
ListFormat = format_type("text", "json", "jsonl", "csv")


# --------------------------------------------------------------------------------------------- errors


def fail(message: str, code: ExitCode = ExitCode.USAGE) -> typer.Exit:
    """Print ``error: message`` on stderr; return the :class:`typer.Exit` to raise (``raise fail(...)``)."""
    stderr_console().print(f"error: {message}", markup=False, highlight=False)
    return typer.Exit(int(code))


def warn(message: str) -> None:
    stderr_console().print(f"warning: {message}", markup=False, highlight=False)


# --------------------------------------------------------------------------------------------- plain output


def stdout_console() -> Console:
    """A console on stdout: rich on a terminal; in a pipe, plain text without wrapping long lines."""
    if sys.stdout.isatty():
        return Console(highlight=False, soft_wrap=True)
    return Console(highlight=False, soft_wrap=True, width=100_000, no_color=True)


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def emit_json(payload: Any, out: str | None = None) -> None:
    """Write ``payload`` as JSON to ``out`` (a path) or stdout."""
    text = json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n"
    write_text(text, out)


def emit_jsonl(rows: Iterable[Any]) -> None:
    """One compact JSON object per line."""
    for row in rows:
        sys.stdout.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def emit_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """``columns`` as a CSV header, then one line per row (lists joined with ``;``, objects as JSON)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_cell(row.get(c)) for c in columns])
    write_text(buf.getvalue())


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ";".join(_csv_cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def write_text(text: str, out: str | None = None) -> None:
    if out:
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


# --------------------------------------------------------------------------------------------- human values


def iso_time(ms: int | float | None) -> str:
    """Epoch milliseconds as ``2026-03-01T14:05:09Z`` (UTC, whole seconds); ``-`` when unknown."""
    if ms is None or isinstance(ms, bool):
        return "-"
    try:
        return datetime.fromtimestamp(float(ms) / 1000.0, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return str(ms)


def human(value: Any) -> str:
    """A value for people: ``-`` for missing, ``yes``/``no``, numbers without noise, lists joined with commas,
    objects as ``key=value`` pairs. Never Python's ``None``/``False`` or raw JSON."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return ", ".join(human(v) for v in value) if value else "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={human(v)}" for k, v in value.items()) if value else "-"
    return str(value)


def seconds(t: float | int | None) -> str:
    """Seconds into the call: ``12.4s``; ``-`` when unknown."""
    if t is None or isinstance(t, bool):
        return "-"
    return f"{float(t):g}s"


# --------------------------------------------------------------------------------------------- tables


def print_table(
    title: str | None,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    console: Console | None = None,
    render: Callable[[Any], str] = human,
) -> None:
    """A rich table whose cells are never cut: long cells fold onto more lines on a terminal, and stay whole on one
    line in a pipe. Cells are plain text (``[credit_card]`` is a redaction, not rich markup)."""
    from rich.text import Text

    table = Table(title=Text(title) if title else None, title_justify="left")
    for c in columns:
        table.add_column(c, overflow="fold")
    for row in rows:
        table.add_row(*[Text(render(v)) for v in row])
    (console or stdout_console()).print(table)


def print_list(
    payload: dict[str, Any],
    columns: Sequence[str],
    title: str,
    fmt: str,
    *,
    cells: Callable[[dict[str, Any], str], Any] | None = None,
) -> None:
    """A list envelope (``{"data": [...], "has_more", "next_cursor"}``) in ``fmt``: the envelope as JSON, rows as
    JSONL or CSV, or a table with the next-page hint."""
    rows = payload.get("data") or []
    if fmt == OutputFormat.json:
        emit_json(payload)
    elif fmt == OutputFormat.jsonl:
        emit_jsonl(rows)
    elif fmt == OutputFormat.csv:
        emit_csv(rows, columns)
    else:
        get = cells or (lambda row, c: row.get(c))
        console = stdout_console()
        print_table(title, columns, ([get(row, c) for c in columns] for row in rows), console=console)
        if payload.get("has_more"):
            console.print(f"more: --cursor {payload['next_cursor']}", markup=False)


# --------------------------------------------------------------------------------------------- progress


class _Quiet:
    """The progress handle used when nothing is shown."""

    def advance(self, n: int = 1) -> None:
        pass

    def phase(self, description: str, total: int | None) -> Callable[[], None]:
        return self.advance


class _Shown:
    def __init__(self, progress: Any, task: Any) -> None:
        self._progress, self._task = progress, task

    def advance(self, n: int = 1) -> None:
        self._progress.advance(self._task, n)

    def phase(self, description: str, total: int | None) -> Callable[[], None]:
        """Start the next phase of a multi-step job (count, rate and ETA restart); returns its ``advance``."""
        self._progress.reset(self._task, total=total, description=description)
        return self.advance


@contextmanager
def progress(
    description: str, total: int | None, *, unit: str = "items", console: Console | None = None
) -> Iterator[_Quiet | _Shown]:
    """Show ``description``, a bar, ``done/total``, the rate in ``unit``/s, elapsed time and ETA while the block runs.

    On stderr, and only when stderr is a terminal (pass ``console`` to force one); in a pipe or a CI log the
    handle does nothing, so output stays clean. ``total=None`` shows the count and rate without a bar or ETA.
    """
    target = console if console is not None else (Console(stderr=True) if sys.stderr.isatty() else None)
    if target is None:
        yield _Quiet()
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text("-" if speed is None else f"{speed:,.0f} {unit}/s")

    columns: list[Any] = [TextColumn("{task.description}")]
    if total is not None:
        columns.append(BarColumn())
    columns += [MofNCompleteColumn() if total is not None else TextColumn("{task.completed}"), RateColumn()]
    columns += [TimeElapsedColumn()]
    if total is not None:
        columns += [TextColumn("eta"), TimeRemainingColumn()]
    bar = Progress(*columns, console=target, transient=True, refresh_per_second=8)
    with bar:
        task = bar.add_task(description, total=total)
        yield _Shown(bar, task)
