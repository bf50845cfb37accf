"""Server settings: everything ``trace serve`` lets an operator tune, with defaults that hold on a 2-core box.

==========================  =========  ===========================================================================
setting (``trace serve``)   default    meaning
==========================  =========  ===========================================================================
``rate_limit``              20         requests per second per API key (token bucket); 0 turns rate limiting off
``rate_burst``              40         bucket size: how many requests a key may make at once after a pause
``upload_rate``             0.2        rule-pack uploads per second per key (one every 5 s), on top of the above
``upload_burst``            3          uploads a key may make at once
``tenant_compiles``         2          rule-pack compilations one tenant may have queued or running at once
``compile_workers``         1          compiler processes (each compiles one pack at a time)
``compile_queue``           4          uploads that may wait for a compiler; more get 503 ``compiler_busy``
``compile_seconds``         30         CPU-time budget of one compilation (parse, limits, compile, lint);
                                       over it: 400 ``pack_too_complex``
``compile_wall_seconds``    120        wall-clock ceiling of one compilation; a compiler still under its CPU
                                       budget by then was starved: 503 ``compiler_busy``
``compile_memory_mb``       1024       address-space budget of a compiler process
``config_body_bytes``       256 KiB    largest ``PUT /v1/trace/config`` body
``body_seconds``            30         time a client has to send a request body
==========================  =========  ===========================================================================

The rule-pack body limit is the compiler's ``pack_bytes`` (:data:`trace_engine.compile.limits.LIMITS`), so the
HTTP API and ``trace check`` accept the same packs.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from trace_engine.compile.limits import LIMITS


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """See the module table. Frozen: one app, one set of settings."""

    rate_limit: float = 20.0
    rate_burst: int = 40
    upload_rate: float = 0.2
    upload_burst: int = 3
    tenant_compiles: int = 2
    compile_workers: int = 1
    compile_queue: int = 4
    compile_seconds: float = 30.0
    compile_wall_seconds: float = 120.0
    compile_memory_mb: int = 1024
    config_body_bytes: int = 256 * 1024
    body_seconds: float = 30.0

    @property
    def pack_body_bytes(self) -> int:
        return LIMITS.pack_bytes

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value < 0:
                raise ValueError(f"{f.name} must not be negative (got {value})")
        if self.compile_workers < 1:
            raise ValueError("compile_workers must be at least 1")
        if self.compile_seconds <= 0 or self.body_seconds <= 0:
            raise ValueError("compile_seconds and body_seconds must be positive")
        if self.compile_wall_seconds < self.compile_seconds:
            raise ValueError(
                f"compile_wall_seconds ({self.compile_wall_seconds:g}) must be at least compile_seconds "
                f"({self.compile_seconds:g})"
            )
        if self.compile_memory_mb < 256:
            raise ValueError("compile_memory_mb must be at least 256 (a compiler process needs about 150 MB)")
