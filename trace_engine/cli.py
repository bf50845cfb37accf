"""The ``trace`` command line: a thin facade over the library.

Every command follows the same conventions (:mod:`trace_engine.commands._output`): ``--format text|json`` plus the
data formats it has, exit codes from one table (:mod:`trace_engine.commands._exit`), built-in packs by name wherever a
pack path is taken, and progress on stderr only when stderr is a terminal. Shell completion comes from typer:
``trace --install-completion`` (or ``--show-completion`` to print the script).
"""

from __future__ import annotations

import importlib
import sys

import typer

from trace_engine.commands._exit import ExitCode, exit_code_help

# kept for modules that import the codes from here; new code uses ExitCode
EXIT_OK = ExitCode.OK
EXIT_PROBLEMS = ExitCode.PROBLEMS
EXIT_USAGE = ExitCode.USAGE
EXIT_PARTIAL = ExitCode.PARTIAL

HELP = "Exit codes (the same for every command):\n\n\b\n" + exit_code_help()

app = typer.Typer(
    name="trace",
    help="Trace: compliance rules for AI voice agents.\n\n" + HELP,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        from trace_engine._core import NATIVE_BUILD
        from trace_engine.version import ENGINE_VERSION

        typer.echo(f"trace {ENGINE_VERSION} (Python {sys.version.split()[0]}, native core: {NATIVE_BUILD})")
        raise typer.Exit(ExitCode.OK)


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Trace: compliance rules for AI voice agents."""


#: Command modules, in the order their commands appear in ``trace --help``.
COMMAND_MODULES: tuple[str, ...] = (
    "trace_engine.commands.authoring",  # check, lint, fmt, convert, build, test, explain, docs
    "trace_engine.commands.gate",  # bench
    "trace_engine.commands.rescore",  # rescore
    "trace_engine.commands.diff",  # diff
    "trace_engine.commands.evidence",  # keygen, verify, prove, interactions, violations, exposure, show
    "trace_engine.commands.tier2",  # findings
    "trace_engine.commands.service",  # serve, keys
    "trace_engine.commands.store",  # store migrate, store copy, store info
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
