"""What streaming costs when a turn is not all ASCII: a curly apostrophe, a dash, an accented word (issue 14).

    .venv/bin/python benchmarks/stream_non_ascii.py                 # 20 texts each of 250, 1,000 and 4,000 chars
    options: --corpus FILE  --texts N  --runs N  --lengths 250,1000  --json

Why: a stream's feeds normalize only the words since the last restart point (``core/src/engine/incremental.rs``).
Restart points used to stop at the turn's first non-ASCII character, and language models write such characters all
the time (``’`` for an apostrophe, ``—``, ``“ ”``, names with accents): from the first one on every feed normalized,
scanned and ran the detectors over the rest of the turn again, O(n^2) instead of O(n). The non-ASCII rows show what
such text costs now: feeds of plain words are quiet after it too, and the normalizer folds and scans as characters
only the words around each such character (the rest of the turn takes the ASCII paths).

How: ``trace bench``'s texts of each length (consecutive SGD agent turns), as they are and with one kind of
non-ASCII character put in: apostrophes made curly, ", " made " — ", or "Café " before the text. Each text is said
after :data:`trace_engine.bench.OPENING_TURN` in a fresh call, checked whole and streamed in 2-word chunks, the two
alternating; reported per length and variant: the medians over the texts of each one's minimum over ``--runs``
runs, their ratio, and the characters the stream's feeds normalized per character of the text (about 1 when the
work is linear). Wall clock: compare variants of one run, not runs on different machines.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable

from trace_engine import bench
from trace_engine.gate.engine import Engine

#: each variant: how it changes a text
VARIANTS: dict[str, Callable[[str], str]] = {
    "ascii": lambda text: text,
    "curly apostrophes": lambda text: text.replace("'", "\u2019"),
    "em dashes": lambda text: text.replace(", ", " \u2014 "),
    "accented first word": lambda text: "Caf\u00e9 " + text,
}


def measure(engine: Engine, texts: list[str], runs: int) -> dict[str, float]:
    """Each text whole and streamed, alternating, ``runs`` times: medians of the per-text minimums, and the
    characters normalized per character by the last run's streams."""
    clock = time.perf_counter_ns
    whole = [[0] * runs for _ in texts]
    streamed = [[0] * runs for _ in texts]
    normalized = chars = 0
    for r in range(runs):
        gc.collect()
        for i, text in enumerate(texts):
            pieces = bench.chunks(text)
            for which in (0, 1) if (i + r) % 2 == 0 else (1, 0):
                call = engine.start_call(f"na-{r}-{i}-{which}", metadata={"direction": "outbound"})
                call.agent_turn(bench.OPENING_TURN)
                started = clock()
                if which == 0:
                    call.agent_turn(text)
                    whole[i][r] = clock() - started
                    continue
                stream = call.agent_stream()
                for piece in pieces:
                    stream.feed(piece)
                stream.close()
                streamed[i][r] = clock() - started
                if r == runs - 1:
                    normalized += stream._work()[0]
                    chars += len(text)
    w = round(statistics.median(min(x) for x in whole) / 1000, 2)
    s = round(statistics.median(min(x) for x in streamed) / 1000, 2)
    return {
        "whole_p50_min_us": w,
        "streamed_p50_min_us": s,
        "streamed_over_whole": round(s / w, 2),
        "normalized_per_char": round(normalized / chars, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", action="append", help="call transcripts (default: trace bench's)")
    ap.add_argument("--texts", type=int, default=20, help="texts per length")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--lengths", default="250,1000,4000", help="characters, comma-separated")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    engine = Engine.from_config(bench.default_gate_config())
    pool = bench.agent_texts(bench.corpus_calls(args.corpus, 20_000))
    if not pool:
        sys.exit("no corpus: pass --corpus FILE (or set TRACE_SHARED_DIR)")
    rows = []
    for length in (int(x) for x in args.lengths.split(",")):
        texts = bench.texts_of_length(pool, length, args.texts)
        for name, change in VARIANTS.items():
            rows.append(
                {"chars": length, "variant": name, **measure(engine, [change(t) for t in texts], args.runs)}
            )
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(
        f"{'chars':>6}  {'variant':<20} {'whole µs':>9} {'streamed µs':>12} {'ratio':>7} {'normalized/char':>16}"
    )
    for row in rows:
        print(
            f"{row['chars']:>6}  {row['variant']:<20} {row['whole_p50_min_us']:>9.1f} {row['streamed_p50_min_us']:>12.1f}"
            f" {row['streamed_over_whole']:>7.2f} {row['normalized_per_char']:>16.2f}"
        )


if __name__ == "__main__":
    main()
