"""How preempt instructions are worded for a model (one definition for every integration)."""

from __future__ import annotations

PREFIX = "Compliance instructions for your next reply (follow them exactly):"


def instruction_text(pending: tuple[str, ...]) -> str:
    """The system/developer message or instruction suffix carrying Tier-2 ``preempt_next`` instructions."""
    return PREFIX + "\n" + "\n".join(f"- {line}" for line in pending)
