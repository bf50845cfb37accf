"""Tier-2 checks: clear cases, held-out precision/recall, SGD hard negatives, classifier parity, offline PII."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

pytest.importorskip("presidio_analyzer")

from trace_engine.tier2 import models  # noqa: E402
from trace_engine.tier2.config import ALL_CHECKS, Tier2Config  # noqa: E402
from trace_engine.tier2.judges import Turn  # noqa: E402
from trace_engine.tier2.runner import judge_transcript, judge_window  # noqa: E402

DATA = Path(__file__).parent / "data" / "tier2"
KB = str(DATA / "knowledge_base.json")
SGD = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "sgd_calls.jsonl"


@pytest.fixture(scope="module")
def cfg() -> Tier2Config:
    c = Tier2Config(knowledge_base=KB)
    judge_window(c, (Turn("caller", "my date of birth is may first nineteen eighty"),))  # load models once
    return c


def checks_of(cfg: Tier2Config, *turns: tuple[str, str]) -> set[str]:
    return {f["check_id"] for f in judge_window(cfg, tuple(Turn(r, t) for r, t in turns), call_id="t")}


def test_ambiguous_optout_clear_cases(cfg: Tier2Config) -> None:
    f = judge_window(cfg, (Turn("caller", "I'm not interested anymore, why do you people keep calling"),), call_id="t")
    opt = [x for x in f if x["check_id"] == "ambiguous_optout"]
    assert opt and opt[0]["action"] == "preempt_next"
    assert opt[0]["preempt_instruction"] == "Ask whether they want to be placed on the do-not-call list, and stop the offer"
    assert "ambiguous_optout" not in checks_of(cfg, ("caller", "i'm not interested in the premium plan"))
    assert "ambiguous_optout" not in checks_of(cfg, ("caller", "can you call me back tomorrow afternoon"))


def test_context_pii_clear_cases(cfg: Tier2Config) -> None:
    assert "context_pii" in checks_of(cfg, ("caller", "my date of birth is march third nineteen eighty two"))
    assert "context_pii" in checks_of(cfg, ("caller", "i'm john miller and i live at 42 maple avenue"))
    assert "context_pii" in checks_of(cfg, ("caller", "my member id is x k 4 4 7 9 1 2"))
    assert "context_pii" not in checks_of(cfg, ("caller", "my appointment is on march third"))
    assert "context_pii" not in checks_of(cfg, ("agent", "your order number is 4 4 7 9 1 2"))


def test_hallucination_clear_cases(cfg: Tier2Config) -> None:
    f = judge_window(cfg, (Turn("agent", "the unlimited plan is seventy five dollars a month"),), call_id="t")
    h = [x for x in f if x["check_id"] == "hallucination"]
    assert h and "$65 per month" in h[0]["reason"]
    assert "hallucination" not in checks_of(cfg, ("agent", "unlimited is sixty five dollars a month"))
    assert "hallucination" not in checks_of(cfg, ("agent", "let me pull up your account real quick"))
    assert not judge_window(Tier2Config(checks=["hallucination"]), (Turn("agent", "it's $75"),))  # no KB, no judge


def test_minimum_necessary_clear_cases(cfg: Tier2Config) -> None:
    pos = checks_of(cfg, ("caller", "hi i'm his neighbor, how is he doing"),
                    ("agent", "the biopsy came back positive so he starts chemo monday"))
    assert "minimum_necessary" in pos
    neg = checks_of(cfg, ("caller", "i'm his neighbor, how is he doing"),
                    ("agent", "i'm sorry, i can't share any information about a patient"))
    assert "minimum_necessary" not in neg


def test_brand_tone_clear_cases(cfg: Tier2Config) -> None:
    assert "brand_tone" in checks_of(cfg, ("agent", "this offer expires in the next ten minutes so decide now"))
    assert "brand_tone" in checks_of(cfg, ("agent", "just double the dose, that's what i do"))
    assert "brand_tone" not in checks_of(cfg, ("agent", "i can't give medical advice, please ask your pharmacist"))
    assert "brand_tone" not in checks_of(cfg, ("agent", "thanks for calling, how can i help you today"))


@pytest.mark.parametrize("check", ALL_CHECKS)
def test_held_out_precision_recall(cfg: Tier2Config, check: str) -> None:
    one = Tier2Config(checks=[check], knowledge_base=KB)
    tp = fp = fn = 0
    rows = [json.loads(x) for x in (DATA / f"{check}.jsonl").read_text().splitlines()]
    assert len(rows) >= 150 and 0.45 <= sum(r["label"] for r in rows) / len(rows) <= 0.55
    for r in rows:
        if r["split"] != "test":
            continue
        pred = bool(judge_window(one, tuple(Turn(t["role"], t["text"]) for t in r["turns"]), call_id="e"))
        tp, fp, fn = tp + (pred and r["label"]), fp + (pred and not r["label"]), fn + ((not pred) and r["label"])
    assert tp / max(1, tp + fp) >= 0.9, (check, tp, fp, fn)
    assert tp / max(1, tp + fn) >= 0.8, (check, tp, fp, fn)


@pytest.mark.skipif(not SGD.is_file(), reason="shared SGD corpus not present")
def test_sgd_not_interested_hard_negatives() -> None:
    one = Tier2Config(checks=["ambiguous_optout"])
    n = fp = 0
    with SGD.open() as fh:
        for line in fh:
            if "not interested" not in line.lower():
                continue
            for t in json.loads(line)["transcript"]["turns"]:
                if t["role"] == "user" and "not interested" in t["text"].lower():
                    n += 1
                    fp += bool(judge_window(one, (Turn("caller", t["text"]),)))
    assert n > 20 and fp / n <= 0.05


def test_shipped_classifiers_match_sklearn() -> None:
    pytest.importorskip("sklearn")
    from trace_engine.tier2.features import FEATURE_TEXT
    from trace_engine.tier2.linear import LinearTextModel
    from trace_engine.tier2.train import MODELS, load_rows, train_one

    for name in ("ambiguous_optout", "minimum_necessary"):
        spec, pipe = train_one(name, DATA)
        shipped = LinearTextModel.load(models.DATA_DIR / f"{name}.json")
        dataset = MODELS[name][0]
        for r in load_rows(DATA / f"{dataset}.jsonl", "test")[:20]:
            x = FEATURE_TEXT[dataset](r["turns"])
            want = pipe.predict_proba([x])[0][list(pipe.classes_).index("yes")]
            assert abs(shipped.positive(x) - want) < 1e-4


def test_models_load_once(cfg: Tier2Config) -> None:
    judge_window(cfg, (Turn("caller", "born may 1 1980"),))
    assert models.LOAD_COUNTS.get("presidio") == 1
    assert all(v == 1 for v in models.LOAD_COUNTS.values())


def test_context_pii_makes_no_network_access(cfg: Tier2Config, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []

    def deny(self: socket.socket, *args: object) -> None:
        calls.append(args)
        raise OSError("network access attempted during Tier-2 analysis")

    monkeypatch.setattr(socket.socket, "connect", deny)
    monkeypatch.setattr(socket.socket, "connect_ex", deny)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: deny(None, *a))
    texts = ["my email is jane.doe@example.co.uk and i was born june 5 1970",
             "i'm sarah chen, i live at 1180 oak street", "member id is ABC123456789"]
    for text in texts:
        assert "context_pii" in checks_of(cfg, ("caller", text))
    from trace_engine.tier2.checks.context_pii import find_context_pii

    find_context_pii("contact me at bob@example.com")
    assert calls == []


def test_judge_transcript_offline_shapes(cfg: Tier2Config) -> None:
    transcript = {"call_id": "sgd-x", "transcript": {"turns": [
        {"role": "assistant", "text": "hi, quick offer for you", "start_ms": 0},
        {"role": "user", "text": "why do you people keep calling me, stop it", "start_ms": 2000},
    ]}}
    out = judge_transcript(transcript, {"tier2": {"checks": ["ambiguous_optout"]}})
    assert [f["check_id"] for f in out] == ["ambiguous_optout"]
    assert out[0]["interaction_id"] == "sgd-x" and out[0]["at_t"] == 2.0 and out[0]["tier"] == 2
