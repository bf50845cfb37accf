"""Per-key token buckets: ``rate`` tokens per second up to ``burst``; a request takes one token or waits.

The seed promises "a per-second rate limit (with burst)" per key and ``429`` with ``Retry-After`` beyond it. The
buckets live in memory (one process serves the API) and are keyed by ``key_id``, never by the key itself. A
bucket that has been full for a while is indistinguishable from a new one, so idle buckets are dropped once the
table passes :attr:`TokenBuckets.max_keys` entries: memory stays bounded however many keys exist.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBuckets:
    """``take(key)`` -> 0.0 when allowed, else the seconds until a token is available."""

    def __init__(
        self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000
    ):
        self.rate = float(rate)
        self.burst = max(1, int(burst))
        self.clock = clock
        self.max_keys = max_keys
        self._state: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, key: str) -> float:
        if not self.enabled:
            return 0.0
        now = self.clock()
        with self._lock:
            tokens, at = self._state.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                self._state[key] = (tokens - 1.0, now)
                wait = 0.0
            else:
                self._state[key] = (tokens, now)
                wait = (1.0 - tokens) / self.rate
            if len(self._state) > self.max_keys:
                self._prune(now)
        return wait

    def _prune(self, now: float) -> None:
        full_after = self.burst / self.rate
        for key in [k for k, (_, at) in self._state.items() if now - at >= full_after]:
            del self._state[key]
