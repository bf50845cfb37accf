"""The verdict rule, re-exported for callers that only need it (the gate).

See :func:`trace_engine.evidence.scorecard.compute_verdict`: FAIL when a high or critical finding was not
remediated; WARN when any finding remains or was remediated, or the gate failed open; otherwise PASS.
"""

from trace_engine.evidence.scorecard import FAILING_SEVERITIES, VERDICTS, compute_verdict

__all__ = ["FAILING_SEVERITIES", "VERDICTS", "compute_verdict"]
