"""Engine version: part of every compiled etag and every scorecard, so re-scoring knows what produced a record.

Defined once, in ``core/Cargo.toml``: the native core reports it, and maturin stamps the same value on the wheel.
"""

from trace_engine._core import ENGINE_VERSION

__all__ = ["ENGINE_VERSION"]
