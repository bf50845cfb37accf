"""Helpers shared by the checks, and the base of the three encoder-backed checks."""

from __future__ import annotations

import re
from typing import Any

from trace_engine.tier2.judges import Turn


def last(window: tuple[Turn, ...]) -> Turn | None:
    return window[-1] if window else None


def earlier(window: tuple[Turn, ...], role: str) -> str:
    return " ".join(t.text for t in window[:-1] if t.role == role)


def rx(*alts: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{a})" for a in alts), re.IGNORECASE)


class EncoderJudge:
    """A calibrated classifier over the judged turn's embedding, hashed n-grams and call context.

    Subclasses set ``check_id`` and ``speaker`` and turn a confidence into a verdict (:meth:`verdict`). The
    turn is not judged when it is too short (:func:`trace_engine.tier2.features.abstains`); otherwise it is a
    concern when the calibrated confidence reaches the check's threshold (``tier2.thresholds.<check>``, else the
    one fitted on the dev split and shipped in the model file)."""

    check_id: str
    speaker: str

    def __init__(self) -> None:
        from trace_engine.tier2 import models

        self.model = models.calibrated(self.check_id)
        #: a model fitted over its own fine-tuned encoder pins that graph (``meta.encoder_sha256``)
        pinned = self.model.meta.get("encoder_sha256")
        self.tuned_for: tuple[str, str] | None = (self.check_id, str(pinned)) if pinned else None

    def embed(self, text: str) -> Any:
        """The embedding this check's classifier was fitted on: the shared encoder's, or its own fine-tuned one."""
        from trace_engine.tier2 import encoder

        return encoder.embed_one(text, self.tuned_for)

    def score(self, window: tuple[Turn, ...], ctx: Any) -> tuple[float, Any] | None:
        """(calibrated confidence, feature vector), or None when the turn abstains."""
        from trace_engine.tier2.context import context_for
        from trace_engine.tier2.features import SPECS, abstains, vector

        turn = window[-1]
        if abstains(self.check_id, turn.text):
            return None
        call = getattr(ctx, "call", None)
        if call is None:
            call = context_for([(t.role, t.text) for t in window])
        pairs = [(t.role, t.text) for t in window]
        x = vector(self.check_id, pairs, call, self.embed)
        return self.model.confidence(x, SPECS[self.check_id].sparse(pairs, call)), x

    def threshold(self, ctx: Any) -> float:
        cfg = getattr(ctx, "config", None)
        t = getattr(cfg, "thresholds", {}) or {}
        return float(t.get(self.check_id, self.model.threshold))

    def judge(self, window: tuple[Turn, ...], ctx: Any) -> list[Any]:
        turn = last(window)
        if turn is None or turn.role != self.speaker or not turn.text.strip():
            return []
        scored = self.score(window, ctx)
        if scored is None or scored[0] < self.threshold(ctx):
            return []
        return self.verdict(window, ctx, *scored)

    def verdict(self, window: tuple[Turn, ...], ctx: Any, confidence: float, x: Any) -> list[Any]:  # pragma: no cover
        raise NotImplementedError
