"""How a judged turn, its window and the call context become a classifier's input (one definition, shared by
training and inference).

Each check reads: the sentence embedding of the judged turn (for ``minimum_necessary``, of its *telling*
sentences only: questions are not disclosures), context embeddings where the check needs them, and a few hand
features. ``minimum_necessary`` gates its embedding by who is listening: the same words get one weight vector when
the listener is a third party or an unverified phone caller and another when the listener is the verified (or
in-person) patient, which is how a linear model expresses "health information AND the wrong listener".

:func:`abstains` is the short-turn rule: a turn with fewer than ``MIN_WORDS`` words that are not filler ("Yes.",
"and", "Say again.", "uh huh okay") is not judged at all, whatever a model would say.
"""

from __future__ import annotations

import math
import re
import threading
import zlib
from collections.abc import Callable, Sequence
from typing import Any

from trace_engine.tier2.context import CallContext, split_ask_tell

FILLER = frozenset("""yes yeah yep yup no nope nah ok okay alright right sure and or but so um uh uhm er hmm mm mhm
huh oh ah well hello hi hey bye goodbye thanks thank you please sorry pardon what say again repeat that come
again got it i see cool great fine good really wow gotcha""".split())
MIN_WORDS = {"ambiguous_optout": 1, "brand_tone": 3, "minimum_necessary": 3}
_WORD = re.compile(r"[a-z0-9']+")

DECLINE = re.compile(
    r"\b(can'?t|cannot|not able to|unable to|won'?t|don'?t) (share|discuss|confirm|release|give out|disclose)\b|"
    r"\b(need|have to get) (the patient'?s|her|his|their) (permission|authorization|consent)\b|"
    r"\bfor privacy reasons\b|\bsigned release\b|\bonly (discuss|share) (that|this|it) with\b", re.I)
THIRD_PERSON = re.compile(r"\b(he|she|his|her|him|he'?s|she'?s|the patient)\b", re.I)
SECOND_PERSON = re.compile(r"\b(you|your|you'?re|you'?ve)\b", re.I)


def content_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in FILLER]


def abstains(check: str, text: str) -> bool:
    """The short-turn rule (see the module docstring)."""
    return len(content_words(text)) < MIN_WORDS.get(check, 3)


def _len_feats(text: str) -> list[float]:
    n = len(_WORD.findall(text))
    return [math.log1p(n) / 4.0, float(text.strip().endswith("?"))]


def listener_at_risk(ctx: CallContext) -> bool:
    """A third party on the line, or a phone caller who was neither verified nor heard describing their own
    health (an in-person patient is the patient)."""
    if ctx.third_party:
        return True
    return ctx.phone and not (ctx.verified or ctx.right_party or ctx.self_health)


#: hashed word 1-2-grams: the wording cues an embedding blurs ("decide now", "people like you")
HASH_DIM = 1 << 15


def hashed_ngrams(text: str, offset: int = 0, weight: float = 1.0) -> dict[int, float]:
    """Binary word uni- and bigrams hashed (crc32) into ``HASH_DIM`` slots, L2-normalised, times ``weight``."""
    toks = _WORD.findall(text.lower())
    slots = {offset + zlib.crc32(g.encode()) % HASH_DIM
             for g in [*toks, *(a + " " + b for a, b in zip(toks, toks[1:], strict=False))]}
    if not slots:
        return {}
    v = weight / math.sqrt(len(slots))
    return dict.fromkeys(slots, v)


class Spec:
    """What one check embeds, which text it hashes, and which hand features it adds."""

    def __init__(self, texts: Callable[[Sequence[tuple[str, str]], CallContext], list[str]],
                 hand: Callable[[Sequence[tuple[str, str]], CallContext], list[float]],
                 gate: Callable[[CallContext], bool] | None = None, prev_ngrams: bool = False,
                 ngram_weight: float = 1.0) -> None:
        self.texts = texts
        self.hand = hand
        self.gate = gate
        self.prev_ngrams = prev_ngrams
        #: the n-grams' norm beside the unit-norm embedding (one regularisation strength serves both); chosen on dev
        self.ngram_weight = ngram_weight

    def sparse(self, window: Sequence[tuple[str, str]], ctx: CallContext) -> dict[int, float]:
        """Hashed n-grams of the first embedded text (gated like the embedding: two slot ranges), and for a
        caller turn those of the agent turn it answers (a third range: cheap context, no second embedding)."""
        offset = HASH_DIM if self.gate is not None and self.gate(ctx) else 0
        out = hashed_ngrams(self.texts(window, ctx)[0], offset, self.ngram_weight)
        if self.prev_ngrams:
            out.update(hashed_ngrams(ctx.prev_other, HASH_DIM))
        return out

    @property
    def sparse_dim(self) -> int:
        return HASH_DIM * (2 if self.gate is not None or self.prev_ngrams else 1)


def _optout_texts(w: Sequence[tuple[str, str]], ctx: CallContext) -> list[str]:
    return [w[-1][1]]


def _optout_hand(w: Sequence[tuple[str, str]], ctx: CallContext) -> list[float]:
    return _len_feats(w[-1][1]) + [float(bool(ctx.prev_other))]


def _tone_texts(w: Sequence[tuple[str, str]], ctx: CallContext) -> list[str]:
    return [w[-1][1]]


#: the inline brand_voice pack's phrase sets whose hits are brand_tone features (one definition: brand-003's list
#: of false-urgency and scam-pressure wording, the profanity and threat list, and their negations)
TONE_CUE_SETS = ("false_urgency", "urgency_negated", "profanity_or_threat", "guarantee", "guarantee_negated")
_TONE_CUES: list[tuple[str, ...]] = []
_TONE_CUES_LOCK = threading.Lock()


def tone_cues() -> list[tuple[str, ...]]:
    """The normalized phrases of :data:`TONE_CUE_SETS`, read once from the built-in brand_voice pack."""
    if not _TONE_CUES:
        with _TONE_CUES_LOCK:
            if not _TONE_CUES:
                from trace_engine.packs import builtin_pack_path, load_pack_file
                from trace_engine.text import normalize_phrase

                path = builtin_pack_path("brand_voice")
                if path is None:  # pragma: no cover - the pack ships with Trace
                    raise RuntimeError("the built-in brand_voice pack is missing")
                sets = dict(load_pack_file(path).phrase_sets)
                _TONE_CUES.extend(tuple(f" {normalize_phrase(p)} " for p in sets[name] if "{" not in p)
                                  for name in TONE_CUE_SETS)
    return _TONE_CUES


def tone_cue_hits(text: str) -> list[float]:
    """1.0 per phrase set of :data:`TONE_CUE_SETS` with a phrase in ``text`` (normalized as the gate reads it)."""
    from trace_engine.text import normalize

    norm = f" {normalize(text).text} "
    return [float(any(p in norm for p in phrases)) for phrases in tone_cues()]


#: pressure negated or handed back to the caller ("you don't have to decide today", "no charge without your
#: okay", "it's optional", "take your time"): the pressure words with a no in front, which a mean-pooled embedding
#: and word n-grams read as the pressure itself (the dev split's strongest false positives in round 3)
PRESSURE_NEGATED = re.compile(
    r"\b(?:do not|don'?t|doesn'?t|won'?t|will not|not|no|never|aren'?t|isn'?t|nobody|no one)\b[^.?!,]{0,25}"
    r"\b(?:have to|need to|required|obligat\w*|pressure|rush|penalty|charged?|charges|enrolled|signed up|deadline|"
    r"lose|change|affect)\b|"
    r"\b(?:optional|up to you|your (?:choice|call|decision)|take your time|no rush|no pressure|whenever you'?re ready|"
    r"free to)\b", re.I)


def _tone_hand(w: Sequence[tuple[str, str]], ctx: CallContext) -> list[float]:
    t = w[-1][1]
    letters = [c for c in t if c.isalpha()]
    caps = sum(c.isupper() for c in letters) / max(1, len(letters))
    return (_len_feats(t) + [float(caps > 0.6 and len(letters) > 8), float("!" in t)] + tone_cue_hits(t)
            + [float(bool(PRESSURE_NEGATED.search(t)))])


def _minnec_texts(w: Sequence[tuple[str, str]], ctx: CallContext) -> list[str]:
    _, tell = split_ask_tell(w[-1][1])
    return [tell]


def _minnec_hand(w: Sequence[tuple[str, str]], ctx: CallContext) -> list[float]:
    _, tell = split_ask_tell(w[-1][1])
    risk = listener_at_risk(ctx)
    return [*ctx.flags(), float(risk), float(bool(tell.strip())), float(bool(DECLINE.search(tell))),
            float(bool(THIRD_PERSON.search(tell))), float(bool(SECOND_PERSON.search(tell))),
            *_len_feats(tell)]


SPECS: dict[str, Spec] = {
    "ambiguous_optout": Spec(_optout_texts, _optout_hand, prev_ngrams=True),
    "brand_tone": Spec(_tone_texts, _tone_hand, ngram_weight=2.5),
    "minimum_necessary": Spec(_minnec_texts, _minnec_hand, gate=listener_at_risk),
}


def vector(check: str, window: Sequence[tuple[str, str]], ctx: CallContext, embed: Callable[[str], Any]) -> Any:
    """The feature vector of the judged (last) turn of ``window``; ``embed`` maps a text to its embedding."""
    import numpy as np

    spec = SPECS[check]
    embs = [embed(t) if t.strip() else np.zeros(384, dtype=np.float32) for t in spec.texts(window, ctx)]
    if spec.gate is not None:
        on = spec.gate(ctx)
        gated = []
        for e in embs:
            gated.extend([e if on else np.zeros_like(e), np.zeros_like(e) if on else e])
        embs = gated
    return np.concatenate([*embs, np.asarray(spec.hand(window, ctx), dtype=np.float32)])
