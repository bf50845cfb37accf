"""A detector is defined once (the native core's registry) and everything else is derived from it (issue 14):
the IR enum, the JSON schemas' enums, the config's PII patterns and guardrail rules, the scorecard's redaction
kinds, the gate's detector kinds, the docs and the quality benchmark's entity map. Every registry example is found
through the Python face and through a compiled pack in the gate.

Adding a detector touches the files of :data:`~trace_engine.text.detectors.ADDING_A_DETECTOR`: at most 3 by hand,
the generated ones (fresh, or a test fails), and a few only when the detector needs them. Two tests hold that claim:
a new registry entry (made up in a subprocess) reaches every derived place with no other edit, and every file of
the repository that names a detector is accounted for."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from trace_engine import Engine, ir
from trace_engine.docsgen import generate_all
from trace_engine.dsl import load_pack_text
from trace_engine.evidence.scorecard import REDACTION_KINDS
from trace_engine.gate.config import PII_PATTERNS, Guardrails
from trace_engine.gate.guardrails import guardrails_pack
from trace_engine.text import DETECTORS, detect, normalize
from trace_engine.text.detectors import ADDING_A_DETECTOR, MIN_DIGITS, SPECIFICITY

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = [(kind, text, value) for kind, spec in DETECTORS.items() for text, value in spec.examples]


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_generated_artifacts_are_fresh() -> None:
    """What tools/gen_detector_artifacts.py writes equals what is committed; it writes exactly the documented files."""
    gen = _tool("gen_detector_artifacts")
    assert [str(p.relative_to(REPO)) for p in gen.stale()] == [], "run tools/gen_detector_artifacts.py"
    assert gen.main(["--check"]) == 0
    assert sorted(str(p.relative_to(REPO)) for p in gen.rendered()) == sorted(ADDING_A_DETECTOR["generated"])
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
    """Compiled into a pack, each detector (through the gate's scan and the registry's preconditions) finds its
    examples in a real turn."""
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = Engine.from_config({"rule_packs": {}}, packs=[_pack_naming_every_detector()])
    decision = _ENGINE.start_call("registry").agent_turn(text)
    assert kind in {f.kind for f in decision.findings}, decision.findings


# ------------------------------------------------------------------------------------------- adding a detector

#: A made-up registry entry, as the core hands entries to Python (``_core.DETECTOR_SPECS``).
_NEW_ENTRY = {
    "name": "iban",
    "title": "International Bank Account Number",
    "doc": "A country code, two check digits and up to 30 letters or digits; mod-97 valid.",
    "examples": [["my iban is GB82 WEST 1234 5698 7654 32", "GB82WEST12345698765432"]],
    "specificity": 6,
    "min_digits": 11,
    "needs_at": False,
    "presidio_entity": "IBAN_CODE",
    "guardrail": {
        "title": "Never read out a bank account number",
        "severity": "high",
        "placeholder": "[iban]",
        "reason": "A bank account number was about to be read aloud.",
        "exempt_variable": None,
    },
}

_PROBE = """
import importlib.util, json, sys
from pathlib import Path
repo = Path(sys.argv[1])
so = next((repo / "trace_engine").glob("_core*.so"))
spec = importlib.util.spec_from_file_location("trace_engine._core", so)
core = importlib.util.module_from_spec(spec)
spec.loader.exec_module(core)
sys.modules["trace_engine._core"] = core
core.DETECTOR_SPECS.append(json.loads(sys.argv[2]))  # before anything reads the registry

from trace_engine import ir
from trace_engine.dsl import load_pack_text
from trace_engine.evidence.scorecard import REDACTION_KINDS
from trace_engine.gate.config import PII_PATTERNS, Guardrails
from trace_engine.gate.guardrails import guardrails_pack
sys.path.insert(0, str(repo / "tools"))
import gen_detector_artifacts as gen

pack = load_pack_text(sys.argv[3])[0]
rules = guardrails_pack(Guardrails.model_validate({"block_pii": {"patterns": ["iban"]}})).rules
texts = gen.rendered()
print(json.dumps({
    "ir": list(ir.DETECTORS),
    "redaction_kinds": list(REDACTION_KINDS),
    "pii_patterns": list(PII_PATTERNS),
    "pack_detector": pack.rules[0].checks[0].matcher.kind,
    "guardrail_rule": [rules[0].id, rules[0].remedy.placeholder, rules[0].severity],
    "stale": sorted(str(p.relative_to(repo)) for p in gen.stale(texts)),
    "docs_section": "## iban" in texts[repo / "docs" / "detectors.md"],
    "schema_enum": json.loads(texts[repo / "schemas" / "rule_pack_schema.json"])["$defs"]["matcher_detector"]
        ["properties"]["detector"]["enum"],
}))
"""


def test_a_new_registry_entry_reaches_every_derived_place() -> None:
    """Add an entry to the registry (in a subprocess, before anything reads it) and change nothing else: the IR
    enum, the DSL, the config's ``block_pii`` patterns, the guardrail rule and the scorecard's redaction kinds take
    it, and the generator rewrites exactly the generated files."""
    if not list((REPO / "trace_engine").glob("_core*.so")):
        pytest.skip("the native core is not built in the source tree")
    pack = (
        'pack probe\nversion "1.0.0"\njurisdiction "US"\nlegal_status "test"\n\n'
        'rule probe-001 {\n  title "t"\n  severity high\n  citation "c"\n  reason "r"\n'
        "  must_not_say detector iban\n}\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", _PROBE, str(REPO), json.dumps(_NEW_ENTRY), pack],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["ir"] == [*DETECTORS, "iban"]
    assert out["redaction_kinds"] == [*DETECTORS, "iban", "phrase"]
    assert out["pii_patterns"] == [*PII_PATTERNS, "iban"]
    assert out["pack_detector"] == "iban"
    assert out["guardrail_rule"] == ["guardrails-pii-iban", "[iban]", "high"]
    assert out["stale"] == sorted(ADDING_A_DETECTOR["generated"])
    assert out["docs_section"] and out["schema_enum"] == [*DETECTORS, "iban"]


#: Files that name a detector without being touched to add one, and why.
_NOT_TOUCHED = {
    "tests/reference_gate/": "the frozen Python gate, the oracle the core is held to",
    "schemas/scorecard-v0.json": "a past scorecard version, frozen",
    "trace_engine/builtin_packs/": "packs that use detectors",
    "tests/fixtures/": "packs and calls that use detectors",
    "docs/packs/": "generated from the packs",
    "docs/quality.md": "measured results",
    "trace_engine/text/detectors.py": "the face's docstring explains shared machinery with examples",
    "tests/test_detector_registry.py": "this test",
}


def _accounted(path: str) -> bool:
    listed = {p for group in ADDING_A_DETECTOR.values() for p in group}
    detector_module = path.startswith("core/src/text/detectors/") and path.endswith(".rs")  # "<name>.rs"
    return path in listed or detector_module or any(path.startswith(p) for p in _NOT_TOUCHED)


def test_every_file_naming_a_detector_is_accounted_for() -> None:
    """The ≤ 3-file claim against the repository: every tracked file that names ``aba_routing`` (the detector with
    nothing special: no guardrail, no sharper prefilter test) in its Python or Rust spelling is a file to edit, a
    generated file, an "only when" file, or one of :data:`_NOT_TOUCHED`. A new hard-coded detector list fails here."""
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    assert len(ADDING_A_DETECTOR["edit"]) <= 3
    name = "aba" + "_routing"  # spelled apart so that this file is not its own hit
    run = subprocess.run(
        ["git", "grep", "-l", "-I", "-e", name, "-e", "AbaRouting"],
        cwd=REPO, capture_output=True, text=True, check=False,
    )
    assert run.returncode in (0, 1), run.stderr
    files = run.stdout.split()
    assert "core/src/text/detectors/mod.rs" in files
    assert [f for f in files if not _accounted(f)] == []
