"""A detector is defined once (the native core's registry) and everything else is derived from it (issue 14):
the IR enum, the JSON schemas' enums, the config's PII patterns and guardrail rules, the prefilter hints, the
scorecard's redaction kinds, the docs and the quality benchmark's entity map. Every registry example is found
through the Python face and through a compiled pack in the gate."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from trace_engine import Engine, ir
from trace_engine.docsgen import generate_all
from trace_engine.dsl import load_pack_text
from trace_engine.evidence.scorecard import REDACTION_KINDS
from trace_engine.gate.config import PII_PATTERNS, Guardrails
from trace_engine.gate.guardrails import guardrails_pack
from trace_engine.text import DETECTORS, detect, normalize
from trace_engine.text.detectors import MIN_DIGITS, SPECIFICITY

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = [(kind, text, value) for kind, spec in DETECTORS.items() for text, value in spec.examples]


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_generated_artifacts_are_fresh() -> None:
    """The schemas' enums (tools/gen_detector_artifacts.py) and docs/detectors.md (trace docs)."""
    assert _tool("gen_detector_artifacts").main(["--check"]) == 0
    stale = [p.name for p in generate_all(REPO / "docs", check_only=True) if p.name == "detectors.md"]
    assert stale == [], "run `trace docs`"


def test_python_constants_are_derived() -> None:
    assert ir.DETECTORS == tuple(DETECTORS)
    assert REDACTION_KINDS == (*DETECTORS, "phrase")
    assert SPECIFICITY == tuple(sorted(DETECTORS, key=lambda k: DETECTORS[k].specificity))
    assert sorted(DETECTORS[k].specificity for k in DETECTORS) == list(range(len(DETECTORS)))
    assert dict(MIN_DIGITS) == {k: s.min_digits for k, s in DETECTORS.items() if s.min_digits}
    assert all(s.min_digits or s.needs_at for s in DETECTORS.values()), "every detector needs a prefilter hint"
    schema = json.loads((REPO / "schemas" / "rule_pack_schema.json").read_text())
    assert schema["$defs"]["matcher_detector"]["properties"]["detector"]["enum"] == list(DETECTORS)


def _contract_pii_patterns() -> list[str]:
    """``block_pii.patterns``' enum in the data contract (the seed spec's TraceConfig, shipped with the package)."""
    doc = json.loads((REPO / "trace_engine" / "api" / "openapi_trace.json").read_text())
    found: list[list[str]] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "block_pii" in node and isinstance(node["block_pii"], dict):
                found.append(node["block_pii"]["properties"]["patterns"]["items"]["enum"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(doc)
    assert found
    return found[0]


def test_config_pii_patterns_are_the_detectors_with_a_guardrail_and_the_contract() -> None:
    assert set(PII_PATTERNS) == {k for k, s in DETECTORS.items() if s.guardrail is not None}
    assert set(PII_PATTERNS) == set(_contract_pii_patterns())


def test_guardrail_rules_come_from_the_registry() -> None:
    pack = guardrails_pack(Guardrails.model_validate({"block_pii": {"patterns": list(PII_PATTERNS)}}))
    assert pack is not None
    for rule in pack.rules:
        kind = rule.id.removeprefix("guardrails-pii-")
        g = DETECTORS[kind].guardrail
        assert g is not None
        assert (rule.title, rule.severity, rule.reason) == (g.title, g.severity, g.reason)
        assert rule.remedy == ir.Remedy("mask", keep_last=g.keep_last, placeholder=g.placeholder)
        assert rule.checks == (ir.MustNotSay(ir.Detector(kind, g.exempt_variable)),)


@pytest.mark.parametrize("kind, text, value", EXAMPLES)
def test_every_example_is_found(kind: str, text: str, value: str) -> None:
    assert value in [h.value for h in detect(kind, normalize(text))]


def _pack_naming_every_detector() -> ir.Pack:
    rules = "\n".join(
        f"""rule reg-{n:03d} {{
  title "{kind}"
  severity high
  citation "registry"
  reason "every detector reaches the gate"
  must_not_say detector {kind}
}}"""
        for n, kind in enumerate(DETECTORS, start=1)
    )
    source = f'pack registry\nversion "1.0.0"\njurisdiction "US"\nlegal_status "test"\n\n{rules}\n'
    return load_pack_text(source)[0]


_ENGINE = None


@pytest.mark.parametrize("kind, text, value", EXAMPLES)
def test_every_example_reaches_the_gate(kind: str, text: str, value: str) -> None:
    """Compiled into a pack, each detector (and its prefilter hints) finds its examples in a real turn."""
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = Engine.from_config({"rule_packs": {}}, packs=[_pack_naming_every_detector()])
    decision = _ENGINE.start_call("registry").agent_turn(text)
    assert kind in {f.kind for f in decision.findings}, decision.findings
