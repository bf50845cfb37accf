"""Trace: a compliance rules engine for AI voice agents.

Pipeline: source (.trace or JSON) -> AST -> IR (:mod:`trace_engine.ir`) -> automata (:mod:`trace_engine.compile`)
-> inline gate (:mod:`trace_engine.gate`) -> scorecard (:mod:`trace_engine.evidence`) -> signed log and reads
(:mod:`trace_engine.store`).
"""

from trace_engine.version import ENGINE_VERSION

__all__ = ["ENGINE_VERSION"]
