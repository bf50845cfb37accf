"""Shared output helpers for commands: rich on a terminal, plain text in pipes, JSON for machines."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Any

from rich.console import Console


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


def stdout_console() -> Console:
    """A console that uses colour only when stdout is a terminal."""
    return Console(highlight=False, soft_wrap=True)


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def emit_json(payload: Any, out: str | None = None) -> None:
    """Write ``payload`` as JSON to ``out`` (a path) or stdout."""
    text = json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n"
    write_text(text, out)


def write_text(text: str, out: str | None = None) -> None:
    if out:
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
