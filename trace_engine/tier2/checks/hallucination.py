"""``hallucination``: agent claims checked against the knowledge base: supported, contradicted or unsupported.

1. The agent turn's *telling* sentences are the claims (a question claims nothing); turns under three content
   words are not judged.
2. Each claim is read into normalised facts (:mod:`trace_engine.tier2.claims`: money, percentages, durations in
   days, times of day, data, ages, dates, ranges and comparators, weekdays, negation, quantifiers).
3. The KB is split into sentences, embedded once per KB with the sentence encoder; the claim's nearest KB
   sentences by cosine are its evidence.
4. The claim is compared with the nearest sentence (and the runner-up when it is almost as near): a quantity,
   day set or quantifier that disagrees is *contradicted*; a flipped polarity on a near-identical sentence
   ("there is no activation fee" / "there's an activation fee") is *contradicted*; an offer or policy claim near
   the KB's topics that no sentence covers is *unsupported*.
5. A logistic regression over those comparison features (similarities, outcome, what disagreed, claim cues),
   trained on ``tests/data/tier2/hallucination.jsonl`` and Platt-scaled on its dev split, gives the confidence.

A turn about the caller's own account (a balance, an order or confirmation number) is not a KB claim. The optional
LLM judge (``tier2.llm``) stays available for what these features cannot read.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from trace_engine.tier2.checks._common import last
from trace_engine.tier2.claims import Claim, compare, extract
from trace_engine.tier2.context import sentences, split_ask_tell
from trace_engine.tier2.features import abstains
from trace_engine.tier2.judges import Verdict

CLAIM_CUE = re.compile(
    r"\b(free|discount|off|includes?|included|comes? with|guarantee\w*|credit|waive\w*|bonus|offer\w*|costs?|"
    r"fee|price|charge\w*|rate|open|close[sd]?|available|refund\w*|return\w*|eligible|qualif\w*|limit\w*|"
    r"always|every|all|anyone|never|only|plan|policy|apy|cap(ped)?|allowed|required)\b", re.I)
ACCOUNT = re.compile(
    r"\b(order|confirmation|case|ticket|invoice|account|tracking|reference|claim|member) (number|code|id|#)|"
    r"\byour (current |remaining )?(balance|total|amount due|last payment|appointment|flight|order|gate|seat|"
    r"confirmation)\b|\b(i'?ve|i have) (updated|changed|booked|cancelled|sent)\b", re.I)
N_FEATURES = 17


class KBIndex:
    """The KB's sentences, their facts and embeddings (built once per KB and process)."""

    def __init__(self, passages: list[str]) -> None:
        from trace_engine.tier2 import encoder

        self.sentences: list[str] = []
        for p in passages:
            self.sentences.extend(s for s in re.split(r"(?<=[.;!?])\s+", p.strip()) if s)
        self.claims: list[Claim] = [extract(s) for s in self.sentences]
        self.emb = encoder.model().embed(self.sentences) if self.sentences else None


_INDEXES: dict[tuple[str, ...], KBIndex] = {}
_LOCK = threading.Lock()


def kb_index(passages: list[str]) -> KBIndex:
    key = tuple(passages)
    idx = _INDEXES.get(key)
    if idx is None:
        with _LOCK:
            idx = _INDEXES.get(key)
            if idx is None:
                if len(_INDEXES) > 16:
                    _INDEXES.clear()
                idx = _INDEXES[key] = KBIndex(passages)
    return idx


def claim_features(text: str, kb: KBIndex, embed: Any) -> tuple[list[float], str | None, str | None]:
    """(features, outcome ``contradicted``/``unsupported``/``supported``/None, the KB sentence it rests on)."""
    import numpy as np

    c = extract(text)
    sims = kb.emb @ embed(text) if kb.emb is not None else np.zeros(0)
    order = np.argsort(-sims)[:3]
    top = float(sims[order[0]]) if len(order) else 0.0
    second = float(sims[order[1]]) if len(order) > 1 else 0.0
    best = int(order[0]) if len(order) else None
    outcome, why = (None, "")
    if best is not None:
        outcome, why = compare(c, kb.claims[best])
        if outcome == "contradicted" and len(order) > 1 and second >= top - 0.05:
            alt, _ = compare(c, kb.claims[int(order[1])])
            if alt == "supported":
                outcome, why = alt, "quantities agree"
    flip = best is not None and outcome is None and c.negated != kb.claims[best].negated
    cue = bool(CLAIM_CUE.search(text))
    has_q = bool(c.quantities or c.open_days is not None or c.closed_days)
    account = bool(ACCOUNT.search(text))
    f = [top, second, top - second, float(outcome == "supported"), float(outcome == "contradicted"),
         float(outcome is None), float("differs" in why and "days" not in why), float("days" in why),
         float("quantifier" in why), float(flip), float(flip) * top, float(has_q), float(cue), float(account),
         min(1.0, len(text.split()) / 25), float(outcome == "contradicted") * top, float(outcome is None) * top]
    if outcome is None:
        kind = "contradicted" if flip and top >= 0.6 else ("unsupported" if cue or has_q else None)
    else:
        kind = outcome
    return f, kind, kb.sentences[best] if best is not None else None


class HallucinationJudge:
    check_id = "hallucination"
    speaker = "agent"

    def __init__(self) -> None:
        from trace_engine.tier2 import models

        self.model = models.calibrated("hallucination")

    def assess(self, text: str, kb: KBIndex) -> tuple[float, str | None, str | None, str | None]:
        """(confidence, kind, KB sentence, claim sentence) of the turn's most doubtful claim."""
        import numpy as np

        from trace_engine.tier2 import encoder

        if abstains(self.check_id, text):
            return 0.0, None, None, None
        _, tell = split_ask_tell(text)
        claims = [s for s in sentences(tell) if not abstains(self.check_id, s)]
        encoder.embed_many(claims)  # one batch; claim_features then reads the cache
        best = (0.0, None, None, None)
        for s in claims:
            f, kind, passage = claim_features(s, kb, encoder.embed_one)
            if kind in (None, "supported"):
                continue
            conf = self.model.confidence(np.asarray(f, dtype=np.float32))
            if conf > best[0]:
                best = (conf, kind, passage, s)
        return best

    def judge(self, window, ctx) -> list[Verdict]:  # noqa: ANN001
        turn = last(window)
        if turn is None or turn.role != "agent" or not turn.text.strip():
            return []
        passages = ctx.config.passages() if ctx is not None else []
        if not passages:
            return []
        conf, kind, passage, claim = self.assess(turn.text, kb_index(passages))
        t = getattr(ctx.config, "thresholds", {}).get(self.check_id, self.model.threshold)
        if kind is None or conf < t:
            return []
        said = claim.strip()[:140] if claim else turn.text.strip()[:140]
        if kind == "contradicted":
            reason = f'The agent said "{said}", which the knowledge base contradicts: "{passage}".'
        else:
            reason = f'The agent said "{said}", which the knowledge base does not support' + (
                f' (nearest passage: "{passage}").' if passage else ".")
        return [Verdict("hallucination", "high" if kind == "contradicted" else "medium", conf, "flag", "agent",
                        reason, None)]
