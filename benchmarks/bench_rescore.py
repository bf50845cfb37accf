"""Re-scoring throughput: turns per second from transcript files to the signed log, appends and hashing included.

    python benchmarks/bench_rescore.py [--calls 4000] [--workers 1 2] [--runs 3] [--format json|text] [--no-stages]
                                       [--unique-ids]

Reads ``../shared/corpora/sgd_calls.jsonl`` when present (else ``corpora/taskmaster_sample.jsonl``), writes the
first ``--calls`` calls to a temporary JSONL file and re-scores it into a fresh database with the default config
of ``trace rescore`` (the four built-in packs, warn mode): reading and validating the records, the gate, the
scorecards, their canonical bytes, leaf and audit hashes, the signed checkpoint of every batch and the SQLite
writes. The worker counts are run in turn, ``--runs`` times (interleaved, so a busy machine slows them alike), each
run in a fresh interpreter as ``trace rescore`` runs (a pool forked from a process that has just re-scored in
process pays for copying that process's heap, which no real run does), with the rule program compiled before the
clock starts (as every run but the first of one process would find it); ``turns_per_s`` is the best run, ``runs``
lists them all. ``turns`` counts every turn of every scored call (the agent's and the caller's).
``cpu_us_per_turn`` is the CPU time of all processes (the appending process and the pool's workers) per turn,
``parent_cpu_us_per_turn`` the appending process's share (each the least over the runs). On a machine shared with other work
the wall-clock rate of two workers says little; these do not depend much on the load, and
``cpu_speedup_2_over_1`` (``2 × cpu(1) / cpu(2)``) is what two workers give over one on two otherwise idle cores
when the work is CPU-bound and the appending process keeps both busy (its share must stay under half of ``cpu(2)``).

``stages`` (one process, the same calls): the CPU time per turn of each step on its own (CPU, not wall clock, so
a machine shared with other work still says where the time goes), best of two passes: ``read`` (parse and validate the records), ``score`` (the gate and the scorecard), ``ready`` (the record's
canonical bytes and leaf hash: a worker's share after scoring), ``append`` (identity check, chain, checkpoint,
rows: the appending process's share; the records as a first run makes them, superseding nothing, so that the
sequencer relinks the second version of a call id the sample repeats, as it does in a run).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from trace_engine.bench import machine  # noqa: E402
from trace_engine.gate.engine import Engine  # noqa: E402
from trace_engine.rescore import BATCH, offline_config, rescore, score_transcript  # noqa: E402
from trace_engine.shared_data import shared_corpus  # noqa: E402
from trace_engine.store.log import EvidenceLog, ready_record  # noqa: E402
from trace_engine.transcripts import Transcript, iter_records  # noqa: E402

SGD = shared_corpus("sgd_calls.jsonl")


def _fresh(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(f"{path}{suffix}"):
            os.remove(f"{path}{suffix}")


def _cpu(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def one_run(sample: Path, db: Path, workers: int) -> dict[str, Any]:
    """One timed ``rescore`` in this process (a fresh interpreter: see the module docstring)."""
    Engine.from_config(offline_config(None))  # the program compiled before the clock starts
    _fresh(db)
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    summary = rescore([str(sample)], db=str(db), workers=workers)
    elapsed = time.perf_counter() - started
    own_after, children_after = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    parent_cpu = _cpu(own_after) - _cpu(own)
    workers_cpu = _cpu(children_after) - _cpu(children)  # the pool's processes, reaped at its shutdown
    return {"seconds": round(elapsed, 3), "turns_per_s": round(summary.turns / elapsed, 1),
            "calls": summary.scored, "turns": summary.turns, "relinked": summary.relinked,
            "cpu_us_per_turn": round((parent_cpu + workers_cpu) / summary.turns * 1e6, 2),
            "parent_cpu_us_per_turn": round(parent_cpu / summary.turns * 1e6, 2)}


def throughput(sample: Path, tmp: Path, worker_counts: list[int], runs: int) -> list[dict[str, Any]]:
    measured: dict[int, list[dict[str, Any]]] = {w: [] for w in worker_counts}
    for run in range(runs):
        for workers in worker_counts:
            out = subprocess.run(
                [sys.executable, __file__, "--one-run", str(sample), str(tmp / f"w{workers}.db"), str(workers)],
                check=True, capture_output=True, text=True,
            ).stdout
            measured[workers].append({"run": run + 1, **json.loads(out)})
    results = []
    for workers, all_runs in measured.items():
        best = max(all_runs, key=lambda r: r["turns_per_s"])
        results.append(
            {"workers": workers, "calls": best["calls"], "turns": best["turns"], "seconds": best["seconds"],
             "turns_per_s": best["turns_per_s"], "calls_per_s": round(best["calls"] / best["seconds"], 1),
             "relinked": best["relinked"], "runs": [r["turns_per_s"] for r in all_runs],
             "cpu_us_per_turn": min(r["cpu_us_per_turn"] for r in all_runs),
             "parent_cpu_us_per_turn": min(r["parent_cpu_us_per_turn"] for r in all_runs)}
        )
    return results


def stages(sample: Path, tmp: Path) -> dict[str, Any]:
    """Each step on its own, in this process, in CPU microseconds per turn (best of two passes)."""
    clock = time.process_time

    def best_of_two(fn: Any) -> tuple[float, Any]:
        times, out = [], None
        for _ in range(2):
            started = clock()
            out = fn()
            times.append(clock() - started)
        return min(times), out

    t_read, calls = best_of_two(lambda: [r for r in iter_records(str(sample)) if isinstance(r, Transcript)])
    engine = Engine.from_config(offline_config(None))
    t_score, cards = best_of_two(lambda: [score_transcript(engine, t) for t in calls])
    t_ready, records = best_of_two(lambda: [ready_record(c) for c in cards])

    def append() -> list[Any]:
        db = tmp / "stages.db"
        _fresh(db)
        with EvidenceLog(db) as log:
            # the shards of `trace rescore`
            return [r for start in range(0, len(records), BATCH) for r in log.append_many(records[start : start + BATCH])]

    t_append, _ = best_of_two(append)
    turns = sum(len(c.turns) for c in calls)
    total = t_read + t_score + t_ready + t_append
    out: dict[str, Any] = {"calls": len(calls), "turns": turns}
    for name, seconds in (("read", t_read), ("score", t_score), ("ready", t_ready), ("append", t_append)):
        out[name] = {"us_per_turn": round(seconds / turns * 1e6, 2), "share": round(seconds / total, 3)}
    out["sum_us_per_turn"] = round(total / turns * 1e6, 2)
    out["bytes_per_record"] = round(sum(len(r.body) for r in records) / len(records))
    return out


def _first_of_each_id(lines: Any) -> Any:
    """The lines whose call id was not seen before (``--unique-ids``)."""
    seen: set[str] = set()
    for line in lines:
        call_id = json.loads(line).get("call_id")
        if call_id not in seen:
            seen.add(call_id)
            yield line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--format", choices=("json", "text"), default="json")
    parser.add_argument("--no-stages", dest="stages", action="store_false", help="skip the per-step breakdown")
    parser.add_argument("--unique-ids", action="store_true",
                        help="a sample without repeated call ids (the default sample repeats 38%% of them, so a third of "
                        "its records supersede one appended earlier in the run and are relinked by the appending process)")
    parser.add_argument("--one-run", nargs=3, metavar=("SAMPLE", "DB", "WORKERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_run:
        sample, db, workers = args.one_run
        print(json.dumps(one_run(Path(sample), Path(db), int(workers))))
        return
    source = SGD if SGD.exists() else REPO / "corpora" / "taskmaster_sample.jsonl"
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        sample = tmp / "sample.jsonl"
        with open(source, encoding="utf-8") as src, open(sample, "w", encoding="utf-8") as dst:
            dst.writelines(itertools.islice(_first_of_each_id(src) if args.unique_ids else src, args.calls))
        results = throughput(sample, tmp, args.workers, args.runs)
        report: dict[str, Any] = {
            "machine": machine(),
            "source": str(source),
            "unique_ids": args.unique_ids,
            "turns_per_s": {str(r["workers"]): r["turns_per_s"] for r in results},
            "results": results,
        }
        by_workers = {r["workers"]: r["turns_per_s"] for r in results}
        if 1 in by_workers and 2 in by_workers:
            report["speedup_2_over_1"] = round(by_workers[2] / by_workers[1], 2)
            cpu = {r["workers"]: r["cpu_us_per_turn"] for r in results}
            report["cpu_speedup_2_over_1"] = round(2 * cpu[1] / cpu[2], 2)
        if args.stages:
            report["stages"] = stages(sample, tmp)
    if args.format == "json":
        print(json.dumps(report, indent=2))
        return
    print(f"{report['source']}: {results[0]['calls']} calls, {results[0]['turns']} turns, best of {args.runs} runs")
    for r in results:
        print(f"  {r['workers']} worker(s): {r['turns_per_s']:>10,.0f} turns/s  (runs: {', '.join(f'{x:,.0f}' for x in r['runs'])}); "
              f"CPU {r['cpu_us_per_turn']:.2f} us/turn, of which the appending process {r['parent_cpu_us_per_turn']:.2f}")
    if "speedup_2_over_1" in report:
        print(f"  2 workers over 1: x{report['speedup_2_over_1']} (CPU-bound on 2 idle cores: x{report['cpu_speedup_2_over_1']})")
    if args.stages:
        st = report["stages"]
        print(f"where the time goes (one process, {st['turns']} turns, {st['bytes_per_record']} bytes per record):")
        for name in ("read", "score", "ready", "append"):
            print(f"  {name:<7} {st[name]['us_per_turn']:>7.2f} us/turn  {st[name]['share'] * 100:5.1f}%")


if __name__ == "__main__":
    main()
