"""``trace rescore``: score past call transcripts into the signed evidence log."""

from __future__ import annotations

import json
import sqlite3
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from trace_engine.cli import EXIT_OK, EXIT_PARTIAL, EXIT_PROBLEMS, EXIT_USAGE
from trace_engine.commands._output import OutputFormat
from trace_engine.errors import TraceError


class DuplicateIds(StrEnum):
    supersede = "supersede"
    suffix = "suffix"


def rescore(
    inputs: Annotated[list[str], typer.Argument(help="Transcript files, directories, or - for stdin.")],
    db: Annotated[str, typer.Option("--db", help="Evidence database (SQLite, created when there is a first scorecard).")] = "trace.db",
    config: Annotated[Path | None, typer.Option("--config", help="TraceConfigInput JSON; default: the four built-in packs.")] = None,
    agent_id: Annotated[str | None, typer.Option("--agent-id", help="Agent id for calls that carry none.")] = None,
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant the records belong to.")] = "default",
    workers: Annotated[int, typer.Option("--workers", min=1, help="Scoring processes.")] = 1,
    key: Annotated[str | None, typer.Option("--key", help="Log signing key (default: trace.key beside the DB).")] = None,
    tier2: Annotated[bool, typer.Option("--tier2", help="Also run the Tier-2 model-judged checks (advisory).")] = False,
    duplicate_ids: Annotated[
        DuplicateIds,
        typer.Option(
            "--duplicate-ids",
            help="Distinct transcripts sharing a call id in one run: the later supersedes the earlier (exit 3), "
            "or each further one is scored as <call_id>#2, #3...",
        ),
    ] = DuplicateIds.supersede,
    output: Annotated[OutputFormat, typer.Option("--format", help="text (progress + summary) or json (one object per line).")] = OutputFormat.text,
) -> None:
    """Re-score transcripts (warn mode) and append their scorecards to the log.

    Exit 0 when every record was scored or is a failed call with nothing to score; 3 when some record was
    malformed and skipped, an input could not be read, or a call id was reused by other content (supersede);
    2 when no input could be read at all or the database cannot be written; 1 for a bad config.
    """
    from trace_engine.rescore import rescore as run
    from trace_engine.store.db import UnreadableDatabase
    from trace_engine.store.log import LogIntegrityError

    as_json = output == OutputFormat.json
    progress = None
    task = None
    if not as_json and sys.stderr.isatty():
        from rich.progress import Progress

        progress = Progress(transient=True)
        progress.start()
        task = progress.add_task("scoring", total=None)

    def emit(obj: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")

    def on_result(line: dict) -> None:
        if as_json:
            emit(line)
        elif progress is not None:
            progress.advance(task)

    def on_skip(message: str) -> None:
        sys.stderr.write(f"skipped {message}\n")

    def on_report(notice: dict[str, Any]) -> None:
        if as_json:
            emit(notice)
        elif notice["object"] == "trace.rescore.skipped":
            pass  # on_skip wrote it
        elif notice["object"] == "trace.rescore.not_scored":
            sys.stderr.write(f"not scored {notice['source']}: {notice['id']}: {notice['reason']}\n")
        else:
            sys.stderr.write(
                f"duplicate call id {notice['id']!r} at {notice['source']} (first at {notice['first_source']}): "
                f"{notice['resolution']}\n"
            )

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
            duplicate_ids=duplicate_ids.value,
            on_result=on_result,
            on_skip=on_skip,
            on_report=on_report,
        )
    except TraceError as exc:
        sys.stderr.write(exc.render() + "\n")
        raise typer.Exit(EXIT_PROBLEMS) from None
    except LogIntegrityError as exc:  # the log holds records its key did not sign: nothing is appended over them
        sys.stderr.write(f"error: {exc}\n")
        raise typer.Exit(EXIT_PROBLEMS) from None
    except UnreadableDatabase as exc:
        sys.stderr.write(f"error: {exc}\n")
        raise typer.Exit(EXIT_USAGE) from None
    except (sqlite3.Error, OSError) as exc:
        sys.stderr.write(f"{db}: cannot write the evidence database: {exc}\n")
        raise typer.Exit(EXIT_USAGE) from None
    finally:
        if progress is not None:
            progress.stop()
    v = summary.verdicts
    if as_json:
        emit(
            {
                "object": "trace.rescore.summary",
                "scored": summary.scored,
                "turns": summary.turns,
                "appended": summary.appended,
                "superseded": summary.superseded,
                "unchanged": summary.duplicates,
                "verdicts": dict(v),
                "not_scored": len(summary.not_scored),
                "skipped": len(summary.skipped),
                "unreadable": len(summary.unreadable),
                "duplicate_ids": {"conflicts": summary.conflicts, "renamed": summary.renamed, "repeats": summary.repeats},
            }
        )
    else:
        dupes = summary.conflicts + summary.renamed + summary.repeats
        sys.stdout.write(
            f"scored {summary.scored} calls ({summary.turns} turns): {summary.appended} appended "
            f"({summary.superseded} superseding older scores), {summary.duplicates} unchanged; "
            f"PASS {v.get('PASS', 0)} / WARN {v.get('WARN', 0)} / FAIL {v.get('FAIL', 0)}; "
            f"{len(summary.not_scored)} not scored (failed calls); "
            + (f"{dupes} duplicate call ids; " if dupes else "")
            + f"{len(summary.skipped)} skipped\n"
        )
    if summary.unreadable and not summary.inputs:
        raise typer.Exit(EXIT_USAGE)
    raise typer.Exit(EXIT_PARTIAL if summary.partial else EXIT_OK)


def register(app: typer.Typer) -> None:
    app.command()(rescore)
