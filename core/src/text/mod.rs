//! The text layer: a turn's normalized view (fold, tokens, number words, contractions, spelled words) and the
//! built-in PII detectors, ported from `trace_engine/text/` and held to it by equivalence tests.
//!
//! Offsets: every span that crosses into Python (`orig_starts`, `orig_ends`, detector hits) is in **characters**
//! (Unicode code points) of the original text, as Python's `str` indexes it, never in UTF-8 bytes.

/// A turn's normalized view, the Rust twin of `trace_engine.text.normalize.NormalizedText`.
///
/// `text == tokens.join(" ")`; token `i` starts at byte `norm_starts[i]` of `text` and came from the original
/// characters `orig_starts[i]..orig_ends[i]` (code points; non-decreasing; tokens expanded from one contraction
/// share a span). `is_digits[i]` marks tokens made only of ASCII digits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NormalizedText {
    pub original: String,
    pub text: String,
    pub tokens: Vec<String>,
    pub norm_starts: Vec<usize>,
    pub orig_starts: Vec<usize>,
    pub orig_ends: Vec<usize>,
    pub is_digits: Vec<bool>,
}
