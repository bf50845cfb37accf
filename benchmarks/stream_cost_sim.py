"""Instructions of ``trace bench``'s streamed 1,000-character turn, counted by callgrind (issue 14).

    .venv/bin/python benchmarks/stream_cost_sim.py                  # the bench's 50 texts, under callgrind
    .venv/bin/python benchmarks/stream_cost_sim.py --feeds-only     # per feed only (two runs instead of six)
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

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO.parent / "shared" / "corpora" / "sgd_calls.jsonl"
ENTRIES = {
    "whole": "_core::engine::call::CallCore::agent_turn",
    "feed": "_core::engine::stream::StreamCore::feed",
    "new": "_core::engine::stream::StreamCore::new",
    "close": "_core::engine::stream::StreamCore::_close_turn",
}


def drive(corpus: str, texts: int, what: str) -> None:
    """A warm-up stream, then ``texts`` of the bench's texts: streamed (``stream``), checked whole (``whole``) or
    only opened (``opening``), each in a fresh call after the opening turn. Prints how many feeds ran."""
    from trace_engine import Engine, bench

    engine = Engine.from_config(bench.default_gate_config())
    pool = bench.agent_texts(bench.corpus_calls([corpus], 20_000))
    sample = bench.texts_of_length(pool, 1_000, 50)
    warm = engine.start_call("sim-warm", metadata={"direction": "outbound"}).agent_stream()
    for piece in bench.chunks(sample[-1]):
        warm.feed(piece)
    warm.close()
    feeds = 0
    for i, text in enumerate(sample[:texts]):
        call = engine.start_call(f"sim-{i}", metadata={"direction": "outbound"})
        call.agent_turn(bench.OPENING_TURN)
        if what == "whole":
            call.agent_turn(text)
        elif what == "stream":
            pieces = bench.chunks(text)
            stream = call.agent_stream()
            for piece in pieces:
                stream.feed(piece)
            stream.close()
            feeds += len(pieces)
    print(f"feeds: {feeds}")


def collected(corpus: str, texts: int, what: str, entry: str) -> tuple[int, int]:
    """Instructions collected inside ``entry`` and the feeds run."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            "valgrind", "--tool=callgrind", "--collect-atstart=no", f"--toggle-collect={ENTRIES[entry]}",
            f"--callgrind-out-file={tmp}/callgrind.out",
            sys.executable, __file__, "--drive", what, "--corpus", corpus, "--texts", str(texts),
        ]  # fmt: skip
        run = subprocess.run(
            cmd, env={**os.environ, "PYTHONHASHSEED": "0"}, capture_output=True, text=True, check=False
        )
    if run.returncode != 0:
        raise SystemExit(run.stderr[-2000:])
    count = re.search(r"Collected\s*:\s*([\d,]+)", run.stderr)
    feeds = re.search(r"feeds: (\d+)", run.stdout)
    if count is None or feeds is None:
        raise SystemExit(f"no count in callgrind's output:\n{run.stderr[-2000:]}")
    return int(count.group(1).replace(",", "")), int(feeds.group(1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=os.environ.get("TRACE_CORPUS", str(DEFAULT_CORPUS)))
    ap.add_argument("--texts", type=int, default=50)
    ap.add_argument("--feeds-only", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--drive", choices=("stream", "whole", "opening"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.drive:
        drive(args.corpus, args.texts, args.drive)
        return
    if not Path(args.corpus).exists():
        raise SystemExit(f"corpus not found: {args.corpus}")
    n = args.texts
    fed, feeds = collected(args.corpus, n, "stream", "feed")
    warm, _ = collected(args.corpus, 0, "stream", "feed")
    result: dict[str, float] = {"texts": n, "feeds_per_text": round(feeds / n, 1), "feed": round((fed - warm) / feeds)}
    if not args.feeds_only:
        whole = collected(args.corpus, n, "whole", "whole")[0] - collected(args.corpus, n, "opening", "whole")[0]
        per = {k: collected(args.corpus, n, "stream", k)[0] - collected(args.corpus, 0, "stream", k)[0] for k in ("new", "close")}
        streamed = (fed - warm + per["new"] + per["close"]) / n
        result.update(
            whole_per_text=round(whole / n),
            new=round(per["new"] / n),
            close=round(per["close"] / n),
            streamed_per_text=round(streamed),
            streamed_over_whole=round(streamed / (whole / n), 2),
        )
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>20}: {v}")


if __name__ == "__main__":
    main()
