"""Lint output formats, exit codes and inline suppression."""

from __future__ import annotations

import json

import pytest

from trace_engine import ir
from trace_engine.dsl.lint import RULES, apply_suppressions, lint_pack, suppressions
from trace_engine.dsl.lint.report import FORMATS, exit_code, render, to_sarif
from trace_engine.errors import Diagnostic, Location, SourceMap

TEXT = """pack demo
rule a {
  must_not_say ["guarantee", "we guarantee it"]
}
"""


def diags() -> list[Diagnostic]:
    return [
        Diagnostic(
            "TL003",
            'phrase "we guarantee it" is redundant: "guarantee" of the same set already matches it',
            Location("demo.trace", 3, 30, 3, 47),
            hint="remove the longer phrase",
            level="warning",
        ),
        Diagnostic("TL006", 'rule "a" has an empty citation', Location("demo.trace", 2, 1), level="error"),
    ]


def sources() -> dict[str, SourceMap]:
    return {"demo.trace": SourceMap("demo.trace", TEXT)}


def test_text_format_has_location_source_line_caret_and_hint() -> None:
    out = render(diags(), "text", sources())
    lines = out.splitlines()
    assert lines[0] == (
        'demo.trace:3:30 TL003 phrase "we guarantee it" is redundant: "guarantee" of the same set already matches it'
    )
    assert lines[1] == '      must_not_say ["guarantee", "we guarantee it"]'
    assert lines[2] == "    " + " " * 29 + "^" * 17
    assert lines[3] == "    hint: remove the longer phrase"
    assert lines[4] == 'demo.trace:2:1 TL006 rule "a" has an empty citation'
    assert render([], "text") == ""


def test_text_format_without_source() -> None:
    out = render(diags()[1:], "text", {})
    assert out == 'demo.trace:2:1 TL006 rule "a" has an empty citation\n'


def test_json_format() -> None:
    data = json.loads(render(diags(), "json"))
    assert data[0] == {
        "code": "TL003",
        "category": "matching",
        "level": "warning",
        "message": 'phrase "we guarantee it" is redundant: "guarantee" of the same set already matches it',
        "hint": "remove the longer phrase",
        "location": {"file": "demo.trace", "line": 3, "col": 30, "end_line": 3, "end_col": 47},
        "docs": "docs/lint/TL003.md",
    }
    assert data[1]["location"] == {"file": "demo.trace", "line": 2, "col": 1, "end_line": 2, "end_col": 2}
    assert data[1]["category"] == "documentation"


def test_sarif_format() -> None:
    log = json.loads(render(diags(), "sarif"))
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-2.1.0.json")
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "trace-lint"
    assert [r["id"] for r in driver["rules"]] == [r.code for r in RULES]
    for r in driver["rules"]:
        assert r["shortDescription"]["text"] and r["helpUri"].endswith(f"docs/lint/{r['id']}.md")
        assert r["defaultConfiguration"]["level"] in ("error", "warning")
    first = run["results"][0]
    assert first["ruleId"] == "TL003"
    assert driver["rules"][first["ruleIndex"]]["id"] == "TL003"
    assert first["level"] == "warning"
    region = first["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 3, "startColumn": 30, "endLine": 3, "endColumn": 47}
    assert first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "demo.trace"
    assert to_sarif([])["runs"][0]["results"] == []


def test_github_format() -> None:
    out = render(diags(), "github").splitlines()
    assert out[0] == (
        '::warning file=demo.trace,line=3,col=30,title=TL003::phrase "we guarantee it" is redundant: '
        '"guarantee" of the same set already matches it (hint: remove the longer phrase)'
    )
    assert out[1] == '::error file=demo.trace,line=2,col=1,title=TL006::rule "a" has an empty citation'


def test_github_escapes() -> None:
    d = Diagnostic("TL002", "100% sure\nnext", Location("a,b:c.trace", 1, 1))
    assert (
        render([d], "github") == "::error file=a%2Cb%3Ac.trace,line=1,col=1,title=TL002::100%25 sure%0Anext\n"
    )


def test_unknown_format() -> None:
    assert set(FORMATS) == {"text", "json", "sarif", "github"}
    with pytest.raises(ValueError):
        render([], "xml")


def test_exit_code() -> None:
    warning, error = diags()
    assert exit_code([], "error") == 0
    assert exit_code([warning], "error") == 0
    assert exit_code([warning], "warning") == 1
    assert exit_code([error], "error") == 1
    assert exit_code([error], "warning") == 1
    assert exit_code([error], "never") == 0
    with pytest.raises(ValueError):
        exit_code([], "info")


# --------------------------------------------------------------------------------------------- suppression

SUPPRESSED = """pack demo
rule a {
  must_not_say ["guarantee", "we guarantee it"]  # trace: ignore[TL003]
  # trace: ignore[TL002, TL004]
  must_not_say ["um"]
  must_not_say "# trace: ignore[TL012]"
}
"""


def test_suppressions_table() -> None:
    table = suppressions(SUPPRESSED)
    assert table[3] == {"TL003"}
    assert table[5] == {"TL002", "TL004"}
    assert 6 not in table  # inside a string, not a comment


def test_apply_suppressions_same_line_and_line_above() -> None:
    source = SourceMap("demo.trace", SUPPRESSED)
    found = [
        Diagnostic("TL003", "x", Location("demo.trace", 3, 3), level="warning"),
        Diagnostic("TL012", "x", Location("demo.trace", 3, 3), level="warning"),
        Diagnostic("TL002", "x", Location("demo.trace", 5, 3)),
        Diagnostic("TL002", "x", Location("demo.trace", 6, 3)),
    ]
    kept = apply_suppressions(found, source)
    assert [(d.code, d.location.line) for d in kept] == [("TL012", 3), ("TL002", 6)]


def test_lint_pack_applies_suppressions_and_sorts() -> None:
    source = SourceMap(
        "demo.trace",
        SUPPRESSED,
        {
            ("rule", "a"): Location("demo.trace", 2, 1),
            ("rule", "a", "check", 0): Location("demo.trace", 3, 3),
            ("rule", "a", "check", 1): Location("demo.trace", 5, 3),
        },
    )
    p = ir.Pack(
        "demo",
        "1",
        "US",
        "draft",
        rules=(
            ir.Rule(
                "a",
                "t",
                "high",
                "c",
                "r",
                (
                    ir.MustNotSay(ir.Phrases(("guarantee", "we guarantee it"))),
                    ir.MustNotSay(ir.Phrases(("um",))),
                ),
            ),
        ),
    )
    found = lint_pack(p, source)
    assert [(d.code, d.location.line) for d in found] == [("TL012", 2)]
    unsuppressed = lint_pack(p, SourceMap("demo.trace", "", source.locations))
    assert [(d.code, d.location.line) for d in unsuppressed] == [("TL012", 2), ("TL003", 3), ("TL002", 5)]
