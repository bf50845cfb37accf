"""Pure-Python inference for the shipped text classifiers (TF-IDF features + logistic regression).

The classifiers are trained with scikit-learn by :mod:`trace_engine.tier2.train` and exported as JSON
(``trace_engine/tier2/data/<name>.json``): per feature block the analyzer, its n-gram range, and for every kept
term its IDF and its coefficients. Inference re-implements scikit-learn's analyzers exactly (``word`` with the
default token pattern, ``char_wb``), sublinear TF, per-block L2 normalisation, and the logistic link, so the
runtime needs neither scikit-learn nor numpy, and a model file never breaks on a library upgrade (a pickle would).
``tests/test_tier2_models.py`` checks parity with the scikit-learn pipeline it came from.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_WS = re.compile(r"\s\s+")


def word_ngrams(text: str, lo: int, hi: int) -> list[str]:
    tokens = _TOKEN.findall(text.lower())
    out: list[str] = []
    n_tok = len(tokens)
    for n in range(lo, hi + 1):
        if n == 1:
            out.extend(tokens)
        else:
            out.extend(" ".join(tokens[i : i + n]) for i in range(n_tok - n + 1))
    return out


def char_wb_ngrams(text: str, lo: int, hi: int) -> list[str]:
    doc = _WS.sub(" ", text.lower())
    out: list[str] = []
    for w in doc.split():
        w = " " + w + " "
        w_len = len(w)
        for n in range(lo, hi + 1):
            offset = 0
            out.append(w[offset : offset + n])
            while offset + n < w_len:
                offset += 1
                out.append(w[offset : offset + n])
            if offset == 0:
                break
    return out


_ANALYZERS = {"word": word_ngrams, "char_wb": char_wb_ngrams}


class LinearTextModel:
    """A loaded classifier. ``predict_proba(text)`` returns ``{class: probability}``."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.name: str = spec["name"]
        self.classes: list[str] = spec["classes"]
        self.intercept: list[float] = spec["intercept"]
        self.threshold: float = float(spec.get("threshold", 0.5))
        self.blocks = [
            (_ANALYZERS[b["analyzer"]], int(b["ngram"][0]), int(b["ngram"][1]), b["terms"]) for b in spec["blocks"]
        ]
        self.meta: dict[str, Any] = spec.get("meta", {})

    @classmethod
    def load(cls, path: str | Path) -> LinearTextModel:
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    def decision(self, text: str) -> list[float]:
        k = len(self.intercept)
        scores = list(self.intercept)
        for analyze, lo, hi, terms in self.blocks:
            counts = Counter(g for g in analyze(text, lo, hi) if g in terms)
            if not counts:
                continue
            vals = []
            norm = 0.0
            for g, c in counts.items():
                idf, coef = terms[g]
                v = (1.0 + math.log(c)) * idf
                norm += v * v
                vals.append((v, coef))
            norm = math.sqrt(norm) or 1.0
            for v, coef in vals:
                w = v / norm
                for j in range(k):
                    scores[j] += w * coef[j]
        return scores

    def predict_proba(self, text: str) -> dict[str, float]:
        s = self.decision(text)
        if len(self.classes) == 2:
            p = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, s[0]))))
            return {self.classes[0]: 1.0 - p, self.classes[1]: p}
        m = max(s)
        e = [math.exp(x - m) for x in s]
        z = sum(e)
        return {c: v / z for c, v in zip(self.classes, e, strict=True)}

    def positive(self, text: str) -> float:
        """Probability of the positive class (the second of a binary model)."""
        return self.predict_proba(text)[self.classes[-1]]
