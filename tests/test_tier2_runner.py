"""Tier-2 inline runner: drop-oldest queue, preempt delivery, store + CLI envelope, fake LLM server."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from trace_engine.shared_data import shared_dir
from trace_engine.tier2 import judges
from trace_engine.tier2.config import Tier2Config
from trace_engine.tier2.judges import Turn, Verdict
from trace_engine.tier2.runner import Tier2Runner, judge_window

SEED = shared_dir() / "seeds" / "001_e3c989389c972ad5.txt"
INSTR = "Say the magic words"


class FakeCall:
    def __init__(self, call_id: str = "c1") -> None:
        self.call_id, self.agent_id, self.tenant = call_id, "agent-1", "default"
        self.preempt: list[str] = []
        self.ended = False


class GateJudge:
    """A judge that blocks until released, then flags caller turns containing 'stop'."""

    check_id = "ambiguous_optout"
    speaker = "any"
    release = threading.Event()
    seen: list[str] = []

    def judge(self, window: tuple[Turn, ...], ctx: Any) -> list[Verdict]:
        GateJudge.release.wait(5)
        GateJudge.seen.append(window[-1].text)
        if "stop" in window[-1].text:
            return [Verdict("ambiguous_optout", "high", 0.9, "preempt_next", "caller", "revoked", INSTR)]
        if "breach" in window[-1].text:
            return [Verdict("ambiguous_optout", "critical", 0.9, "escalate", "agent", "bad", None)]
        return []


@pytest.fixture
def fake_judge(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(judges.REGISTRY, "ambiguous_optout", f"{__name__}:GateJudge")
    judges._INSTANCES.pop("ambiguous_optout", None)
    GateJudge.release.clear()
    GateJudge.seen = []
    yield GateJudge
    GateJudge.release.set()
    judges._INSTANCES.pop("ambiguous_optout", None)


def test_queue_drops_oldest_and_counts(fake_judge) -> None:
    r = Tier2Runner({"checks": ["ambiguous_optout"], "queue_size": 3})
    call = FakeCall()
    r.on_turn(call, "caller", "first", 0.0)  # picked up by the worker, which blocks in the judge
    deadline = time.monotonic() + 5
    while r._queue and time.monotonic() < deadline:
        time.sleep(0.005)
    for i in range(10):
        r.on_turn(call, "caller", f"turn {i}", float(i))
    # on_turn never waits for the worker: ten turns were taken while the judge is still blocked on the first
    assert fake_judge.seen == [] and not fake_judge.release.is_set()
    assert r.dropped == 7 and len(r._queue) == 3
    fake_judge.release.set()
    assert r.flush(5)
    assert fake_judge.seen == ["first", "turn 7", "turn 8", "turn 9"]  # the oldest went first
    r.close()


def test_preempt_reaches_next_decision(fake_judge) -> None:
    from trace_engine.gate.engine import Engine

    fake_judge.release.set()
    got: list[tuple[str, str]] = []
    r = Tier2Runner({"checks": ["ambiguous_optout"]}, on_preempt=lambda call, f: got.append((call.call_id, f["id"])))
    engine = Engine.from_config({"rule_packs": {}}, observers=(r,))
    call = engine.start_call("live-1", agent_id="a")
    assert call.agent_turn("hello, quick offer", 0.0).preempt == ()
    call.caller_turn("please stop", 1.0)
    assert r.flush(5)
    d = call.agent_turn("so about that offer", 2.0)
    assert d.preempt == (INSTR,) and got and got[0][0] == "live-1"
    assert call.agent_turn("anything else?", 3.0).preempt == ()  # delivered once
    call.end(4.0)
    r.close()


def test_findings_store_cli_envelope_and_alerts(fake_judge, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from trace_engine.cli import app
    from trace_engine.store.db import connect
    from trace_engine.tier2.store import list_alerts, list_findings

    fake_judge.release.set()
    db = tmp_path / "trace.db"
    connect(db).close()
    r = Tier2Runner({"checks": ["ambiguous_optout"]}, db=str(db))
    for i in range(3):
        r.on_turn(FakeCall(f"call-{i}"), "caller", "stop calling", 1.0)
    r.on_turn(FakeCall("call-9"), "agent", "breach", 2.0)
    assert r.flush(5)
    r.close()
    assert len(r.alert_feed()) == 1
    page = list_findings(str(db), limit=2)
    assert page["object"] == "list" and page["has_more"] and len(page["data"]) == 2
    rest = list_findings(str(db), limit=2, cursor=page["next_cursor"])
    assert len(rest["data"]) == 2 and not rest["has_more"]
    assert [f["interaction_id"] for f in list_alerts(str(db))["data"]] == ["call-9"]
    res = CliRunner().invoke(app, ["findings", "--db", str(db), "--check-id", "ambiguous_optout",
                                   "--severity", "high", "--format", "json"])
    assert res.exit_code == 0, res.output
    env = json.loads(res.output)
    assert set(env) == {"object", "data", "has_more", "next_cursor"} and len(env["data"]) == 3
    res = CliRunner().invoke(app, ["findings", "--db", str(db), "--alerts", "--format", "json"])
    assert [f["severity"] for f in json.loads(res.output)["data"]] == ["critical"]
    if SEED.is_file():
        jsonschema = pytest.importorskip("jsonschema")
        schema = json.loads(SEED.read_text())["components"]["schemas"]["TraceFinding"]
        schema = json.loads(json.dumps(schema).replace('"nullable": true', '"nullable_": true'))
        for f in env["data"]:
            for k, spec in schema["properties"].items():
                assert k in f
                if spec.get("nullable_") and f[k] is None:
                    continue
                sub = {kk: vv for kk, vv in spec.items() if kk in ("type", "enum")}
                if "enum" in sub:
                    sub["enum"] = [e for e in sub["enum"] if e is not None]
                jsonschema.validate(f[k], sub)


def test_llm_judge_against_local_fake_server() -> None:
    requests: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
            last = body["messages"][-1]["content"]
            verdict = {"concern": "seventy five" in last, "confidence": 0.8, "severity": "high",
                       "reason": "price not in the knowledge base"}
            out = json.dumps({"choices": [{"message": {"role": "assistant", "content": json.dumps(verdict)}}]})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(out.encode())

        def log_message(self, *a: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    server.timeout = 2
    th = threading.Thread(target=lambda: [server.handle_request() for _ in range(2)], daemon=True)
    th.start()
    try:
        cfg = Tier2Config(checks=["hallucination"], knowledge_base=["Unlimited costs $65 per month."],
                          llm={"enabled": True, "url": f"http://127.0.0.1:{server.server_port}/v1",
                               "api_key": "k-test", "checks": ["hallucination"], "replace_local": True,
                               "timeout_s": 2})
        bad = judge_window(cfg, (Turn("agent", "unlimited is seventy five dollars"),), call_id="x")
        good = judge_window(cfg, (Turn("agent", "unlimited is sixty five dollars"),), call_id="x")
    finally:
        th.join(5)
        server.server_close()
    assert [f["check_id"] for f in bad] == ["hallucination"] and bad[0]["reason"].startswith("LLM judge:")
    assert good == []
    assert requests[0]["path"] == "/v1/chat/completions" and requests[0]["auth"] == "Bearer k-test"
    assert "Unlimited costs $65" in requests[0]["body"]["messages"][-1]["content"]


def test_llm_unreachable_yields_nothing() -> None:
    cfg = Tier2Config(checks=["brand_tone"], llm={"enabled": True, "url": "http://127.0.0.1:9/v1",
                                                  "checks": ["brand_tone"], "replace_local": True, "timeout_s": 0.5})
    assert judge_window(cfg, (Turn("agent", "you're an idiot"),)) == []


class ContextJudge:
    """Records the call context each judged turn was read in."""

    check_id = "ambiguous_optout"
    speaker = "any"
    seen: list[Any] = []

    def judge(self, window: tuple[Turn, ...], ctx: Any) -> list[Verdict]:
        ContextJudge.seen.append((window[-1].text, ctx.call))
        return []


def test_runner_reads_the_gate_states_per_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(judges.REGISTRY, "ambiguous_optout", f"{__name__}:ContextJudge")
    judges._INSTANCES.pop("ambiguous_optout", None)
    ContextJudge.seen = []
    r = Tier2Runner({"checks": ["ambiguous_optout"]})
    a, b = FakeCall("a"), FakeCall("b")
    a.states = {}
    b.states = {"verified": True}
    r.on_turn(a, "agent", "thank you for calling northwind clinic", 0.0)
    r.on_turn(a, "caller", "hi, this is his wife", 1.0)
    r.on_turn(b, "caller", "it's about my results", 0.0)
    a.states = {"verified": True}  # a state set later applies from the next turn on
    r.on_turn(a, "agent", "thanks, one moment", 2.0)
    assert r.flush(5)
    r.on_end(a, None)
    assert r.flush(5)
    ctx = {text: c for text, c in ContextJudge.seen}
    assert ctx["hi, this is his wife"].third_party and ctx["hi, this is his wife"].phone
    assert not ctx["hi, this is his wife"].verified
    assert ctx["it's about my results"].verified and not ctx["it's about my results"].third_party
    assert ctx["thanks, one moment"].verified and "verified" in ctx["thanks, one moment"].states
    assert id(a) not in r._trackers and id(b) in r._trackers
    r.close()
    judges._INSTANCES.pop("ambiguous_optout", None)
