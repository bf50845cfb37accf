"""The compiler's limits (one definition, :mod:`trace_engine.compile.limits`) and linear-time lint: what keeps a
hostile rule pack from killing ``trace check`` or the HTTP server.

Linear time is tested by counting work (Python function calls under ``sys.setprofile``, and the lint's own
``lint_work`` counter), never by timing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from trace_engine import Engine, ir
from trace_engine.compile import compile_packs
from trace_engine.compile.limits import LIMITS, check_pack
from trace_engine.dsl.jsonform import load_json_pack
from trace_engine.dsl.lint import lint_pack
from trace_engine.dsl.lint.base import PhraseIndex, contains_words
from trace_engine.errors import TraceError

HEADER = {"jurisdiction": "US", "legal_status": "test"}


def rule(i: int, phrases: list[str], **extra) -> dict:
    return {
        "id": f"r-{i}",
        "title": "t",
        "severity": "high",
        "citation": "c",
        "reason": "r",
        "checks": [{"kind": "must_not_say", "match": {"phrases": phrases}}],
        **extra,
    }


def pack_json(rules: list[dict], **extra) -> str:
    return json.dumps({"pack_id": "p", "version": "1", **HEADER, "rules": rules, **extra})


# ----------------------------------------------------------------------------------------------- limits


def test_a_300000_word_phrase_is_refused_by_trace_check_not_a_segfault(tmp_path: Path) -> None:
    words = " ".join("ab" for _ in range(300_000))  # 900,000 characters: one trie level per character
    path = tmp_path / "huge.json"
    path.write_text(pack_json([rule(1, [words])]))
    res = subprocess.run(
        [sys.executable, "-m", "trace_engine", "check", "--format", "json", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 1, (res.returncode, res.stderr[-500:])  # 139 (SIGSEGV) before the limits
    errors = json.loads(res.stdout)["errors"]
    assert [e["code"] for e in errors] == ["TS305"]
    assert "limit (phrase_chars) is 1000" in errors[0]["message"]


def test_the_guardrails_pack_is_bounded_too() -> None:
    with pytest.raises(TraceError) as exc:
        Engine.from_config({"guardrails": {"blocked_phrases": ["ab " * 300_000]}})
    assert [d.code for d in exc.value.diagnostics] == ["TS305"]
    with pytest.raises(TraceError) as exc:
        Engine.from_config({"guardrails": {"blocked_phrases": ["word " * 65]}})
    assert [d.code for d in exc.value.diagnostics] == ["TS306"]


@pytest.mark.parametrize(
    ("name", "make", "code"),
    [
        ("rules", lambda: [rule(i, [f"w{i}"]) for i in range(LIMITS.rules + 1)], "TS303"),
        ("phrases", lambda: [rule(i, [f"a{i}{j}" for j in range(50)]) for i in range(LIMITS.phrases // 50 + 1)], "TS304"),
        ("phrase_chars", lambda: [rule(1, ["x" * (LIMITS.phrase_chars + 1)])], "TS305"),
        ("phrase_words", lambda: [rule(1, ["w " * (LIMITS.phrase_words + 1)])], "TS306"),
    ],
)
def test_each_limit_is_named(name: str, make, code: str) -> None:
    pack, source = load_json_pack(pack_json(make()), "p.json")
    found = check_pack(pack, source)
    assert [d.code for d in found] == [code]
    assert f"limit ({name})" in found[0].message
    with pytest.raises(TraceError) as exc:
        compile_packs([pack])
    assert [d.code for d in exc.value.diagnostics] == [code]
    # lint reports the limit and runs no rule on such a pack
    assert [d.code for d in lint_pack(pack, source)] == [code]


def test_regex_and_nesting_limits() -> None:
    long_regex = [{**rule(1, []), "checks": [{"kind": "must_not_say", "match": {"regex": "a" * 2001}}]}]
    pack, source = load_json_pack(pack_json(long_regex), "p.json")
    assert [d.code for d in check_pack(pack, source)] == ["TS307"]
    deep = {"pack_id": "p", "version": "1", **HEADER, "rules": [rule(1, ["x"])], "description": "d"}
    node: dict = {}
    for _ in range(150):
        node = {"x": node}
    deep["x"] = node
    with pytest.raises(TraceError) as exc:
        load_json_pack(json.dumps(deep), "deep.json")
    assert exc.value.diagnostics[0].code == "TS302"
    # an expression built in Python (no source) is bounded as well
    expr: ir.Expr = ir.Field("metadata.direction")
    for _ in range(LIMITS.nesting + 5):
        expr = ir.Not(expr)
    r = ir.Rule("r-1", "t", "high", "c", "r", (ir.MustNotSay(ir.Phrases(("x",))),), when=expr)
    assert [d.code for d in check_pack(ir.Pack("p", "1", "US", "x", (r,)))] == ["TS302"]


def test_a_pack_file_over_the_size_limit(tmp_path: Path) -> None:
    from trace_engine.dsl import load_pack

    path = tmp_path / "big.json"
    path.write_text(" " * (LIMITS.pack_bytes + 1))
    with pytest.raises(TraceError) as exc:
        load_pack(path)
    assert exc.value.diagnostics[0].code == "TS301"


# ------------------------------------------------------------------------------------------ linear lint


def _calls(fn) -> int:
    """Python and C function calls made by ``fn()``: a deterministic measure of work."""
    count = 0

    def prof(frame, event, arg):  # noqa: ARG001
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(prof)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return count


SHAPES = {
    # every rule forbids its own phrases (the 7,000-rule pack that took 66 s)
    "distinct rules": lambda n: [rule(i, [f"forbidden phrase number {i}", f"another bad thing {i}"]) for i in range(n)],
    # one big inline set whose phrases overlap (the within-set check)
    "one big set": lambda n: [rule(0, [f"alpha beta {i}" for i in range(n)] + ["alpha beta"])],
    # many rules forbidding the same words everywhere (the shadowing check, output capped)
    "same words": lambda n: [rule(i, ["act now", f"act now or {i}"]) for i in range(n)],
    # gapped phrases sharing their anchors
    "gaps": lambda n: [rule(i, [f"take * off list {i}", f"take me off list {i}"]) for i in range(n)],
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_lint_work_grows_linearly(shape: str) -> None:
    from trace_engine.dsl.lint.base import LintContext
    from trace_engine.dsl.lint.rules.tl003_shadowed_phrase import ShadowedPhrase

    def work(n: int) -> tuple[int, int]:
        pack, source = load_json_pack(pack_json(SHAPES[shape](n)), "p.json")
        calls = _calls(lambda: lint_pack(pack, source))
        ctx = LintContext(pack, source)
        list(ShadowedPhrase().check(pack, source, ctx))
        return calls, ctx.lint_work

    small_calls, small_index = work(250)
    big_calls, big_index = work(1000)
    # 4x the pack: at most ~4x the work (a quadratic rule would be ~16x)
    assert big_calls <= 4.6 * small_calls, (shape, small_calls, big_calls)
    assert big_index <= 4.6 * max(small_index, 1), (shape, small_index, big_index)


def test_phrase_index_agrees_with_contains_words() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    word = st.sampled_from(["a", "b", "c", "*", "{v}"])
    phrase = st.lists(word, min_size=1, max_size=5).map(tuple)

    @settings(max_examples=300, deadline=None, derandomize=True, database=None)
    @given(st.lists(phrase, min_size=1, max_size=8), st.lists(word, max_size=8).map(tuple))
    def agree(needles, haystack):
        index = PhraseIndex(needles)
        got = {index.needles[n] for n in index.contained_in(haystack)}
        want = {t for t in needles if contains_words(haystack, t)}
        assert got == want

    agree()
