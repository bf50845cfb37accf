"""``trace bench``'s harness: what it counts and reports (never how fast anything is: that is the benchmark's job)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from trace_engine import bench
from trace_engine.gate.engine import Engine
from trace_engine.transcripts import Transcript

REPO = Path(__file__).resolve().parents[1]
OUTBOUND = str(REPO / "corpora" / "outbound_calls.jsonl")
KEYS = {"p50_us", "p99_us", "p50_min_us", "p99_min_us"}


def test_summary_takes_raw_percentiles_and_the_per_turn_minimum():
    runs = [[10_000, 2_000, 3_000], [1_000, 20_000, 3_000], [5_000, 2_000, 30_000]]
    s = bench.summary(runs)
    assert (s["turns"], s["runs"]) == (3, 3)
    assert s["p50_min_us"] == 2.0  # per-turn minimums 1, 2, 3 us
    assert s["p99_min_us"] == pytest.approx(2.98)
    assert s["p50_us"] == 3.0  # all nine samples
    assert s["mean_us"] == pytest.approx(76.0 / 9, abs=1e-3)


class _Recorder:
    def __init__(self, name, log):
        self.name, self.log = name, log

    def new_call(self, call_id, metadata):
        self.log.append((self.name, "call", call_id))

    def agent(self, text, t):
        self.log.append((self.name, "agent", text))

    def caller(self, text, t):
        self.log.append((self.name, "caller", text))


def test_interleaving_gives_each_turn_to_every_competitor_in_rotating_order():
    log: list[tuple] = []
    calls = [Transcript("c1", [("caller", "hi", 0.0), ("agent", "a1", 1.0), ("agent", "a2", 2.0)]),
             Transcript("c2", [("agent", "a3", 0.0), ("system", "s", 1.0)])]
    competitors = {n: _Recorder(n, log) for n in ("x", "y", "z")}
    timed = bench.interleaved(competitors, calls, runs=2, every={"z": 2})
    assert [len(r) for r in timed["x"]] == [3, 3] and [len(r) for r in timed["z"]] == [2, 2]  # z: turns 0 and 2
    agents = [(who, text) for who, kind, text in log if kind == "agent"]
    first_run = agents[: len(agents) // 2]
    assert [who for who, text in first_run if text == "a1"] == ["x", "y", "z"]
    assert [who for who, text in first_run if text == "a2"] == ["y", "x"]  # rotated by one; z times every 2nd turn
    assert [who for who, text in first_run if text == "a3"] == ["z", "x", "y"]
    second_run = agents[len(agents) // 2 :]
    assert [who for who, text in second_run if text == "a1"] == ["y", "z", "x"]  # and by one more each run
    assert sum(1 for who, kind, _ in log if kind == "caller") == 6  # every competitor hears the caller, each run
    assert all(kind != "agent" or text != "s" for _, kind, text in log)  # system turns go to nobody


def test_single_pass_finds_the_packs_phrases_and_written_pii():
    single = bench.single_pass_for(bench.default_gate_config())
    assert single.phrases > 1000
    assert single.check("my card is 4111 1111 1111 1111") == 1
    assert single.check("my card is 4111 1111 1111 1112") == 0  # Luhn
    assert single.check("write to bob@example.com") == 1
    assert single.check("it is free money with guaranteed approval") >= 2
    assert single.check("freemoney") == 0  # word-bounded
    assert single.check("have a nice day") == 0


def test_texts_of_length_and_phrases_are_deterministic():
    pool = [f"turn number {i} says something about the weather and the table" for i in range(400)]
    texts = bench.texts_of_length(pool, 1000, 10)
    assert len(texts) == 10 and all(950 <= len(t) <= 1000 for t in texts)
    assert bench.generated_phrases(pool, 50) == bench.generated_phrases(pool, 50)
    assert len(set(bench.generated_phrases(pool, 50))) == 50
    assert bench.chunks("one two three four five") == ["one two ", "three four ", "five"]


def test_run_reports_every_key_the_issue_names(monkeypatch):
    result = bench.run([OUTBOUND], turns=20, stream_turns=5, runs=2, scaling=False, stream_texts=3)
    for name in ("gate", "single_pass", "reference"):
        assert KEYS <= set(result[name]), name
        assert result[name]["runs"] == 2 and result[name]["turns"] >= 20
    assert result["gate"]["turns"] == result["single_pass"]["turns"] == result["reference"]["turns"]
    assert {"p99_min_us", "streamed_over_whole_1000", "model_pieces_over_whole_1000"} <= set(result["stream"])
    assert result["stream"]["whole_vs_streamed_1000"]["texts"] >= 1
    # a model's pieces are smaller than 2-word chunks: more of them
    pieces, chunks = (result["stream"][f"whole_vs_{cut}_1000"]["chunks"] for cut in ("model_pieces", "streamed"))
    assert pieces > chunks
    assert set(result["ratios"]) >= {"gate_p99_min_over_single_pass", "reference_p99_min_over_gate"}
    json.dumps(result)


def test_the_streamed_turn_is_a_mid_call_turn_whose_feeds_release_text():
    # a call's first turn in modify mode is held whole (a call-start disclosure may still be prefixed), so timing
    # it would never pay for the hold-back and the release: the timed turn follows a compliant opening
    engine = Engine.from_config(bench.default_gate_config())
    opening = engine.start_call("opening", metadata={"direction": "outbound"}).agent_turn(bench.OPENING_TURN)
    assert opening.action == "pass" and opening.text == bench.OPENING_TURN
    texts = ["I can help you with that. Which city would you like to fly to, and on which date would you leave? " * 3]
    result = bench.stream_over_whole(engine, texts, 1)
    assert result["released_by_feeds"] > 0.5  # the rest is the hold-back at the end


def test_without_the_source_tree_the_reference_is_skipped_and_says_why(monkeypatch, tmp_path):
    monkeypatch.setattr(bench, "REFERENCE_DIR", tmp_path)
    result = bench.run([OUTBOUND], turns=5, stream_turns=2, runs=1, scaling=False, stream_texts=1)
    assert result["reference"]["available"] is False and "installed package" in result["reference"]["reason"]
    assert result["ratios"]["reference_p99_min_over_gate"] is None


def test_scaling_tables_cover_lengths_and_phrase_counts(monkeypatch):
    monkeypatch.setattr(bench, "LENGTHS", (50, 400))
    monkeypatch.setattr(bench, "PHRASE_COUNTS", (100,))
    result = bench.run([OUTBOUND], turns=10, stream_turns=2, runs=1, stream_texts=1)
    assert [r["chars"] for r in result["by_length"]] == [50, 400]
    assert {"gate_p50_min_us", "single_pass_ns_per_char", "reference_p50_min_us"} <= set(result["by_length"][0])
    (row,) = result["by_phrases"]
    assert row["phrases"] == 100 and {"gate_compile_s", "gate_p99_min_us", "single_pass_p50_min_us"} <= set(row)


def test_cli_text_output():
    done = subprocess.run(
        [sys.executable, "-m", "trace_engine", "bench", "--corpus", OUTBOUND, "--turns", "5", "--stream-turns", "2",
         "--runs", "1", "--no-scaling"],
        capture_output=True, text=True, cwd=REPO, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "cost per agent turn" in done.stdout and "single_pass" in done.stdout and "streamed" in done.stdout


def test_phrases_beyond_one_packs_limit_go_to_generated_packs(tmp_path, monkeypatch):
    """The phrases axis reaches 100,000 though a pack holds 50,000: the rest go to generated packs, every phrase is
    blocked by the gate and the single pass alike (the limit shrunk to 10 here to keep it small)."""
    from trace_engine.compile.limits import Limits
    from trace_engine.gate.engine import Engine

    monkeypatch.setattr(bench, "LIMITS", Limits(phrases=10))
    phrases = [f"alpha{i} beta gamma" for i in range(25)]
    config = bench.phrases_config(phrases, tmp_path)
    assert len(config["guardrails"]["blocked_phrases"]) == 8  # and the two disclosures: 10
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench_phrases_1.trace", "bench_phrases_2.trace"]
    engine, single = Engine.from_config(config), bench.single_pass_for(config)
    for i, phrase in enumerate(phrases):
        decision = engine.start_call(f"c{i}").agent_turn(f"well {phrase} indeed")
        assert any(f.rule_id in ("guardrails-blocked-phrases", "bench-blocked-1", "bench-blocked-2")
                   for f in decision.findings), phrase
        assert single.check(f"well {phrase} indeed") >= 1


def benchmark_json(script: str, *args: str):
    """What ``benchmarks/<script> --corpus <the bundled outbound corpus> <args> --json`` prints, parsed."""
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / script), "--corpus", OUTBOUND, *args, "--json"],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    return json.loads(out.stdout)


def test_first_sight_times_each_sampled_turn_once_per_repeat():
    """``benchmarks/first_sight.py`` on the bundled outbound corpus: every 3rd agent turn, each timed ``--repeats``
    times, and the per-repeat figures it reports are over exactly those turns."""
    calls = bench.corpus_calls([OUTBOUND], 20_000)
    agent = sum(1 for c in calls for role, _, _ in c.turns if role == "agent")
    result = benchmark_json("first_sight.py", "--every", "3", "--repeats", "3", "--long", "2")
    assert result["sampled"]["turns"] == len(range(0, agent, 3))
    assert result["whole_1000"]["turns"] == result["streamed_1000"]["turns"] == 2
    for name in ("sampled", "whole_1000", "streamed_1000"):
        rows = result[name]["repeats"]
        assert [r["repeat"] for r in rows] == [1, 2, 3]
        assert all(0 < r["p50_us"] <= r["p99_us"] for r in rows)


def test_stream_non_ascii_reports_each_length_and_variant():
    """``benchmarks/stream_non_ascii.py`` on the bundled outbound corpus: a row per length and variant, every text's
    feeds normalizing each character about once, whether it is ASCII or not."""
    rows = benchmark_json("stream_non_ascii.py", "--texts", "2", "--runs", "1", "--lengths", "120,300")
    variants = ["ascii", "curly apostrophes", "em dashes", "accented first word"]
    assert [(r["chars"], r["variant"]) for r in rows] == [(n, v) for n in (120, 300) for v in variants]
    for row in rows:
        assert 0 < row["whole_p50_min_us"] and 0 < row["streamed_p50_min_us"]
        assert row["streamed_over_whole"] == round(row["streamed_p50_min_us"] / row["whole_p50_min_us"], 2)
    assert all(1 <= r["normalized_per_char"] <= 1.5 for r in rows), rows


def test_stream_floor_reports_the_parts_of_a_stream_and_what_a_feed_may_cost():
    """``benchmarks/stream_floor.py`` on the bundled outbound corpus: each part's median, and the floor and the
    per-feed budget computed from them as its docstring says."""
    out = benchmark_json("stream_floor.py", "--texts", "3", "--runs", "2")
    assert (out["texts"], out["runs"]) == (3, 2)
    parts = ("whole", "open", "feeds", "close", "streamed", "calls")
    assert all(out[f"{p}_p50_min_us"] > 0 for p in parts), out
    whole, calls, chunks = out["whole_p50_min_us"], out["calls_p50_min_us"], out["chunks"]
    assert out["floor_over_whole"] == pytest.approx((whole + calls) / whole, abs=0.02)
    assert out["streamed_over_whole"] == pytest.approx(out["streamed_p50_min_us"] / whole, abs=0.02)
    assert out["call_ns"] == pytest.approx(1000 * calls / chunks, rel=0.02, abs=2)
    assert out["share_ns"] == pytest.approx(1000 * whole / chunks, rel=0.02, abs=2)
    assert out["budget_per_feed_ns"] == pytest.approx(1000 * (whole - calls) / chunks, rel=0.02, abs=2)
