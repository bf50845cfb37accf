"""The compiler's budget is its own CPU time: a busy server never turns a valid pack into ``pack_too_complex``.

The compilers run at nice 19, so on a loaded machine they wait for the CPU. These tests stand in for that wait with
SIGSTOP (a stopped process uses no CPU, like a starved one) and check both sides of the line: a compiler kept off
the CPU for longer than ``compile_seconds`` still compiles a valid pack, and one kept off past the wall-clock
ceiling is replaced and the upload told to retry (``CompilerBusy``, 503 ``compiler_busy``), never blamed on the pack.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from trace_engine.api.compiler import WARM_UP, CompilerBusy, CompilerPool, cpu_seconds
from trace_engine.api.settings import ServerSettings

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not Path("/proc/self/stat").exists(), reason="needs Linux /proc"
)

VALID_PACK = WARM_UP.encode("utf-8")


def test_cpu_seconds_counts_this_process_work_and_is_none_for_a_missing_process():
    before = cpu_seconds(os.getpid())
    assert before is not None
    spin_until = time.process_time() + 0.3
    while time.process_time() < spin_until:
        pass
    after = cpu_seconds(os.getpid())
    assert after is not None and after - before >= 0.2  # /proc counts in clock ticks (10 ms)
    assert cpu_seconds(2**22 + 12345) is None  # above pid_max's default ceiling: no such process


def test_the_wall_clock_ceiling_cannot_be_below_the_cpu_budget():
    with pytest.raises(ValueError, match=r"^compile_wall_seconds \(5\) must be at least compile_seconds \(30\)$"):
        ServerSettings(compile_wall_seconds=5)


def _ready_pool(seconds: float, wall_seconds: float) -> tuple[CompilerPool, int]:
    pool = CompilerPool(workers=1, seconds=seconds, wall_seconds=wall_seconds, queue_size=1)
    pool.start()
    for _ in range(2400):  # up to 2 minutes: booting is slow on a busy machine
        if pool.alive() >= 1:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the compiler never became ready")
    return pool, pool._all[0].proc.pid


def _compile_eventually(pool: CompilerPool) -> dict:
    """The next compile, once a replacement compiler has booted (booting is slow on a busy machine)."""
    for _ in range(600):  # up to 2 minutes of retries
        try:
            return pool.compile(VALID_PACK)
        except CompilerBusy:
            time.sleep(0.2)
    pytest.fail("no compiler came back")


def test_a_compiler_kept_off_the_cpu_longer_than_its_budget_still_compiles_a_valid_pack():
    pool, pid = _ready_pool(seconds=1.0, wall_seconds=60.0)
    try:
        os.kill(pid, signal.SIGSTOP)
        result: dict = {}
        worker = threading.Thread(target=lambda: result.update(outcome=pool.compile(VALID_PACK)))
        worker.start()
        time.sleep(2.5)  # two and a half budgets of wall-clock time, no CPU time
        os.kill(pid, signal.SIGCONT)
        worker.join(60)
        assert not worker.is_alive()
        assert result["outcome"]["status"] == "ok"
        compilers_started = pool.started  # (named apart: tests/test_no_wallclock reads "started" as a clock)
        assert compilers_started == 1  # nobody was killed
    finally:
        os.kill(pid, signal.SIGCONT)
        pool.close()


def test_a_compiler_starved_past_the_wall_ceiling_is_replaced_and_the_upload_is_busy_not_too_complex():
    pool, pid = _ready_pool(seconds=1.0, wall_seconds=2.0)
    try:
        os.kill(pid, signal.SIGSTOP)
        # the message names the 2 s wall ceiling it waited for (a wall-clock assertion would break tests/test_no_wallclock)
        with pytest.raises(CompilerBusy, match=r"^the compiler got less than 1 s of CPU in 2 s \(server overloaded\)$"):
            pool.compile(VALID_PACK)
        assert _compile_eventually(pool)["status"] == "ok"
        # the starved compiler was replaced; on a loaded machine its replacement can be starved past the 2 s
        # ceiling too and replaced in turn, so more than one replacement is correct
        compilers_started = pool.started
        assert compilers_started >= 2
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
        pool.close()
