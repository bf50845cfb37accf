"""The local pool of ``trace rescore`` (:mod:`trace_engine.rescore_pool`): answers in order whatever their size
(bigger than a pipe both ways, so neither side may block the other), a worker's exception or death stops the run
with a :class:`WorkerError`, and nothing is left running."""

from __future__ import annotations

import os

import pytest

from trace_engine.rescore_pool import DEPTH, PIPE_BYTES, LocalPool, WorkerError

_STATE: dict[str, int] = {}


def _init(base: int) -> None:
    _STATE["base"] = base


def _echo(task: tuple[int, int]) -> bytes:
    """``size`` bytes that say which task this was and which worker state answered it."""
    n, size = task
    head = f"{n}:{_STATE['base']}:".encode()
    return head + b"x" * max(0, size - len(head))


def _fail(task: int) -> bytes:
    if task == 3:
        raise ValueError("shard 3 is cursed")
    return b"ok"


def _die(task: int) -> bytes:
    if task == 2:
        os._exit(7)
    return b"ok"


def test_answers_come_back_in_order_whatever_their_size():
    sizes = [10, 3 * PIPE_BYTES, 1, 2 * PIPE_BYTES + 5, 0, 100_000] * 3
    with LocalPool(2, _echo, _init, (41,)) as pool:
        # more shards than the workers hold at once, and tasks bigger than a pipe too (the payload is pickled)
        pending = [pool.submit(_echo, (n, size)) for n, size in enumerate(sizes)]
        assert len(pending) > 2 * DEPTH
        pool.finish()
        answers = [bytes(p.result()) for p in pending]
        processes = [w.process for w in pool._workers]
    assert [a.split(b":")[:2] for a in answers] == [[str(n).encode(), b"41"] for n in range(len(sizes))]
    assert [len(a) for a in answers] == [max(s, len(f"{n}:41:")) for n, s in enumerate(sizes)]
    assert all(p.exitcode == 0 for p in processes)


def test_an_exception_in_a_worker_stops_the_run_with_its_traceback():
    with pytest.raises(WorkerError, match="shard 3 is cursed"), LocalPool(2, _fail, _init, (0,)) as pool:
        pending = [pool.submit(_fail, n) for n in range(6)]
        for p in pending:
            p.result()


def test_a_worker_that_dies_stops_the_run():
    with pytest.raises(WorkerError, match="died"), LocalPool(2, _die, _init, (0,)) as pool:
        pending = [pool.submit(_die, n) for n in range(6)]
        for p in pending:
            p.result()


def test_leaving_early_leaves_no_worker_behind():
    pool = LocalPool(2, _echo, _init, (0,))
    for n in range(5):
        pool.submit(_echo, (n, PIPE_BYTES))  # answers nobody reads
    processes = [w.process for w in pool._workers]
    pool.close()
    assert not any(p.is_alive() for p in processes)


def test_a_pool_runs_only_its_function():
    with LocalPool(1, _echo, _init, (0,)) as pool, pytest.raises(ValueError):
        pool.submit(_fail, 1)
