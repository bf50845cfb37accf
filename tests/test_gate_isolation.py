"""The gate never imports the web API: importing Trace, building an engine (from a config, or pulled from a service
with ETag revalidation, the last good config on an outage and the safe default) and gating a call load no web
framework and nothing under ``trace_engine.api``. Each case runs in a fresh interpreter and reads ``sys.modules``."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PRELUDE = textwrap.dedent(
    """
    import json, sys
    FORBIDDEN = ("fastapi", "starlette", "uvicorn", "trace_engine.api")

    def loaded():
        return sorted(m for m in sys.modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))

    def gate_a_call(engine):
        call = engine.start_call("call-1", metadata={"direction": "outbound"})
        decision = call.agent_turn("your card 4111 1111 1111 1111 is on file")
        call.caller_turn("ok thanks")
        card = call.end()
        return decision.text, card.verdict
    """
)


def _run(body: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(body)], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_trace_and_gating_a_call_loads_no_web_framework():
    out = _run(
        """
        import trace_engine, trace_engine.gate
        from trace_engine import Engine, Decision, Scorecard, AgentStream
        engine = Engine.from_config({"rule_packs": {"pii": {"enabled": True}}, "guardrails": {"mode": "modify"}})
        text, verdict = gate_a_call(engine)
        stream = engine.start_call("call-2").agent_stream()
        stream.feed("call me at 415 555 ")
        stream.feed("0132 tomorrow")
        stream.close()
        print(json.dumps({"loaded": loaded(), "text": text}))
        """
    )
    assert out["loaded"] == []
    assert "4111 1111 1111 1111" not in out["text"]


SERVER = """
    import http.server, threading
    from trace_engine.dsl.jsonform import pack_to_dict
    from trace_engine.packs import resolve_pack

    SPEC = pack_to_dict(resolve_pack("pii", None))
    CONFIG = {"enabled": True, "rule_packs": {"pii": {"enabled": True}}, "guardrails": {"mode": "modify"}}
    seen = []

    class Service(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            path = self.path.split("?")[0]
            body, etag = ({"config": CONFIG}, "cfg-1") if path == "/v1/trace/config" else ({"spec": SPEC}, "pii-1")
            assert self.headers["Authorization"] == "Bearer sk-test"
            if self.headers.get("If-None-Match") == f'"{etag}"':
                seen.append((path, 304))
                self.send_response(304)
                self.end_headers()
                return
            seen.append((path, 200))
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("ETag", f'"{etag}"')
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Service)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
"""


def test_pulling_config_from_a_service_loads_no_web_framework(tmp_path):
    out = _run(
        SERVER
        + f"""
    from trace_engine import Engine
    cache = {str(tmp_path / "cache")!r}
    first = Engine.from_service(url, "sk-test", "agent-1", cache_dir=cache)
    again = Engine.from_service(url, "sk-test", "agent-1", cache_dir=cache)
    server.shutdown(); server.server_close()
    from trace_engine.gate import remote
    remote._MEMORY.clear()  # a restarted agent process: only the disk cache is left
    outage = Engine.from_service(url, "sk-test", "agent-1", cache_dir=cache)
    text, verdict = gate_a_call(outage)
    print(json.dumps({{"loaded": loaded(), "seen": seen, "text": text,
                       "sources": [e.distribution["source"] for e in (first, again, outage)],
                       "packs": outage.distribution["rule_packs"]}}))
    """
    )
    assert out["loaded"] == []
    assert out["sources"] == ["service", "service", "cache"]
    assert out["seen"] == [["/v1/trace/config", 200], ["/v1/trace/rule-packs/pii", 200],
                           ["/v1/trace/config", 304], ["/v1/trace/rule-packs/pii", 304]]
    assert list(out["packs"]) == ["pii"] and "4111 1111 1111 1111" not in out["text"]
    assert "sk-test" not in "".join(p.read_text() for p in (tmp_path / "cache").iterdir())


def test_nothing_cached_and_no_service_is_the_safe_default_without_a_web_framework():
    out = _run(
        """
        import socket
        from trace_engine import Engine
        from trace_engine.gate.remote import SAFE_DEFAULT
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]  # closed again: nothing listens there
        engine = Engine.from_service(f"http://127.0.0.1:{port}", "sk-test", "agent-1", timeout=0.5)
        text, verdict = gate_a_call(engine)
        print(json.dumps({"loaded": loaded(), "source": engine.distribution["source"], "text": text,
                          "verdict": verdict, "enabled": SAFE_DEFAULT["enabled"]}))
        """
    )
    assert out["loaded"] == []
    assert out["source"] == "default" and out["enabled"] is False
    assert "4111" in out["text"]  # the safe default enforces nothing: a pass-through, never a silent block


@pytest.mark.parametrize("module", ["trace_engine.gate", "trace_engine.gate.remote", "trace_engine.gate.stream"])
def test_no_gate_module_imports_the_api(module):
    out = _run(f"import {module}\nprint(json.dumps({{'loaded': loaded()}}))")
    assert out["loaded"] == []


def test_the_service_still_re_exports_the_client():
    from trace_engine.api import distribution
    from trace_engine.gate import remote

    assert distribution.engine_from_service is remote.engine_from_service
    assert distribution.DistributionError is remote.DistributionError
    assert distribution._MEMORY is remote._MEMORY
