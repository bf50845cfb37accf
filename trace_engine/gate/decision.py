"""What the gate returns for each agent turn: :class:`Decision` and :class:`TurnFinding` (built in the core).

``Decision``: ``action`` (``pass`` nothing fired; ``flag`` findings recorded, text unchanged; ``modify`` text
rewritten; ``block`` suppressed and replaced by the fallback line; ``handoff`` suppressed, transfer to a person),
``text`` (what may be spoken; ``None`` when suppressed and no fallback line is configured), ``findings``,
``latency_ns`` (time spent in the gate for this turn, commit included), ``preempt`` (instructions for this turn
from Tier-2 findings on earlier turns, advisory), ``handoff`` (True when the turn loop should transfer the call)
and ``to_dict()``.

``TurnFinding``: ``rule_id``, ``pack_id``, ``severity``, ``citation``, ``reason`` (from the rule); ``span``
``(start, end)`` in the turn's original text, or ``None`` for a missed obligation; ``action_taken`` (``pass`` when
the gate failed open, ``flag``, ``modify`` or ``block``); ``kind`` (the detector kind of a PII hit, else ``None``);
and ``to_dict()``.
"""

from __future__ import annotations

from typing import Literal

from trace_engine._core import Decision, TurnFinding

Action = Literal["pass", "flag", "modify", "block", "handoff"]
ActionTaken = Literal["pass", "flag", "modify", "block"]

__all__ = ["Action", "ActionTaken", "Decision", "TurnFinding"]
