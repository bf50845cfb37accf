"""Text layer: the normalized view of a turn and the built-in PII detectors."""

from reference_gate.text.detectors import (
    DETECTORS,
    TLDS,
    DetectorHit,
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
from reference_gate.text.normalize import NormalizedText, normalize, normalize_phrase

__all__ = [
    "NormalizedText",
    "normalize",
    "normalize_phrase",
    "DetectorHit",
    "DETECTORS",
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
