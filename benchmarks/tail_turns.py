"""The gate's p99 turns in ``trace bench``'s interleaved setting: which they are and what each costs (issue 14).

    .venv/bin/python benchmarks/tail_turns.py --pick tail.json             # time 20,002 SGD turns, keep the slowest 1 %
    .venv/bin/python benchmarks/tail_turns.py --cost tail.json [--functions 25]   # those turns under callgrind

``--pick`` runs the bench's own interleaving (gate, single_pass, reference; ``--runs`` 3, min per turn, as
``p99_min_us``), keeps the turns at or above the gate's p99 and labels each: its action, the rules it fired, whether
it opens the call, its length, whether it holds a digit. Wall clock, so the pick moves a little with the load.

``--cost`` replays the calls holding those turns in the same interleaving under ``valgrind --tool=callgrind
--cache-sim=yes`` with a dump after every gate turn (collection only inside ``agent_turn``, as
``turn_cache_sim.py``), and prints per label and for all tail turns the mean instructions and L1i / L1d / last-level
misses per turn, and the functions that cost the tail turns most (self instructions summed over their dumps).
These counts repeat exactly under any load. ``--branches`` adds callgrind's branch simulation: conditional branches
and their mispredictions per turn, and the functions that mispredict most. Its predictor keeps no history, so the
counts say where a text's branches go each way, not what a real processor mispredicts (see ``first_sight.py``).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from turn_cache_sim import ENTRY, competitors  # the same entry and competitors (this folder is on sys.path)

from trace_engine.shared_data import shared_corpus

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = shared_corpus("sgd_calls.jsonl")
EVENTS = ("Ir", "I1mr", "D1mr", "D1mw", "ILmr", "DLmr", "DLmw")


def agent_turns(calls: list[Any]) -> list[tuple[int, int, str]]:
    """(call index, agent turn index in the call, text) of every agent turn, in the bench's order."""
    return [
        (c, j, text)
        for c, call in enumerate(calls)
        for j, text in enumerate(t for r, t, _ in call.turns if r == "agent")
    ]


def label(decision: Any, first: bool, text: str) -> dict[str, Any]:
    rules = sorted({f.rule_id for f in decision.findings})
    return {
        "action": str(decision.action.value if hasattr(decision.action, "value") else decision.action),
        "rules": rules,
        "opens_call": first,
        "chars": len(text),
        "digit": any(ch.isdigit() for ch in text),
        "modified": decision.text != text,
    }


def pick(args: argparse.Namespace) -> None:
    from trace_engine import Engine, bench
    from trace_engine.gate.scoring import percentile

    calls = bench.corpus_calls([args.corpus], args.turns)
    timed = bench.interleaved(competitors(), calls, args.runs)
    mins = [min(run[i] for run in timed["gate"]) for i in range(len(timed["gate"][0]))]
    p99 = percentile(sorted(mins), 99, presorted=True) or 0.0
    turns = agent_turns(calls)
    # what each turn is: the gate alone, fresh calls, same metadata
    engine = Engine.from_config(bench.default_gate_config())
    labels = []
    for c, call in enumerate(calls):
        live = engine.start_call(f"label-{c}", metadata={"direction": "outbound", **call.metadata})
        j = 0
        for role, text, t in call.turns:
            if role == "agent":
                labels.append(label(live.agent_turn(text, t), j == 0, text))
                j += 1
            elif role == "caller":
                live.caller_turn(text, t)
    tail = sorted((i for i, m in enumerate(mins) if m >= p99), key=lambda i: -mins[i])
    out = {
        "corpus": args.corpus,
        "turns": len(mins),
        "p99_min_ns": p99,
        "load": os.getloadavg(),
        "tail": [
            {"turn": i, "call": turns[i][0], "min_ns": mins[i], **labels[i], "text": turns[i][2]}
            for i in tail
        ],
        "all_min_ns": mins,
        "all_labels": labels,
    }
    Path(args.pick).write_text(json.dumps(out))
    print(
        f"p99_min {p99 / 1000:.2f} us over {len(mins)} turns (load {os.getloadavg()[0]:.1f}); {len(tail)} tail turns"
    )
    summarize(out["tail"], lambda t: t["min_ns"] / 1000, "min us")


def kind(t: dict[str, Any]) -> str:
    if "pii-002" in t["rules"] or any("phone" in r for r in t["rules"]):
        return "phone"
    if t["opens_call"]:
        return "opens call"
    if t["rules"]:
        return "+".join(t["rules"])
    return "pass, digit" if t["digit"] else "pass"


def summarize(tail: list[dict[str, Any]], value: Any, unit: str) -> None:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in tail:
        groups[kind(t)].append(t)
    for k, ts in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        vals = sorted(value(t) for t in ts)
        chars = sorted(t["chars"] for t in ts)
        print(
            f"  {k:<40} {len(ts):>4}  median {unit} {vals[len(vals) // 2]:8.2f}  median chars {chars[len(chars) // 2]}"
        )


def drive(args: argparse.Namespace) -> None:
    """Under valgrind: the warm-up, then the selected calls interleaved once (a dump after every gate turn)."""
    from trace_engine import bench

    calls = bench.corpus_calls([args.corpus], args.turns)
    picked = json.loads(Path(args.cost).read_text())
    wanted = sorted({t["call"] for t in picked["tail"]})
    warm = calls[: max(1, len(calls) // 10)]
    comps = competitors(args.alone)
    bench.interleaved(comps, warm, 1)
    print(f"warm agent turns: {sum(1 for c in warm for r, _, _ in c.turns if r == 'agent')}")
    bench.interleaved(comps, [calls[c] for c in wanted], 1)


NAME = re.compile(r"c?fn=\((\d+)\)(?: (.*))?")


def parse_dump(path: str, names: dict[str, str], wanted: bool) -> tuple[dict[str, int], dict[str, list[int]]]:
    """Totals, self events per function and (``incl`` + name) inclusive events per callee of one callgrind dump (`names`: the function names compressed so far,
    shared by every dump of one run; read even from the dumps not `wanted`)."""
    events: list[str] = []
    positions = 1
    own: dict[str, list[int]] = {}
    totals: dict[str, int] = {}
    fn = cfn = None
    skip = False
    for line in Path(path).read_text(errors="replace").splitlines():
        if line.startswith(("fn=", "cfn=")):
            m = NAME.match(line)
            if m and m.group(2):
                names[m.group(1)] = m.group(2)
            if line.startswith("fn="):
                fn = names.get(m.group(1), m.group(1)) if m else line[3:]
            else:
                cfn = names.get(m.group(1), m.group(1)) if m else line[4:]
        elif not wanted:
            continue
        elif line.startswith("events:"):
            events = line.split()[1:]
        elif line.startswith("positions:"):
            positions = len(line.split()) - 1
        elif line.startswith("calls="):
            skip = True  # the next cost line is the call's inclusive cost
        elif line.startswith(("summary:", "totals:")):
            totals = dict(zip(events, (int(x) for x in line.split()[1:]), strict=False))
        elif line and (line[0].isdigit() or line[0] in "+-*") and fn is not None:
            vals = [int(x) for x in line.split()[positions:]]
            if skip:
                skip = False
                if cfn != fn:  # inclusive, under the callee's name (recursion left out)
                    acc = own.setdefault("incl " + str(cfn), [0] * len(events))
                    for k, v in enumerate(vals):
                        acc[k] += v
                continue
            acc = own.setdefault(fn, [0] * len(events))
            for k, v in enumerate(vals):
                acc[k] += v
    return totals, {f: dict(zip(events, v, strict=True)) for f, v in own.items()}  # type: ignore[misc]


def cost(args: argparse.Namespace) -> None:
    picked = json.loads(Path(args.cost).read_text())
    from trace_engine import bench

    calls = bench.corpus_calls([args.corpus], args.turns)
    turns = agent_turns(calls)
    wanted = sorted({t["call"] for t in picked["tail"]})
    order = [i for i, (c, _, _) in enumerate(turns) if c in set(wanted)]
    tail_ids = {t["turn"]: t for t in picked["tail"]}
    events = EVENTS + (("Bc", "Bcm") if args.branches else ())
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(args.keep or tmp) / "cg.out")
        cmd = [
            "valgrind", "--tool=callgrind", "--cache-sim=yes", f"--LL={args.ll}", "--collect-atstart=no",
            *(["--branch-sim=yes"] if args.branches else []),
            f"--toggle-collect={ENTRY}", f"--dump-after={ENTRY}", f"--callgrind-out-file={out}",
            sys.executable, __file__, "--drive", "--cost", args.cost, "--corpus", args.corpus, "--turns", str(args.turns),
        ] + (["--alone"] if args.alone else [])  # fmt: skip
        if args.reread:
            warm = int(Path(out + ".warm").read_text())
        else:
            for old in glob.glob(out + "*"):
                os.unlink(old)
            run = subprocess.run(
                cmd, env={**os.environ, "PYTHONHASHSEED": "0"}, capture_output=True, text=True, check=False
            )
            if run.returncode != 0:
                raise SystemExit(run.stderr[-2000:])
            warm = int(re.search(r"warm agent turns: (\d+)", run.stdout).group(1))  # type: ignore[union-attr]
            Path(out + ".warm").write_text(str(warm))
        dumps = sorted(
            glob.glob(out + ".*"),
            key=lambda p: int(p.rsplit(".", 1)[1]) if p.rsplit(".", 1)[1].isdigit() else -1,
        )
        dumps = [d for d in dumps if d.rsplit(".", 1)[1].isdigit()]
        mine = dumps[warm : warm + len(order)]
        if len(mine) != len(order):
            raise SystemExit(f"{len(dumps)} dumps for {warm} + {len(order)} turns")
        per_turn: list[dict[str, Any]] = []
        functions: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        names: dict[str, str] = {}
        turn_of = dict(zip(mine, order, strict=True))
        for path in dumps:
            i = turn_of.get(path, -1)
            totals, own = parse_dump(path, names, i in tail_ids)
            if i not in tail_ids:
                continue
            per_turn.append({**tail_ids[i], **{e: totals.get(e, 0) for e in events}})
            for f, ev in own.items():
                for e, v in ev.items():
                    functions[f][e] += v
    n = len(per_turn)
    print(f"{n} tail turns ({'alone' if args.alone else 'interleaved'}), per turn:")
    mean = {e: sum(t[e] for t in per_turn) / n for e in events}
    print(
        "  all: "
        + "  ".join(f"{e} {mean[e]:,.0f}" if e in ("Ir", "Bc") else f"{e} {mean[e]:.1f}" for e in events)
    )
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in per_turn:
        groups[kind(t)].append(t)
    for k, ts in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        m = {e: sum(t[e] for t in ts) / len(ts) for e in events}
        mispredicted = f"  Bcm {m['Bcm']:6.1f}" if args.branches else ""
        print(
            f"  {k:<32} {len(ts):>4}: Ir {m['Ir']:>8,.0f}  I1 {m['I1mr']:6.1f}  D1 {m['D1mr'] + m['D1mw']:6.1f}  LL {m['ILmr'] + m['DLmr'] + m['DLmw']:6.1f}{mispredicted}"
        )
    if args.functions:
        print(
            f"functions, self events per tail turn (top {args.functions} by instructions, then by L1i + LL misses):"
        )
        print(f"  {'Ir':>8} {'I1':>6} {'D1':>6} {'LL':>6} {'Bcm':>6}  function")
        ll = lambda ev: ev.get("ILmr", 0) + ev.get("DLmr", 0) + ev.get("DLmw", 0)  # noqa: E731
        own = {f: ev for f, ev in functions.items() if not f.startswith("incl ")}
        incl = {f: ev for f, ev in functions.items() if f.startswith("incl _core::")}
        for group, key in (
            (own, lambda kv: -kv[1].get("Ir", 0)),
            (own, lambda kv: -(kv[1].get("I1mr", 0) + ll(kv[1]))),
            (incl, lambda kv: -kv[1].get("Ir", 0)),
            *([(own, lambda kv: -kv[1].get("Bcm", 0))] if args.branches else []),
        ):
            for f, ev in sorted(group.items(), key=key)[: args.functions]:
                d1 = ev.get("D1mr", 0) + ev.get("D1mw", 0)
                print(
                    f"  {ev.get('Ir', 0) / n:8,.0f} {ev.get('I1mr', 0) / n:6.1f} {d1 / n:6.1f} {ll(ev) / n:6.1f}"
                    f" {ev.get('Bcm', 0) / n:6.1f}  {f[:120]}"
                )
            print()
    if args.json:
        Path(args.json).write_text(json.dumps({"mean": mean, "per_turn": per_turn, "functions": functions}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=os.environ.get("TRACE_CORPUS", str(DEFAULT_CORPUS)))
    ap.add_argument("--turns", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pick", help="time the turns and write the tail here")
    ap.add_argument("--cost", help="the tail written by --pick: replay it under callgrind")
    ap.add_argument("--alone", action="store_true", help="with --cost: the gate alone, no competitors")
    ap.add_argument(
        "--branches", action="store_true", help="with --cost: count branches and mispredictions too (slower)"
    )
    ap.add_argument(
        "--functions", type=int, default=0, help="with --cost: list this many costliest functions"
    )
    ap.add_argument("--json", help="with --cost: write the per-turn counts here")
    ap.add_argument("--keep", help="with --cost: keep callgrind's dumps in this directory")
    ap.add_argument(
        "--reread", action="store_true", help="with --cost and --keep: read the kept dumps, run nothing"
    )
    ap.add_argument("--ll", default="1048576,8,64")
    ap.add_argument("--drive", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.drive:
        drive(args)
    elif args.pick:
        pick(args)
    elif args.cost:
        cost(args)
    else:
        ap.error("--pick FILE or --cost FILE")


if __name__ == "__main__":
    main()
