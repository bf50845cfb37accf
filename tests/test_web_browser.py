"""The dashboard in a real browser: Debian's headless Chromium driven by Python Playwright (its executable path;
Playwright's own browser download is never used) against ``trace serve`` on loopback, over the demo corpus.

Screenshots go to ``$TRACE_TEST_ARTIFACTS/browser`` (default ``test-artifacts/browser`` in the repository).
The module skips only when no Chromium binary exists or Playwright is not installed (``make test`` installs both
when the machine allows it; see the Makefile's ``browser`` target).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from trace_engine.api.auth import create_key
from trace_engine.api.tables import open_db
from trace_engine.api.testing import running_server
from trace_engine.cli import app

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("TRACE_TEST_ARTIFACTS", REPO / "test-artifacts")) / "browser"


def chromium_path() -> str | None:
    for candidate in (os.environ.get("TRACE_CHROMIUM"), "chromium", "chromium-browser", "/usr/bin/chromium",
                      "/usr/lib/chromium/chromium"):
        if candidate and (path := shutil.which(candidate) or (candidate if os.path.isfile(candidate) else None)):
            return path
    return None


sync_api = pytest.importorskip("playwright.sync_api", reason="Python Playwright is not installed")
CHROMIUM = chromium_path()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium binary (apt-get install chromium)")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("web")
    db = root / "t.db"
    done = CliRunner().invoke(
        app, ["rescore", str(REPO / "corpora"), "--db", str(db), "--config", str(REPO / "examples" / "demo_config.json")]
    )
    assert done.exit_code == 0, done.output
    spread_calls(db, root / "trace.key")
    conn = open_db(db, create=True)
    key, _ = create_key(conn, "default", "trace:read")
    conn.close()
    with running_server(db, root / "serve.log", log_level="info") as srv:
        yield {"url": srv.url, "key": key, "root": root, "srv": srv}
        assert "Traceback" not in srv.log_text()


def spread_calls(db: Path, key_path: Path, n: int = 600) -> None:
    """Synthetic calls over the last 40 days (the corpus's calls are all scored today), so the trend has days."""
    import random
    import time

    from trace_engine.evidence.scorecard import Finding
    from trace_engine.evidence.signing import SigningKey
    from trace_engine.evidence.synthetic import synthetic_scorecard
    from trace_engine.store.log import EvidenceLog

    now, rng = int(time.time() * 1000), random.Random(17)
    pool = [("tcpa-004", "tcpa", "critical"), ("tcpa-003", "tcpa", "high"), ("debt-001", "debt_collection", "critical"),
            ("brand-001", "brand_voice", "medium"), ("tcpa-007", "tcpa", "high")]
    cards = []
    for i in range(n):
        sc = synthetic_scorecard(10_000 + i, "default")
        sc.call_id = f"synthetic-{i:04d}"
        sc.started_at = now - rng.randrange(40 * 86_400_000)
        picked = rng.sample(pool, rng.choice((0, 0, 0, 1, 1, 2)))
        sc.findings = [Finding(r, p, sev, "flag", "cite", "reason", 1.0, 2, None) for r, p, sev in picked]
        sc.verdict = "FAIL" if any(f.severity == "critical" for f in sc.findings) else "WARN" if sc.findings else "PASS"
        cards.append(sc)
    with EvidenceLog(db, SigningKey.parse(key_path.read_text(encoding="utf-8"))) as log:
        log.append_many(cards)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def page(browser, world):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    pg = ctx.new_page()
    errors: list[str] = []
    # a refused draft answers 422 on purpose; any other failed load or script error fails the run
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" and "status of 422" not in m.text else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(world["url"] + "/exposure")
    assert "/sign-in" in pg.url
    pg.get_by_label("API key").fill(world["key"])
    pg.get_by_role("button", name="Sign in").click()
    pg.wait_for_url(re.compile(r"/exposure$"))
    yield pg
    ctx.close()
    assert not errors, errors  # no CSP violation, no script error on any page


def shot(pg, name: str) -> None:
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def number(pg, selector: str) -> int:
    return int(pg.locator(selector).inner_text().replace(",", ""))


def api(world, path: str, **params):
    r = httpx.get(world["url"] + path, params=params, headers={"Authorization": f"Bearer {world['key']}"}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def test_sign_in_sets_a_locked_down_session_cookie(page, world):
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["trace_session"]
    assert session["httpOnly"] and session["secure"] and session["sameSite"] == "Strict"
    assert world["key"] not in session["value"]
    assert page.evaluate("document.cookie") == ""  # nothing readable by script


def test_exposure_headline_equals_the_api(page, world):
    page.goto(world["url"] + "/exposure?window=30")
    shot(page, "01-exposure")
    exp = api(world, "/v1/trace/exposure", window_days=30)
    assert number(page, "#calls-scanned") == exp["interactions_scanned"] > 100
    assert number(page, "#with-a-gap") == exp["with_a_gap"]
    assert page.locator("#gap-share").inner_text() == f"{exp['gap_rate']:.1%}"
    for v in ("PASS", "WARN", "FAIL"):
        assert number(page, f"#verdict-{v.lower()}") == exp["by_verdict"][v]
    ranking = page.locator("table.ranking tbody tr")
    assert ranking.count() == len(exp["by_rule"])
    first = exp["by_rule"][0]
    assert page.locator("a.rule-calls").first.get_attribute("data-rule") == first["rule_id"]
    assert number(page, "a.rule-calls >> nth=0") == first["count"]
    assert "not legal advice" in page.locator(".estimate").inner_text()
    low, high = exp["estimated_damages"]["low"], exp["estimated_damages"]["high"]
    assert f"${low:,}" in page.locator("#damages-range").inner_text() and f"${high:,}" in page.locator("#damages-range").inner_text()
    assert page.locator("svg.chart a").count() >= 30  # a bar (link) per day of the window


def test_open_a_call_from_the_ranking_and_see_a_highlighted_finding(page, world):
    page.goto(world["url"] + "/exposure?window=30")
    link = page.locator("a.rule-calls", has_text=re.compile(r"\d")).filter(has=page.locator("xpath=.")).first
    rule_id, count = link.get_attribute("data-rule"), int(link.inner_text().replace(",", ""))
    link.click()
    page.wait_for_url(re.compile(r"/calls\?"))
    assert number(page, "#calls-total") == count  # the number links to exactly the calls behind it
    shot(page, "02-calls-for-rule")
    # a call where the rule fired on words (a span), so its finding is highlighted in the timeline
    for i in range(page.locator("table.calls tbody tr th a").count()):
        page.locator("table.calls tbody tr th a").nth(i).click()
        page.wait_for_url(re.compile(r"/calls/[^?]+$"))
        if page.locator("mark.finding-mark").count():
            break
        page.go_back()
    marks = page.locator("mark.finding-mark")
    assert marks.count() >= 1
    assert rule_id in page.locator("#h-findings").inner_text() or page.locator(f"text={rule_id}").count()
    mark = marks.first
    mark.scroll_into_view_if_needed()
    shot(page, "03-call-detail")
    mark.locator("a").click()
    target = page.url.rsplit("#", 1)[1]
    assert target.startswith("finding-")
    finding = page.locator(f"#{target}")
    assert finding.is_visible() and finding.locator(".reason").inner_text()
    assert "Citation" in finding.inner_text() and "Remedy" in finding.inner_text()
    assert "Verified" in page.locator("#evidence-status").inner_text()
    with page.expect_download() as dl:
        page.locator("#proof-link").click()
    proof_path = world["root"] / "proof.json"
    dl.value.save_as(proof_path)
    result = CliRunner().invoke(app, ["verify-proof", str(proof_path), "--pubkey", str(world["root"] / "trace.pub")])
    assert result.exit_code == 0, result.output
    # how the rules decided: the evaluator's trace, turn by turn, with the finding's rule fired on its turn
    call_url = page.url.split("#", 1)[0]
    page.locator("#explain-link").click()
    page.wait_for_url(re.compile(r"/explain/[^?]+$"))
    shot(page, "03b-explain")
    assert page.locator("h1").inner_text().startswith("How the rules decided call")
    fired = page.locator(".explain .turn.has-findings").first
    assert fired.locator("details").get_attribute("open") is not None  # a turn with findings shows its events
    assert fired.locator(".event").count() >= 1 and fired.locator(".event").first.is_visible()
    assert "fired: " in fired.locator(".turn-findings").inner_text()
    page.locator("a", has_text="← Call").click()
    page.wait_for_url(call_url)


def test_apply_a_filter(page, world):
    page.goto(world["url"] + "/calls")
    page.get_by_role("checkbox", name="FAIL").check()
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"verdict=FAIL"))
    shot(page, "04-calls-filtered")
    verdicts = page.locator("table.calls tbody td .verdict").all_inner_texts()
    assert verdicts and set(verdicts) == {"FAIL"}
    assert number(page, "#calls-total") == api(world, "/v1/trace/exposure", window_days=365)["by_verdict"]["FAIL"]
    # and on the exposure page: one pack
    page.goto(world["url"] + "/exposure")
    page.get_by_label("Pack").select_option("tcpa")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"pack=tcpa"))
    assert "Calls with a tcpa finding" in page.locator(".tiles").inner_text()
    packs = {r.split()[1] for r in page.locator("table.ranking tbody th").all_inner_texts()}
    assert packs == {"tcpa"}
    shot(page, "05-exposure-tcpa")


def test_open_a_pack(page, world):
    page.goto(world["url"] + "/packs")
    page.get_by_role("link", name="Rule packs").click()
    page.locator("a.pack-link", has_text="tcpa").first.click()
    page.wait_for_url(re.compile(r"/packs/tcpa"))
    rule = page.locator("section#tcpa-004")
    assert "Honor a do-not-call request" in rule.inner_text()
    assert "227(c)(5)" in rule.inner_text()  # the damages figure, from the pack's source
    rule.locator("summary").click()
    assert "must_say dnc_confirmation" in rule.locator("pre.source").inner_text()
    shot(page, "06-pack")


def test_run_a_diff(page, world):
    draft = (REPO / "rule_packs" / "tcpa.trace").read_text(encoding="utf-8")
    draft = draft.replace('version "2026.11.0"', 'version "2026.12.0-draft"')
    draft = draft.replace("must_say opt_out_instructions within 2 turns", "must_say opt_out_instructions within 1 turn")
    page.goto(world["url"] + "/diff")
    page.get_by_label("Draft pack").fill(draft)
    page.get_by_label("Recent calls").fill("1000")
    page.get_by_role("button", name="Run the diff").click()
    page.locator("#diff-summary").wait_for(timeout=120_000)
    shot(page, "07-diff")
    summary = page.locator("#diff-summary").inner_text()
    changed = int(re.match(r"\s*([\d,]+) of", summary).group(1).replace(",", ""))
    assert changed >= 1
    assert "tcpa-003" in page.locator("#diff-rules").inner_text()
    # a broken draft is refused with its errors located
    page.get_by_label("Draft pack").fill(draft.replace("severity critical", "severity critcal", 1))
    page.get_by_role("button", name="Run the diff").click()
    alert = page.get_by_role("alert")
    assert "does not parse" in alert.inner_text() and "TS107" in alert.inner_text()


def test_evidence_and_keyboard(page, world):
    page.goto(world["url"] + "/evidence")
    page.get_by_role("button", name="Run verify").click()
    page.wait_for_url(re.compile(r"/evidence"))
    assert page.locator("#verify-result").inner_text().startswith("Verified")
    assert page.locator("#ck-key").inner_text()
    shot(page, "08-evidence")
    page.goto(world["url"] + "/evidence")
    # keyboard: the first Tab reaches the skip link, and it moves focus to the content
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # every form control has a label
    unlabeled = page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]):not([hidden]), select, textarea')]
               .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.name)"""
    )
    assert unlabeled == []


def test_sign_out_ends_the_session(browser, world):
    ctx = browser.new_context()
    pg = ctx.new_page()
    pg.goto(world["url"] + "/sign-in")
    pg.get_by_label("API key").fill("trace_sk_not-a-key")
    pg.get_by_role("button", name="Sign in").click()
    assert "not valid" in pg.get_by_role("alert").inner_text()
    pg.get_by_label("API key").fill(world["key"])
    pg.get_by_role("button", name="Sign in").click()
    pg.wait_for_url(re.compile(r"/exposure"))
    pg.get_by_role("button", name="Sign out").click()
    pg.wait_for_url(re.compile(r"/sign-in"))
    pg.goto(world["url"] + "/calls")
    assert "/sign-in" in pg.url
    ctx.close()
