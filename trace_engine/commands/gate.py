"""``trace bench``: gate latency, baseline, streaming and memory figures, printed as JSON or text."""

from __future__ import annotations

from typing import Annotated

import typer

from trace_engine.commands._exit import ExitCode
from trace_engine.commands._output import TextOrJson, emit_json, fail, progress, write_text


def bench(
    output: TextOrJson = "text",
    corpus: Annotated[
        list[str] | None,
        typer.Option("--corpus", help="Transcript files or directories (default: ../shared/corpora/sgd_calls.jsonl "
                     "when present, else corpora/)."),
    ] = None,
    turns: Annotated[int, typer.Option(min=1, help="Agent turns to time (at most).")] = 20_000,
    stream_turns: Annotated[int, typer.Option(min=1, help="Agent turns to stream in chunks.")] = 2_000,
    tier2: Annotated[bool, typer.Option(help="Also time the gate with Tier-2 observers on.")] = False,
) -> None:
    """Benchmark the default inline gate against a one-regex-per-rule baseline, in one process. Progress (calls,
    rate, ETA per phase) goes to stderr on a terminal."""
    import os

    from trace_engine.bench import default_corpus, run

    chosen = corpus or default_corpus()
    if not chosen:
        raise fail("no corpus to run on: pass --corpus FILE (Omni transcripts, JSON or JSONL)", ExitCode.USAGE)
    missing = [c for c in chosen if not os.path.exists(c)]
    if missing:
        raise fail(f"no such file or directory: {', '.join(missing)}", ExitCode.USAGE)
    with progress("bench", None, unit="calls") as bar:
        result = run(chosen, turns, stream_turns, tier2, phase=bar.phase)
    if output == "json":
        emit_json(result)
        return
    g, b, s = result["gate"], result["baseline"], result["stream"]
    lines = [
        f"machine: {result['machine']['cpu']} ({result['machine']['cpus']} cpus), Python {result['machine']['python']}",
        f"packs:   {', '.join(result['config']['packs'])} (mode modify)",
        f"gate     {g['turns']:>7} turns  p50 {g['p50_us']:>8.2f} us  p99 {g['p99_us']:>8.2f} us  p99.9 {g['p999_us']:>8.2f} us",
        f"baseline {b['turns']:>7} turns  p50 {b['p50_us']:>8.2f} us  p99 {b['p99_us']:>8.2f} us",
        f"speedup  p50 x{result['speedup_p50']}  p99 x{result['speedup_p99']}",
        f"stream   {s['chunks']:>7} chunks p50 {s['p50_us']:>8.2f} us  p99 {s['p99_us']:>8.2f} us  max hold-back {s['max_holdback_chars']} chars",
        f"memory   {result['memory_mb']} MB compiled",
    ]
    write_text("\n".join(lines) + "\n")


def register(app: typer.Typer) -> None:
    app.command()(bench)
