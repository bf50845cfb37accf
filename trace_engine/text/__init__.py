"""Text layer: the normalized view of a turn and the built-in PII detectors (the Python face of the native core,
``core/src/text``)."""

from trace_engine.text.detectors import (
    DETECTORS,
    TLDS,
    DetectorHit,
    DetectorSpec,
    aba_ok,
    canonical_exempt,
    detect,
    detect_all,
    detect_many,
    luhn_ok,
    mbi_ok,
    nanp_ok,
    ssn_ok,
)
from trace_engine.text.fold import fold
from trace_engine.text.normalize import NormalizedText, normalize, normalize_phrase

__all__ = [
    "fold",
    "NormalizedText",
    "normalize",
    "normalize_phrase",
    "DetectorHit",
    "DETECTORS",
    "DetectorSpec",
    "TLDS",
    "detect",
    "detect_all",
    "detect_many",
    "canonical_exempt",
    "luhn_ok",
    "ssn_ok",
    "nanp_ok",
    "aba_ok",
    "mbi_ok",
]
