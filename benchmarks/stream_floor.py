"""What ``streamed_over_whole_1000`` can be at best: a stream's fixed costs against checking its turn whole (issue 14).

    .venv/bin/python benchmarks/stream_floor.py                 # the bench's 50 texts of 1,000 chars, 7 runs
    .venv/bin/python benchmarks/stream_floor.py --runs 11 --json
    options: --corpus FILE  --texts N  --runs N  --json

A stream of a turn does at least what checking it whole does (normalize, scan, detect, evaluate, build the Decision,
commit), and on top of it one call into the core per chunk. So, per text (min over the runs, interleaved, as
:func:`trace_engine.bench.stream_over_whole` times them; medians over the texts):

- ``whole``: ``agent_turn(text)``; ``streamed``: ``agent_stream()``, a ``feed`` per 2-word chunk, ``close()``, split
  into ``open``, ``feeds`` and ``close``;
- ``calls``: as many calls into the core as there are chunks, of the cheapest kind there is (a getter of the stream:
  no argument to extract, nothing returned to build), so a lower bound on what a ``feed`` costs before it does
  anything;
- ``floor_over_whole``: ``(whole + calls) / whole``, the ratio of a stream that did the whole check's work once,
  spread over its feeds and ``close``, and nothing else but be called;
- ``share_ns``: a feed's share of the whole check's work, ``whole / chunks``;
- ``budget_per_feed_ns``: what a feed may spend beyond its call and its share for the ratio to be 2,
  ``(2 * whole - whole - calls) / chunks``. It covers all a stream does on top of the whole check: opening it, each
  chunk's copy, the released text's ``str``, the latency's two clock reads, the hold-back, and any matching done
  again.

The texts are the bench's (``trace_engine.bench.texts_of_length`` over its corpus: SGD in ``../shared``, else the
demo's), each said after :data:`trace_engine.bench.OPENING_TURN` in a fresh call.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from typing import Any

from trace_engine import bench


def measure(engine: bench.Engine, texts: list[str], runs: int) -> dict[str, Any]:
    """Per text, the minimum over ``runs`` of each part, interleaved per text; the median over the texts
    (:func:`trace_engine.bench.summary`'s ``p50_min_us``, as the bench reports its own)."""
    clock = time.perf_counter_ns
    parts = ("whole", "open", "feeds", "close", "streamed", "calls")
    timed: dict[str, list[list[int]]] = {p: [] for p in parts}  # per part, per run, per text
    pieces = [bench.chunks(t) for t in texts]
    for r in range(runs):
        for p in parts:
            timed[p].append([])
        kept: list[Any] = []
        gc.collect()
        for i, (text, chunks) in enumerate(zip(texts, pieces, strict=True)):
            # the last text's calls and stream: freed here, untimed, as a turn loop drops a turn's stream
            del kept[:]
            whole_call = engine.start_call(f"floor-{r}-{i}-w", metadata={"direction": "outbound"})
            stream_call = engine.start_call(f"floor-{r}-{i}-s", metadata={"direction": "outbound"})
            whole_call.agent_turn(bench.OPENING_TURN)
            stream_call.agent_turn(bench.OPENING_TURN)
            got: dict[str, int] = {}
            for which in ("whole", "stream") if (i + r) % 2 == 0 else ("stream", "whole"):
                # `decision` and `stream` are unbound once kept: rebinding them in the next timed region would free
                # what they held there
                if which == "whole":
                    a = clock()
                    decision = whole_call.agent_turn(text)
                    got["whole"] = clock() - a
                    kept.append(decision)
                    del decision
                    continue
                a = clock()
                stream = stream_call.agent_stream()
                b = clock()
                for chunk in chunks:
                    stream.feed(chunk)
                c = clock()
                stream.close()
                d = clock()
                got.update(open=b - a, feeds=c - b, close=d - c, streamed=d - a)
                getter = type(stream).suppressing.__get__
                a = clock()
                for _ in chunks:
                    getter(stream)
                got["calls"] = clock() - a
                kept.append(stream)
                del stream, getter
            kept += [whole_call, stream_call]
            for p in parts:
                timed[p][r].append(got[p])
        del kept[:]
    med = {p: bench.summary(timed[p])["p50_min_us"] for p in parts}
    chunks_per_text = statistics.mean(len(c) for c in pieces)
    whole = med["whole"]
    return {
        "texts": len(texts),
        "runs": runs,
        "chunks": round(chunks_per_text, 1),
        **{f"{p}_p50_min_us": round(med[p], 2) for p in parts},
        "streamed_over_whole": round(med["streamed"] / whole, 2),
        "floor_over_whole": round((whole + med["calls"]) / whole, 2),
        "call_ns": round(1000 * med["calls"] / chunks_per_text),
        "share_ns": round(1000 * whole / chunks_per_text),
        "feed_ns": round(1000 * med["feeds"] / chunks_per_text),
        "budget_per_feed_ns": round(1000 * (whole - med["calls"]) / chunks_per_text),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", action="append", help="call transcripts (default: trace bench's)")
    parser.add_argument("--texts", type=int, default=50)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    pool = bench.agent_texts(bench.corpus_calls(args.corpus, 20_000))
    if not pool:
        sys.exit("no corpus: pass --corpus FILE (or set TRACE_SHARED_DIR)")
    texts = bench.texts_of_length(pool, 1000, args.texts)
    out = measure(bench.Engine.from_config(bench.default_gate_config()), texts, args.runs)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(
        f"{out['texts']} texts of 1,000 chars, {out['chunks']} chunks each, min of {out['runs']} runs, medians: "
        f"whole {out['whole_p50_min_us']} us; streamed {out['streamed_p50_min_us']} us "
        f"(open {out['open_p50_min_us']}, feeds {out['feeds_p50_min_us']}, close {out['close_p50_min_us']})"
    )
    print(
        f"streamed/whole {out['streamed_over_whole']}x; floor (whole + {out['chunks']} bare calls, "
        f"{out['call_ns']} ns each) {out['floor_over_whole']}x; a feed costs {out['feed_ns']} ns; for 2x it may "
        f"cost its call, its share of the whole check ({out['share_ns']} ns) and {out['budget_per_feed_ns']} ns"
    )


if __name__ == "__main__":
    main()
