"""Where the tests and benchmarks look for the shared data: one definition (``trace_engine.shared_data``)."""

from __future__ import annotations

from pathlib import Path

from trace_engine import shared_data


def test_shared_dir_is_beside_the_repository_unless_the_environment_names_one(monkeypatch, tmp_path):
    monkeypatch.delenv("TRACE_SHARED_DIR", raising=False)
    repo = Path(__file__).resolve().parents[1]
    assert shared_data.shared_dir() == repo.parent / "shared"
    monkeypatch.setenv("TRACE_SHARED_DIR", str(tmp_path))
    assert shared_data.shared_dir() == tmp_path
    assert shared_data.shared_corpus("sgd_calls.jsonl") == tmp_path / "corpora" / "sgd_calls.jsonl"
