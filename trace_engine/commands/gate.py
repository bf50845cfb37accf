"""``trace bench``: the gate against its baselines, interleaved per turn; streaming, scaling and memory figures."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from trace_engine.commands._exit import ExitCode
from trace_engine.commands._output import TextOrJson, emit_json, fail, print_table, progress, stdout_console


def bench(
    output: TextOrJson = "text",
    corpus: Annotated[
        list[str] | None,
        typer.Option("--corpus", help="Transcript files or directories (default: ../shared/corpora/sgd_calls.jsonl "
                     "when present, else corpora/)."),
    ] = None,
    turns: Annotated[int, typer.Option(min=1, help="Agent turns to time (at most; the last call is kept whole).")] = 20_000,
    stream_turns: Annotated[int, typer.Option(min=1, help="Agent turns to stream in 2-word chunks.")] = 2_000,
    runs: Annotated[int, typer.Option(min=1, help="Interleaved runs over the same turns (min-of-N per turn).")] = 3,
    presidio: Annotated[bool, typer.Option(help="Also time Presidio's AnalyzerEngine on a 200-turn sample.")] = False,
    scaling: Annotated[
        bool, typer.Option(help="Also measure cost vs turn length (50-10,000 chars) and vs phrases (1k-100k).")
    ] = True,
    tier2: Annotated[bool, typer.Option(help="Also time the gate with Tier-2 observers on.")] = False,
) -> None:
    """Benchmark the default inline gate against a single-pass baseline (pyahocorasick + RE2), the frozen reference
    gate and, with --presidio, Presidio: all in one process, interleaved per agent turn, raw percentiles and the
    min over --runs per turn. Progress (calls, rate, ETA per phase) goes to stderr on a terminal."""
    import os

    from trace_engine.bench import default_corpus, run

    chosen = corpus or default_corpus()
    if not chosen:
        raise fail("no corpus to run on: pass --corpus FILE (Omni transcripts, JSON or JSONL)", ExitCode.USAGE)
    missing = [c for c in chosen if not os.path.exists(c)]
    if missing:
        raise fail(f"no such file or directory: {', '.join(missing)}", ExitCode.USAGE)
    with progress("bench", None, unit="calls") as bar:
        result = run(
            chosen, turns, stream_turns, tier2, phase=bar.phase, runs=runs, presidio=presidio, scaling=scaling
        )
    if output == "json":
        emit_json(result)
        return
    _print_text(result)


def _us(value: Any) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _print_text(result: dict[str, Any]) -> None:
    console = stdout_console()
    m = result["machine"]
    console.print(
        f"machine: {m['cpu']} ({m['cpus']} cpus, load {', '.join(map(str, m['load_avg']))}), Python {m['python']}",
        markup=False,
    )
    console.print(f"packs:   {', '.join(result['config']['packs'])} (mode modify)", markup=False)
    console.print(f"method:  {result['method']}", markup=False)
    names = [n for n in ("gate", "single_pass", "reference", "presidio", "gate_with_tier2") if n in result]
    rows = []
    for name in names:
        r = result[name]
        if r.get("available") is False:
            rows.append([name, "-", "-", "-", "-", "-", r["reason"]])
            continue
        rows.append([name, f"{r['turns']:,}", _us(r["p50_us"]), _us(r["p99_us"]), _us(r["p50_min_us"]),
                     _us(r["p99_min_us"]), ""])
    print_table("cost per agent turn (us)", ["", "turns", "p50", "p99", "p50 min", "p99 min", "note"], rows,
                console=console, render=str)
    ratios = result["ratios"]
    console.print(
        f"gate / single pass (p99 min): x{ratios['gate_p99_min_over_single_pass']}   "
        f"reference / gate (p99 min): x{ratios['reference_p99_min_over_gate']}"
        + (f"   presidio / gate (p50 min): x{ratios['presidio_p50_min_over_gate']}"
           if "presidio_p50_min_over_gate" in ratios else ""),
        markup=False,
    )
    s = result["stream"]
    w, m = s["whole_vs_streamed_1000"], s["whole_vs_model_pieces_1000"]
    console.print(
        f"stream: {s['chunks']:,} chunks of {s['turns']:,} turns, per chunk p50 min {_us(s['p50_min_us'])} us, "
        f"p99 min {_us(s['p99_min_us'])} us, max hold-back {s['max_holdback_chars']} chars; a {w['chars']}-char turn "
        f"streamed in {w['chunks']} chunks costs x{s['streamed_over_whole_1000']} checking it whole "
        f"({_us(w['streamed_p50_min_us'])} vs {_us(w['whole_p50_min_us'])} us), in a model's {m['chunks']} pieces "
        f"x{s['model_pieces_over_whole_1000']}",
        markup=False,
    )
    if "by_length" in result:
        competitors = [n for n in ("gate", "single_pass", "reference") if f"{n}_p50_min_us" in result["by_length"][0]]
        print_table(
            "cost per turn vs turn length (p50 of per-text min, us; ns per char)",
            ["chars", *[f"{n} us" for n in competitors], *[f"{n} ns/char" for n in competitors]],
            [[f"{r['chars']:,}", *[_us(r[f"{n}_p50_min_us"]) for n in competitors],
              *[_us(r[f"{n}_ns_per_char"]) for n in competitors]] for r in result["by_length"]],
            console=console,
            render=str,
        )
        competitors = [n for n in ("gate", "single_pass", "reference") if f"{n}_p50_min_us" in result["by_phrases"][0]]
        print_table(
            "cost per turn vs blocked phrases (us, min over runs; compile s)",
            ["phrases", *[f"{n} p50 / p99" for n in competitors], *[f"{n} compile" for n in competitors]],
            [[f"{r['phrases']:,}", *[f"{_us(r[f'{n}_p50_min_us'])} / {_us(r[f'{n}_p99_min_us'])}" for n in competitors],
              *[f"{r[f'{n}_compile_s']:.2f}" for n in competitors]] for r in result["by_phrases"]],
            console=console,
            render=str,
        )
    console.print(f"memory: {result['memory_mb']} MB resident for the compiled default gate", markup=False)


def register(app: typer.Typer) -> None:
    app.command()(bench)
