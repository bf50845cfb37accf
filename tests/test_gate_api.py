"""The inline gate's public API: config loading, compile sharing, Decision shape, guardrail rule ids, variables."""

from __future__ import annotations

import json

import pytest

from trace_engine import Engine
from trace_engine.errors import TraceConfigError
from trace_engine.gate import Decision, TurnFinding
from trace_engine.gate.config import TraceConfig

GUARD = {"inline_timeout_ms": 60000}
ALL_PII = ["ssn", "credit_card", "email", "us_phone"]


def _cfg(**guardrails):
    return {"rule_packs": {}, "guardrails": {**GUARD, **guardrails}}


# ------------------------------------------------------------------------------------------------ config shapes


def test_from_config_dict_path_model_and_wrapped_body_agree(tmp_path):
    cfg = {
        "rule_packs": {"pii": {"enabled": True}},
        "guardrails": {**GUARD, "mode": "modify", "block_pii": {"patterns": ["email"]}},
    }
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(cfg), encoding="utf-8")
    engines = [
        Engine.from_config(cfg),
        Engine.from_config(str(path)),
        Engine.from_config(path),
        Engine.from_config(TraceConfig.model_validate(cfg)),
        Engine.from_config({"agent_id": "agent_7", "config": cfg}),
    ]
    assert len({e.etag for e in engines[:4]}) == 1
    for e in engines:
        assert e.config.guardrails.mode == "modify"
        assert e.packs_enforced == ["pii@2026.11.0", "guardrails@config"]
    assert engines[-1].config.agent_id == "agent_7"


@pytest.mark.parametrize("cfg", [None, {}, {"guardrails": {"mode": "block"}}], ids=["none", "empty", "mode-only"])
def test_a_config_that_enforces_nothing_is_an_error(cfg):
    with pytest.raises(TraceConfigError) as info:
        Engine.from_config(cfg)
    (diag,) = info.value.diagnostics
    assert diag.code == "TC005" and "enforces nothing" in diag.message
    assert '"rule_packs": {}' in diag.hint and '"enabled": false' in diag.hint


def test_explicitly_empty_rule_packs_is_warn_with_no_packs():
    e = Engine.from_config({"rule_packs": {}})
    assert e.config.guardrails.mode == "warn"
    assert e.packs_enforced == []
    d = e.start_call("c").agent_turn("My card is 4111 1111 1111 1111.")
    assert d.action == "pass" and d.text == "My card is 4111 1111 1111 1111." and d.findings == ()


@pytest.mark.parametrize(
    "cfg, code, fragment",
    [
        ({"guardrails": {"mode": "loud"}}, "TC004", "guardrails.mode"),
        ({"guardrails": {"inline_timeout_ms": 0}}, "TC004", "guardrails.inline_timeout_ms"),
        ({"guardrails": {"block_pii": {"patterns": ["passport"]}}}, "TC004", "guardrails.block_pii.patterns.0"),
        ({"bogus_key": 1}, "TC004", "bogus_key"),
        ({"guardrails": {"mandatory_disclosures": [{"text": ""}]}}, "TC004", "guardrails.mandatory_disclosures.0.text"),
        ({"guardrails": {"mandatory_disclosures": [{"text": "x", "trigger": "later"}]}}, "TC004", "trigger"),
        ({"rule_packs": {"pii": {"enabled": True, "colour": "red"}}}, "TC004", "rule_packs.pii.colour"),
    ],
)
def test_bad_config_raises_trace_config_error_with_message(cfg, code, fragment):
    with pytest.raises(TraceConfigError) as info:
        Engine.from_config(cfg)
    diags = info.value.diagnostics
    assert diags and diags[0].code == code
    assert any(fragment in d.message for d in diags), [d.message for d in diags]


def test_bad_config_file(tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.raises(TraceConfigError) as info:
        Engine.from_config(missing)
    assert info.value.diagnostics[0].code == "TC001"
    assert "cannot read config" in info.value.diagnostics[0].message
    bad = tmp_path / "bad.json"
    bad.write_text('{"guardrails": {', encoding="utf-8")
    with pytest.raises(TraceConfigError) as info:
        Engine.from_config(bad)
    assert info.value.diagnostics[0].code == "TC002"
    assert "not valid JSON" in info.value.diagnostics[0].message


def test_unknown_pack_is_an_error():
    with pytest.raises(Exception) as info:
        Engine.from_config({"rule_packs": {"no_such_pack": {"enabled": True}}, "guardrails": GUARD})
    assert "no_such_pack" in str(info.value)


def test_disabled_pack_is_not_enforced():
    e = Engine.from_config({"rule_packs": {"pii": {"enabled": False}, "tcpa": {"enabled": True}}, "guardrails": GUARD})
    assert e.packs_enforced == ["tcpa@2026.11.0"]


def test_compiled_once_per_etag_and_shared():
    cfg = {"rule_packs": {"tcpa": {"enabled": True}}, "guardrails": {**GUARD, "blocked_phrases": ["trust me"]}}
    a = Engine.from_config(cfg)
    b = Engine.from_config(json.loads(json.dumps(cfg)))
    assert a.program is b.program
    assert a.etag == b.etag
    # variables and callback numbers are per-call facts: they do not change the compiled program
    c = Engine.from_config({**cfg, "variables": {"business_name": "Other"}, "callback_numbers": ["4155550198"]})
    assert c.program is a.program
    # a different guardrail does
    d = Engine.from_config({**cfg, "guardrails": {**cfg["guardrails"], "blocked_phrases": ["believe me"]}})
    assert d.program is not a.program and d.etag != a.etag
    # calls share the program and keep their own state
    c1, c2 = a.start_call("1"), a.start_call("2")
    assert c1.program is c2.program is a.program
    c1.agent_turn("hello")
    assert c1.agent_turns == 1 and c2.agent_turns == 0


def test_start_call_keeps_metadata_ids_and_scorecard_fields():
    e = Engine.from_config(_cfg())
    meta = {"direction": "outbound", "business_name": "Acme"}
    call = e.start_call("call-1", agent_id="agent_7", metadata=meta, tenant="t1", product="voice")
    meta["direction"] = "inbound"  # the call keeps its own copy
    assert call.metadata == {"direction": "outbound", "business_name": "Acme"}
    call.agent_turn("Hello.", t=1.0)
    card = call.end(t=3.0)
    assert card.call_id == "call-1" and card.agent_id == "agent_7" and card.tenant == "t1" and card.product == "voice"
    assert card.config_etag == e.etag
    assert card.verdict == "PASS"


# ------------------------------------------------------------------------------------------------ Decision


def test_decision_fields():
    e = Engine.from_config(
        {"rule_packs": {"pii": {"enabled": True}}, "guardrails": {**GUARD, "mode": "modify"}}
    )
    call = e.start_call("c")
    text = "Your card is 4111 1111 1111 1111."
    d = call.agent_turn(text, t=2.0)
    assert isinstance(d, Decision)
    assert d.action == "modify"
    assert d.text == "Your card is XXXX XXXX XXXX 1111."
    assert d.latency_ns > 0
    assert not d.handoff
    assert len(d.findings) == 1
    f = d.findings[0]
    assert isinstance(f, TurnFinding)
    assert (f.rule_id, f.pack_id, f.severity) == ("pii-001", "pii", "critical")
    assert f.citation == "PCI DSS v4.0.1 Req. 3.4.1"
    assert f.reason.startswith("A full payment card number")
    assert f.span == (13, 32) and text[13:32] == "4111 1111 1111 1111"
    assert f.action_taken == "modify" and f.kind == "credit_card"
    as_dict = d.to_dict()
    assert as_dict["action"] == "modify" and as_dict["findings"][0]["span"] == [13, 32]
    json.dumps(as_dict)


def test_actions_and_action_taken_vocabulary():
    e = Engine.from_config({"rule_packs": {"brand_voice": {"enabled": True}}, "guardrails": {**GUARD, "mode": "warn"}})
    call = e.start_call("c")
    clean = call.agent_turn("Thanks for your time today.")
    assert clean.action == "pass" and clean.findings == () and clean.latency_ns > 0
    flagged = call.agent_turn("We guarantee results.")
    assert flagged.action == "flag" and flagged.text == "We guarantee results."
    assert {f.action_taken for f in flagged.findings} == {"flag"}
    assert {f.rule_id for f in flagged.findings} == {"brand-001"}


# ------------------------------------------------------------------------------------------------ guardrails pack


def test_guardrails_become_pack_with_rule_ids():
    e = Engine.from_config(
        _cfg(
            mode="warn",
            block_pii={"patterns": ALL_PII},
            mandatory_disclosures=[{"text": "This call is recorded.", "trigger": "call_start"}, {"text": "I am an AI."}],
            blocked_phrases=["trust me", "to be honest"],
        )
    )
    ids = {(r.pack_id, r.rule_id) for r in e.program.rules}
    assert ids == {
        ("guardrails", "guardrails-pii-ssn"),
        ("guardrails", "guardrails-pii-credit_card"),
        ("guardrails", "guardrails-pii-email"),
        ("guardrails", "guardrails-pii-us_phone"),
        ("guardrails", "guardrails-disclosure-1"),
        ("guardrails", "guardrails-disclosure-2"),
        ("guardrails", "guardrails-blocked-phrases"),
    }
    assert e.packs_enforced == ["guardrails@config"]
    call = e.start_call("c")
    d = call.agent_turn("Trust me, your SSN 123-45-6789 is safe.")
    got = sorted((f.pack_id, f.rule_id) for f in d.findings)
    assert got == [
        ("guardrails", "guardrails-blocked-phrases"),
        ("guardrails", "guardrails-disclosure-1"),
        ("guardrails", "guardrails-pii-ssn"),
    ]


def test_empty_guardrails_add_no_pack():
    e = Engine.from_config(_cfg(mode="modify"))
    assert e.packs_enforced == []
    assert "guardrails" not in {r.pack_id for r in e.program.rules}


# ------------------------------------------------------------------------------------------------ variables


def _tcpa_engine(**extra):
    return Engine.from_config(
        {"rule_packs": {"tcpa": {"enabled": True}}, "guardrails": {**GUARD, "mode": "modify"}, **extra}
    )


def test_variables_resolve_from_metadata_first_then_config():
    e = _tcpa_engine(variables={"business_name": "Config Co", "agent_name": "Cat"})
    meta = {"direction": "outbound", "business_name": "Meta Inc"}
    # the inject text uses metadata's business_name and config's agent_name
    d = e.start_call("1", metadata=meta).agent_turn("Hello!")
    assert d.action == "modify"
    assert d.text == "This is Cat calling from Meta Inc. Hello!"
    # identification by the metadata name satisfies tcpa-001, the config name does not
    ok = e.start_call("2", metadata=meta).agent_turn("Hi, this is Cat from Meta Inc.")
    assert "tcpa-001" not in {f.rule_id for f in ok.findings}
    miss = e.start_call("3", metadata=meta).agent_turn("Hi, this is Cat from Config Co.")
    assert "tcpa-001" in {f.rule_id for f in miss.findings}
    # without metadata, the config value applies
    cfg_only = e.start_call("4", metadata={"direction": "outbound"}).agent_turn("Hi, this is Cat from Config Co.")
    assert "tcpa-001" not in {f.rule_id for f in cfg_only.findings}


def test_without_a_business_name_some_organization_must_be_named():
    e = _tcpa_engine()
    call = e.start_call("1", metadata={"direction": "outbound"})
    d = call.agent_turn("Hello!")
    # no organization named: tcpa-001 fires; the inject text needs names the call lacks, so it is flagged, not injected
    assert d.text == "Hello!"
    assert [(f.rule_id, f.action_taken) for f in d.findings if f.rule_id == "tcpa-001"] == [("tcpa-001", "flag")]
    ok = e.start_call("2", metadata={"direction": "outbound"}).agent_turn("Hi, Dana calling from Lakeside Roofing.")
    assert "tcpa-001" not in {f.rule_id for f in ok.findings}


def test_missing_variable_makes_rule_not_evaluated():
    from trace_engine.dsl import load_pack_text

    pack, _ = load_pack_text(
        'pack v\nversion "1"\njurisdiction "US"\nlegal_status "d"\nrule v-1 {\n  title "t"\n  severity high\n'
        '  citation "c"\n  reason "r"\n  must_say ["this is {agent_name} from {business_name}"] within first_turn\n}\n',
        "v.trace",
    )
    call = Engine.from_config({"guardrails": GUARD}, packs=[pack]).start_call("1")
    assert call.agent_turn("Hello!").findings == ()
    reasons = {n.rule_id: n.reason for n in call.end().not_evaluated}
    assert reasons["v-1"] == "missing variable: agent_name, business_name"
