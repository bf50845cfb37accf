"""Issue 11: evasions of the gate (benchmarks/evasion.py's table). One test per evasion class: every case of the
class is caught by the rule it breaks, and a PII value is masked in the modified text (its original characters
replaced). Timings are never asserted."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "evasion_benchmark", Path(__file__).resolve().parents[1] / "benchmarks" / "evasion.py"
)
assert _SPEC is not None and _SPEC.loader is not None
evasion = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(evasion)

CLASSES = sorted({cls for cls, *_ in evasion.EVASIONS})


@cache
def table() -> dict:
    return evasion.run_table(evasion.Engine.from_config(evasion.CONFIG))


def _rows(cls: str) -> list[dict]:
    return [r for r in table()["rows"] if r["class"] == cls]


def test_every_class_is_tested() -> None:
    assert len(CLASSES) >= 25
    assert table()["controls_caught"]


@pytest.mark.parametrize("cls", CLASSES)
def test_evasion_class_is_caught(cls: str) -> None:
    rows = _rows(cls)
    assert rows
    missed = [(r["description"], r["text"], r["rules"]) for r in rows if not r["caught"]]
    assert missed == []
    unmasked = [(r["description"], r["output"]) for r in rows if "masked" in r and not r["masked"]]
    assert unmasked == []


def test_the_evasion_is_real() -> None:
    """Every evaded text differs from its plain control, and most are not plain ASCII: the table tests evasions."""
    rows = [r for r in table()["rows"] if r["class"] != "plain"]
    controls = {r["target"]: r["text"] for r in table()["rows"] if r["class"] == "plain"}
    assert all(r["text"] != controls[r["target"]] for r in rows)
    assert sum(not r["text"].isascii() for r in rows) > len(rows) // 2
