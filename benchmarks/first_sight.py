"""What a turn costs the first time the gate sees its text, and once it has seen it a few times (issue 14).

    .venv/bin/python benchmarks/first_sight.py                     # every 20th SGD agent turn, the 1,000-char texts
    .venv/bin/python benchmarks/first_sight.py --tail tail.json    # and the tail turns ``tail_turns.py --pick`` wrote
    options: --corpus FILE  --every N  --long N  --repeats N  --json

Why: ``trace bench`` takes each turn's minimum over three runs, and between two runs of one turn the gate checks
20,000 others, so each run meets the turn's text for the first time: what the processor learned from that text
(which way its branches went, its cache lines) is gone, and only what it learned from the gate's code in general
is left. The gate's instructions are the same every time (callgrind counts a repeat within a few percent of the
first sight), so timing one turn several times back to back splits its cost in two: the last repeat is about what
its instructions cost once the processor has learned the text; the first sight adds what learning costs.

How: for each sampled agent turn, a fresh call replays the call's earlier turns untimed, then times the turn; that
is done ``--repeats`` times in a row. The 1,000-character texts are ``trace bench``'s streaming texts after its
opening turn, checked whole and streamed in 2-word chunks (a stream's feeds repeat the same code many times a
turn, so its first sight costs it less than a whole turn's). Reported per sample and per repeat: the median and
p99 over the turns, and the first sight over the last repeat. Wall clock: run it on a quiet machine and compare
runs, not single figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from trace_engine.shared_data import shared_corpus

DEFAULT_CORPUS = shared_corpus("sgd_calls.jsonl")


def sampled_turns(calls: list[Any], every: int) -> list[tuple[int, int]]:
    """(call index, turn index in the call) of every ``every``-th agent turn, in corpus order."""
    out, k = [], 0
    for c, call in enumerate(calls):
        for j, (role, _, _) in enumerate(call.turns):
            if role == "agent":
                if k % every == 0:
                    out.append((c, j))
                k += 1
    return out


def tail_turns(calls: list[Any], path: str) -> list[tuple[int, int]]:
    """The tail ``tail_turns.py --pick`` wrote, as (call index, turn index in the call)."""
    wanted = {(t["call"], t["text"]) for t in json.loads(Path(path).read_text())["tail"]}
    return [
        (c, j)
        for c, call in enumerate(calls)
        for j, (role, text, _) in enumerate(call.turns)
        if role == "agent" and (c, text) in wanted
    ]


def time_in_call(engine: Any, call: Any, j: int, repeats: int) -> list[int]:
    """Nanoseconds of agent turn ``j`` of ``call``, each time in a fresh call after its earlier turns (untimed)."""
    clock = time.perf_counter_ns
    role, text, t = call.turns[j]
    out = []
    for _ in range(repeats):
        live = engine.start_call("first-sight", metadata={"direction": "outbound", **call.metadata})
        for r, earlier, te in call.turns[:j]:
            if r == "agent":
                live.agent_turn(earlier, te)
            elif r == "caller":
                live.caller_turn(earlier, te)
        started = clock()
        live.agent_turn(text, t)
        out.append(clock() - started)
    return out


def time_long(engine: Any, text: str, repeats: int, streamed: bool = False) -> list[int]:
    """Nanoseconds of ``text`` after ``trace bench``'s opening turn, each time in a fresh call: checked whole, or
    (``streamed``) fed in 2-word chunks from ``agent_stream`` to ``close``, as ``trace bench`` times them."""
    from trace_engine import bench

    clock = time.perf_counter_ns
    pieces = bench.chunks(text)
    out = []
    for _ in range(repeats):
        live = engine.start_call("first-sight", metadata={"direction": "outbound"})
        live.agent_turn(bench.OPENING_TURN)
        started = clock()
        if streamed:
            stream = live.agent_stream()
            for piece in pieces:
                stream.feed(piece)
            stream.close()
        else:
            live.agent_turn(text)
        out.append(clock() - started)
    return out


def per_repeat(samples: list[list[int]]) -> dict[str, Any]:
    """Per repeat, the median and p99 (microseconds) over the turns; and the first sight over the last repeat."""
    from trace_engine.gate.scoring import percentile

    repeats = len(samples[0]) if samples else 0
    rows = []
    for k in range(repeats):
        values = sorted(s[k] / 1000 for s in samples)
        rows.append(
            {
                "repeat": k + 1,
                "p50_us": round(percentile(values, 50, presorted=True) or 0.0, 2),
                "p99_us": round(percentile(values, 99, presorted=True) or 0.0, 2),
            }
        )
    first, last = (rows[0], rows[-1]) if rows else ({}, {})
    return {
        "turns": len(samples),
        "repeats": rows,
        "first_over_last_p50": round(first["p50_us"] / last["p50_us"], 2)
        if rows and last["p50_us"]
        else None,
        "first_over_last_p99": round(first["p99_us"] / last["p99_us"], 2)
        if rows and last["p99_us"]
        else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=os.environ.get("TRACE_CORPUS", str(DEFAULT_CORPUS)))
    ap.add_argument(
        "--turns", type=int, default=20_000, help="agent turns of the corpus read (as trace bench)"
    )
    ap.add_argument("--every", type=int, default=20, help="time every N-th agent turn")
    ap.add_argument("--tail", help="the file tail_turns.py --pick wrote: time its turns too")
    ap.add_argument("--long", type=int, default=50, help="1,000-character texts checked whole (0: none)")
    ap.add_argument("--repeats", type=int, default=8)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not Path(args.corpus).is_file():
        sys.exit(f"no corpus at {args.corpus} (set TRACE_SHARED_DIR or pass --corpus)")
    if args.every < 1 or args.repeats < 2:
        sys.exit("--every must be at least 1 and --repeats at least 2")

    from trace_engine import Engine, bench

    engine = Engine.from_config(bench.default_gate_config())
    calls = bench.corpus_calls([args.corpus], args.turns)
    picks = {"sampled": sampled_turns(calls, args.every)}
    if args.tail:
        picks["tail"] = tail_turns(calls, args.tail)
    result: dict[str, Any] = {"corpus": args.corpus, "load": os.getloadavg()}
    for name, turns in picks.items():
        result[name] = per_repeat([time_in_call(engine, calls[c], j, args.repeats) for c, j in turns])
    if args.long:
        texts = bench.texts_of_length(bench.agent_texts(calls), 1_000, args.long)
        result["whole_1000"] = per_repeat([time_long(engine, text, args.repeats) for text in texts])
        result["streamed_1000"] = per_repeat([time_long(engine, text, args.repeats, True) for text in texts])
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for name in ("sampled", "tail", "whole_1000", "streamed_1000"):
        if name not in result:
            continue
        r = result[name]
        cells = "  ".join(f"{row['p50_us']:6.2f}/{row['p99_us']:<6.2f}" for row in r["repeats"])
        print(f"{name:<11} {r['turns']:>5} turns  p50/p99 us by repeat: {cells}")
        print(
            f"{'':<11} first sight over last repeat: p50 x{r['first_over_last_p50']}, p99 x{r['first_over_last_p99']}"
        )


if __name__ == "__main__":
    main()
