"""What the tracer costs when it is off: the untraced gate over agent turns, for counting instructions.

Run it under callgrind, collecting only inside the core's agent turn, once per checkout (``PYTHONPATH`` names the
checkout whose ``trace_engine`` and built core are imported; run from a directory without a ``trace_engine``), and
compare the instruction totals::

    cd /tmp && PYTHONPATH=/path/to/checkout valgrind --tool=callgrind \\
        --toggle-collect='*__pymethod_agent_turn__*' --callgrind-out-file=/tmp/cg.out \\
        /path/to/venv/bin/python /path/to/this/benchmarks/trace_off_cost.py --turns 2000
    callgrind_annotate /tmp/cg.out | grep 'PROGRAM TOTALS'

The turns: the first ``--turns`` agent turns of the SGD corpus (``../shared/corpora``, else the repo's demo
corpus) and, every fifth turn, one rich in numbers (valid and invalid cards, SSNs, phones, routing numbers, spoken
and written), so the detectors and their validators run on a good share of turns. ``--trace`` turns the tracer on
(for the cost of tracing itself). Prints the turn count and a checksum of the decisions (the same on both cores).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from trace_engine.shared_data import shared_corpus

ROOT = Path(__file__).resolve().parents[1]
SHARED = shared_corpus("sgd_calls.jsonl")
NUMBERS = [
    "the card on file is 4111 1111 1111 1111, and the old one 4111 1111 1111 1112",
    "my ssn is 900-12-3456, no sorry, 123-45-6789",
    "call us back at 415-555-0198 or at 411-555-0198",
    "routing number 021000021, account 12345678901234",
    "four one one one, one one one one, one one one one, one one one two",
    "your claim number is 123-45-6789 and the MBI is 1EG4-TE5-MK73",
    "write to jane dot doe at example dot com or to me at example dot zz",
]


def agent_turns(limit: int) -> list[str]:
    from trace_engine.transcripts import load_transcripts

    source = SHARED if SHARED.exists() else ROOT / "corpora" / "outbound_calls.jsonl"
    out: list[str] = []
    for call in load_transcripts(str(source)):
        for role, text, _ in call.turns:
            if role == "agent":
                out.append(text if len(out) % 5 else NUMBERS[(len(out) // 5) % len(NUMBERS)])
                if len(out) >= limit:
                    return out
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--turns", type=int, default=4000)
    ap.add_argument("--per-call", type=int, default=20, help="agent turns per call")
    ap.add_argument("--trace", action="store_true", help="trace the calls (the tracer's own cost)")
    args = ap.parse_args(argv)
    from trace_engine import Engine

    config = json.loads((ROOT / "examples" / "demo_config.json").read_text())
    config["guardrails"] = {**config.get("guardrails", {}), "mode": "modify", "inline_timeout_ms": 60_000}
    engine = Engine.from_config(config)
    turns = agent_turns(args.turns)
    digest = hashlib.sha256()
    for i in range(0, len(turns), args.per_call):
        kwargs = {"trace": True} if args.trace else {}
        call = engine.start_call(f"c{i}", metadata={"direction": "outbound"}, **kwargs)
        for text in turns[i : i + args.per_call]:
            d = call.agent_turn(text)
            digest.update(f"{d.action}|{d.text}|{[(f.rule_id, f.span) for f in d.findings]}".encode())
        call.end()
    print(json.dumps({"turns": len(turns), "trace": args.trace, "decisions_sha256": digest.hexdigest()[:16]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
