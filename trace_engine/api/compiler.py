"""Rule-pack uploads compile in separate processes, each with a time and a memory budget.

Compiling a pack runs C code (pyahocorasick, RE2) on tenant input, and parsing, compiling and linting a large pack
takes seconds of CPU. Neither belongs in the server process: one bad pack must not kill the server for every
tenant, and one tenant's upload must not hold the GIL while another tenant reads. So the server hands the pack's
text to a **compiler process** (``python -m trace_engine.api.compiler``), which

* lowers its own priority (``nice 19``) so the server's requests come first on a busy machine,
* caps its address space (``RLIMIT_AS``, ``compile_memory_mb``): a pack that needs more gets ``MemoryError``,
* runs :func:`compile_upload` (JSON form -> limits -> compile -> lint) and answers with plain JSON.

The budget is the compiler's own CPU time (``compile_seconds``, read from ``/proc``), not the wall clock: the
compiler runs at nice 19, so on a busy server it waits for the CPU, and a valid pack must not become "too complex"
because other work ran meanwhile. A compiler that spends more than its budget on one job is killed and replaced,
and so is one that dies (a signal, an allocation failure in C): only that request fails, with a 400
``pack_too_complex``. A compiler that is still under its CPU budget when ``compile_wall_seconds`` have passed was
starved, not given a bad pack: it is replaced too, and the upload gets 503 ``compiler_busy`` (retry later).
Without ``/proc`` (not Linux) the budget falls back to ``compile_seconds`` of wall-clock time.
At most ``compile_workers`` compilations run at once and ``compile_queue`` more may wait; beyond that an upload
gets 503 ``compiler_busy`` at once, with ``Retry-After``.

Messages on the pipes are a UTF-8 JSON header and an opaque payload, each behind an 8-byte big-endian length.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("trace.api.compiler")

UPLOAD_FILE = "rule-pack.json"
#: diagnostics sent back at most (the first ones by location): enough to fix a pack, bounded for a hostile one
MAX_REPORTED = 100
WARM_UP = json.dumps(
    {
        "pack_id": "warm_up",
        "version": "0",
        "jurisdiction": "-",
        "legal_status": "-",
        "rules": [
            {
                "id": "w-1",
                "title": "t",
                "severity": "low",
                "citation": "c",
                "reason": "r",
                "checks": [{"kind": "must_not_say", "match": {"phrases": ["warm up"]}}],
            }
        ],
    }
)


# ================================================================================ the work (in the compiler)


def _diag(d: Any) -> dict[str, Any]:
    out = {"code": d.code, "level": d.level, "message": d.message, "location": d.location.to_dict()}
    if d.hint:
        out["hint"] = d.hint
    return out


def read_upload(body: bytes | str) -> tuple[dict[str, Any], str | None]:
    """Phase 1 of an upload, in the compiler: parse the body and check it structurally (the seed's "structural
    validation": ``pack_id``, ``version``, non-empty ``rules``, against the served ``TraceRulePackSpec``).

    Returns ``(header, text_to_compile)``: ``header`` is ``{"status": "header", "pack_id", "version"}`` when the
    pack may be compiled (the server then checks for a duplicate or a built-in ``pack_id`` before saying go), or
    ``{"status": "invalid", ...}`` (``text_to_compile`` is then ``None``). Parsing 2 MB of JSON and walking it
    takes the better part of a second of CPU; doing it here keeps it off the server's GIL.
    """
    from trace_engine.api import schemas
    from trace_engine.api.resources import with_upload_defaults
    from trace_engine.compile.limits import LIMITS, has_non_finite, json_depth_exceeds, reject_constant

    def bad(code: str, message: str, pointer: str = "/", limit: str | None = None) -> tuple[dict[str, Any], None]:
        return {
            "status": "invalid",
            "stage": "limits" if limit else "structure",
            "errors": [{"code": code, "message": message, "pointer": pointer}],
            "limit": {"name": limit, "max": LIMITS.as_dict()[limit]} if limit else None,
        }, None

    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError as exc:
        return bad("TJ001", f"the body is not UTF-8 (byte {exc.start})")
    if text.startswith("\ufeff"):
        text = " " + text[1:]
    try:
        data = json.loads(text, parse_constant=reject_constant)
    except RecursionError:
        return bad("TS302", f"the body is nested more than {LIMITS.nesting} levels deep", limit="nesting")
    except ValueError as exc:
        return bad("TJ001", f"invalid JSON: {exc}")
    if json_depth_exceeds(data, LIMITS.nesting):
        return bad("TS302", f"the body is nested more than {LIMITS.nesting} levels deep", limit="nesting")
    if has_non_finite(data):
        return bad("TJ001", "the body holds a number JSON cannot represent (such as 1e999)")
    if not isinstance(data, dict):
        return bad("schema", "a rule pack must be a JSON object")
    rules = data.get("rules")
    if isinstance(rules, list) and len(rules) > LIMITS.rules:
        return bad("TS303", f"the pack has {len(rules)} rules; the limit (rules) is {LIMITS.rules}", "/rules", "rules")
    shape = schemas.errors("TraceRulePackSpec", data)
    if shape:
        return {"status": "invalid", "stage": "structure", "errors": shape[:MAX_REPORTED], "limit": None}, None
    return {"status": "header", "pack_id": data["pack_id"], "version": data["version"]}, with_upload_defaults(text, data)


def compile_upload(text: str) -> dict[str, Any]:
    """Parse, bound, compile and lint one uploaded JSON pack. Returns a JSON-able outcome::

        {"status": "ok", "pack": {pack_id, version, jurisdiction, legal_status}, "spec": "<canonical JSON>",
         "warnings": [diagnostic...]}
        {"status": "invalid", "stage": "parse" | "limits" | "compile" | "lint", "errors": [diagnostic...],
         "limit": {"name", "max"} | None}
    """
    from trace_engine.compile import compile_packs
    from trace_engine.compile.limits import CODE_LIMITS, LIMITS, check_pack
    from trace_engine.dsl.jsonform import load_json_pack, pack_to_dict
    from trace_engine.dsl.lint import lint_pack
    from trace_engine.errors import TraceError

    def invalid(stage: str, diags: list[Any]) -> dict[str, Any]:
        errors = [_diag(d) for d in diags[:MAX_REPORTED]]
        limit = next((CODE_LIMITS[d.code] for d in diags if d.code in CODE_LIMITS), None)
        return {
            "status": "invalid",
            "stage": "limits" if limit else stage,
            "errors": errors,
            "limit": {"name": limit, "max": LIMITS.as_dict()[limit]} if limit else None,
        }

    try:
        pack, source = load_json_pack(text, UPLOAD_FILE)
    except TraceError as exc:
        return invalid("parse", exc.diagnostics)
    beyond = check_pack(pack, source)
    if beyond:
        return invalid("limits", beyond)
    try:
        compile_packs([pack])
    except TraceError as exc:
        return invalid("compile", exc.diagnostics)
    findings = lint_pack(pack, source)
    errors = [d for d in findings if d.level == "error"]
    if errors:
        return invalid("lint", errors)
    spec = pack_to_dict(pack)
    return {
        "status": "ok",
        "pack": {
            "pack_id": pack.pack_id,
            "version": pack.version,
            "jurisdiction": pack.jurisdiction,
            "legal_status": pack.legal_status,
        },
        "spec": json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
        "warnings": [_diag(d) for d in findings if d.level != "error"][:MAX_REPORTED],
    }


# ======================================================================================== the wire


def _write(fd: int, doc: Any, payload: bytes = b"") -> None:
    """One message: a small JSON header and an opaque payload (the pack's text, the compiled spec), each behind
    an 8-byte length, so megabytes of text are copied, never JSON-escaped and parsed again by the server."""
    head = json.dumps(doc, ensure_ascii=False).encode("utf-8")
    for part in (len(head).to_bytes(8, "big") + head, len(payload).to_bytes(8, "big"), payload):
        view = memoryview(part)
        while view:
            n = os.write(fd, view)
            view = view[n:]


class _Timeout(Exception):
    """A job ran out of budget: ``cpu`` (the compiler spent its CPU budget on it) or ``wall`` (the wall-clock
    ceiling passed first: the compiler was starved, or hung without using CPU)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system) that process ``pid`` has used so far, from ``/proc/<pid>/stat``; ``None`` where
    there is no such file (not Linux, or no such process)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may hold spaces or ')': count fields after the last ')'
    after_name = stat[stat.rindex(b")") + 2 :].split()
    return (int(after_name[11]) + int(after_name[12])) / _CLOCK_TICKS  # utime and stime (fields 14 and 15)


class _Budget:
    """How long to wait for a compiler's answer: ``cpu_budget`` seconds of the compiler's own CPU time, and never
    more than ``wall_seconds`` of wall-clock time. Where ``/proc`` cannot tell the CPU time (or without a
    ``cpu_budget``), the wall clock is all there is: the CPU budget then counts as wall-clock time."""

    #: how often a waiting server looks at the compiler's CPU time
    POLL_SECONDS = 0.1

    def __init__(self, wall_seconds: float, cpu_budget: float | None = None, pid: int | None = None):
        now = time.monotonic()
        self.pid = pid
        self.cpu_budget = cpu_budget
        self.cpu_start = cpu_seconds(pid) if pid is not None and cpu_budget is not None else None
        self.wall_deadline = now + wall_seconds
        #: what running out of wall-clock time means: ``wall`` (starved or hung), or ``cpu`` when the CPU budget
        #: itself is being kept by the wall clock
        self.wall_reason = "wall"
        if cpu_budget is not None and self.cpu_start is None and now + cpu_budget <= self.wall_deadline:
            self.wall_deadline, self.wall_reason = now + cpu_budget, "cpu"

    def _cpu_spent(self) -> bool:
        if self.cpu_start is None or self.pid is None or self.cpu_budget is None:
            return False
        used = cpu_seconds(self.pid)
        return used is not None and used - self.cpu_start > self.cpu_budget

    def wait_readable(self, fd: int) -> None:
        """Return once ``fd`` has data; raise :class:`_Timeout` when the budget runs out first."""
        while True:
            left = self.wall_deadline - time.monotonic()
            if left <= 0:
                raise _Timeout("cpu" if self._cpu_spent() else self.wall_reason)
            if self.cpu_start is not None:
                left = min(left, self.POLL_SECONDS)
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                return
            if self._cpu_spent():
                raise _Timeout("cpu")


def _read_exact(fd: int, n: int, budget: _Budget | None) -> bytes:
    chunks: list[bytes] = []
    need = n
    while need:
        if budget is not None:
            budget.wait_readable(fd)
        chunk = os.read(fd, min(need, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        need -= len(chunk)
    return b"".join(chunks)


def _read(fd: int, budget: _Budget | None = None) -> tuple[Any, bytes]:
    size = int.from_bytes(_read_exact(fd, 8, budget), "big")
    doc = json.loads(_read_exact(fd, size, budget))
    size = int.from_bytes(_read_exact(fd, 8, budget), "big")
    return doc, _read_exact(fd, size, budget)


# =================================================================================== the compiler process


def worker_main(memory_mb: int) -> None:
    """``python -m trace_engine.api.compiler MEMORY_MB``: answer compile jobs on stdin/stdout until EOF."""
    import resource

    try:
        os.nice(19)  # the server's requests first: compiling waits for the CPU, reads do not
    except OSError:
        pass
    limit = memory_mb * 1024 * 1024
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError) as exc:  # pragma: no cover - a platform without RLIMIT_AS
        print(f"trace compiler: cannot cap memory: {exc}", file=sys.stderr)
    compile_upload(WARM_UP)  # import and exercise the whole pipeline once, before the first real job
    rfd, wfd = sys.stdin.fileno(), sys.stdout.fileno()
    _write(wfd, {"ready": True})
    while True:
        try:
            _, body = _read(rfd)
        except EOFError:
            return
        spec = b""
        try:
            header, text = read_upload(body)
            if text is not None:
                _write(wfd, header)
                if not _read(rfd)[0].get("go"):
                    continue  # the server refused it (a duplicate version, a built-in pack_id)
                outcome = compile_upload(text)
                spec = outcome.pop("spec", "").encode("utf-8")
            else:
                outcome = header
        except EOFError:
            return
        except MemoryError:
            outcome = {"status": "memory"}
        except RecursionError:
            outcome = {"status": "crash", "error": "RecursionError"}
        except Exception as exc:  # noqa: BLE001 - any failure is that job's, reported to the server
            outcome = {"status": "crash", "error": type(exc).__name__}
        _write(wfd, outcome, spec)
        if outcome.get("status") == "memory":
            return  # a process that ran out of memory may be in a bad state: the pool starts a fresh one


# ======================================================================================== the pool


class CompilerBusy(Exception):
    """Every compiler is busy and the queue is full."""


class CompileFailed(Exception):
    """The compiler overran its budget or died; ``reason`` says which (``time``, ``memory``, ``crash``)."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


@dataclass
class _Worker:
    proc: subprocess.Popen
    ready: bool = False

    def kill(self) -> None:
        try:
            self.proc.kill()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass


class CompilerPool:
    """``compile(text)`` -> :func:`compile_upload`'s outcome, run in a compiler process (blocking; call it from a
    worker thread). Raises :class:`CompilerBusy` or :class:`CompileFailed`."""

    def __init__(
        self,
        workers: int = 1,
        seconds: float = 30.0,
        memory_mb: int = 1024,
        queue_size: int = 4,
        wall_seconds: float = 120.0,
    ):
        self.workers = workers
        self.seconds = seconds  # CPU seconds one job may take
        self.wall_seconds = max(wall_seconds, seconds)  # wall-clock seconds past which a job was starved
        self.memory_mb = memory_mb
        self.queue_size = queue_size
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._in_flight = 0
        self._closed = False
        self._all: list[_Worker] = []
        self.started = 0  # compiler processes started over the pool's life (replacements included)
        self.compilations = 0  # uploads that got past parsing and the duplicate check into compiling

    # ---- lifecycle

    def _spawn(self) -> _Worker:
        proc = subprocess.Popen(
            [sys.executable, "-m", "trace_engine.api.compiler", str(self.memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,
            close_fds=True,
        )
        w = _Worker(proc)
        with self._lock:
            self._all.append(w)
            self.started += 1
        return w

    def _await_ready(self, w: _Worker) -> _Worker:
        assert w.proc.stdout is not None
        try:
            hello, _ = _read(w.proc.stdout.fileno(), _Budget(120))
            w.ready = bool(hello.get("ready"))
        except (EOFError, _Timeout, ValueError, OSError):  # OSError: the pool closed the pipe under us
            w.ready = False
        return w

    def start(self) -> None:
        """Start the compiler processes (in the background: the server serves meanwhile)."""

        def boot() -> None:
            spawned = [self._spawn() for _ in range(self.workers)]
            for w in spawned:
                self._release(self._await_ready(w))

        threading.Thread(target=boot, name="trace-compilers", daemon=True).start()

    def _release(self, w: _Worker) -> None:
        if self._closed:
            w.kill()
            return
        if not w.ready or w.proc.poll() is not None:
            w.kill()
            with self._lock:
                if w in self._all:
                    self._all.remove(w)
            w = self._await_ready(self._spawn())
            if not w.ready:  # pragma: no cover - cannot start a compiler at all
                log.error("a compiler process failed to start")
                return
        self._idle.put(w)

    def alive(self) -> int:
        """Compiler processes started, ready and still running."""
        with self._lock:
            return sum(1 for w in self._all if w.ready and w.proc.poll() is None)

    def close(self) -> None:
        self._closed = True
        with self._lock:
            workers = list(self._all)
            self._all.clear()
        for w in workers:
            w.kill()

    # ---- work

    def compile(self, text: bytes, decide: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        """Run an upload through a compiler: it parses and checks the structure, then ``decide(header)`` runs
        here (in the caller's thread; it raises to refuse, e.g. a duplicate version), then the compiler compiles.
        Returns the final outcome (``invalid`` outcomes of either phase included)."""
        with self._lock:
            if self._in_flight >= self.workers + self.queue_size:
                raise CompilerBusy("every compiler is busy and the queue is full")
            self._in_flight += 1
        try:
            try:
                w = self._idle.get(timeout=self.seconds * (1 + self.queue_size / max(1, self.workers)))
            except queue.Empty:
                raise CompilerBusy("no compiler became free in time") from None
            return self._run(w, text, decide)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _run(self, w: _Worker, text: bytes, decide: Callable[[dict[str, Any]], None] | None) -> dict[str, Any]:
        assert w.proc.stdin is not None and w.proc.stdout is not None
        budget = _Budget(self.wall_seconds, self.seconds, w.proc.pid)
        try:
            _write(w.proc.stdin.fileno(), {"job": "upload"}, text)
            outcome, _ = _read(w.proc.stdout.fileno(), budget)
            if outcome.get("status") == "header":
                try:
                    if decide is not None:
                        decide(outcome)
                except BaseException:
                    _write(w.proc.stdin.fileno(), {"go": False})
                    self._idle.put(w)
                    raise
                with self._lock:
                    self.compilations += 1
                    job = self.compilations
                log.info("compilation %d started", job)
                _write(w.proc.stdin.fileno(), {"go": True})
                outcome, spec = _read(w.proc.stdout.fileno(), budget)
                if outcome.get("status") == "ok":
                    outcome["spec"] = spec.decode("utf-8")
        except _Timeout as out:
            w.kill()
            w.ready = False
            threading.Thread(target=self._release, args=(w,), daemon=True).start()
            if out.reason == "wall":  # not the pack's fault: the server did not give the compiler the CPU
                starved = f"the compiler got less than {self.seconds:g} s of CPU in {self.wall_seconds:g} s"
                log.warning("%s; it was replaced and the upload told to retry", starved)
                raise CompilerBusy(f"{starved} (server overloaded)") from None
            raise CompileFailed(
                "time", f"compiling the pack took more than the {self.seconds:g} s CPU budget (compile_seconds)"
            ) from None
        except (EOFError, OSError, ValueError):
            w.kill()
            w.ready = False
            threading.Thread(target=self._release, args=(w,), daemon=True).start()
            raise CompileFailed("crash", "the compiler process died while compiling the pack") from None
        status = outcome.get("status")
        if status == "memory":
            w.ready = False  # it exits after a MemoryError; a fresh one replaces it
            threading.Thread(target=self._release, args=(w,), daemon=True).start()
            raise CompileFailed(
                "memory", f"compiling the pack needs more than the {self.memory_mb} MB budget (compile_memory_mb)"
            )
        self._idle.put(w)
        if status == "crash":
            raise CompileFailed("crash", f"the compiler failed on this pack ({outcome.get('error')})")
        return outcome


if __name__ == "__main__":
    worker_main(int(sys.argv[1]) if len(sys.argv) > 1 else 1024)
