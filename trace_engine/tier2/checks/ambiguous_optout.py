"""``ambiguous_optout``: a caller turn that likely revokes consent to be called, without the explicit phrases
the deterministic rules (tcpa-004) match.

Judge: a TF-IDF + logistic-regression classifier (word 1-2-grams and char 2-5-grams, trained on the train split of
``tests/data/tier2/ambiguous_optout.jsonl``) OR'ed with a small set of revocation patterns that name the calls
themselves ("why do you keep calling", "lose my number", "get me off your list"). A turn that asks to be called
*later* ("call me back tomorrow") is never a revocation. Declining an offer ("not interested in the premium plan")
stays negative: the patterns need the calls, the contact or the list to be the object.
"""

from __future__ import annotations

from trace_engine.tier2 import models
from trace_engine.tier2.checks._common import last, rx
from trace_engine.tier2.judges import Verdict

#: the classifier alone must be this sure (it was fit on ~100 sentences; the patterns carry most of the recall)
CLASSIFIER_THRESHOLD = 0.75
INSTRUCTION = "Ask whether they want to be placed on the do-not-call list, and stop the offer"

_CALLS = r"(call|calling|called|ringing|ring|contact\w*|text\w*|reach(ing)? out|robocalls?|phone calls?)"
REVOKE = rx(
    r"\b(stop|quit|no more|don'?t|do not|never|not)\b[^.?!]{0,25}\b" + _CALLS,
    r"\b(why|how many times)\b[^.?!]{0,40}\b(keep|again|always|every)\b[^.?!]{0,20}\b" + _CALLS,
    r"\b(keep|keeps)\b[^.?!]{0,15}\b" + _CALLS,
    r"\b(lose|delete|scratch|take) my number\b",
    r"\boff (your|the|this|that) (calling |call |phone |mailing )?list\b|\bremove me\b|\bwant off\b",
    r"\bhow did you (even )?get (this|my) number\b",
    r"\bleave me alone\b|\bharass\w*\b",
    r"\b(sick|tired)( and tired)? of\b[^.?!]{0,20}\b" + _CALLS,
    r"\bnot interested anymore\b|\bno longer want\b",
    r"\byou (people|guys)\b[^.?!]{0,30}\b" + _CALLS,
    r"\b(block|report)(ing)? (this number|you)\b",
    r"\b(last|fourth|third|tenth) (time|call)\b[^.?!]{0,30}\b(call|enough|today)\b",
)
DEFER = rx(
    r"\bcall (me )?(back )?(later|tomorrow|next|at \w+|in an? \w+|after)\b",
    r"\b(can|could) you call\b",
    r"\byou can (call|text)\b|\bplease (call|text) my\b",
    r"\b(you don'?t|no) need to call\b",
)


class AmbiguousOptOutJudge:
    check_id = "ambiguous_optout"
    speaker = "caller"

    def score(self, text: str) -> tuple[float, bool]:
        p = models.linear("ambiguous_optout").positive(text)
        pattern = bool(REVOKE.search(text))
        if DEFER.search(text) and not pattern:
            return min(p, 0.2), False
        return (max(p, 0.9) if pattern else p), pattern

    def judge(self, window, ctx) -> list[Verdict]:  # noqa: ANN001
        turn = last(window)
        if turn is None or turn.role != "caller" or not turn.text.strip():
            return []
        p, pattern = self.score(turn.text)
        if not pattern and p < CLASSIFIER_THRESHOLD:
            return []
        why = "names the calls themselves" if pattern else "reads as a refusal of further contact"
        return [
            Verdict(
                "ambiguous_optout", "high", p, "preempt_next", "caller",
                f'The caller likely revoked consent to be contacted ("{turn.text.strip()[:120]}" {why}) without '
                "the explicit do-not-call phrases.",
                INSTRUCTION,
            )
        ]
