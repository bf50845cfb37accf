"""``trace rescore``: score past call transcripts into the signed evidence log."""

from __future__ import annotations

import json
import os
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from trace_engine.commands._exit import ExitCode
from trace_engine.commands._inputs import load_config_arg
from trace_engine.commands._output import emit_json, fail, format_type, progress
from trace_engine.errors import TraceError


class DuplicateIds(StrEnum):
    supersede = "supersede"
    suffix = "suffix"


class ScoringEngine(StrEnum):
    local = "local"
    ray = "ray"


def count_records(inputs: list[str]) -> int | None:
    """How many calls ``inputs`` hold, cheaply (non-blank JSONL lines, ``=== call`` headers, one per JSON file), for
    the progress bar's total and ETA; ``None`` when it cannot be known up front (stdin, a JSON array)."""
    from trace_engine.rescore import expand_inputs

    total = 0
    for path in expand_inputs(inputs):
        if path == "-":
            return None
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                for name in files:
                    if name.endswith((".json", ".jsonl", ".calls")):
                        n = _count_file(os.path.join(root, name))
                        if n is None:
                            return None
                        total += n
        elif os.path.isfile(path):
            n = _count_file(path)
            if n is None:
                return None
            total += n
    return total


def _count_file(path: str) -> int | None:
    try:
        with open(path, "rb") as fh:
            if path.endswith(".calls"):
                return sum(1 for line in fh if line.lstrip().startswith(b"==="))
            if path.endswith(".jsonl"):
                return sum(1 for line in fh if line.strip())
            head = fh.read(256).lstrip()
    except OSError:
        return 0
    return None if head.startswith(b"[") else 1


PROGRESS_EVERY = 10.0


class _Ticker:
    """Progress as plain lines on stderr (``scored N/M calls, R calls/s``) at most every PROGRESS_EVERY seconds."""

    def __init__(self, total: int | None):
        self.total, self.done = total, 0
        self.start = self.last = time.monotonic()

    def tick(self) -> None:
        self.done += 1
        now = time.monotonic()
        if now - self.last >= PROGRESS_EVERY:
            self.last = now
            of = f"/{self.total}" if self.total is not None else ""
            rate = self.done / max(now - self.start, 1e-9)
            sys.stderr.write(f"progress: scored {self.done}{of} calls, {rate:,.0f} calls/s, {now - self.start:,.0f}s\n")
            sys.stderr.flush()


def rescore(
    inputs: Annotated[list[str], typer.Argument(help="Transcript files, directories, globs (quoted: 'calls/**/*.jsonl'), or - for stdin.")],
    db: Annotated[str, typer.Option("--db", help="Evidence database: a SQLite file (created when there is a first scorecard) or a postgresql:// URL.")] = "trace.db",
    config: Annotated[Path | None, typer.Option("--config", help="TraceConfigInput JSON; default: the four built-in packs.")] = None,
    agent_id: Annotated[str | None, typer.Option("--agent-id", help="Agent id for calls that carry none.")] = None,
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant the records belong to.")] = "default",
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="Scoring processes (local; default 1), or shards scored at once on Ray (default: the cluster's CPUs).")] = None,
    engine: Annotated[
        ScoringEngine,
        typer.Option("--engine", help="Where scoring runs: local (this machine's processes) or ray (one task per shard on a Ray cluster; this process stays the log's one sequencer)."),
    ] = ScoringEngine.local,
    address: Annotated[str | None, typer.Option("--address", help="The Ray cluster (--engine ray): host:port of a node, ray://host:10001, or auto; default RAY_ADDRESS, else a local Ray for this run.")] = None,
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
    output: format_type(
        "text", "json", "jsonl",
        help="text (progress on a terminal, notices on stderr, then a summary), json (the summary and every notice "
        "as one document) or jsonl (one object per line as each batch is committed: trace.interaction, the "
        "notices, then trace.rescore.summary).",
    ) = "text",
) -> None:
    """Re-score transcripts (warn mode) and append their scorecards to the log.

    Exit 0 when every record was scored or is a failed call with nothing to score; 3 when some record was
    malformed and skipped, an input could not be read, or a call id was reused by other content (supersede);
    2 when no input could be read at all, the config cannot be read, or the database cannot be written; 1 for an
    invalid config.
    """
    from trace_engine.rescore import rescore as run
    from trace_engine.rescore_ray import RayUnavailable
    from trace_engine.store import store_name
    from trace_engine.store.interfaces import StoreError, UnreadableDatabase
    from trace_engine.store.log import LogIntegrityError

    load_config_arg(config)  # exit 2 (unreadable) or 1 (invalid, every problem located) before anything is written
    notices: list[dict[str, Any]] = []

    def emit(obj: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    def on_skip(message: str) -> None:
        sys.stderr.write(f"skipped {message}\n")

    def on_report(notice: dict[str, Any]) -> None:
        if output == "jsonl":
            emit(notice)
        elif output == "json":
            notices.append(notice)
        elif notice["object"] == "trace.rescore.skipped":
            pass  # on_skip wrote it
        elif notice["object"] == "trace.rescore.not_scored":
            sys.stderr.write(f"not scored {notice['source']}: {notice['id']}: {notice['reason']}\n")
        else:
            sys.stderr.write(
                f"duplicate call id {notice['id']!r} at {notice['source']} (first at {notice['first_source']}): "
                f"{notice['resolution']}\n"
            )

    total = count_records(inputs) if output == "text" else None
    # a long run on a cluster, logged to a file: a progress line (counts and rate) every PROGRESS_EVERY seconds
    ticker = _Ticker(total) if engine == ScoringEngine.ray and output == "text" and not sys.stderr.isatty() else None
    with progress("scoring", total, unit="calls") as bar:

        def on_result(line: dict) -> None:
            if output == "jsonl":
                emit(line)
            bar.advance()
            if ticker is not None:
                ticker.tick()

        try:
            summary = run(
                inputs,
                db=db,
                config=str(config) if config else None,
                tenant=tenant,
                agent_id=agent_id,
                workers=workers if engine == ScoringEngine.ray else (workers or 1),
                engine=engine.value,
                address=address,
                key=key,
                tier2=tier2,
                duplicate_ids=duplicate_ids.value,
                on_result=on_result,
                on_skip=on_skip,
                on_report=on_report,
            )
        except TraceError as exc:
            raise fail(exc.render(), ExitCode.PROBLEMS) from None
        except LogIntegrityError as exc:  # the log holds records its key did not sign: nothing is appended over them
            raise fail(str(exc), ExitCode.PROBLEMS) from None
        except UnreadableDatabase as exc:
            raise fail(str(exc), ExitCode.USAGE) from None
        except RayUnavailable as exc:
            raise fail(str(exc), ExitCode.USAGE) from None
        except (StoreError, OSError) as exc:
            raise fail(f"{store_name(db)}: cannot write the evidence database: {exc}", ExitCode.USAGE) from None
    v = summary.verdicts
    report = {
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
    if output == "jsonl":
        emit(report)
    elif output == "json":
        emit_json({**report, "notices": notices})
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
        raise typer.Exit(ExitCode.USAGE)
    raise typer.Exit(ExitCode.PARTIAL if summary.partial else ExitCode.OK)


def register(app: typer.Typer) -> None:
    app.command()(rescore)
