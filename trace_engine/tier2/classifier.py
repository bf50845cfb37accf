"""The shipped per-check classifiers: logistic regression over :mod:`trace_engine.tier2.features`, Platt-scaled.

Trained by :mod:`trace_engine.tier2.training.train` (scikit-learn, train split; regularisation, Platt scaling
and the decision threshold fitted on the dev split) and exported as JSON: ``weights``, ``bias``, ``platt`` ``[a,
b]`` (confidence = sigmoid(a * margin + b)), ``threshold`` (on the calibrated confidence) and, for brand_tone, a
softmax ``category`` head. Inference is one dot product in numpy; a JSON file never breaks on a library upgrade
the way a pickle would.
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
        self.w = np.asarray(spec["weights"], dtype=np.float32)
        self.b = float(spec["bias"])
        self.platt = (float(spec["platt"][0]), float(spec["platt"][1]))
        self.threshold = float(spec["threshold"])
        #: hashed n-gram weights (slot -> weight; slots never seen in training weigh 0)
        self.sparse_w: dict[int, float] = {int(k): float(v) for k, v in spec.get("sparse_weights", {}).items()}
        self.meta: dict[str, Any] = spec.get("meta", {})
        cat = spec.get("category")
        self.categories: list[str] = cat["classes"] if cat else []
        self.cat_w = np.asarray(cat["weights"], dtype=np.float32) if cat else None
        self.cat_b = np.asarray(cat["bias"], dtype=np.float32) if cat else None

    @classmethod
    def load(cls, check: str, path: Path | None = None) -> Calibrated:
        p = path or DATA_DIR / f"{check}.model.json"
        return cls(json.loads(p.read_text(encoding="utf-8")))

    def margin(self, x: Any, sparse: dict[int, float] | None = None) -> float:
        m = float(x @ self.w) + self.b
        if sparse:
            sw = self.sparse_w
            m += sum(sw.get(k, 0.0) * v for k, v in sparse.items())
        return m

    def confidence(self, x: Any, sparse: dict[int, float] | None = None) -> float:
        z = self.platt[0] * self.margin(x, sparse) + self.platt[1]
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def category(self, x: Any) -> str | None:
        if self.cat_w is None:
            return None
        s = self.cat_w @ x[: self.cat_w.shape[1]] + self.cat_b
        return self.categories[int(s.argmax())]
