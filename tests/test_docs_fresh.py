"""Generated docs (docs/lint/, docs/packs/) must match the lint rules and packs they come from."""

from __future__ import annotations

from pathlib import Path

from trace_engine.docsgen import generate_all

REPO = Path(__file__).resolve().parents[1]


def test_generated_docs_are_fresh() -> None:
    stale = generate_all(REPO / "docs", check_only=True)
    assert stale == [], f"run `trace docs` to regenerate: {[str(p) for p in stale]}"


def test_builtin_packs_are_formatted() -> None:
    from trace_engine.dsl import format_source

    for path in sorted((REPO / "rule_packs").rglob("*.trace")):
        text = path.read_text(encoding="utf-8")
        assert format_source(text, str(path)) == text, f"run `trace fmt --write {path}`"
