"""``minimum_necessary`` (HIPAA 45 CFR 164.502(b)): health information told to a listener who should not hear
it: a third party on the line, or a phone caller who was never verified.

Judge: :class:`~trace_engine.tier2.checks._common.EncoderJudge` over the *telling* sentences of the agent turn
(questions are not disclosures: "do you smoke?" tells nothing), gated by who is listening
(:func:`trace_engine.tier2.features.listener_at_risk`, from the gate's ``verified`` / ``right_party`` /
third-party states or the same facts read from the turns), trained on ``tests/data/tier2/minimum_necessary.jsonl``.
A spouse *mentioned* by the patient is not a third party; history read back to the patient in the room is not a
disclosure to someone else. Findings escalate: a disclosure may be a reportable breach.
"""

from __future__ import annotations

import re

from trace_engine.tier2.checks._common import EncoderJudge
from trace_engine.tier2.features import listener_at_risk
from trace_engine.tier2.judges import Verdict

INSTRUCTION = ("Do not share further health details until the caller is verified as the patient or an authorized "
               "representative.")


class MinimumNecessaryJudge(EncoderJudge):
    check_id = "minimum_necessary"
    speaker = "agent"

    def verdict(self, window, ctx, confidence, x) -> list[Verdict]:  # noqa: ANN001
        from trace_engine.tier2.context import context_for

        call = getattr(ctx, "call", None) or context_for([(t.role, t.text) for t in window])
        if not listener_at_risk(call):  # the verified or in-person patient: telling them is not over-disclosure
            return []
        if call.third_party:
            who = "to a caller who said they are someone other than the patient"
        else:
            who = "to a phone caller who was not verified"
        said = re.sub(r"\s+", " ", window[-1].text.strip())[:140]
        return [Verdict("minimum_necessary", "high", confidence, "escalate", "agent",
                        f'The agent disclosed health information ("{said}") {who}.', INSTRUCTION)]
