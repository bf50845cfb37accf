"""Text layer: the normalized view of a turn and the built-in PII detectors."""

from trace_engine.text.normalize import NormalizedText, normalize, normalize_phrase

__all__ = ["NormalizedText", "normalize", "normalize_phrase"]
