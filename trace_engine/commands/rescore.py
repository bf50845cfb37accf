"""``trace rescore``: score past call transcripts into the signed evidence log."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from trace_engine.cli import EXIT_OK, EXIT_PARTIAL, EXIT_PROBLEMS
from trace_engine.commands._output import OutputFormat
from trace_engine.errors import TraceError


def rescore(
    inputs: Annotated[list[str], typer.Argument(help="Transcript files, directories, or - for stdin.")],
    db: Annotated[str, typer.Option("--db", help="Evidence database (SQLite, created if missing).")] = "trace.db",
    config: Annotated[Path | None, typer.Option("--config", help="TraceConfigInput JSON; default: the four built-in packs.")] = None,
    agent_id: Annotated[str | None, typer.Option("--agent-id", help="Agent id for calls that carry none.")] = None,
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant the records belong to.")] = "default",
    workers: Annotated[int, typer.Option("--workers", min=1, help="Scoring processes.")] = 1,
    key: Annotated[str | None, typer.Option("--key", help="Log signing key (default: trace.key beside the DB).")] = None,
    tier2: Annotated[bool, typer.Option("--tier2", help="Also run the Tier-2 model-judged checks (advisory).")] = False,
    output: Annotated[OutputFormat, typer.Option("--format", help="text (progress + summary) or json (one line per call).")] = OutputFormat.text,
) -> None:
    """Re-score transcripts (warn mode) and append their scorecards to the log. Exit 3 if any input was skipped."""
    from trace_engine.rescore import rescore as run

    as_json = output == OutputFormat.json
    progress = None
    task = None
    if not as_json and sys.stderr.isatty():
        from rich.progress import Progress

        progress = Progress(transient=True)
        progress.start()
        task = progress.add_task("scoring", total=None)

    def on_result(line: dict) -> None:
        if as_json:
            sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
        elif progress is not None:
            progress.advance(task)

    def on_skip(message: str) -> None:
        sys.stderr.write(f"skipped {message}\n")

    try:
        summary = run(
            inputs,
            db=db,
            config=str(config) if config else None,
            tenant=tenant,
            agent_id=agent_id,
            workers=workers,
            key=key,
            tier2=tier2,
            on_result=on_result,
            on_skip=on_skip,
        )
    except TraceError as exc:
        sys.stderr.write(exc.render() + "\n")
        raise typer.Exit(EXIT_PROBLEMS) from None
    finally:
        if progress is not None:
            progress.stop()
    if not as_json:
        v = summary.verdicts
        sys.stdout.write(
            f"scored {summary.scored} calls ({summary.turns} turns): {summary.appended} appended "
            f"({summary.superseded} superseding older scores), {summary.duplicates} unchanged; "
            f"PASS {v.get('PASS', 0)} / WARN {v.get('WARN', 0)} / FAIL {v.get('FAIL', 0)}; "
            f"{len(summary.skipped)} skipped\n"
        )
    raise typer.Exit(EXIT_PARTIAL if summary.skipped else EXIT_OK)


def register(app: typer.Typer) -> None:
    app.command()(rescore)
