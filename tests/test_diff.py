"""``trace diff`` (trace_engine.diff + the CLI), the span mapper behind its examples (trace_engine.evidence.spans),
and ``trace exposure --format csv|markdown``."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trace_engine.cli import app
from trace_engine.diff import DiffRun, Side, run_diff, to_markdown, to_text, transcript_from_scorecard
from trace_engine.evidence import spans
from trace_engine.gate.engine import Engine
from trace_engine.packs import builtin_pack_path, load_pack_file
from trace_engine.rescore import offline_config, score_transcript
from trace_engine.transcripts import load_transcripts

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpora"
TCPA = builtin_pack_path("tcpa")
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def draft(tmp_path_factory) -> Path:
    """tcpa with the opt-out offer due in 1 turn instead of 2, and one more exception to the DNC pitch ban."""
    text = TCPA.read_text(encoding="utf-8")
    text = text.replace('version "2026.11.0"', 'version "2026.12.0-draft"')
    assert "must_say opt_out_instructions within 2 turns" in text
    text = text.replace("must_say opt_out_instructions within 2 turns", "must_say opt_out_instructions within 1 turn")
    path = tmp_path_factory.mktemp("draft") / "tcpa_v2.trace"
    path.write_text(text, encoding="utf-8")
    return path


def engine(*packs) -> Engine:
    from trace_engine.gate.config import load_config

    return Engine.from_config(offline_config(load_config({"rule_packs": {}})), packs=list(packs))


def transcripts():
    return [t for f in sorted(CORPUS.glob("*.jsonl")) for t in load_transcripts(str(f))]


def test_the_same_side_twice_changes_nothing():
    e = engine(load_pack_file(TCPA))
    report = run_diff(transcripts(), Side("a", e), Side("b", e)).report()
    assert report["calls"] == len(transcripts()) > 100
    assert (report["changed"], report["rules"], report["examples"], report["changed_calls"]) == (0, [], [], [])
    assert report["verdicts"]["before"] == report["verdicts"]["after"]


def test_a_draft_changes_exactly_what_differs(draft):
    before = Side("tcpa", engine(load_pack_file(TCPA)))
    after = Side("draft", engine(load_pack_file(draft)))
    report = run_diff(transcripts(), before, after).report()
    assert report["after"]["packs"] == ["tcpa@2026.12.0-draft"] and report["before"]["packs"] == ["tcpa@2026.11.0"]
    # brute force: the per-rule counts equal the scorecards' differences
    added = removed = changed = 0
    for t in transcripts():
        b = score_transcript(before.engine, t).to_dict()
        a = score_transcript(after.engine, t).to_dict()
        kb = sorted((f["rule_id"], f["turn"], str(f["span"])) for f in b["findings"])
        ka = sorted((f["rule_id"], f["turn"], str(f["span"])) for f in a["findings"])
        if kb != ka or b["verdict"] != a["verdict"]:
            changed += 1
        added += len([k for k in ka if k not in kb])
        removed += len([k for k in kb if k not in ka])
    assert (report["changed"], report["findings_added"], report["findings_removed"]) == (changed, added, removed)
    assert changed > 0 and {r["rule_id"] for r in report["rules"]} == {"tcpa-003"}
    assert sum(r["added"] for r in report["rules"]) == report["findings_added"]
    assert len(report["changed_calls"]) == report["changed"]
    ex = report["examples"][0]
    assert ex["rule_id"] == "tcpa-003" and ex["turn"] and ex["role"] == "agent" and ex["text"]
    assert ex["reason"].startswith("Early in the call")
    text = to_text(report)
    assert "tcpa-003" in text and "Offer the opt-out early" in text and "changed: " in text
    assert "| `tcpa-003` | tcpa | Offer the opt-out early |" in to_markdown(report)


def test_examples_mark_the_finding_words_in_the_stored_text():
    brand = engine(load_pack_file(builtin_pack_path("brand_voice")))
    t = next(t for t in transcripts() if any(f.rule_id == "brand-001" for f in score_transcript(brand, t).findings))
    run = DiffRun(Side("pii", engine(load_pack_file(builtin_pack_path("pii")))), Side("brand", brand))
    run.score(t)
    ex = next(x for x in run.report()["examples"] if x["rule_id"] == "brand-001")
    assert ex["change"] == "added" and ex["mark"] is not None
    assert "guarantee" in ex["text"][ex["mark"][0] : ex["mark"][1]].lower()


def test_cli_json_markdown_exit_codes(draft, tmp_path):
    corpus = CORPUS / "outbound_calls.jsonl"
    r = invoke("diff", corpus, "--before", "tcpa", "--after", draft, "--format", "json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["object"] == "trace.diff" and report["changed"] > 0
    assert invoke("diff", corpus, "--before", "tcpa", "--after", draft, "--fail-on-change").exit_code == 1
    assert invoke("diff", corpus, "--before", "tcpa", "--after", "tcpa", "--fail-on-change").exit_code == 0
    md = invoke("diff", corpus, "--before", "tcpa", "--after", draft, "--format", "markdown")
    assert md.exit_code == 0 and md.stdout.startswith("# trace diff")
    # a config side with a pack replacing its pack of the same id
    cfg = tmp_path / "prod.json"
    cfg.write_text(json.dumps({"rule_packs": {"tcpa": {"enabled": True}, "pii": {"enabled": True}}}))
    r = invoke("diff", corpus, "--before", cfg, "--after", f"{cfg},{draft}", "--format", "json")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["before"]["packs"] == ["pii@2026.11.0", "tcpa@2026.11.0"]
    assert rep["after"]["packs"] == ["pii@2026.11.0", "tcpa@2026.12.0-draft"]
    assert rep["changed"] == report["changed"]
    # a malformed record is skipped (exit 3), an unknown side is a usage error, a broken pack exit 1
    bad = tmp_path / "calls.jsonl"
    bad.write_text(corpus.read_text().splitlines()[0] + "\n{not json\n")
    r = invoke("diff", bad, "--before", "tcpa", "--after", draft, "--format", "json")
    assert r.exit_code == 3 and json.loads(r.stdout)["skipped"][0].startswith(f"{bad}:2:")
    assert invoke("diff", corpus, "--before", "nope", "--after", draft).exit_code == 2
    broken = tmp_path / "broken.trace"
    broken.write_text(draft.read_text().replace("severity critical", "severity critcal", 1))
    r = invoke("diff", corpus, "--before", "tcpa", "--after", broken)
    assert r.exit_code == 1 and "TS107" in r.output
    assert invoke("diff", tmp_path / "missing.jsonl", "--before", "tcpa", "--after", draft).exit_code == 2


def test_stored_calls_replay_to_the_same_findings(tmp_path):
    """A call rebuilt from its stored scorecard, re-scored under the config that scored it, gives the findings
    the log holds (calls without redactions: redacted text cannot carry detector findings)."""
    from trace_engine.store.reads import interaction_detail, list_interactions

    db = tmp_path / "t.db"
    assert invoke("rescore", CORPUS, "--db", db, "--config", REPO / "examples" / "demo_config.json").exit_code == 0
    from trace_engine.gate.config import load_config

    e = Engine.from_config(offline_config(load_config(REPO / "examples" / "demo_config.json")))
    page, checked = list_interactions(db, "default", limit=100), 0
    for row in page["data"]:
        sc = interaction_detail(db, "default", row["id"])["scorecard"]
        if sc["redactions"]:
            continue
        again = score_transcript(e, transcript_from_scorecard(sc)).to_dict()
        key = lambda card: sorted((f["rule_id"], f["turn"], str(f["span"]), f["reason"]) for f in card["findings"])  # noqa: E731
        assert key(again) == key(sc), sc["call_id"]
        assert again["verdict"] == sc["verdict"]
        checked += 1
    assert checked > 50


# ------------------------------------------------------------------------------------------------ spans


def card(text: str, redactions, findings, stored: str | None = None) -> dict:
    return {
        "timeline": [{"seq": 1, "t_ms": 0, "role": "agent", "text": stored if stored is not None else text}],
        "redactions": [{"kind": k, "turn": 1, "span": list(s), "rule_id": None} for k, s in redactions],
        "findings": findings,
    }


def test_locate_maps_spans_through_redactions():
    original = "card 4111 1111 1111 1111 and we guarantee it, email a@b.co ok"
    c_start = original.index("4111")
    c_end = c_start + len("4111 1111 1111 1111")
    e_start = original.index("a@b.co")
    stored = original[:c_start] + "[credit_card]" + original[c_end:e_start] + "[email]" + original[e_start + 6 :]
    g = original.index("guarantee")
    f = {"rule_id": "brand-001", "turn": 1, "span": [g, g + 9], "action_taken": "flag"}
    sc = card(original, [("credit_card", (c_start, c_end)), ("email", (e_start, e_start + 6))], [f], stored)
    s, e = spans.locate(sc, f)
    assert stored[s:e] == "guarantee"
    # a span over a redacted value covers its placeholder
    cc = {"rule_id": "pii-001", "turn": 1, "span": [c_start, c_end], "action_taken": "flag"}
    s, e = spans.locate({**sc, "findings": [f, cc]}, cc)
    assert stored[s:e] == "[credit_card]"
    tail = {"rule_id": "x", "turn": 1, "span": [e_start + 2, len(original)], "action_taken": "flag"}
    s, e = spans.locate({**sc, "findings": [tail]}, tail)
    assert stored[s:e] == "[email] ok"


def test_locate_refuses_to_guess():
    f = {"rule_id": "r", "turn": 1, "span": [0, 4], "action_taken": "flag"}
    assert spans.locate(card("abcd efgh", [], [f]), f) == (0, 4)
    rewritten = {**f, "action_taken": "modify"}
    assert spans.locate(card("abcd efgh", [], [rewritten]), rewritten) is None  # the stored text was rewritten
    # placeholders not where the redactions say: not the text the spans refer to
    assert spans.locate(card("abcd efgh", [("email", (5, 9))], [f], stored="abcd [phone]"), f) is None
    assert spans.locate(card("abcd", [], [f]), {**f, "span": [2, 40]}) is None
    assert spans.locate(card("abcd", [], [f]), {**f, "span": None}) is None
    assert spans.locate(card("abcd", [], [f]), {**f, "turn": 7}) is None


# ------------------------------------------------------------------------------------ exposure reports


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    db = tmp_path_factory.mktemp("exp") / "t.db"
    assert invoke("rescore", CORPUS, "--db", db, "--config", REPO / "examples" / "demo_config.json").exit_code == 0
    return db


def test_exposure_reports_agree_with_the_json(db):
    exp = json.loads(invoke("exposure", "--db", db, "--format", "json").stdout)
    assert exp["estimated_damages"]["object"] == "trace.exposure_estimate"
    rows = list(csv.DictReader(io.StringIO(invoke("exposure", "--db", db, "--format", "csv").stdout)))
    assert [(r["rule_id"], int(r["calls"])) for r in rows] == [(r["rule_id"], r["count"]) for r in exp["by_rule"]]
    tcpa4 = next(r for r in rows if r["rule_id"] == "tcpa-004")
    assert (tcpa4["damages_per"], tcpa4["damages_low"], tcpa4["damages_high"]) == ("call", "500", "1500")
    assert tcpa4["title"] == "Honor a do-not-call request"
    md = invoke("exposure", "--db", db, "--format", "markdown").stdout
    assert f"| calls scanned | {exp['interactions_scanned']:,} |" in md
    assert f"| with a gap (WARN or FAIL) | {exp['with_a_gap']:,} (" in md
    assert "not legal advice" in md and "## By day" in md
    one = json.loads(invoke("exposure", "--db", db, "--format", "json", "--pack", "tcpa").stdout)
    assert one["by_rule"] and {r["pack_id"] for r in one["by_rule"]} == {"tcpa"}
    text = invoke("exposure", "--db", db, "--pack", "tcpa").stdout
    assert "with a tcpa finding" in text and "estimated statutory exposure" in text
    # the text counts claims (a provision's figure once per call), not the provisions they fall under
    est = exp["estimated_damages"]
    whole = " ".join(invoke("exposure", "--db", db).stdout.split())
    assert (
        f"from {sum(c['count'] for c in est['claims'])} claim(s) under {len(est['claims'])} provision(s);" in whole
    )


def test_csv_cells_cannot_become_formulas():
    from trace_engine.report import csv_cell

    assert csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and csv_cell("+1") == "'+1" and csv_cell("ok") == "ok"
