"""The lossless ``convert`` property: DSL and JSON express the same IR.

* IR -> DSL text (``print_pack``) -> ``load_pack_text`` -> the same IR;
* IR -> JSON -> IR -> DSL -> IR -> the same IR (and back to the same JSON).

Skipped only while the DSL printer/parser cannot be imported.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from trace_engine import ir
from trace_engine.dsl.jsonform import dump_json_pack, load_json_pack

try:
    from strategies import packs
except ImportError:  # pragma: no cover - repository root on sys.path instead of tests/
    from tests.strategies import packs

printer = pytest.importorskip("trace_engine.dsl.printer")
dsl = pytest.importorskip("trace_engine.dsl")
if not hasattr(dsl, "load_pack_text") or not hasattr(printer, "print_pack"):  # pragma: no cover
    pytest.skip(
        "trace_engine.dsl.load_pack_text / printer.print_pack not available yet", allow_module_level=True
    )

print_pack = printer.print_pack
load_pack_text = dsl.load_pack_text

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _same(a: ir.Pack, b: ir.Pack) -> None:
    # ``==`` forgives int/float drift (30 == 30.0); the DSL does not keep it, see test_numeric_types_survive_the_dsl
    assert a == b


@SETTINGS
@given(packs())
def test_ir_dsl_ir(pack: ir.Pack) -> None:
    text = print_pack(pack)
    back, _ = load_pack_text(text, "x.trace")
    _same(back, pack)


@SETTINGS
@given(packs())
def test_ir_json_ir_dsl_ir(pack: ir.Pack) -> None:
    json_text = dump_json_pack(pack)
    from_json, _ = load_json_pack(json_text, "x.json")
    from_dsl, _ = load_pack_text(print_pack(from_json), "x.trace")
    _same(from_dsl, pack)


def test_documented_example_converts_both_ways() -> None:
    text = """pack tcpa
version "2026.11.0"
jurisdiction "US"
legal_status "draft - not attorney-reviewed"
when default(direction, "outbound") == "outbound"

phrases opt_out_request [
  "stop calling me",
  "take me off * list",
]

phrases dnc_confirmation ["you will not be called again"]

phrases pitch ["special offer"]

pattern price /\\$ ?\\d+|\\d+ dollars/

state purpose_stated: agent says ["calling to offer", "this is a sales call"]

rule tcpa-004 {
  title "Honor a do-not-call request"
  severity critical
  citation "47 CFR § 64.1200(d)(3)"
  reason "The caller asked not to be called again; the agent must confirm and stop selling."
  on caller opt_out_request {
    must_say dnc_confirmation within 1 turn
    must_not_say pitch | price
  }
  remedy block
  example "before you go, we have a special offer for you"
}
"""
    pack, _ = load_pack_text(text, "tcpa.trace")
    again, _ = load_json_pack(dump_json_pack(pack), "tcpa.json")
    _same(again, pack)
    _same(load_pack_text(print_pack(again), "tcpa.trace")[0], pack)
    cue = pack.rules[0].checks[0]
    assert isinstance(cue, ir.OnCue) and cue.cue.ref == "opt_out_request"


def test_numeric_types_survive_the_dsl() -> None:
    rule = ir.Rule(
        "r-001",
        "t",
        "low",
        "c",
        "r",
        (
            ir.MustSay(ir.Detector("ssn"), ir.Seconds(30)),
            ir.Require(ir.Compare("==", ir.Field("x"), ir.Const(2.0))),
        ),
    )
    pack = ir.Pack("tcpa", "1", "US", "d", (rule,))
    back, _ = load_pack_text(print_pack(pack), "x.trace")
    assert repr(back) == repr(pack)
    assert dump_json_pack(back) == dump_json_pack(pack)
