"""The local process pool of ``trace rescore``: a pipe each way per worker, pumped by the sequencer's own thread.

Why not :class:`concurrent.futures.ProcessPoolExecutor`: a shard's outcomes are about a megabyte (the records'
canonical bytes), and the executor moves them through one shared result pipe of 64 KiB read by a helper thread of
the appending process. That thread needs the GIL for every 64 KiB while the appending thread holds it (appending,
signing), so a worker that has finished a shard waited, blocked on the pipe, for milliseconds per shard, and the
two helper threads cost the appending process a tenth of its CPU. Here each worker writes its outcomes to its own
pipe (enlarged to a megabyte where the system allows, so a worker seldom waits for the reader at all), and the
appending thread reads them itself when it wants them, between appends: no helper thread, no GIL hand-offs.

The protocol: a frame is an 8-byte little-endian length and that many bytes. The appending process sends a
worker pickled shards; the worker answers each, in order, with ``b"\\x00" + fn(shard)`` (bytes) or, when the
shard raised, ``b"\\x01" + the traceback`` (the run stops with :class:`WorkerError`). A worker stops at an empty
frame or at the end of its task pipe. The appending process never blocks writing: a task that does not fit in the
pipe waits in memory while the pump reads outcomes, so neither side can wait for the other in a cycle.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import pickle
import select
import struct
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any

_HEADER = struct.Struct("<Q")
#: bytes asked of the kernel for each pipe (Linux: F_SETPIPE_SZ, up to /proc/sys/fs/pipe-max-size, 1 MiB by default)
PIPE_BYTES = 1 << 20
_OK, _FAILED = b"\x00", b"\x01"
#: shards a worker holds at once: the one it scores and the next ones, waiting in its pipe so that it never waits
#: for the appending process; the rest wait in the appending process for whichever worker is free first (a worker
#: the machine slows down takes fewer, and the run does not end waiting for its backlog). Four shards of 64 records
#: are about 70 ms of a worker's work: more than the appending process spends on a 256-record transaction, during
#: which it hands out nothing. Measured (4,000 SGD calls, 2 workers, load 6): the workers waited for a shard
#: 0.07-0.19 s per run with 2, 0.01-0.02 s with 4; 6 was no better.
DEPTH = 4


class WorkerError(RuntimeError):
    """A worker raised, or died, while scoring a shard."""


def _enlarge(fd: int) -> None:
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
    except (ImportError, OSError):  # not Linux, or above the system's limit: the default size works, only slower
        pass


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exactly(reader: io.FileIO, n: int) -> bytearray | None:
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = reader.readinto(view[got:])
        if not k:
            return None
        got += k
    return buf


def _serve(
    tasks: Any, results: Any, initializer: Callable[..., None], initargs: tuple, fn: Callable[[Any], Any],
    inherited: tuple[int, ...],
) -> None:
    """A worker: build its state, then answer each task frame with a result frame until told to stop."""
    for fd in inherited:  # a forked worker's copies of the other workers' pipes (so that they see their ends)
        try:
            os.close(fd)
        except OSError:
            pass
    initializer(*initargs)
    reader = io.FileIO(tasks.fileno(), "rb", closefd=False)
    out = results.fileno()
    while True:
        header = _read_exactly(reader, _HEADER.size)
        if header is None:
            return
        (size,) = _HEADER.unpack(header)
        if size == 0:
            return
        payload = _read_exactly(reader, size)
        if payload is None:
            return
        try:
            flag, body = _OK, fn(pickle.loads(payload))
        except BaseException:  # noqa: BLE001 - reported to the appending process, which stops the run
            flag, body = _FAILED, traceback.format_exc().encode("utf-8", "replace")
        try:
            # the header and the body written apart: joining them would copy the body (a megabyte) once more
            _write_all(out, _HEADER.pack(len(body) + 1) + flag)
            _write_all(out, body)
        except BrokenPipeError:  # the appending process has left (an error, an interrupt): so does the worker
            return


class _Worker:
    __slots__ = ("process", "task_fd", "result_fd", "reader", "outbox", "header", "frame", "got", "queued", "done")

    def __init__(self, process: Any, task_fd: int, result_fd: int):
        self.process, self.task_fd, self.result_fd = process, task_fd, result_fd
        self.reader = io.FileIO(result_fd, "rb", closefd=False)
        self.outbox: deque[memoryview] = deque()  # task bytes not yet taken by the pipe
        self.header = bytearray()
        self.frame: bytearray | None = None
        self.got = 0
        self.queued: deque[Pending] = deque()  # submitted, not yet answered, in the order the worker takes them
        self.done = False


class Pending:
    """A submitted shard (the ``Future`` interface the sequencer's loop uses: ``done()``, ``result()``)."""

    __slots__ = ("pool", "answer")

    def __init__(self, pool: LocalPool):
        self.pool = pool
        self.answer: bytes | bytearray | None = None

    def done(self) -> bool:
        if self.answer is None:
            self.pool._pump(0.0)
        return self.answer is not None

    def result(self) -> Any:
        while self.answer is None:
            self.pool._pump(None)
        answer = self.answer
        if answer[:1] != _OK:
            raise WorkerError("a re-scoring worker failed:\n" + answer[1:].decode("utf-8", "replace"))
        return memoryview(answer)[1:]


class LocalPool:
    """``workers`` processes that each run ``initializer(*initargs)`` once, then ``fn(shard)`` for every shard
    submitted to them (``submit(fn, shard)``; ``fn`` must be the one given here, and return bytes, which
    ``result()`` hands back as they came, without pickling). :meth:`finish` says no more shards will come, so that
    workers leave as soon as they have answered theirs. A context manager: on exit the workers are told to stop and
    joined (killed when the run is leaving on an error)."""

    def __init__(self, workers: int, fn: Callable[[Any], Any], initializer: Callable[..., None], initargs: tuple):
        self.fn = fn
        self.workers = max(1, workers)
        ctx = multiprocessing.get_context()
        forked = ctx.get_start_method() == "fork"
        self._workers: list[_Worker] = []
        # submitted, not yet handed to a worker: (frame header, pickled shard, its answer to come)
        self._backlog: deque[tuple[bytes, memoryview, Pending]] = deque()
        self._finished = self._stopped = False
        try:
            for _ in range(self.workers):
                task_r, task_w = ctx.Pipe(duplex=False)
                result_r, result_w = ctx.Pipe(duplex=False)
                _enlarge(task_w.fileno())
                _enlarge(result_w.fileno())
                inherited = tuple(fd for w in self._workers for fd in (w.task_fd, w.result_fd)) if forked else ()
                inherited += (task_w.fileno(), result_r.fileno()) if forked else ()
                process = ctx.Process(
                    target=_serve, args=(task_r, result_w, initializer, initargs, fn, inherited), daemon=True
                )
                process.start()
                task_r.close()
                result_w.close()
                task_fd, result_fd = os.dup(task_w.fileno()), os.dup(result_r.fileno())
                task_w.close()
                result_r.close()
                os.set_blocking(task_fd, False)
                os.set_blocking(result_fd, False)
                self._workers.append(_Worker(process, task_fd, result_fd))
        except BaseException:
            self.close(kill=True)
            raise

    def submit(self, fn: Callable[[Any], bytes], shard: Any) -> Pending:
        """Queue ``shard``; it goes to the first worker with room (see :data:`DEPTH`)."""
        if fn is not self.fn:
            raise ValueError("a LocalPool runs the function it was made with")
        if self._finished:
            raise ValueError("submit after finish")
        payload = pickle.dumps(shard, protocol=pickle.HIGHEST_PROTOCOL)
        pending = Pending(self)
        self._backlog.append((_HEADER.pack(len(payload)), memoryview(payload), pending))
        self._pump(0.0)
        return pending

    def _dispatch(self) -> None:
        """Hand queued shards, in order, to the workers with room; after the last one, the stop frames."""
        while self._backlog:
            worker = min(self._workers, key=lambda w: len(w.queued))
            if len(worker.queued) >= DEPTH:
                return
            header, payload, pending = self._backlog.popleft()
            worker.outbox.append(memoryview(header))
            worker.outbox.append(payload)
            worker.queued.append(pending)
        if self._finished and not self._stopped:
            self._stopped = True
            for w in self._workers:
                w.outbox.append(memoryview(_HEADER.pack(0)))

    def _pump(self, timeout: float | None) -> None:
        """Move bytes: shards to the workers with room and into the pipes that take them, outcomes out of those
        that have some. Waits up to ``timeout`` seconds (``None``: until something moved) when nothing can move at
        once."""
        self._dispatch()
        readers = [w.result_fd for w in self._workers if w.queued]
        writers = [w.task_fd for w in self._workers if w.outbox]
        if not readers and not writers:
            return
        readable, writable, _ = select.select(readers, writers, [], timeout)
        for w in self._workers:
            if w.result_fd in readable:
                self._receive(w)
        self._dispatch()  # an answer leaves room for the next shard: send it now, not at the next pump
        for w in self._workers:
            if w.outbox and (w.task_fd in writable or w.result_fd in readable):
                self._send(w)

    @staticmethod
    def _send(w: _Worker) -> None:
        while w.outbox:
            chunk = w.outbox[0]
            try:
                n = os.write(w.task_fd, chunk)
            except BlockingIOError:
                return
            except BrokenPipeError:
                raise WorkerError(f"a re-scoring worker died (exit code {w.process.exitcode})") from None
            if n < len(chunk):
                w.outbox[0] = chunk[n:]
                return
            w.outbox.popleft()

    @staticmethod
    def _receive(w: _Worker) -> None:
        while w.queued:
            if w.frame is None:
                try:
                    chunk = os.read(w.result_fd, _HEADER.size - len(w.header))
                except BlockingIOError:
                    return
                if not chunk:
                    w.process.join(1.0)
                    raise WorkerError(f"a re-scoring worker died (exit code {w.process.exitcode})")
                w.header += chunk
                if len(w.header) < _HEADER.size:
                    continue
                (size,) = _HEADER.unpack(w.header)
                w.header = bytearray()
                try:
                    first = os.read(w.result_fd, size)
                except BlockingIOError:
                    first = b""
                if len(first) == size:  # the whole answer was waiting in the pipe: taken as it is, no copy
                    w.queued.popleft().answer = first
                    continue
                w.frame, w.got = bytearray(size), len(first)  # (an end of file here is seen below)
                w.frame[: len(first)] = first
            view = memoryview(w.frame)
            while w.got < len(w.frame):
                try:
                    n = w.reader.readinto(view[w.got :])
                except BlockingIOError:
                    n = None
                if n is None:
                    return
                if n == 0:
                    w.process.join(1.0)
                    raise WorkerError(f"a re-scoring worker died (exit code {w.process.exitcode})")
                w.got += n
            w.queued.popleft().answer = w.frame
            w.frame = None

    def finish(self) -> None:
        """No more shards: each worker stops after answering the last ones (the run's last appends then overlap
        the workers' exits)."""
        if not self._finished:
            self._finished = True
            self._pump(0.0)

    def close(self, *, kill: bool = False) -> None:
        if not kill:
            self.finish()
            # shards never handed out or never answered: the run is leaving early (a worker may be blocked writing
            # an answer nobody will read, so it is not waited for)
            kill = bool(self._backlog) or any(w.queued for w in self._workers)
            self._dispatch()
        for w in self._workers:
            if not kill:
                os.set_blocking(w.task_fd, True)
                try:
                    for chunk in w.outbox:
                        _write_all(w.task_fd, chunk)
                except OSError:
                    kill = True
            for fd in (w.task_fd, w.result_fd):
                try:
                    os.close(fd)
                except OSError:
                    pass
        for w in self._workers:
            if kill:
                w.process.kill()
            w.process.join()
        self._workers = []

    def __enter__(self) -> LocalPool:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(kill=exc_type is not None)
