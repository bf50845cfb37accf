"""The gate's per-turn cache footprint in ``trace bench``'s interleaved setting, counted by callgrind (issue 14).

    .venv/bin/python benchmarks/turn_cache_sim.py                    # 1,000 SGD agent turns, under callgrind
    .venv/bin/python benchmarks/turn_cache_sim.py --turns 2000 --alone   # the gate alone (no competitors)
    options: --corpus FILE  --json  --keep FILE (the callgrind output, for callgrind_annotate)

Why: measured alone, the gate's p50 turn is about half its p50 in ``trace bench``, where the frozen reference
gate (a large Python program) and the single-pass baseline run between two of its turns and evict its code and
data. What a turn costs there depends on how many distinct code and data cache lines it touches, not only on its
instructions. Wall-clock figures are noisy on a shared machine; these counts are not.

How: the script re-runs itself under ``valgrind --tool=callgrind --cache-sim=yes`` (``PYTHONHASHSEED=0``, so the
Python side allocates the same way each time). The driver is ``trace_engine.bench.interleaved`` itself, over the
same competitors as ``trace bench`` (gate, single_pass, reference; warm-up included), and events are collected
only inside the gate's ``agent_turn`` (``--toggle-collect``). Reported per gate agent turn: instructions,
first-level instruction-cache and data-cache misses (32 KB, 8-way, 64-byte lines) and last-level misses of a
cache the size of one core's L2 here (``--ll``, default 1 MB 8-way): callgrind models two levels, and measured
alone a turn already misses the first level on most of the ~600 code lines it runs, so what the competitors
between two turns take away shows in the second.
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
from typing import Any

from trace_engine.shared_data import shared_corpus

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = shared_corpus("sgd_calls.jsonl")
#: the native entry point counted: its own symbol in every build (``#[inline(never)]``); no wildcards, for
#: ``--dump-after``
ENTRY = "_core::engine::call::CallCore::agent_turn"


def competitors(alone: bool = False) -> dict[str, Any]:
    """The bench's competitors on its default config: the gate, and unless ``alone`` the single pass and the frozen
    reference it is interleaved with (``tail_turns.py`` uses the same set)."""
    from trace_engine import Engine, bench

    config = bench.default_gate_config()
    out: dict[str, Any] = {"gate": bench.GateCompetitor(Engine.from_config(config))}
    if not alone:
        out["single_pass"] = bench.Stateless(bench.single_pass_for(config).check)
        reference, missing = bench.reference_engine()
        if reference is None:
            raise SystemExit(f"no reference gate: {missing}")
        out["reference"] = bench.GateCompetitor(reference.from_config(config))
    return out


def drive(corpus: str, turns: int, alone: bool) -> int:
    """Run the bench's interleaved loop once (after its warm-up); the number of gate agent turns run."""
    from trace_engine import bench

    playing = competitors(alone)
    calls = bench.corpus_calls([corpus], turns)
    warm = calls[: max(1, len(calls) // 10)]
    bench.interleaved(playing, warm, 1)  # type: ignore[arg-type]
    timed = bench.interleaved(playing, calls, 1)  # type: ignore[arg-type]
    return sum(1 for c in warm for role, _, _ in c.turns if role == "agent") + len(timed["gate"][0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=os.environ.get("TRACE_CORPUS", str(DEFAULT_CORPUS)))
    ap.add_argument("--turns", type=int, default=1000)
    ap.add_argument("--alone", action="store_true", help="the gate alone, no competitors between its turns")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--keep", help="write callgrind's output here")
    ap.add_argument("--ll", default="1048576,8,64", help="last-level cache: size,associativity,line (bytes)")
    ap.add_argument("--drive", action="store_true", help=argparse.SUPPRESS)  # the run under valgrind
    args = ap.parse_args()
    if args.drive:
        print(f"gate agent turns: {drive(args.corpus, args.turns, args.alone)}")
        return
    if not Path(args.corpus).exists():
        raise SystemExit(f"corpus not found: {args.corpus}")
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or str(Path(tmp) / "callgrind.out")
        cmd = [
            "valgrind", "--tool=callgrind", "--cache-sim=yes", f"--LL={args.ll}", "--collect-atstart=no",
            f"--toggle-collect={ENTRY}", f"--callgrind-out-file={out}",
            sys.executable, __file__, "--drive", "--corpus", args.corpus, "--turns", str(args.turns),
        ] + (["--alone"] if args.alone else [])  # fmt: skip
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        run = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise SystemExit(run.stderr[-2000:])
    turns = int(re.search(r"gate agent turns: (\d+)", run.stdout).group(1))  # type: ignore[union-attr]

    def count(label: str) -> int:
        m = re.search(rf"{label}:\s+([\d,]+)", run.stderr)
        return int(m.group(1).replace(",", "")) if m else 0

    result = {
        "turns": turns,
        "setting": "alone" if args.alone else "interleaved with single_pass and reference",
        "instructions_per_turn": round(count("I   refs") / turns),
        "i1_misses_per_turn": round(count("I1  misses") / turns, 1),
        "d1_misses_per_turn": round(count("D1  misses") / turns, 1),
        "ll_misses_per_turn": round(count("LL misses") / turns, 1),
        "ll": args.ll,
    }
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>22}: {v}")


if __name__ == "__main__":
    main()
