"""Output formats for lint findings: ``text``, ``json``, ``sarif`` (2.1.0) and ``github`` (workflow commands).

``render(diags, fmt, sources)`` returns the whole output as one string; ``sources`` maps a file name (as it appears
in ``Location.file``) to its :class:`SourceMap`, used by ``text`` for the source line and caret.
``exit_code(diags, fail_level)`` is the process exit code a CLI should use.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from trace_engine.dsl.lint.registry import RULES, RULES_BY_CODE, docs_path
from trace_engine.errors import Diagnostic, SourceMap
from trace_engine.version import ENGINE_VERSION as _VERSION

__all__ = ["FORMATS", "FAIL_LEVELS", "exit_code", "render", "to_json", "to_sarif"]

FORMATS: tuple[str, ...] = ("text", "json", "sarif", "github")
FAIL_LEVELS: tuple[str, ...] = ("error", "warning", "never")

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/trace-engine/trace"
_RANK = {"error": 2, "warning": 1}


def render(
    diags: Iterable[Diagnostic], fmt: str = "text", sources: Mapping[str, SourceMap] | None = None
) -> str:
    """All findings in format ``fmt``; raises ``ValueError`` for an unknown format."""
    diags = list(diags)
    sources = sources or {}
    if fmt == "text":
        return _text(diags, sources)
    if fmt == "json":
        return json.dumps(to_json(diags), indent=2, ensure_ascii=False) + "\n"
    if fmt == "sarif":
        return json.dumps(to_sarif(diags), indent=2, ensure_ascii=False) + "\n"
    if fmt == "github":
        return "".join(_github(d) + "\n" for d in diags)
    raise ValueError(f"unknown lint output format {fmt!r}; expected one of {', '.join(FORMATS)}")


def exit_code(diags: Iterable[Diagnostic], fail_level: str = "error") -> int:
    """1 when any finding is at or above ``fail_level`` (``error`` or ``warning``; ``never`` always gives 0)."""
    if fail_level == "never":
        return 0
    if fail_level not in _RANK:
        raise ValueError(f"unknown fail level {fail_level!r}; expected one of {', '.join(FAIL_LEVELS)}")
    threshold = _RANK[fail_level]
    return 1 if any(_RANK.get(d.level, 2) >= threshold for d in diags) else 0


# --------------------------------------------------------------------------------------------- text


def _text(diags: list[Diagnostic], sources: Mapping[str, SourceMap]) -> str:
    parts: list[str] = []
    for d in diags:
        source = sources.get(d.location.file)
        line = source.line_text(d.location.line) if source is not None and source.text else None
        parts.append(d.render(line))
    if not parts:
        return ""
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------------------------------- json


def _category(code: str) -> str | None:
    rule = RULES_BY_CODE.get(code)
    return rule.category if rule else None


def to_json(diags: Iterable[Diagnostic]) -> list[dict[str, object]]:
    """``[{code, category, level, message, hint, location: {file, line, col, end_line, end_col}, docs}]``."""
    return [
        {
            "code": d.code,
            "category": _category(d.code),
            "level": d.level,
            "message": d.message,
            "hint": d.hint,
            "location": d.location.to_dict(),
            "docs": docs_path(d.code) if d.code in RULES_BY_CODE else None,
        }
        for d in diags
    ]


# --------------------------------------------------------------------------------------------- sarif


def to_sarif(diags: Iterable[Diagnostic]) -> dict[str, object]:
    """A SARIF 2.1.0 log with one run; ``tool.driver.rules`` lists every registered rule."""
    index = {rule.code: i for i, rule in enumerate(RULES)}
    rules = [
        {
            "id": rule.code,
            "name": rule.name,
            "shortDescription": {"text": rule.summary()},
            "fullDescription": {"text": " ".join(rule.what.split())},
            "help": {"text": " ".join(rule.why.split())},
            "helpUri": f"{INFORMATION_URI}/blob/main/{docs_path(rule.code)}",
            "defaultConfiguration": {"level": rule.level},
            "properties": {"category": rule.category, "tags": [rule.category]},
        }
        for rule in RULES
    ]
    results = []
    for d in diags:
        loc = d.location.to_dict()
        result: dict[str, object] = {
            "ruleId": d.code,
            "level": d.level if d.level in _RANK else "error",
            "message": {"text": d.message + (f" (hint: {d.hint})" if d.hint else "")},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": d.location.file},
                        "region": {
                            "startLine": loc["line"],
                            "startColumn": loc["col"],
                            "endLine": loc["end_line"],
                            "endColumn": loc["end_col"],
                        },
                    }
                }
            ],
        }
        if d.code in index:
            result["ruleIndex"] = index[d.code]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "trace-lint",
                        "version": _VERSION,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }


# --------------------------------------------------------------------------------------------- github


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _github(d: Diagnostic) -> str:
    loc = d.location.to_dict()
    command = "warning" if d.level == "warning" else "error"
    props = ",".join(
        [
            f"file={_escape_property(str(loc['file']))}",
            f"line={loc['line']}",
            f"col={loc['col']}",
            f"title={_escape_property(d.code)}",
        ]
    )
    message = d.message + (f" (hint: {d.hint})" if d.hint else "")
    return f"::{command} {props}::{_escape_data(message)}"
