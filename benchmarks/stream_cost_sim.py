"""Instructions of ``trace bench``'s streamed 1,000-character turn, counted by callgrind (issue 14).

    .venv/bin/python benchmarks/stream_cost_sim.py                  # the bench's 50 texts, under callgrind
    .venv/bin/python benchmarks/stream_cost_sim.py --feeds-only     # per feed only (two runs instead of six)
    .venv/bin/python benchmarks/stream_cost_sim.py --whole-process  # the whole process: the Python glue counted too
    .venv/bin/python benchmarks/stream_cost_sim.py --breakdown 30   # where a feed's instructions go, by function
    options: --corpus FILE  --texts N  --json

Why: ``streamed_over_whole_1000`` (:func:`trace_engine.bench.stream_over_whole`) is a wall-clock ratio, noisy on a
shared machine; these counts repeat exactly under any load. The driver builds the bench's gate, texts and chunks,
says :data:`trace_engine.bench.OPENING_TURN` in each fresh call, then checks each text whole (``agent_turn``) or
streams it in 2-word chunks (``agent_stream`` .. ``close``), as the bench does.

How: each figure is the difference of two runs under ``valgrind --tool=callgrind`` (``PYTHONHASHSEED=0``) that
collect only inside one native entry point (``--toggle-collect``): with the texts, and without them (the same
warm-up stream, which also builds the stream's automaton once). So per feed is (feeds of the texts) / (their
count), exactly, whatever the compiler inlined. Entry points: ``feed``, the whole-turn ``agent_turn`` (the
opening turns subtracted the same way), and the stream's creation and whole-turn check at ``close``. The Python
glue around them (the ``AgentStream`` subclass, the interpreter's calls) is not counted.

``--whole-process`` counts everything the measured part of a drive runs (:data:`PHASE`, under ``exec``, counted
with ``--toggle-collect=builtin_exec``): the interpreter, PyO3's argument handling, the ``Call.agent_stream`` and
``AgentStream`` Python, and dropping each stream. The calls, their opening turns and every import come before it,
uncounted, so the differences between drives hold only their texts' own work (a drive that counted the whole
process carried lazy initialisation and allocator state from run to run: the whole turn came out below its own
native count). Five drives stop at successive points of each text's call: nothing (``opening``); the text checked
whole; the stream created (and dropped); its chunks fed; the stream closed. Creation, feeds and close are the
differences of successive drives (each also moves a stream's drop from one phase to the next: an unfed stream's is
the cheapest), the whole turn that of the second and the first, so ``streamed_over_whole`` is the instruction ratio
of what ``stream_over_whole`` times, glue included. Each phase is split into the native entry point's own count
(inclusive, from ``callgrind_annotate``) and the rest, the glue around it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from trace_engine.shared_data import shared_corpus

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = shared_corpus("sgd_calls.jsonl")
ENTRIES = {
    "whole": "_core::engine::call::CallCore::agent_turn",
    "feed": "_core::engine::stream::StreamCore::feed",
    "new": "_core::engine::stream::StreamCore::new",
    "close": "_core::engine::stream::StreamCore::_close_turn",
}
#: the drives of ``--whole-process``, each going one step further into every text's call than the one before
STEPS = ("opening", "whole", "created", "fed", "stream")


#: the measured part of a drive, run by ``exec`` so that ``--whole-process`` can count it alone (every import and
#: every call's opening turn ran before it); a function, so that its names are fast locals as in the bench's loop
#: (``exec``'s own names are a dict's); the stream is dropped in it, as the bench drops each one in its next timed
#: stream
PHASE = """
def phase(calls, texts, pieces, what):
    feeds = 0
    for call, text, chunks in zip(calls, texts, pieces):
        if what == "whole":
            call.agent_turn(text)
        elif what != "opening":
            stream = call.agent_stream()
            if what != "created":
                for piece in chunks:
                    stream.feed(piece)
                feeds += len(chunks)
                if what == "stream":
                    stream.close()
            del stream
    return feeds

feeds = phase(calls, texts, pieces, what)
"""


def drive(corpus: str, texts: int, what: str) -> None:
    """A warm-up stream and whole turn, then ``texts`` of the bench's texts, each in a fresh call after the opening
    turn: streamed (``stream``), checked whole (``whole``) or neither (``opening``); ``created`` and ``fed`` stop a
    stream before its chunks and before ``close``. Prints how many feeds ran.

    The calls, their opening turns and the chunks are made first; then :data:`PHASE` runs under ``exec``, alone. The
    cycle collector is off from then on: when its collections (a full one walks the engine's heap) fall depends on
    how many objects a drive allocated, not on what a turn costs, and the bench's minimums over runs leave them out
    too."""
    import gc

    from trace_engine import Engine, bench

    engine = Engine.from_config(bench.default_gate_config())
    pool = bench.agent_texts(bench.corpus_calls([corpus], 20_000))
    sample = bench.texts_of_length(pool, 1_000, 50)
    warm_call = engine.start_call("sim-warm", metadata={"direction": "outbound"})
    warm = warm_call.agent_stream()
    for piece in bench.chunks(sample[-1]):
        warm.feed(piece)
    warm.close()
    warm_call.agent_turn(sample[-1])
    chosen = sample[:texts]
    calls = []
    for i in range(len(chosen)):
        call = engine.start_call(f"sim-{i}", metadata={"direction": "outbound"})
        call.agent_turn(bench.OPENING_TURN)
        calls.append(call)
    scope = {"calls": calls, "texts": chosen, "pieces": [bench.chunks(t) for t in chosen], "what": what}
    gc.collect()
    gc.disable()
    exec(compile(PHASE, "<phase>", "exec"), scope)
    print(f"feeds: {scope['feeds']}")


def callgrind(valgrind_args: list[str], corpus: str, texts: int, what: str) -> tuple[int, str]:
    """Run the driver for ``what`` under callgrind with ``valgrind_args``: the instructions it collected, and what
    the driver printed."""
    cmd = [
        "valgrind", "--tool=callgrind", *valgrind_args,
        sys.executable, __file__, "--drive", what, "--corpus", corpus, "--texts", str(texts),
    ]  # fmt: skip
    run = subprocess.run(
        cmd, env={**os.environ, "PYTHONHASHSEED": "0"}, capture_output=True, text=True, check=False
    )
    if run.returncode != 0:
        raise SystemExit(run.stderr[-2000:])
    count = re.search(r"Collected\s*:\s*([\d,]+)", run.stderr)
    if count is None:
        raise SystemExit(f"no count in callgrind's output:\n{run.stderr[-2000:]}")
    return int(count.group(1).replace(",", "")), run.stdout


def collected(
    corpus: str, texts: int, what: str, entry: str, functions: bool = False
) -> tuple[int, int, dict[str, int]]:
    """Instructions collected inside ``entry``, the feeds run, and (``functions``) each function's inclusive count
    there."""
    with tempfile.TemporaryDirectory() as tmp:
        out = f"{tmp}/callgrind.out"
        args = ["--collect-atstart=no", f"--toggle-collect={ENTRIES[entry]}", f"--callgrind-out-file={out}"]
        count, printed = callgrind(args, corpus, texts, what)
        counts = inclusive_counts(out) if functions else {}
    feeds = re.search(r"feeds: (\d+)", printed)
    if feeds is None:
        raise SystemExit(f"the driver printed no feed count:\n{printed[-2000:]}")
    return count, int(feeds.group(1)), counts


def inclusive_counts(out: str) -> dict[str, int]:
    """Each function's inclusive instructions in the callgrind output file ``out`` (``callgrind_annotate``). A
    function listed under several source files (code inlined from them) keeps its largest count, its own."""
    annotated = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--auto=no", "--threshold=100", out],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    counts: dict[str, int] = {}
    # a line per function: "<count> (<share>)  <file>:<symbol> [<object>]", the count with thousands commas
    for found in re.finditer(
        r"^\s*([\d,]+)\s+\([^)]*\)\s+[^:\n]*:(.+?)(?: \[[^\]\n]*\])?$", annotated, re.MULTILINE
    ):
        name, count = found.group(2), int(found.group(1).replace(",", ""))
        counts[name] = max(counts.get(name, 0), count)
    return counts


def feed_breakdown(corpus: str, n: int, top: int) -> list[tuple[float, str]]:
    """``--breakdown``: the ``top`` functions with the most inclusive instructions per feed inside ``feed`` (the
    texts' drive less the warm-up's alone, as for the per-feed figure)."""
    _, feeds, with_texts = collected(corpus, n, "stream", "feed", functions=True)
    _, _, warm = collected(corpus, 0, "stream", "feed", functions=True)
    per_feed = {name: (count - warm.get(name, 0)) / feeds for name, count in with_texts.items()}
    feed = ENTRIES["feed"]
    # `feed` and what it calls: the frames around it (the interpreter's, PyO3's wrapper) count as much or more
    inside = [(cost, name) for name, cost in per_feed.items() if 0 < cost < per_feed[feed]]
    return [(per_feed[feed], feed), *sorted(inside, reverse=True)[: top - 1]]


def whole_process(corpus: str, texts: int, what: str) -> tuple[int, dict[str, int]]:
    """Instructions of the whole process driving ``what``, and the inclusive count of each of :data:`ENTRIES`."""
    with tempfile.TemporaryDirectory() as tmp:
        out = f"{tmp}/callgrind.out"
        args = ["--collect-atstart=no", "--toggle-collect=builtin_exec", f"--callgrind-out-file={out}"]
        count, _ = callgrind(args, corpus, texts, what)
        counts = inclusive_counts(out)
    return count, {name: counts.get(symbol, 0) for name, symbol in ENTRIES.items()}


def whole_process_report(corpus: str, n: int) -> dict[str, float]:
    """``--whole-process``: per text, the whole turn, the streamed turn and its phases, each split native / glue."""
    runs = {step: whole_process(corpus, n, step) for step in STEPS}
    total = {step: runs[step][0] for step in STEPS}
    # the native entries' counts outside the texts (the warm-up's, the opening turns') are the opening run's
    opening = runs["opening"][1]
    native = {name: (runs["stream"][1][name] - opening[name]) / n for name in ENTRIES}
    native["whole"] = (runs["whole"][1]["whole"] - opening["whole"]) / n
    whole = (total["whole"] - total["opening"]) / n
    phases = {
        "new": (total["created"] - total["opening"]) / n,
        "feed": (total["fed"] - total["created"]) / n,
        "close": (total["stream"] - total["fed"]) / n,
    }
    streamed = sum(phases.values())
    result: dict[str, float] = {
        "texts": n,
        "whole_per_text": round(whole),
        "whole_native": round(native["whole"]),
    }
    for phase, cost in phases.items():
        result[f"{phase}_per_text"] = round(cost)
        result[f"{phase}_native"] = round(native[phase])
        result[f"{phase}_glue"] = round(cost - native[phase])
    result.update(
        streamed_per_text=round(streamed),
        streamed_glue=round(streamed - sum(native[p] for p in phases)),
        streamed_over_whole=round(streamed / whole, 2),
    )
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=os.environ.get("TRACE_CORPUS", str(DEFAULT_CORPUS)))
    ap.add_argument("--texts", type=int, default=50)
    ap.add_argument("--feeds-only", action="store_true")
    ap.add_argument(
        "--whole-process", action="store_true", help="count the whole process, Python glue included"
    )
    ap.add_argument(
        "--breakdown",
        type=int,
        metavar="K",
        help="the K functions costing most per feed, inclusive (callgrind)",
    )
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--drive", choices=STEPS, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.drive:
        drive(args.corpus, args.texts, args.drive)
        return
    if not Path(args.corpus).exists():
        raise SystemExit(f"corpus not found: {args.corpus}")
    n = args.texts
    if args.whole_process:
        show(whole_process_report(args.corpus, n), args.json)
        return
    if args.breakdown:
        rows = feed_breakdown(args.corpus, n, args.breakdown)
        if args.json:
            print(json.dumps({name: round(cost) for cost, name in rows}))
        else:
            for cost, name in rows:
                print(f"{cost:10.1f}  {name}")
        return
    fed, feeds, _ = collected(args.corpus, n, "stream", "feed")
    warm, _, _ = collected(args.corpus, 0, "stream", "feed")
    result: dict[str, float] = {
        "texts": n,
        "feeds_per_text": round(feeds / n, 1),
        "feed": round((fed - warm) / feeds),
    }
    if not args.feeds_only:
        whole = (
            collected(args.corpus, n, "whole", "whole")[0] - collected(args.corpus, n, "opening", "whole")[0]
        )
        per = {
            k: collected(args.corpus, n, "stream", k)[0] - collected(args.corpus, 0, "stream", k)[0]
            for k in ("new", "close")
        }
        streamed = (fed - warm + per["new"] + per["close"]) / n
        result.update(
            whole_per_text=round(whole / n),
            new=round(per["new"] / n),
            close=round(per["close"] / n),
            streamed_per_text=round(streamed),
            streamed_over_whole=round(streamed / (whole / n), 2),
        )
    show(result, args.json)


def show(result: dict[str, float], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>20}: {v}")


if __name__ == "__main__":
    main()
