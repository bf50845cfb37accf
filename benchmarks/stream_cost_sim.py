"""Instructions of ``trace bench``'s streamed 1,000-character turn, counted by callgrind (issue 14).

    .venv/bin/python benchmarks/stream_cost_sim.py                  # the bench's 50 texts, under callgrind
    .venv/bin/python benchmarks/stream_cost_sim.py --texts 10 --keep /tmp/cg.out   # for callgrind_annotate
    options: --corpus FILE  --json

Why: ``streamed_over_whole_1000`` (:func:`trace_engine.bench.stream_over_whole`) is a wall-clock ratio, noisy on a
shared machine; these counts repeat exactly under any load. The driver builds the bench's gate, texts and chunks,
says :data:`trace_engine.bench.OPENING_TURN` in each fresh call, then checks each text whole (``agent_turn``) and
streams it in 2-word chunks (``agent_stream`` .. ``close``), as the bench does.

How: the script re-runs itself under ``valgrind --tool=callgrind`` (``PYTHONHASHSEED=0``), collecting only inside
the native entry points (``--toggle-collect``): the whole-turn ``agent_turn``, the stream's creation, each
``feed`` and the stream's whole-turn check at ``close`` (``_close_turn``). The Python glue around them (the
``AgentStream`` subclass, the interpreter's call overhead) is not counted. Reported: instructions per whole turn,
per feed, per close, per streamed turn (creation, feeds, close) and streamed over whole.
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
    "whole": "*CallCore*__pymethod_agent_turn__*",
    "new": "*StreamCore*__pymethod___new__*",
    "feed": "*StreamCore*__pymethod_feed__*",
    "close": "*StreamCore*__pymethod__close_turn__*",
}


def drive(corpus: str, texts: int) -> None:
    """The bench's streamed-vs-whole loop once; prints how many feeds and texts ran."""
    from trace_engine import Engine, bench

    engine = Engine.from_config(bench.default_gate_config())
    pool = bench.agent_texts(bench.corpus_calls([corpus], 20_000))
    sample = bench.texts_of_length(pool, 1_000, 50)[:texts]
    feeds = 0
    for i, text in enumerate(sample):
        pieces = bench.chunks(text)
        for which in ("whole", "streamed"):
            call = engine.start_call(f"sim-{i}-{which}", metadata={"direction": "outbound"})
            call.agent_turn(bench.OPENING_TURN)  # counted as a whole turn: subtracted below
            if which == "whole":
                call.agent_turn(text)
                continue
            stream = call.agent_stream()
            for piece in pieces:
                stream.feed(piece)
            stream.close()
            feeds += len(pieces)
    print(f"texts: {len(sample)} feeds: {feeds}")


def opening_cost(corpus: str) -> None:
    from trace_engine import Engine, bench

    engine = Engine.from_config(bench.default_gate_config())
    for i in range(50):
        engine.start_call(f"open-{i}", metadata={"direction": "outbound"}).agent_turn(bench.OPENING_TURN)
    print("openings: 50")


TOGGLE = "pyo3::impl_::trampoline::trampoline"
#: built once, lazily, by the first stream's first feed: not a feed's cost
ONCE = {"feed": "*ByteAutomaton::build*"}


def inclusive(out: str) -> dict[str, int]:
    """Inclusive instructions of each entry point, from callgrind_annotate, less what it built once (:data:`ONCE`)."""
    text = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--threshold=100", out], capture_output=True, text=True, check=True
    ).stdout
    got = {}
    for name, pattern in [*ENTRIES.items(), *((f"once_{k}", v) for k, v in ONCE.items())]:
        needle = pattern.strip("*").split("*")
        for line in text.splitlines():
            if all(part in line for part in needle):
                got[name] = int(line.split()[0].replace(",", ""))
                break
        else:
            got[name] = 0
    for name in ONCE:
        got[name] -= got.pop(f"once_{name}")
    return got


def callgrind(args: list[str], out: str) -> str:
    # one toggle: callgrind 3.19 honours only some of several; every entry point runs inside PyO3's trampoline
    cmd = ["valgrind", "--tool=callgrind", "--collect-atstart=no", f"--callgrind-out-file={out}", f"--toggle-collect={TOGGLE}"]
    run = subprocess.run(
        cmd + [sys.executable, __file__, *args],
        env={**os.environ, "PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        raise SystemExit(run.stderr[-2000:])
    return run.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=os.environ.get("TRACE_CORPUS", str(DEFAULT_CORPUS)))
    ap.add_argument("--texts", type=int, default=50)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--keep", help="write callgrind's output of the main run here")
    ap.add_argument("--drive", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--openings", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.drive:
        drive(args.corpus, args.texts)
        return
    if args.openings:
        opening_cost(args.corpus)
        return
    if not Path(args.corpus).exists():
        raise SystemExit(f"corpus not found: {args.corpus}")
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or str(Path(tmp) / "callgrind.out")
        stdout = callgrind(["--drive", "--corpus", args.corpus, "--texts", str(args.texts)], out)
        texts, feeds = (int(x) for x in re.search(r"texts: (\d+) feeds: (\d+)", stdout).groups())  # type: ignore[union-attr]
        got = inclusive(out)
        callgrind(["--openings", "--corpus", args.corpus], str(Path(tmp) / "openings.out"))
        opening = inclusive(str(Path(tmp) / "openings.out"))["whole"] / 50
    # each text's two calls said the opening turn once each, counted under "whole"
    whole = (got["whole"] - 2 * texts * opening) / texts
    streamed = (got["new"] + got["feed"] + got["close"]) / texts
    result = {
        "texts": texts,
        "feeds_per_text": round(feeds / texts, 1),
        "whole_per_text": round(whole),
        "feed": round(got["feed"] / feeds),
        "close": round(got["close"] / texts),
        "new": round(got["new"] / texts),
        "streamed_per_text": round(streamed),
        "streamed_over_whole": round(streamed / whole, 2),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>20}: {v}")


if __name__ == "__main__":
    main()
