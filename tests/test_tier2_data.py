"""The labeled sets: size, provenance (no corpus text stored), splits by conversation and by written wording,
every review-trigger hit hand-labeled, and shipped models fitted on the train split only."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from trace_engine.tier2.training import corpora
from trace_engine.tier2.training.build import CHECKS, OUT, build, materialize, split_of

HAVE_CORPORA = all(corpora.available(s) for s in corpora.FILES)
needs_corpora = pytest.mark.skipif(not HAVE_CORPORA, reason="../shared/corpora not present")


def rows(check: str) -> list[dict]:
    return [json.loads(line) for line in (OUT / f"{check}.jsonl").read_text(encoding="utf-8").splitlines() if line]


@pytest.mark.parametrize("check", CHECKS)
def test_no_corpus_text_is_stored(check: str) -> None:
    for r in rows(check):
        assert ("ref" in r) != ("turns" in r), r["id"]
        if "ref" in r:
            assert set(r["ref"]) == {"source", "call_id", "turn"}
            assert r["labeled_by"] in ("rule:benign_corpus", "hand", "rule:frame_unverified_phone")


@pytest.mark.parametrize("check", CHECKS)
def test_splits_by_conversation_and_by_wording(check: str) -> None:
    seen: dict[str, set[str]] = defaultdict(set)
    for r in rows(check):
        key = f'{r["ref"]["source"]}:{r["ref"]["call_id"]}' if "ref" in r else r.get("group") or r["id"]
        seen[key].add(r["split"])
        if "ref" in r:
            assert r["split"] == split_of(key)
    assert all(len(s) == 1 for s in seen.values())
    splits = {r["split"] for r in rows(check)}
    assert splits == {"train", "dev", "test"}


@needs_corpora
@pytest.mark.parametrize("check", CHECKS)
def test_at_least_two_thousand_labeled_turns_with_context(check: str) -> None:
    rs = rows(check)
    assert len(rs) >= 2000
    windows = [materialize(r) for r in rs[:: max(1, len(rs) // 200)]]
    assert all(w and w[-1][1].strip() for w in windows)
    assert sum(len(w) > 1 for w in windows) > 0.8 * len(windows)  # judged with what came before


@needs_corpora
@pytest.mark.parametrize("check", CHECKS)
def test_build_is_reproducible_and_every_trigger_hit_is_hand_labeled(check: str) -> None:
    built, missing = build(check)
    assert missing == []
    stored = rows(check)
    assert [(r["id"], r["label"], r["split"]) for r in built] == [(r["id"], r["label"], r["split"]) for r in stored]


@needs_corpora
@pytest.mark.parametrize("check", ["ambiguous_optout", "brand_tone", "minimum_necessary"])
def test_shipped_model_was_fitted_on_the_train_split(check: str) -> None:
    from trace_engine.tier2.features import abstains
    from trace_engine.tier2.training.build import load

    meta = json.loads((Path(__file__).resolve().parents[1] / "trace_engine/tier2/data" / f"{check}.model.json")
                      .read_text())["meta"]
    train = [w for _, w in load(check, split="train") if not abstains(check, w[-1][1])]
    assert meta["train_rows"] == len(train)
    assert "split=train" in meta["trained_on"]


#: sha256 of each labeled set's test-split lines, in file order: a new round of data may append rows to train or
#: dev, but must never add, drop, reorder or edit a test row (the test split is read once per shipped model)
TEST_SPLIT_SHA256 = {
    "ambiguous_optout": "b95ebcffa3d2af2e6ecd87c822fe73754e7c354ecf51d6cc452cf221bd26f00f",
    "brand_tone": "dd9f644f1720b1c5f15c2db0573d4c7979f54e0c7515f295e4a47e2b7b2fc145",
    "minimum_necessary": "cf0efd54272e7ca1d4509940c51224aca51dd321b2a06e92a73e6dfccfc8676e",
    "hallucination": "95ca93dbcab4f6d7b4670ab822410c21acf6f28ebfe2575d7f75f16f68f9ef0b",
}


@pytest.mark.parametrize("check", CHECKS)
def test_the_test_split_is_frozen(check: str) -> None:
    import hashlib

    lines = [line for line in (OUT / f"{check}.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
             if line.strip() and json.loads(line)["split"] == "test"]
    assert hashlib.sha256("".join(lines).encode()).hexdigest() == TEST_SPLIT_SHA256[check]


def test_round5_rows_are_train_only() -> None:
    """Round 5 was written from the dev split's misses: none of it may sit in dev (flattering the figures that
    choose the model) or in test."""
    round5 = [r for r in rows("brand_tone") if r.get("group", "").startswith("tone5-")]
    assert len(round5) >= 1000
    assert {r["split"] for r in round5} == {"train"}
    assert {r["category"] for r in round5} == {"rude", "pushy", "false_urgency", "advice", "hard_negative"}
