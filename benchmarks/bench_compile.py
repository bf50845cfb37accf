"""Compiler benchmarks (issue 2): print JSON.

    python benchmarks/bench_compile.py [--phrases 10000] [--repeat 5]

* ``builtin_cold_ms``: parse + lower + compile the four built-in packs, nothing cached (median of --repeat runs).
* ``generated_ms``: the same for a generated pack with --phrases must_not_say phrases (goal: under 2 s).
* ``artifact_load_ms``: load the built-in packs' artifact written by ``trace build`` (goal: under 50 ms).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from trace_engine.compile import compile_packs  # noqa: E402
from trace_engine.compile.artifact import read_artifact, write_artifact  # noqa: E402
from trace_engine.dsl import load_pack_text  # noqa: E402

BUILTIN = [REPO / "rule_packs" / f"{name}.trace" for name in ("tcpa", "hipaa", "pii", "brand_voice")]
WORDS = (
    "account balance billing plan premium offer discount renewal contract service coverage policy claim refund "
    "upgrade device network signal warranty repair delivery order payment invoice statement rebate credit loan "
    "mortgage interest savings checking transfer deposit withdrawal fraud alert security password login profile"
).split()


def generated_pack(phrases: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    seen: set[str] = set()
    while len(seen) < phrases:
        seen.add(" ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 4))) + f" {rng.choice(WORDS)}{len(seen)}")
    body = ",\n".join(f'  "{p}"' for p in sorted(seen))
    return (
        'pack generated\nversion "1"\njurisdiction "test"\nlegal_status "generated"\n\n'
        f"phrases banned [\n{body},\n]\n\n"
        'rule gen-001 {\n  title "Generated"\n  severity low\n  citation "none"\n  reason "Generated."\n'
        "  must_not_say banned\n}\n"
    )


def timed(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phrases", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sources = [(str(p), p.read_text(encoding="utf-8")) for p in BUILTIN]

    def builtin() -> None:
        compile_packs([load_pack_text(text, name)[0] for name, text in sources])

    generated = generated_pack(args.phrases)

    def gen() -> None:
        compile_packs([load_pack_text(generated, "generated.trace")[0]])

    program = compile_packs([load_pack_text(text, name)[0] for name, text in sources])
    with tempfile.TemporaryDirectory() as tmp:
        artifact = Path(tmp) / "builtin.tart"
        write_artifact(program, artifact)
        load_ms = timed(lambda: read_artifact(artifact), args.repeat)
        size = artifact.stat().st_size
    print(
        json.dumps(
            {
                "builtin_cold_ms": timed(builtin, args.repeat),
                "generated_phrases": args.phrases,
                "generated_ms": timed(gen, max(1, args.repeat // 2)),
                "artifact_load_ms": load_ms,
                "artifact_bytes": size,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
