"""RFC 8785 (JSON Canonicalization Scheme) bytes, fast.

:func:`canonical_bytes` returns exactly ``rfc8785.dumps(obj)``. The reference implementation is pure Python
and costs ~250 µs for a typical scorecard, which would cap the append rate; so for the common case we use the C
``json`` encoder and fall back to ``rfc8785.dumps`` whenever the two could differ:

* a float whose Python ``repr`` uses an exponent, or is not finite (ECMAScript number formatting differs);
  integral floats below 2**53 are written as integers, which is what ECMAScript does (``1.0`` -> ``1``),
  larger integral floats fall back;
* an object key that is not ASCII (RFC 8785 sorts keys by UTF-16 code units, Python by code points);
* an integer outside the I-JSON safe range (``rfc8785`` rejects it; so do we, through the fallback);
* anything else that is not a plain JSON value.

Strings: Python's encoder with ``ensure_ascii=False`` escapes exactly what RFC 8785 escapes (``"``, ``\\``,
control characters, with ``\\b \\t \\n \\f \\r`` short forms and lower-case ``\\u00xx`` otherwise). A lone
surrogate fails UTF-8 encoding and falls back too (``rfc8785`` raises). The property test
``tests/test_evidence_canonical.py`` checks equality against ``rfc8785.dumps`` on generated values.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import rfc8785

_SAFE = 2**53 - 1
_encode = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False).encode


class _Fallback(Exception):
    pass


def _float(v: float) -> Any:
    if v.is_integer():
        if -_SAFE <= v <= _SAFE:
            return int(v)
        raise _Fallback  # ECMAScript prints large integral doubles without ".0", Python with it
    r = repr(v)
    if "e" in r or "n" in r:  # exponent form, inf, nan
        raise _Fallback
    return v


def _prep(v: Any) -> Any:
    """A copy of ``v`` whose C-encoder output is RFC 8785, or :class:`_Fallback`. Leaves are inlined for speed."""
    t = type(v)
    if t is dict:
        out = {}
        for k, x in v.items():
            if type(k) is not str or not k.isascii():
                raise _Fallback
            tx = type(x)
            if tx is str or x is None or tx is bool:
                out[k] = x
            elif tx is int:
                if not -_SAFE <= x <= _SAFE:
                    raise _Fallback
                out[k] = x
            elif tx is float:
                out[k] = _float(x)
            else:
                out[k] = _prep(x)
        return out
    if t is list or t is tuple:
        return [x if type(x) is str else _prep(x) for x in v]
    if t is str or v is None or t is bool:
        return v
    if t is int:
        if -_SAFE <= v <= _SAFE:
            return v
        raise _Fallback
    if t is float:
        return _float(v)
    raise _Fallback


def canonical_bytes(obj: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of ``obj`` (identical to ``rfc8785.dumps(obj)``)."""
    try:
        return _encode(_prep(obj)).encode("utf-8")
    except (_Fallback, UnicodeEncodeError, ValueError):
        return rfc8785.dumps(obj)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()
