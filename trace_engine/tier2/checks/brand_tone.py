"""``brand_tone``: agent turns that are rude, pushy, falsely urgent (invented deadlines, threats of arrest,
suspension or legal action) or out-of-scope advice (medical, legal, financial decisions made for the caller).

Judge: :class:`~trace_engine.tier2.checks._common.EncoderJudge` over the agent turn's embedding and hashed word
n-grams and the hits of the inline brand_voice pack's phrase sets (brand-003's urgency list among them), trained
on ``tests/data/tier2/brand_tone.jsonl``: one multinomial regression over "none" and the four kinds, so the class
that makes the turn a concern also names its category.
brand-003 inline catches the fixed phrases; this check is for their paraphrases. Stating a real deadline
("your payment is due on the twentieth"), deferring to a professional, a clinician's instructions and turns
under three content words ("Yes.", "OK. And do you smoke?" is judged and is fine) are not concerns.
"""

from __future__ import annotations

from trace_engine.tier2.checks._common import EncoderJudge
from trace_engine.tier2.judges import Verdict

INSTRUCTIONS = {
    "rude": "Apologize for the tone and answer courteously.",
    "pushy": "Do not pressure the caller; restate that the choice is theirs and offer to send details.",
    "false_urgency": "Correct the urgency: state the real deadline, if any, and that there is no pressure to decide now.",
    "advice": "Do not give medical, legal or financial advice; refer the caller to a qualified professional.",
}
LABELS = {"rude": "rude", "pushy": "pushy", "false_urgency": "falsely urgent", "advice": "out-of-scope advice"}


class BrandToneJudge(EncoderJudge):
    check_id = "brand_tone"
    speaker = "agent"

    def verdict(self, window, ctx, confidence, x) -> list[Verdict]:  # noqa: ANN001
        from trace_engine.tier2.context import CallContext
        from trace_engine.tier2.features import SPECS

        pairs = [(t.role, t.text) for t in window]
        cat = self.model.category(x, SPECS[self.check_id].sparse(pairs, CallContext())) or "false_urgency"
        severity = "high" if cat in ("advice", "false_urgency") else "medium"
        return [Verdict(
            "brand_tone", severity, confidence, "preempt_next", "agent",
            f'The agent turn is {LABELS[cat]}: "{window[-1].text.strip()[:140]}".', INSTRUCTIONS[cat])]
