"""Train the shipped text classifiers from the labeled sets (train split only) and export them as JSON.

    python -m trace_engine.tier2.train [--data tests/data/tier2] [--out trace_engine/tier2/data]

Needs scikit-learn (in the ``test`` extra), never at run time. Deterministic: the same data gives the same file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from trace_engine.tier2.features import FEATURE_TEXT

WORD = {"analyzer": "word", "ngram_range": (1, 2)}
CHAR = {"analyzer": "char_wb", "ngram_range": (2, 5)}


def load_rows(path: Path, split: str | None = None) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if split is None or r["split"] == split]


def build_pipeline(C: float = 10.0):  # noqa: N803, ANN201
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    union = FeatureUnion(
        [
            ("word", TfidfVectorizer(sublinear_tf=True, min_df=1, **WORD)),
            ("char", TfidfVectorizer(sublinear_tf=True, min_df=2, **CHAR)),
        ]
    )
    return Pipeline([("feats", union), ("lr", LogisticRegression(C=C, max_iter=2000, class_weight="balanced"))])


def export(pipe: Any, name: str, threshold: float, meta: dict[str, Any]) -> dict[str, Any]:
    union = pipe.named_steps["feats"]
    lr = pipe.named_steps["lr"]
    coef = lr.coef_
    blocks = []
    offset = 0
    for _, vec in union.transformer_list:
        vocab = vec.vocabulary_
        terms = {}
        for term, idx in vocab.items():
            c = [float(round(coef[j][offset + idx], 6)) for j in range(coef.shape[0])]
            if all(x == 0.0 for x in c):
                continue
            terms[term] = [float(round(vec.idf_[idx], 6)), c]
        blocks.append({"analyzer": vec.analyzer, "ngram": list(vec.ngram_range), "terms": terms})
        offset += len(vocab)
    return {
        "name": name,
        "classes": [str(c) for c in lr.classes_],
        "intercept": [float(x) for x in lr.intercept_],
        "threshold": threshold,
        "blocks": blocks,
        "meta": meta,
    }


#: model name -> (labeled set, label function, decision threshold)
MODELS: dict[str, tuple[str, Any, float]] = {
    "ambiguous_optout": ("ambiguous_optout", lambda r: "yes" if r["label"] else "no", 0.5),
    "brand_tone": ("brand_tone", lambda r: "yes" if r["label"] else "no", 0.5),
    "brand_tone_category": ("brand_tone", lambda r: r["category"] if r["label"] else None, 0.0),
    "minimum_necessary": ("minimum_necessary", lambda r: "yes" if r["label"] else "no", 0.5),
}


def train_one(name: str, data_dir: Path) -> dict[str, Any]:
    dataset, label_fn, threshold = MODELS[name]
    rows = load_rows(data_dir / f"{dataset}.jsonl", "train")
    texts, labels = [], []
    for r in rows:
        y = label_fn(r)
        if y is None:
            continue
        texts.append(FEATURE_TEXT[dataset](r["turns"]))
        labels.append(y)
    pipe = build_pipeline()
    pipe.fit(texts, labels)
    meta = {"trained_on": f"tests/data/tier2/{dataset}.jsonl (split=train)", "examples": len(texts)}
    return export(pipe, name, threshold, meta), pipe


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default="tests/data/tier2")
    ap.add_argument("--out", default=str(Path(__file__).parent / "data"))
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in MODELS:
        spec, _ = train_one(name, Path(args.data))
        (out / f"{name}.json").write_text(json.dumps(spec, sort_keys=True, separators=(",", ":")) + "\n")
        print(f"{name}: {sum(len(b['terms']) for b in spec['blocks'])} terms")


if __name__ == "__main__":
    main()
