"""Call facts: one definition (trace_engine/facts.py), normalization of both AMD vocabularies, call_defaults in the
config (org and per agent), scopes decided per call with not-applicable reasons, missing facts never guessed, and
Call.update_facts during a call."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from trace_engine import Engine
from trace_engine.dsl import load_pack_text
from trace_engine.dsl.jsonform import schema
from trace_engine.dsl.lint import lint_pack
from trace_engine.errors import TraceConfigError, TraceSyntaxError
from trace_engine.facts import FACTS, defaults_errors, resolve_facts, scope_fact_names, scope_schema

ROOT = Path(__file__).resolve().parents[1]
SCORECARD_SCHEMA = json.loads((ROOT / "schemas" / "scorecard-v1.json").read_text())
ALL_FIVE = {p: {"enabled": True} for p in ("tcpa", "hipaa", "pii", "brand_voice", "debt_collection")}
WARN = {"mode": "warn", "inline_timeout_ms": 60000}


def engine(**extra) -> Engine:
    return Engine.from_config({"rule_packs": ALL_FIVE, "guardrails": WARN, **extra})


# ------------------------------------------------------------------------------------------------ the definition


@pytest.mark.parametrize(
    "raw, category",
    [
        ("human", "human"),
        ("voicemail", "machine"),
        ("Voicemail", "machine"),
        ("call_screening", "screening"),
        ("call screening", "screening"),
        ("Call-Screening", "screening"),
        ("ivr", "ivr"),
        ("dead_number", "dead_number"),
        ("fax", "fax"),
        ("machine_start", "machine"),
        ("machine_end_beep", "machine"),
        ("MACHINE END SILENCE", "machine"),
        ("machine-end-other", "machine"),
        ("machine", "machine"),  # a category name itself
        ("screening", "screening"),
    ],
)
def test_amd_vocabularies_normalize_to_categories(raw, category):
    for key in ("answered_by", "answered_by_twilio"):
        facts = resolve_facts([("metadata", {key: raw})])
        assert facts.values["answered_by"] == category
        assert facts.sources["answered_by"] == "metadata" and not facts.problems


@pytest.mark.parametrize("raw", ["unknown", "UNKNOWN", "robot", "", 3])
def test_unknown_or_unrecognized_amd_leaves_the_fact_missing_with_the_value_named(raw):
    facts = resolve_facts([("metadata", {"answered_by": raw})])
    assert "answered_by" not in facts.values
    shown = f"'{raw}'" if isinstance(raw, str) else repr(raw)
    assert facts.problems["answered_by"].startswith(f"answered_by is {shown}")


def test_either_amd_key_may_decide_and_the_metadata_layer_decides_before_defaults():
    facts = resolve_facts([("metadata", {"answered_by": "unknown", "answered_by_twilio": "machine_end_beep"})])
    assert facts.values["answered_by"] == "machine"
    # metadata that says "unknown" is not replaced by a configured default: a default is not a decision
    facts = resolve_facts([("metadata", {"answered_by": "unknown"}), ("call_defaults", {"answered_by": "human"})])
    assert "answered_by" not in facts.values and "AMD could not decide" in facts.problems["answered_by"]
    facts = resolve_facts([("metadata", {}), ("call_defaults", {"direction": "Outbound-API"})])
    assert facts.values["direction"] == "outbound" and facts.sources["direction"] == "call_defaults"


def test_other_facts_normalize_or_are_reported():
    facts = resolve_facts([("metadata", {
        "direction": "INBOUND", "callee_state": " fl ", "recording_enabled": "true", "calls_last_7_days": "3",
        "local_time": "2026-11-20T10:15:00-05:00", "callback_numbers": "415-555-0198", "loan_type": "auto",
    })])
    assert facts.values["direction"] == "inbound" and facts.values["callee_state"] == "FL"
    assert facts.values["recording_enabled"] is True and facts.values["calls_last_7_days"] == 3
    assert facts.values["callback_numbers"] == ["415-555-0198"]
    assert facts.values["loan_type"] == "auto"  # not a call fact: passed through for custom packs
    bad = resolve_facts([("metadata", {"direction": "sideways", "local_time": "25 o'clock", "callee_state": "ZZ"})])
    assert set(bad.problems) == {"direction", "local_time", "callee_state"}
    assert bad.problems["direction"] == "direction is 'sideways', not one of outbound, inbound"


def test_the_schema_and_the_lint_are_derived_from_the_definition():
    assert schema()["$defs"]["applies_to"] == scope_schema()
    assert set(scope_schema()["properties"]) == set(scope_fact_names()) == {
        "direction", "call_purpose", "answered_by", "recording_enabled"
    }
    from trace_engine.dsl.lint.base import CALL_METADATA_KEYS

    assert set(FACTS) | {"answered_by_twilio"} == CALL_METADATA_KEYS
    facts_page = (ROOT / "docs" / "facts.md").read_text()
    for name in FACTS:
        assert f"`{name}`" in facts_page


# ------------------------------------------------------------------------------------------------ config


def test_call_defaults_are_validated_against_the_facts():
    assert defaults_errors({"direction": "outbound", "by_agent": {"a": {"call_purpose": "healthcare"}}}) == []
    with pytest.raises(TraceConfigError) as exc:
        engine(call_defaults={"direction": "sideways", "call_purpse": "healthcare", "by_agent": {"a": []}})
    message = str(exc.value)
    assert "call_defaults.direction: direction is 'sideways', not one of outbound, inbound" in message
    assert "call_defaults.call_purpse: not a call fact (did you mean 'call_purpose'?)" in message
    assert "call_defaults.by_agent.a: expected an object of call facts" in message


def test_metadata_first_then_agent_defaults_then_org_defaults():
    e = engine(call_defaults={
        "direction": "outbound", "call_purpose": "telemarketing",
        "by_agent": {"clinic": {"call_purpose": "healthcare"}, "support": {"direction": "inbound"}},
    })
    clinic = e.start_call("1", agent_id="clinic")
    assert clinic.facts["call_purpose"] == "healthcare" and clinic.facts["direction"] == "outbound"
    support = e.start_call("2", agent_id="support", metadata={"call_purpose": "customer_service"})
    assert support.facts["direction"] == "inbound" and support.facts["call_purpose"] == "customer_service"
    assert support.fact_info.sources == {
        "direction": "call_defaults.by_agent", "call_purpose": "metadata"
    }
    other = e.start_call("3", agent_id="sales-9")
    assert other.facts["call_purpose"] == "telemarketing"
    card = support.end()
    assert card.facts["direction"] == {"value": "inbound", "source": "call_defaults.by_agent"}


def test_call_defaults_change_the_config_etag():
    assert engine().etag != engine(call_defaults={"direction": "outbound"}).etag


# ------------------------------------------------------------------------------------------------ scope


def test_inbound_service_call_out_of_scope_packs_produce_nothing_and_are_listed():
    call = engine().start_call("c", metadata={"direction": "inbound", "call_purpose": "customer_service"})
    call.caller_turn("hi, i'd like to book a table, my husband is diabetic")
    call.agent_turn("Sure. I've noted the diabetes; your balance of forty dollars is past due on the gift card.")
    card = call.end()
    assert card.verdict == "PASS", [f.rule_id for f in card.findings]
    na = {(n.pack_id, n.rule_id): n.reason for n in card.not_applicable}
    assert na[("hipaa", None)] == "call_purpose is customer_service; pack hipaa applies to call_purpose: healthcare"
    assert na[("debt_collection", None)].startswith("call_purpose is customer_service")
    assert na[("tcpa", "tcpa-001")] == "direction is inbound; tcpa-001 applies to direction: outbound"
    assert ("hipaa", "hipaa-001") not in na  # the pack is listed once, not rule by rule
    evaluated = {n.rule_id for n in card.not_evaluated}
    assert "tcpa-007" in evaluated and "hipaa-001" not in evaluated  # recording_enabled is missing: not applicable
    jsonschema.validate(card.to_dict(), SCORECARD_SCHEMA)


def test_a_missing_direction_is_not_guessed():
    call = engine().start_call("c", metadata={"call_purpose": "telemarketing", "business_name": "Acme"})
    decision = call.agent_turn("hey there, how are you doing today?")
    assert decision.findings == ()
    card = call.end()
    reasons = {n.rule_id: n.reason for n in card.not_evaluated}
    for rule_id in ("tcpa-001", "tcpa-002", "tcpa-003", "tcpa-004", "tcpa-005", "tcpa-006", "tsr-001", "tsr-002"):
        assert reasons[rule_id] == "missing metadata: direction"
    # the purpose is known: hipaa and debt_collection are out of scope whatever the direction
    assert {(n.pack_id, n.rule_id) for n in card.not_applicable} == {("hipaa", None), ("debt_collection", None)}


def test_an_unusable_fact_names_its_value():
    call = engine().start_call(
        "c", metadata={"direction": "outbound", "call_purpose": "debt_collection", "answered_by": "unknown"}
    )
    call.agent_turn("this is summit recovery calling about your balance")
    reasons = {n.rule_id: n.reason for n in call.end().not_evaluated}
    assert reasons["debt-003"] == "unusable metadata: answered_by is 'unknown' (AMD could not decide)"


def test_scope_is_decided_per_call_not_per_turn():
    call = engine().start_call("c", metadata={"direction": "inbound", "call_purpose": "customer_service"})
    decided = dict(call.scope_off)
    call.facts = {}  # were scope read per turn, this would make every scoped rule not evaluated
    call.agent_turn("your balance of forty dollars is past due")
    assert call.scope_off == decided and call.end().verdict == "PASS"


def test_rules_narrow_a_pack_and_may_not_widen_it():
    base = 'pack p\nversion "1"\njurisdiction "US"\nlegal_status "d"\napplies_to call_purpose: healthcare\n'
    rule = 'rule r-1 {\n  title "t"\n  severity high\n  citation "c"\n  reason "r"\n  %s\n  must_not_say "x"\n}\n'
    pack, _ = load_pack_text(base + rule % "applies_to direction: inbound, call_purpose: healthcare", "p.trace")
    call = Engine.from_config({"guardrails": WARN}, packs=[pack]).start_call(
        "c", metadata={"direction": "outbound", "call_purpose": "healthcare"}
    )
    call.agent_turn("x")
    (na,) = call.end().not_applicable
    assert (na.rule_id, na.reason) == ("r-1", "direction is outbound; r-1 applies to direction: inbound")
    with pytest.raises(TraceSyntaxError) as exc:
        load_pack_text(base + rule % "applies_to call_purpose: telemarketing", "p.trace")
    assert "TS127 the rule widens its pack's scope: the pack applies to `call_purpose: healthcare`" in str(exc.value)
    with pytest.raises(TraceSyntaxError) as exc:
        load_pack_text(base + rule % "applies_to answered_by: voicemail", "p.trace")
    assert "TS125 `voicemail` is not a value of `answered_by`" in str(exc.value)


def test_lint_reports_a_comparison_with_a_raw_fact_value():
    text = (
        'pack p\nversion "1"\njurisdiction "US"\nlegal_status "d"\n'
        'rule r-1 {\n  title "t"\n  severity high\n  citation "c"\n  reason "r"\n'
        '  when answered_by == "voicemail" or callee_state in ["FL", "ok"]\n  must_not_say "x"\n  example "x"\n}\n'
    )
    pack, source = load_pack_text(text, "p.trace")
    found = [d for d in lint_pack(pack, source) if d.code == "TL013"]
    assert [(d.message, d.hint) for d in found] == [
        ('answered_by is never "voicemail"', 'the gate normalizes it: write "machine"'),
        ('callee_state is never "ok"', 'state codes are upper case: write "OK"'),
    ]


# ------------------------------------------------------------------------------------------------ update_facts


def test_update_facts_takes_effect_from_the_next_turn_and_is_recorded():
    call = engine().start_call(
        "c",
        metadata={"direction": "outbound", "call_purpose": "healthcare", "business_name": "Riverside Clinic",
                  "callback_numbers": ["617-555-0142"]},
    )
    first = call.agent_turn("Hi, this is Riverside Clinic. If you'd rather not get these calls, say stop.", t=0.0)
    assert first.findings == ()
    call.update_facts(answered_by_twilio="machine_end_beep", t=2.5)
    second = call.agent_turn("We're calling about your insulin refill; call us at 617-555-0142.", t=3.0)
    assert {f.rule_id for f in second.findings} == {"hipaa-001", "hipaa-002"}
    card = call.end(t=6.0)
    assert card.fact_changes == [{"seq": 2, "t": 2.5, "facts": {"answered_by_twilio": "machine_end_beep (machine)"}}]
    event = next(e for e in card.timeline if e.role == "facts")
    assert (event.seq, event.t_ms, event.text) == (2, 2500.0, "answered_by_twilio: machine_end_beep (machine)")
    assert card.facts["answered_by"] == {"value": "machine", "source": "update_facts"}
    jsonschema.validate(card.to_dict(), SCORECARD_SCHEMA)


def test_update_facts_re_decides_scope_and_requirements():
    call = engine().start_call("c", metadata={"business_name": "Acme Solar", "callee_state": "FL"})
    call.agent_turn("hello, how are you today?")
    assert "tcpa-005" not in call.rule_satisfied
    call.update_facts(direction="outbound", call_purpose="telemarketing", local_time="2026-11-20T20:30:00-05:00")
    call.agent_turn("this is a sales call from acme solar")
    card = call.end()
    fired = {f.rule_id for f in card.findings}
    assert "tcpa-005" in fired  # 8:30 pm in Florida, judged once the time arrived
    reasons = {n.rule_id: n.reason for n in card.not_evaluated}
    # the first-turn identification window closed while the call's direction was unknown: not judged, not passed
    assert reasons["tcpa-001"].startswith("its window closed before its scope was known")
    assert "tcpa-001" not in {s.rule_id for s in card.satisfied}


def test_update_facts_hides_values_of_keys_that_are_not_facts_and_never_raises():
    call = engine().start_call("c", metadata={"direction": "inbound", "call_purpose": "customer_service"})
    call.update_facts(crm_notes="the customer's SSN is 123-45-6789", answered_by="unknown")
    call.update_facts(t="not a number", **{"answered_by": object()})  # hostile input: counted, never raised
    card = call.end()
    texts = [e.text for e in card.timeline if e.role == "facts"]
    assert texts[0] == "crm_notes: set, answered_by: unusable (answered_by is 'unknown' (AMD could not decide))"
    assert "123-45-6789" not in json.dumps(card.to_dict())
    jsonschema.validate(card.to_dict(), SCORECARD_SCHEMA)


def test_update_facts_after_the_call_ended_is_ignored():
    call = engine().start_call("c", metadata={"direction": "inbound"})
    card = call.end()
    call.update_facts(direction="outbound")
    assert call.facts["direction"] == "inbound" and card.fact_changes == []
