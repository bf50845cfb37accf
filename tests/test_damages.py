"""Statutory damages in packs (DSL, IR, JSON form, schema, fmt/convert) and the exposure estimate they feed."""

from __future__ import annotations

import json

import pytest

from trace_engine import ir
from trace_engine.damages import DISCLAIMER, amount_range, claims, damages_table, describe, estimate, money
from trace_engine.dsl import load_pack_text
from trace_engine.dsl.jsonform import dump_json_pack, load_json_pack, pack_to_dict, schema_validator
from trace_engine.dsl.printer import print_pack
from trace_engine.errors import TraceSyntaxError
from trace_engine.packs import builtin_pack_path, load_pack_file

DAY = 86_400_000
HEAD = 'pack demo\nversion "1"\njurisdiction "US"\nlegal_status "draft"\n\n'


def rule(rule_id: str, damages: str = "", phrase: str = "buy now") -> str:
    line = f"  {damages}\n" if damages else ""
    return (
        f'rule {rule_id} {{\n  title "t"\n  severity high\n  citation "c"\n  reason "r"\n'
        f'  must_not_say "{phrase}"\n  remedy block\n{line}}}\n\n'
    )


def load(text: str) -> ir.Pack:
    return load_pack_text(text, "p.trace")[0]


def errors(text: str) -> list[str]:
    with pytest.raises(TraceSyntaxError) as e:
        load_pack_text(text, "p.trace")
    return [f"{d.location.line}:{d.location.col} {d.code} {d.message}" for d in e.value.diagnostics]


def test_the_dsl_form_lowers_to_the_ir():
    pack = load(HEAD + rule("a-1", 'damages 500 to 1500 per call citation "47 U.S.C. § 227(c)(5)" note "treble"')
                + rule("a-2", 'damages 1000 per violation citation "15 U.S.C. § 1692k"', "x y"))
    assert pack.rules[0].damages == ir.Damages(500, 1500, "call", "47 U.S.C. § 227(c)(5)", "treble")
    assert pack.rules[1].damages == ir.Damages(1000, 1000, "violation", "15 U.S.C. § 1692k", None)


def test_fmt_and_convert_round_trip_byte_for_byte():
    text = HEAD + rule("a-1", 'damages 500 to 1500 per call citation "47 U.S.C. § 227(c)(5)" note "treble"')
    pack, source = load_pack_text(text, "p.trace")
    assert print_pack(pack, source.comments) == text.rstrip("\n") + "\n"
    json_text = dump_json_pack(pack)
    assert json.loads(json_text)["rules"][0]["damages"] == {
        "low": 500, "high": 1500, "per": "call", "citation": "47 U.S.C. § 227(c)(5)", "note": "treble",
    }
    back, _ = load_json_pack(json_text, "p.json")
    assert back == pack
    assert not list(schema_validator().iter_errors(pack_to_dict(pack)))


def test_to_per_and_note_stay_usable_as_names():
    text = HEAD + 'phrases to ["x"]\nphrases per ["y"]\nphrases note ["z"]\n\n' + rule(
        "a-1", 'damages 5 per call citation "c"'
    ).replace('must_not_say "buy now"', "must_not_say to | per | note")
    pack = load(text)
    assert [name for name, _ in pack.phrase_sets] == ["to", "per", "note"]
    assert pack.rules[0].damages == ir.Damages(5, 5, "call", "c")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('damages 1500 to 500 per call citation "c"', "13:3 TS130 damages `1500 to 500`: the low amount is above the high"),
        ('damages 5.5 per call citation "c"',
         "13:3 TS130 a damages amount must be whole US dollars from 0 to 1,000,000,000, got 5.5"),
        ('damages -1 per call citation "c"',
         "13:3 TS130 a damages amount must be whole US dollars from 0 to 1,000,000,000, got -1"),
        ('damages 1000000001 per call citation "c"',
         "13:3 TS130 a damages amount must be whole US dollars from 0 to 1,000,000,000, got 1000000001"),
        ('damages 500 per cal citation "c"', "13:19 TS130 damages are counted per `call` or per `violation`, not `cal`"),
        ('damages 500 per call citation ""', "13:3 TS130 damages need the citation of the provision that gives them"),
        ('damages 500 too 1500 per call citation "c"', "13:15 TS130 expected `to` in `damages`, got `too`"),
        ('damages 500 pr call citation "c"', "13:15 TS130 expected `per` in `damages`, got `pr`"),
        ('damages 500 per call citation "c" notes "n"', "13:37 TS130 expected `note` in `damages`, got `notes`"),
    ],
)
def test_invalid_damages_are_located_errors(line, message):
    assert errors(HEAD + rule("a-1", line)) == [message]


def test_a_second_damages_line_is_a_duplicate():
    text = HEAD + rule("a-1", 'damages 1 per call citation "c"\n  damages 2 per call citation "d"')
    assert errors(text) == ["14:3 TS117 duplicate `damages` in rule `a-1`"]


def test_json_form_checks_damages():
    spec = pack_to_dict(load(HEAD + rule("a-1", 'damages 500 to 1500 per call citation "c"')))
    spec["rules"][0]["damages"]["low"] = 2000
    with pytest.raises(TraceSyntaxError) as e:
        load_json_pack(json.dumps(spec, indent=1), "p.json")
    assert [(d.code, d.message) for d in e.value.diagnostics] == [
        ("TJ008", "$.rules[0].damages: low (2000) is above high (1500)")
    ]
    spec["rules"][0]["damages"] = {"low": 1, "high": 2, "per": "turn", "citation": "c", "extra": 1}
    with pytest.raises(TraceSyntaxError) as e:
        load_json_pack(json.dumps(spec, indent=1), "p.json")
    assert {d.code for d in e.value.diagnostics} == {"TJ002"}
    assert len(e.value.diagnostics) == 2  # the basis and the unknown key


def test_builtin_packs_state_damages_where_a_statute_gives_a_private_figure():
    tcpa = load_pack_file(builtin_pack_path("tcpa"))
    debt = load_pack_file(builtin_pack_path("debt_collection"))
    table = damages_table([tcpa, debt, *(load_pack_file(builtin_pack_path(p)) for p in ("hipaa", "pii", "brand_voice"))])
    c5 = ir.Damages(500, 1500, "call", "47 U.S.C. § 227(c)(5)", table[("tcpa-004", "tcpa")].note)
    assert table[("tcpa-004", "tcpa")] == c5 and table[("tcpa-005", "tcpa")] == c5
    assert table[("tcpa-007", "tcpa")].citation == "Cal. Penal Code § 637.2(a)"
    assert (table[("tcpa-007", "tcpa")].low, table[("tcpa-007", "tcpa")].high) == (0, 5000)
    fdcpa = {table[(r.id, "debt_collection")] for r in debt.rules}
    assert len(fdcpa) == 1 and next(iter(fdcpa)).citation == "15 U.S.C. § 1692k(a)(2)(A)"
    # no figure where the statute gives no private one (agency penalties, policies)
    assert sorted(k[0] for k in table if k[1] == "tcpa") == ["tcpa-004", "tcpa-005", "tcpa-007"]
    assert not [k for k in table if k[1] in ("hipaa", "pii", "brand_voice")]


def test_money_and_describe():
    assert money(1500) == "$1,500"
    assert amount_range(500, 1500) == "$500–$1,500" and amount_range(7, 7) == "$7"
    assert describe(ir.Damages(500, 1500, "call", "47 U.S.C. § 227(c)(5)")) == "$500–$1,500 per call (47 U.S.C. § 227(c)(5))"


# ------------------------------------------------------------------------------------------------ estimate

C5 = ir.Damages(500, 1500, "call", "47 U.S.C. § 227(c)(5)", "treble")
PER_V = ir.Damages(100, 100, "violation", "Example Act § 1")
TABLE = {("tcpa-004", "tcpa"): C5, ("tcpa-005", "tcpa"): C5, ("x-1", "x"): PER_V}


PACK_OF = {"tcpa-004": "tcpa", "tcpa-005": "tcpa", "x-1": "x"}


def ranking(**counts: int) -> list[dict]:
    """``by_rule`` rows: ``tcpa_004=3`` is rule ``tcpa-004`` fired in 3 calls."""
    rows = []
    for name, n in counts.items():
        rule_id = name.replace("_", "-")
        rows.append({"rule_id": rule_id, "pack_id": PACK_OF.get(rule_id), "count": n, "rate": 0.0})
    return rows


def test_one_rule_per_call_claim_uses_the_ranking_count_and_reads_nothing():
    est = estimate(TABLE, {"by_rule": ranking(tcpa_004=3, other=9)})
    assert (est["low"], est["high"]) == (1500, 4500)
    assert est["rules_with_figure"] == 1 and est["rules_without_figure"] == 1
    assert est["claims"][0]["rules"] == [{"rule_id": "tcpa-004", "pack_id": "tcpa"}]
    assert est["claims"][0]["count"] == 3
    assert est["disclaimer"] == DISCLAIMER and est["currency"] == "USD"


def test_rules_sharing_a_provision_are_one_claim_per_call():
    asked = []

    def activity(rules):
        asked.append(rules)
        return {"calls": 4, "findings": {("tcpa-004", "tcpa"): 3, ("tcpa-005", "tcpa"): 2}, "days": {}}

    cs = claims(TABLE, ranking(tcpa_004=3, tcpa_005=2), activity)
    assert asked == [[("tcpa-004", "tcpa"), ("tcpa-005", "tcpa")]]
    assert len(cs) == 1 and cs[0].count == 4  # calls in which either fired, not 3 + 2


def test_per_violation_counts_findings():
    cs = claims(TABLE, ranking(x_1=2), lambda rules: {"calls": 2, "findings": {("x-1", "x"): 7}, "days": {}})
    assert cs[0].count == 7 and cs[0].to_dict()["estimated_high"] == 700


def test_a_claim_that_needs_reads_without_a_reader_is_refused():
    with pytest.raises(ValueError):
        claims(TABLE, ranking(x_1=2))


# ------------------------------------------------------------------------------- over a store, end to end


def test_estimate_over_a_store_matches_a_brute_force_count(tmp_path):
    import random

    from trace_engine.evidence.scorecard import Finding
    from trace_engine.evidence.signing import SigningKey
    from trace_engine.evidence.synthetic import synthetic_scorecard
    from trace_engine.store.db import connect
    from trace_engine.store.log import EvidenceLog
    from trace_engine.store.reads import exposure, window_start

    now = 1_770_000_000_000
    rng = random.Random(7)
    pool = [("tcpa-004", "tcpa"), ("tcpa-005", "tcpa"), ("tcpa-001", "tcpa"), ("debt-001", "debt_collection"),
            ("debt-006", "debt_collection"), ("tcpa-007", "tcpa")]
    cards = []
    for i in range(300):
        sc = synthetic_scorecard(i, "acme")
        sc.started_at = now - rng.randrange(40 * DAY)
        sc.findings = [Finding(r, p, "high", "flag", "c", "r", 1.0, 1, (0, 1)) for r, p in rng.sample(pool, rng.randrange(3))]
        sc.verdict = "FAIL" if sc.findings else "PASS"
        cards.append(sc)
    with EvidenceLog(tmp_path / "t.db", SigningKey.generate()) as log:
        log.append_many(cards)
    conn = connect(tmp_path / "t.db", create=False)
    from trace_engine.damages import exposure_with_estimate

    for window in (1, 7, 30):
        since = window_start(window, now)
        got = exposure_with_estimate(conn, "acme", exposure(conn, "acme", window, now_ms=now), since_ms=since)
        est = got["estimated_damages"]
        in_window = [c for c in cards if c.started_at >= since]

        def calls_with(rules, in_window=in_window):
            return sum(1 for c in in_window if {(f.rule_id, f.pack_id) for f in c.findings} & set(rules))

        c5 = calls_with([("tcpa-004", "tcpa"), ("tcpa-005", "tcpa")])
        cipa = calls_with([("tcpa-007", "tcpa")])
        fdcpa = calls_with([("debt-001", "debt_collection"), ("debt-006", "debt_collection")])
        assert (est["low"], est["high"]) == (500 * c5, 1500 * c5 + 5000 * cipa + 1000 * fdcpa), window
        assert {c["citation"]: c["count"] for c in est["claims"]} == {
            k: v for k, v in {"47 U.S.C. § 227(c)(5)": c5, "Cal. Penal Code § 637.2(a)": cipa,
                              "15 U.S.C. § 1692k(a)(2)(A)": fdcpa}.items() if v
        }
        assert est["rules_without_figure"] == (1 if calls_with([("tcpa-001", "tcpa")]) else 0)
    conn.close()
