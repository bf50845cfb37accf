"""Generated lint docs are committed and current; every rule's Example triggers it and its Instead does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from trace_engine.dsl.lint import RULES, lint_pack
from trace_engine.dsl.lint.docs import generate, render_index, rendered

DOCS = Path(__file__).resolve().parent.parent / "docs" / "lint"


def test_committed_docs_match_generated() -> None:
    expected = rendered()
    on_disk = {p.name for p in DOCS.glob("*.md")}
    assert on_disk == set(expected), "run: python -m trace_engine.dsl.lint.docs docs/lint"
    for name, content in expected.items():
        assert (DOCS / name).read_text(encoding="utf-8") == content, (
            f"docs/lint/{name} is stale; run: python -m trace_engine.dsl.lint.docs docs/lint"
        )


def test_generate_writes_every_page(tmp_path: Path) -> None:
    written = generate(tmp_path / "lint")
    assert {p.name for p in written} == {"README.md", *(f"{r.code}.md" for r in RULES)}
    index = render_index()
    for r in RULES:
        assert f"[{r.code}]({r.code}.md)" in index
        page = (tmp_path / "lint" / f"{r.code}.md").read_text(encoding="utf-8")
        for heading in ("## What it does", "## Why this matters", "## Example", "## Instead"):
            assert heading in page
        assert r.example.rstrip("\n") in page


def _loader():
    try:
        from trace_engine.dsl import load_pack_text
    except ImportError as exc:  # the parser has not landed
        pytest.skip(f"trace_engine.dsl.load_pack_text is not available: {exc}")
    return load_pack_text


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_example_triggers_and_instead_does_not(rule) -> None:
    load_pack_text = _loader()
    if rule.parser_code:
        from trace_engine.errors import TraceSyntaxError

        with pytest.raises(TraceSyntaxError) as info:
            load_pack_text(rule.example, f"{rule.code}-example.trace")
        assert rule.parser_code in [d.code for d in info.value.diagnostics]
        return
    pack, source = load_pack_text(rule.example, f"{rule.code}-example.trace")
    codes = [d.code for d in lint_pack(pack, source)]
    assert rule.code in codes, f"{rule.code} example does not trigger it: {codes}"
    pack, source = load_pack_text(rule.instead, f"{rule.code}-instead.trace")
    found = lint_pack(pack, source)
    assert rule.code not in [d.code for d in found], [d.message for d in found]


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_instead_is_clean(rule) -> None:
    """The fixed snippet raises no finding at all, so the docs never show a 'fix' that trips another rule."""
    load_pack_text = _loader()
    pack, source = load_pack_text(rule.instead, f"{rule.code}-instead.trace")
    assert [(d.code, d.message) for d in lint_pack(pack, source)] == []


@pytest.mark.parametrize("rule", [r for r in RULES if not r.parser_code], ids=lambda r: r.code)
def test_json_form_is_linted_alike(rule) -> None:
    """Lint works on the IR: the JSON form of each example raises the same codes (without suppression)."""
    load_pack_text = _loader()
    try:
        from trace_engine.dsl.jsonform import dump_json_pack, load_json_pack
    except ImportError as exc:
        pytest.skip(f"trace_engine.dsl.jsonform is not available: {exc}")
    from trace_engine.errors import TraceSyntaxError

    pack, source = load_pack_text(rule.example, f"{rule.code}-example.trace")
    try:
        json_pack, json_source = load_json_pack(dump_json_pack(pack), f"{rule.code}-example.json")
    except TraceSyntaxError:
        return  # the JSON schema is stricter here (duplicate ids, empty citations): the loader reports it
    assert json_pack == pack
    trace_codes = sorted(d.code for d in lint_pack(pack, source))
    json_diags = lint_pack(json_pack, json_source)
    assert sorted(d.code for d in json_diags) == trace_codes
    assert {d.location.file for d in json_diags} <= {f"{rule.code}-example.json"}
