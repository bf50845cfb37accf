"""Tier-2 measurements: precision/recall per check on the held-out split, the SGD "not interested" false-positive
rate for ambiguous_optout, gate latency with Tier-2 on vs off, and offline throughput.

    .venv/bin/python benchmarks/tier2_quality.py [--split test] [--turns 3000] [--skip-latency] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trace_engine.tier2.config import ALL_CHECKS, Tier2Config  # noqa: E402
from trace_engine.tier2.judges import Turn  # noqa: E402
from trace_engine.tier2.runner import judge_transcript, judge_window, warm_up  # noqa: E402

DATA = ROOT / "tests" / "data" / "tier2"
SGD = ROOT.parent / "shared" / "corpora" / "sgd_calls.jsonl"
KB = str(DATA / "knowledge_base.json")


def quality(split: str = "test") -> dict[str, dict[str, float]]:
    out = {}
    for check in ALL_CHECKS:
        cfg = Tier2Config(checks=[check], knowledge_base=KB)
        tp = fp = fn = tn = 0
        for line in (DATA / f"{check}.jsonl").read_text().splitlines():
            r = json.loads(line)
            if r["split"] != split:
                continue
            window = tuple(Turn(t["role"], t["text"]) for t in r["turns"])
            pred = bool(judge_window(cfg, window, call_id="eval"))
            tp += pred and r["label"]
            fp += pred and not r["label"]
            fn += (not pred) and r["label"]
            tn += (not pred) and not r["label"]
        out[check] = {"precision": round(tp / max(1, tp + fp), 3), "recall": round(tp / max(1, tp + fn), 3),
                      "n": tp + fp + fn + tn, "tp": tp, "fp": fp, "fn": fn}
    return out


def sgd_not_interested(path: Path = SGD) -> dict[str, float] | None:
    if not path.is_file():
        return None
    cfg = Tier2Config(checks=["ambiguous_optout"])
    n = fp = 0
    with path.open() as fh:
        for line in fh:
            if "not interested" not in line.lower():
                continue
            for t in json.loads(line)["transcript"]["turns"]:
                if t["role"] == "user" and "not interested" in t["text"].lower():
                    n += 1
                    fp += bool(judge_window(cfg, (Turn("caller", t["text"]),), call_id="sgd"))
    return {"turns": n, "false_positives": fp, "fp_rate": round(fp / max(1, n), 4)}


def _sample_calls(limit: int = 200) -> list[list[Turn]]:
    calls = []
    if SGD.is_file():
        with SGD.open() as fh:
            for line in fh:
                turns = json.loads(line)["transcript"]["turns"]
                calls.append([Turn("agent" if t["role"] == "assistant" else "caller", t["text"]) for t in turns])
                if len(calls) >= limit:
                    break
    else:
        for line in (DATA / "minimum_necessary.jsonl").read_text().splitlines()[:limit]:
            calls.append([Turn(t["role"], t["text"]) for t in json.loads(line)["turns"]])
    return calls


def throughput(n_calls: int = 40) -> dict[str, float]:
    cfg = Tier2Config(knowledge_base=KB)
    warm_up(cfg)
    calls = _sample_calls(n_calls)
    turns = sum(len(c) for c in calls)
    t0 = time.perf_counter()
    for i, c in enumerate(calls):
        judge_transcript([{"role": t.role, "text": t.text} for t in c], cfg, call_id=f"c{i}")
    dt = time.perf_counter() - t0
    return {"calls": len(calls), "turns": turns, "seconds": round(dt, 3), "calls_per_s": round(len(calls) / dt, 2),
            "turns_per_s": round(turns / dt, 1)}


def gate_latency(n_turns: int = 3000, mode: str | None = None) -> dict[str, float]:
    """Wall-clock µs per agent_turn (observers included), p50/p99, with Tier-2 off (mode None) or on."""
    from trace_engine.gate.engine import Engine
    from trace_engine.tier2.runner import Tier2Runner

    calls = _sample_calls(200)
    runner = None
    observers: tuple = ()
    if mode is not None:
        runner = Tier2Runner({"knowledge_base": KB}, mode=mode)
        observers = (runner,)
    engine = Engine.from_config({"guardrails": {"block_pii": {"patterns": ["ssn", "credit_card"]}}},
                                observers=observers)
    if runner is not None:
        runner.start()
        if mode == "thread":
            warm_up(runner.config)
    lat: list[float] = []
    done = 0
    ci = 0
    while done < n_turns:
        call = engine.start_call(f"bench-{ci}", agent_id="bench")
        for t in calls[ci % len(calls)]:
            if t.role == "caller":
                call.caller_turn(t.text)
                continue
            s = time.perf_counter_ns()
            call.agent_turn(t.text)
            lat.append((time.perf_counter_ns() - s) / 1000)
            done += 1
        call.end()
        ci += 1
    out = {"turns": len(lat), "p50_us": round(statistics.median(lat), 1),
           "p99_us": round(sorted(lat)[int(len(lat) * 0.99) - 1], 1)}
    if runner is not None:
        out.update({"dropped": runner.dropped, "judged": runner.judged})
        runner.close(timeout=5)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="test")
    ap.add_argument("--turns", type=int, default=3000)
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    res: dict = {"quality": quality(args.split), "sgd_not_interested": sgd_not_interested(),
                 "throughput": throughput()}
    if not args.skip_latency:
        res["gate_off"] = gate_latency(args.turns, None)
        res["gate_with_tier2_thread"] = gate_latency(args.turns, "thread")
        res["gate_with_tier2_process"] = gate_latency(args.turns, "process")
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
