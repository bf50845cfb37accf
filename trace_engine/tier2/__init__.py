"""Tier-2: asynchronous, model-judged checks that advise without slowing the call (see docs/tier2.md).

Nothing heavy is imported here: models load on first use, once per process.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Tier2Config", "Tier2Runner", "judge_transcript", "tier2_observer_for_bench"]


def __getattr__(name: str) -> Any:
    if name == "Tier2Config":
        from trace_engine.tier2.config import Tier2Config

        return Tier2Config
    if name in ("Tier2Runner", "judge_transcript", "tier2_observer_for_bench"):
        from trace_engine.tier2 import runner

        return getattr(runner, name)
    raise AttributeError(name)
