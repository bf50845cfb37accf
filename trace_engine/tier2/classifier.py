"""The shipped per-check classifiers: logistic regression over :mod:`trace_engine.tier2.features`, Platt-scaled.

Trained by :mod:`trace_engine.tier2.training.train` (scikit-learn, train split; regularisation, Platt scaling
and the decision threshold fitted on the dev split) and exported as JSON: ``weights``, ``bias``, ``platt`` ``[a,
b]`` (confidence = sigmoid(a * margin + b)), ``threshold`` (on the calibrated confidence). Inference is one dot
product in numpy; a JSON file never breaks on a library upgrade the way a pickle would.

A check whose concerns come in kinds (brand_tone: rude, pushy, false urgency, advice) is one multinomial
regression over ``classes`` (``"none"`` and the kinds): ``weights`` is then one row per class, each sparse
weight a list of one value per class, and the margin is log(P(some concern) / P(none)), the log-sum-exp of the
concern scores minus the score of ``none``; the category is the concern class with the highest score. One
linear boundary around four unlike kinds of concern was the limit of a binary model (docs/tier2.md).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).parent / "data"


class Calibrated:
    """A loaded classifier: ``confidence(x)`` is the calibrated probability that the turn is a concern."""

    def __init__(self, spec: dict[str, Any]) -> None:
        import numpy as np

        self.check: str = spec["check"]
        self.np = np
        self.w = np.asarray(spec["weights"], dtype=np.float32)
        #: multinomial: the class names, "none" first (see the module docstring); [] for a binary model
        self.classes: list[str] = list(spec.get("classes", []))
        self.b = np.asarray(spec["bias"], dtype=np.float32) if self.classes else float(spec["bias"])
        self.platt = (float(spec["platt"][0]), float(spec["platt"][1]))
        self.threshold = float(spec["threshold"])
        #: hashed n-gram weights (slot -> weight; slots never seen in training weigh 0)
        self.sparse_w: dict[int, Any] = {
            int(k): np.asarray(v, dtype=np.float32) if self.classes else float(v)
            for k, v in spec.get("sparse_weights", {}).items()}
        self.meta: dict[str, Any] = spec.get("meta", {})
        if self.classes and (self.classes[0] != "none" or self.w.shape[0] != len(self.classes)):
            raise ValueError(f"{self.check}: a multinomial model lists 'none' first and one weight row per class")

    @classmethod
    def load(cls, check: str, path: Path | None = None) -> Calibrated:
        p = path or DATA_DIR / f"{check}.model.json"
        return cls(json.loads(p.read_text(encoding="utf-8")))

    def scores(self, x: Any, sparse: dict[int, float] | None = None) -> Any:
        """One score per class (multinomial models only)."""
        s = self.w @ x + self.b
        for k, v in (sparse or {}).items():
            w = self.sparse_w.get(k)
            if w is not None:
                s = s + w * v
        return s

    def margin(self, x: Any, sparse: dict[int, float] | None = None) -> float:
        if self.classes:
            s = self.scores(x, sparse)
            top = float(s[1:].max())
            return top + math.log(float(self.np.exp(s[1:] - top).sum())) - float(s[0])
        m = float(x @ self.w) + self.b
        if sparse:
            sw = self.sparse_w
            m += sum(sw.get(k, 0.0) * v for k, v in sparse.items())
        return m

    def confidence(self, x: Any, sparse: dict[int, float] | None = None) -> float:
        z = self.platt[0] * self.margin(x, sparse) + self.platt[1]
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def category(self, x: Any, sparse: dict[int, float] | None = None) -> str | None:
        """The most likely kind of concern (multinomial models), else None."""
        if not self.classes:
            return None
        return self.classes[1 + int(self.scores(x, sparse)[1:].argmax())]
