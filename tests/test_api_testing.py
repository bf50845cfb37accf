"""The loopback server the API tests start (``trace_engine.api.testing``): a port taken between the moment
:func:`free_port` found it free and the moment the server binds it costs a restart on another port, not the test."""

from __future__ import annotations

import socket

import httpx

from trace_engine.api import testing


def test_a_server_whose_port_was_taken_starts_on_another(tmp_path, monkeypatch):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        chosen: list[int] = []
        real_free_port = testing.free_port

        def free_port() -> int:
            # the first choice is a port another process holds (the race, made certain)
            port = busy if not chosen else real_free_port()
            chosen.append(port)
            return port

        monkeypatch.setattr(testing, "free_port", free_port)
        with testing.running_server(tmp_path / "trace.db", tmp_path / "server.log") as server:
            assert chosen[0] == busy and server.port == chosen[-1] != busy
            assert httpx.get(server.url + "/readyz", timeout=10).status_code == 200
