"""The one table of exit codes every ``trace`` command uses.

``trace --help``, the README table and the per-command exit-code tests are all generated from or checked against
:data:`EXIT_CODES`; a command never returns a bare integer.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a ``trace`` command's exit status means."""

    OK = 0
    PROBLEMS = 1
    USAGE = 2
    PARTIAL = 3


#: code -> meaning, in the words ``trace --help`` and the README print.
EXIT_CODES: dict[ExitCode, str] = {
    ExitCode.OK: "success (for lint, test, verify: nothing at or above the failing level)",
    ExitCode.PROBLEMS: (
        "the input has problems: syntax or compile errors, lint findings at --fail-level, failing or missing "
        "pack tests, a tampered log, an untrusted proof, a record that is not there"
    ),
    ExitCode.USAGE: (
        "usage error, or an input that cannot be read at all (missing file or pack, unreadable database or config)"
    ),
    ExitCode.PARTIAL: "partial success: some inputs were malformed and skipped (rescore), the rest was processed",
}


def exit_code_help() -> str:
    """The exit-code table as plain text lines (``0  success ...``)."""
    return "\n".join(f"{int(code)}  {meaning}" for code, meaning in EXIT_CODES.items())
