"""The workload the native core is profiled on before its optimized build (profile-guided optimization).

``tools/build_core.py`` runs this under an instrumented build of ``trace_engine._core``; the counts it leaves tell
the compiler which branches are taken and which code is hot, so the final build lays hot code together and keeps
rare paths (a card number, a blocked turn) out of the way of common ones.

What it runs is what users run: every call of the bundled corpora (``corpora/*.jsonl``, shipped with every clone)
through the gate in all four modes, with the packs alone and with the guardrails config ``trace bench`` uses,
under a few call-fact variants; about a third of the agent turns streamed in 2-word chunks; every call's scorecard;
then a re-scoring of the corpora into a throwaway store (canonical JSON, hashing, signing). It never reads
``../shared``: the benchmarks time the SGD corpus, which the profile has not seen.

    .venv/bin/python tools/pgo_train.py          # a few seconds, on a plain or an instrumented build
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, get_args

from trace_engine.gate.config import Mode

REPO = Path(__file__).resolve().parents[1]
MODES = get_args(Mode)
PACKS = ("tcpa", "hipaa", "pii", "brand_voice", "debt_collection")
FACT_VARIANTS: tuple[dict[str, Any], ...] = (
    {},
    {"direction": "outbound", "call_purpose": "telemarketing", "business_name": "Acme Solar", "agent_name": "Sam",
     "recording_enabled": True, "callee_state": "FL"},
    {"direction": "outbound", "call_purpose": "healthcare", "answered_by": "voicemail"},
)
STREAMED_SHARE = 0.3


def configs(mode: str) -> list[dict[str, Any]]:
    """The packs alone, and the benchmark's config (guardrails, PII redaction, blocked phrases), in ``mode``."""
    from trace_engine.bench import default_gate_config

    bench = default_gate_config()
    bench["guardrails"] = {**bench["guardrails"], "mode": mode}
    return [{"rule_packs": {p: {"enabled": True} for p in PACKS}, "guardrails": {"mode": mode}}, bench]


def replay_corpora(corpora: list[Path]) -> int:
    """Every call of ``corpora`` through the gate in every mode and config; returns the agent turns checked."""
    from trace_engine.gate.engine import Engine
    from trace_engine.replay import feed_turn
    from trace_engine.transcripts import Transcript, iter_records

    calls = [c for path in corpora for c in iter_records(str(path)) if isinstance(c, Transcript)]
    chance = random.Random(14)
    checked = 0
    for mode in MODES:
        for config in configs(mode):
            engine = Engine.from_config(config)
            for i, call in enumerate(calls):
                facts = FACT_VARIANTS[i % len(FACT_VARIANTS)]
                gate = engine.start_call(call.call_id, agent_id=call.agent_id, metadata={**call.metadata, **facts})
                for role, text, t in call.turns:
                    checked += role == "agent"
                    feed_turn(gate, role, text, t, stream_words=2 if chance.random() < STREAMED_SHARE else None)
                gate.end().to_dict()
    return checked


def rescore(corpora: list[Path]) -> None:
    """The re-scoring job on the corpora, into a throwaway store (its workers are profiled too)."""
    with tempfile.TemporaryDirectory(prefix="trace-pgo-") as tmp:
        subprocess.run(
            [sys.executable, "-m", "trace_engine.cli", "rescore", *map(str, corpora), "--db", str(Path(tmp) / "t.db"),
             "--config", str(REPO / "examples" / "demo_config.json")],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip


def main() -> int:
    corpora = sorted((REPO / "corpora").glob("*.jsonl"))
    if not corpora:
        print("pgo_train: no corpora/*.jsonl to train on", file=sys.stderr)
        return 1
    checked = replay_corpora(corpora)
    rescore(corpora)
    print(f"pgo_train: {checked} agent turns checked in {len(MODES)} modes; corpora re-scored")
    return 0


if __name__ == "__main__":
    sys.exit(main())
