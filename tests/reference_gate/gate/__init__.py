"""The inline gate: per-call sessions that check every agent turn before it is spoken."""

from reference_gate.gate.decision import Decision, TurnFinding
from reference_gate.gate.engine import Engine
from reference_gate.gate.session import Call

__all__ = ["Engine", "Call", "Decision", "TurnFinding"]
