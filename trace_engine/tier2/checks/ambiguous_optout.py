"""``ambiguous_optout``: a caller turn that likely revokes consent to be called, in words the deterministic
tcpa-004 phrases do not cover ("lose my number", "I'm on the do not call registry, you shouldn't be calling").

Judge: :class:`~trace_engine.tier2.checks._common.EncoderJudge` over the caller turn's embedding, hashed word
n-grams of the caller turn and of the agent turn it answers (so "take me off the list" after a restaurant waitlist
offer reads differently from after a sales pitch); trained on ``tests/data/tier2/ambiguous_optout.jsonl``. After a
pitch, a plain "not interested" or a lone "stop" is flagged: the rule catalog's tcpa-004 leaves those to Tier-2.
Declining one offer while staying engaged ("not interested in the extended plan but keep the basic one"), "stop"
aimed at something else ("stop, let me grab a pen"), asking to be called later, and filler ("Say again.", "and")
are not revocations; a turn without a content word is not judged.
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
