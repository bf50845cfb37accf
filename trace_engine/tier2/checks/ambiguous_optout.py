"""``ambiguous_optout``: a caller turn that likely revokes consent to be called, in words the deterministic
tcpa-004 phrases do not cover ("lose my number", "I'm on the do not call registry, you shouldn't be calling").

Judge: :class:`~trace_engine.tier2.checks._common.EncoderJudge` over the caller turn's embedding, the embedding of
the agent turn it answers (so "take me off the list" after a restaurant waitlist offer reads differently from after
a sales pitch) and hashed word n-grams; trained on ``tests/data/tier2/ambiguous_optout.jsonl``. Declining one offer
("not interested in the premium plan"), asking to be called later, and filler ("Say again.", "and") are not
revocations; turns under two content words are not judged.
"""

from __future__ import annotations

from trace_engine.tier2.checks._common import EncoderJudge
from trace_engine.tier2.judges import Verdict

INSTRUCTION = "Ask whether they want to be placed on the do-not-call list, and stop the offer"


class AmbiguousOptOutJudge(EncoderJudge):
    check_id = "ambiguous_optout"
    speaker = "caller"

    def verdict(self, window, ctx, confidence, x) -> list[Verdict]:  # noqa: ANN001
        text = window[-1].text.strip()
        return [Verdict(
            "ambiguous_optout", "high", confidence, "preempt_next", "caller",
            f'The caller likely revoked consent to be contacted ("{text[:120]}") without the explicit '
            "do-not-call phrases.", INSTRUCTION)]
