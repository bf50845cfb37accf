"""``brand_tone``: rude, pushy, falsely urgent, or out-of-scope (medical, legal, financial advice) agent turns.

Judge: per-category patterns (domain lexicons, kept small and explicit) OR'ed with a TF-IDF + logistic-regression
classifier trained on ``tests/data/tier2/brand_tone.jsonl`` (train split); a second classifier names the category
when no pattern does. A deferral to a professional ("I can't give medical advice, ask your doctor") is never
advice.
"""

from __future__ import annotations

from trace_engine.tier2 import models
from trace_engine.tier2.checks._common import last, rx
from trace_engine.tier2.judges import Verdict

CLASSIFIER_THRESHOLD = 0.75

PATTERNS = {
    "rude": rx(
        r"\b(stupid|dumb|idiot\w*|ridiculous)\b", r"\bare you (deaf|stupid|even listening)\b",
        r"\bstop whining\b", r"\b(that'?s|it'?s) (your problem|on you)\b", r"\bcalm down\b", r"\boverreacting\b",
        r"\bwhat is wrong with you\b", r"\bpeople like you\b", r"\bdon'?t have all day\b",
        r"\bnot (going to|gonna) repeat myself\b", r"\byou (clearly|really) (don'?t|didn'?t)\b",
        r"\bi don'?t care what\b", r"\bdon'?t take that tone\b", r"\bjust you\b", r"^\W*(ugh|whatever)\b",
    ),
    "pushy": rx(
        r"\bwon'?t take no\b", r"\bjust say yes\b", r"\bnot letting you\b", r"\buntil you (say yes|sign|try|buy)\b",
        r"\b(i'?m|i am|i'?ll) (just )?(going to |gonna )?(go ahead and )?(put you down|sign you up|enroll you)\b",
        r"\byou'?d be crazy\b", r"\bhuge mistake\b", r"\byou (have to|need to|must) (buy|sign|commit)\b",
        r"\bdon'?t be the last\b", r"\bneed a yes\b", r"\bnot saying no\b", r"\bas long as it takes\b",
        r"\bwhat'?s there to think about\b", r"\bdon'?t overthink\b", r"\bthank me later\b",
    ),
    "false_urgency": rx(
        r"\b(in the next|within) (\w+ )?(minutes?|hours?)\b", r"\bnow or never\b", r"\blast chance\b",
        r"\b(disappears|gone for good|gone forever|lose the discount forever)\b",
        r"\b(unless|if you don'?t|or)\b[^.?!]{0,40}\b(right now|immediately|today|tonight|on this call)\b",
        r"\b(suspended|shut off|disconnected|collections|warrant|police|irs)\b[^.?!]{0,60}\b(today|now|immediately|tonight|call)\b",
        r"\b(today|now|immediately|tonight)\b[^.?!]{0,60}\b(suspended|shut off|disconnected|collections|warrant|police|irs)\b",
        r"\bsecond we hang up\b|\bmoment we hang up\b|\bafter this call\b",
        r"\bonly (\w+ )?(spots?|seats?) left\b[^.?!]{0,40}\bdecide\b",
        r"\bdecide (now|immediately|right now)\b", r"\bcost you double\b",
    ),
    "advice": rx(
        r"\b(stop|skip|quit) (taking )?(the |your )?(\w+ )?(medication|meds|insulin|chemo|antidepressants?|pills)\b",
        r"\bdouble the dose\b", r"\bdon'?t need (to see )?(a|an|the) (doctor|lawyer|attorney|cardiologist|specialist)\b",
        r"\bno need for the (er|emergency room|hospital)\b", r"\bgive your (kid|child|son|daughter) your\b",
        r"\bignore the (court|summons|notice)\b", r"\bi'?d sue\b", r"\bdon'?t have to pay (those|your) taxes\b",
        r"\b(put|invest|move) (all )?(your|the) (savings|money|emergency fund|401k|retirement)\b",
        r"\b(cash out|take the money out of) your\b", r"\bstop paying your (mortgage|rent|taxes)\b",
        r"\b(guaranteed to go up|can'?t lose)\b", r"\bshould (definitely )?(declare bankruptcy|refinance|sue)\b",
        r"\bdon'?t need to tell your doctor\b", r"\bjust take some \w+\b", r"\bthat sounds like \w+, you don'?t\b",
        r"\bcan'?t evict\b", r"\bbest investment\b", r"\binstead of (the )?chemo\b|\bstop the chemo\b",
    ),
}
DEFERRAL = rx(
    r"\b(can'?t|cannot|not able to|unable to) (give|offer|advise|tell you whether)\b", r"\bi'?m not a (lawyer|doctor)\b",
    r"\b(ask|check with|contact|talk to|speak with|speaking with|checking with) (your|an?|a licensed|our) "
    r"(doctor|pharmacist|prescriber|attorney|lawyer|financial advisor|advisor)\b",
)
INSTRUCTIONS = {
    "rude": "Apologize for the tone and answer courteously.",
    "pushy": "Do not pressure the caller; restate that the choice is theirs and offer to send details.",
    "false_urgency": "Correct the urgency: state the real deadline and that there is no pressure to decide now.",
    "advice": "Do not give medical, legal or financial advice; refer the caller to a qualified professional.",
}
LABELS = {"rude": "rude", "pushy": "pushy", "false_urgency": "falsely urgent", "advice": "out-of-scope advice"}


class BrandToneJudge:
    check_id = "brand_tone"
    speaker = "agent"

    def classify(self, text: str) -> tuple[str | None, float]:
        for cat, pat in PATTERNS.items():
            if pat.search(text) and not (cat == "advice" and DEFERRAL.search(text)):
                return cat, max(0.9, models.linear("brand_tone").positive(text))
        p = models.linear("brand_tone").positive(text)
        if p < CLASSIFIER_THRESHOLD or DEFERRAL.search(text):
            return None, p
        probs = models.linear("brand_tone_category").predict_proba(text)
        return max(probs, key=probs.__getitem__), p

    def judge(self, window, ctx) -> list[Verdict]:  # noqa: ANN001
        turn = last(window)
        if turn is None or turn.role != "agent" or not turn.text.strip():
            return []
        cat, p = self.classify(turn.text)
        if cat is None:
            return []
        severity = "high" if cat in ("advice", "false_urgency") else "medium"
        return [
            Verdict(
                "brand_tone", severity, p, "preempt_next", "agent",
                f'The agent turn is {LABELS[cat]}: "{turn.text.strip()[:140]}".', INSTRUCTIONS[cat],
            )
        ]
