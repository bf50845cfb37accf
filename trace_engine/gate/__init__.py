"""The inline gate: per-call sessions that check every agent turn before it is spoken."""

from trace_engine.gate.decision import Decision, TurnFinding
from trace_engine.gate.engine import Engine
from trace_engine.gate.session import Call

__all__ = ["Engine", "Call", "Decision", "TurnFinding"]
