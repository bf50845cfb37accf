"""The ``trace`` command line: a thin facade over the library.

Exit codes (the same for every command):

    0  success: no errors (and, for lint/test/verify, nothing at or above the failing level)
    1  the input has problems: syntax or compile errors, lint findings at --fail-level, failing pack tests,
       a tampered log (verify)
    2  usage error, or an input that cannot be read at all (missing file, unreadable database)
    3  partial success: some inputs were malformed and skipped (rescore), the rest was processed
"""

from __future__ import annotations

import importlib
import sys

import typer

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3

HELP = (
    "Exit codes (the same for every command):\n\n\b\n"
    + "\n".join(line.strip() for line in (__doc__ or "").split("\n\n", 2)[2].strip().splitlines())
)

app = typer.Typer(
    name="trace",
    help="Trace: compliance rules for AI voice agents.\n\n" + HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

#: Command modules, in the order their commands appear in ``trace --help``.
COMMAND_MODULES: tuple[str, ...] = (
    "trace_engine.commands.authoring",  # check, lint, fmt, convert, build, test, explain, docs
    "trace_engine.commands.gate",  # bench
    "trace_engine.commands.rescore",  # rescore
    "trace_engine.commands.evidence",  # keygen, verify, prove, interactions, violations, exposure, show
    "trace_engine.commands.tier2",  # findings
    "trace_engine.commands.service",  # serve, keys
)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # an area not built yet; its commands are simply absent
                continue
            raise
        module.register(app)


_register_all()


def main() -> None:
    """Console-script entry point."""
    try:
        app(standalone_mode=True)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)


if __name__ == "__main__":
    main()
