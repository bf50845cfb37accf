"""Run a real ``trace serve`` on loopback for tests and benchmarks: a free port, a bounded start, a clean stop."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    port: int
    log_path: Path
    process: subprocess.Popen

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def wait_for_log(self, until: Callable[[str], bool], timeout: float = 60.0) -> str:
        """The log once ``until(text)`` holds (or at the deadline, a deadlock guard): the access line of a request
        is written after its response went out, so a client can read the log before the line is there."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.log_text()
            if until(text) or time.monotonic() > deadline:
                return text
            time.sleep(0.05)


#: starts of ``trace serve`` tried before giving up when each port :func:`free_port` chose was taken before the
#: server bound it (the port is free when chosen, and another process may take it in between)
BIND_ATTEMPTS = 5


@contextlib.contextmanager
def running_server(
    db_path: str | os.PathLike[str],
    log_path: str | os.PathLike[str],
    *,
    start_timeout: float = 60.0,
    log_level: str = "debug",
    env: dict[str, str] | None = None,
    args: list[str] | None = None,
    ready_path: str = "/readyz",
) -> Iterator[Server]:
    """``trace serve --db DB --port <free> [args]`` in a subprocess (stderr and stdout to ``log_path``), yielded once
    ``/readyz`` answers 200 (the database is open and the rule-pack compilers are up). A server that exits because
    its port was taken meanwhile is started again on another (at most :data:`BIND_ATTEMPTS` times)."""
    log_path = Path(log_path)
    for _ in range(BIND_ATTEMPTS):
        port = free_port()
        fh = open(log_path, "wb")  # noqa: SIM115 - closed by _stop
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "trace_engine",
                "serve",
                "--db",
                str(db_path),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                log_level,
                *(args or []),
            ],
            stdout=fh,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        url = f"http://127.0.0.1:{port}"
        try:
            ready = _wait_ready(proc, url + ready_path, log_path, start_timeout)
        except BaseException:
            _stop(proc, fh)
            raise
        if ready:
            break
        _stop(proc, fh)
    else:
        raise RuntimeError(f"trace serve found its port taken {BIND_ATTEMPTS} times: {_log_tail(log_path)}")
    try:
        yield Server(url, port, log_path, proc)
    finally:
        _stop(proc, fh)


def _wait_ready(proc: subprocess.Popen, ready_url: str, log_path: Path, timeout: float) -> bool:
    """Wait until ``ready_url`` answers 200 (``True``); ``False`` when the server exited because its port was taken.
    Raises ``RuntimeError`` when it exited otherwise or did not start within ``timeout`` seconds."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            log = _log_tail(log_path)
            if "address already in use" in log.lower():
                return False
            raise RuntimeError(f"trace serve exited with {proc.returncode}: {log}")
        try:
            if httpx.get(ready_url, timeout=1.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"trace serve did not start within {timeout}s")
        time.sleep(0.1)


def _log_tail(log_path: Path) -> str:
    return log_path.read_text(errors="replace")[-2000:]


def _stop(proc: subprocess.Popen, log: IO[bytes]) -> None:
    """Stop the server (terminate, then kill after 10 s) and close its log file."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    log.close()
