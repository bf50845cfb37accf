"""The Ray engine of ``trace rescore --engine ray``: the map step (parse, score, make ready records) runs as Ray
tasks on a cluster; the sequencer (screening in input order, appending, signing) stays in the process that runs
``trace rescore``, exactly as with the local process pool.

One task per shard: a shard is one batch of records of the inputs, in input order
(:data:`trace_engine.rescore.BATCH` records; a ``.jsonl`` file's as the bytes of its lines, so a node needs no
access to the input files). Tasks are pure: they read the shard and return its outcomes, and write nothing, so a
task Ray retries after a worker died, or a shard scored twice, changes nothing in the log. The sequencer takes
shards' results in input order with at most ``2 × workers`` shards in flight, appends each batch (with those already
scored behind it) in one transaction and reports its calls only after the commit. A killed run therefore loses
nothing it reported, and re-running it appends nothing twice: idempotent and resumable exactly as the local engine,
whatever the cluster did.

Each Ray worker process builds the rule engine once per config (the config travels once, as a Ray object) and
keeps it for every shard it scores. Trace must be installed on every node (the same version: the engine version
is part of every scorecard's identity).

The cluster: ``address`` (``ray://host:10001`` for a Ray client, ``host:6379`` for a node of the cluster, or
``auto``), else ``RAY_ADDRESS``, else a local Ray started for this run and stopped after it.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Callable
from typing import Any

#: what each Ray worker process keeps between shards: the initargs' digest and the state ``_worker_init`` built
_CACHE: dict[str, str] = {}


class RayUnavailable(Exception):
    """Ray is not installed, or the cluster cannot be reached."""


def _score_shard(initargs: tuple, digest: str, fn: Callable[[Any], Any], shard: Any) -> Any:
    """A Ray task: score one shard with this worker process's engine (built on first use for this config)."""
    from trace_engine import rescore

    if _CACHE.get("digest") != digest:
        rescore._worker_init(*initargs)
        _CACHE["digest"] = digest
    return fn(shard)


def _check_reachable(address: str | None, timeout: float = 5.0) -> None:
    """Fail fast when ``host:port`` (or ``ray://host:port``) does not accept connections: Ray itself waits for
    minutes before it gives up on a cluster that is not there."""
    if address is None or address == "auto" or address == "local":
        return
    hostport = address.removeprefix("ray://").rsplit("/", 1)[0]
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        raise RayUnavailable(f"--address {address!r}: expected host:port, ray://host:port or auto")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise RayUnavailable(f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}") from None


class _Pending:
    """A submitted shard (the ``Future`` interface the sequencer's loop uses)."""

    __slots__ = ("ref",)

    def __init__(self, ref: Any):
        self.ref = ref

    def result(self) -> Any:
        import ray

        return ray.get(self.ref)

    def done(self) -> bool:
        import ray

        ready, _ = ray.wait([self.ref], timeout=0)
        return bool(ready)


class RayPool:
    """Score shards on a Ray cluster. ``submit(fn, shard)`` starts a task; ``workers`` is how many run at once
    (default: the cluster's CPUs). A context manager: the local Ray it started (no address) stops on exit."""

    def __init__(self, address: str | None, workers: int | None, initializer_args: tuple, *, retries: int = 3):
        try:
            import ray
        except ImportError:
            raise RayUnavailable("--engine ray needs Ray: pip install 'trace-engine[ray]'") from None
        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            target = address or os.environ.get("RAY_ADDRESS") or None
            _check_reachable(target)
            try:
                ray.init(
                    address=target,
                    include_dashboard=False if target is None else None,
                    log_to_driver=False,
                    configure_logging=False,
                )
            except Exception as exc:  # noqa: BLE001 - ConnectionError, RuntimeError, ValueError: the cluster is not there
                raise RayUnavailable(f"cannot reach the Ray cluster at {target or 'a new local cluster'}: {exc}") from None
            self._started = True
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = max(1, workers or cpus)
        digest = hashlib.sha256(repr(initializer_args).encode()).hexdigest()
        self._args = ray.put(initializer_args)
        self._digest = digest
        self._task = ray.remote(num_cpus=1, max_retries=retries, retry_exceptions=False)(_score_shard)

    def submit(self, fn: Callable[[Any], Any], shard: Any) -> _Pending:
        return _Pending(self._task.remote(self._args, self._digest, fn, shard))

    def finish(self) -> None:
        """No more shards will come (a task ends on its own: nothing to tell the cluster)."""

    def close(self) -> None:
        if self._started:
            self._ray.shutdown()
            self._started = False

    def __enter__(self) -> RayPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
