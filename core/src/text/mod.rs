//! The text layer: a turn's normalized view (fold, tokens, number words, contractions, spelled words) and the
//! built-in PII detectors, ported from the Python text layer and held to its frozen copy
//! (`tests/reference_gate/text/`) by equivalence tests.
//!
//! Offsets: every span that crosses into Python or into a finding (`orig_starts`, `orig_ends`, detector hits) is in
//! **characters** (Unicode code points) of the original text, as Python's `str` indexes it, never in UTF-8 bytes.
//! Offsets into the normalized `text` itself (`norm_starts`, `norm_ends`) are bytes, for slicing in Rust.

pub mod chars;
pub mod detectors;
pub mod fold;
mod items;
pub mod normalize;
pub mod numbers;
pub mod python;
#[rustfmt::skip]
pub mod tables;
pub mod words;

pub use normalize::{normalize, normalize_into, normalize_phrase, normalize_phrase_view};

/// What folding changed: the folded text the tokens were read from, the tokens' spans in it (characters), and for
/// each folded character the index of the original character it came from (`None` when every character kept its
/// place: folded offsets are then original offsets).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fold {
    pub text: String,
    pub starts: Vec<usize>,
    pub ends: Vec<usize>,
    pub source: Option<Vec<usize>>,
}

/// A turn's normalized view, the Rust twin of `trace_engine.text.NormalizedText`.
///
/// `text` is the tokens joined by single spaces; token `i` is `text[norm_starts[i]..norm_ends[i]]` (bytes) and came
/// from the original characters `orig_starts[i]..orig_ends[i]` (code points; non-decreasing; tokens expanded from
/// one contraction share a span). `is_digits[i]` marks tokens made only of ASCII digits (written or spoken).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NormalizedText {
    pub original: String,
    pub text: String,
    pub norm_starts: Vec<usize>,
    pub norm_ends: Vec<usize>,
    pub orig_starts: Vec<usize>,
    pub orig_ends: Vec<usize>,
    pub is_digits: Vec<bool>,
    /// Set only when folding changed the text.
    pub fold: Option<Fold>,
    /// The characters the tokens were read from when they are not all ASCII (empty otherwise).
    pub(crate) wide: Vec<char>,
}

/// The text the tokens were read from (the folded text, else the original), addressed by character.
#[derive(Clone, Copy)]
pub enum View<'a> {
    Ascii(&'a [u8]),
    Wide(&'a [char]),
}

impl View<'_> {
    #[inline]
    pub fn len(&self) -> usize {
        match self {
            View::Ascii(b) => b.len(),
            View::Wide(c) => c.len(),
        }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    pub fn at(&self, i: usize) -> char {
        match self {
            View::Ascii(b) => b[i] as char,
            View::Wide(c) => c[i],
        }
    }

    /// The characters `a..b`.
    pub fn slice(&self, a: usize, b: usize) -> impl Iterator<Item = char> + '_ {
        (a..b).map(move |i| self.at(i))
    }

    /// The characters `a..b` as a `String`.
    pub fn string(&self, a: usize, b: usize) -> String {
        self.slice(a, b).collect()
    }
}

impl NormalizedText {
    /// Empty, with room for `chars` bytes of original and normalized text and `tokens` tokens, in `self`'s buffers:
    /// a view filled again and again (a stream's) allocates at most once instead of growing its columns on the first
    /// fills, and reused buffers that have the room already allocate nothing.
    pub fn cleared_with_room(mut self, chars: usize, tokens: usize) -> NormalizedText {
        self.clear();
        self.original.reserve(chars);
        self.text.reserve(chars);
        self.norm_starts.reserve(tokens);
        self.norm_ends.reserve(tokens);
        self.orig_starts.reserve(tokens);
        self.orig_ends.reserve(tokens);
        self.is_digits.reserve(tokens);
        self
    }

    /// Empties the view, keeping its buffers.
    pub fn clear(&mut self) {
        self.original.clear();
        self.text.clear();
        self.norm_starts.clear();
        self.norm_ends.clear();
        self.orig_starts.clear();
        self.orig_ends.clear();
        self.is_digits.clear();
        self.fold = None;
        self.wide.clear();
    }

    /// Number of tokens.
    #[inline]
    pub fn len(&self) -> usize {
        self.norm_starts.len()
    }

    /// Keeps the first `k` tokens and the normalized text up to the end of the last of them (the original text,
    /// folding and wide characters are the caller's).
    pub fn truncate_tokens(&mut self, k: usize) {
        let cut = if k > 0 { self.norm_ends[k - 1] } else { 0 };
        self.text.truncate(cut);
        self.norm_starts.truncate(k);
        self.norm_ends.truncate(k);
        self.orig_starts.truncate(k);
        self.orig_ends.truncate(k);
        self.is_digits.truncate(k);
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.norm_starts.is_empty()
    }

    /// Token `i`.
    #[inline]
    pub fn token(&self, i: usize) -> &str {
        &self.text[self.norm_starts[i]..self.norm_ends[i]]
    }

    /// The tokens, in order.
    pub fn tokens(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.len()).map(move |i| self.token(i))
    }

    /// The text the tokens were read from (the folded text when folding changed the original).
    pub fn folded(&self) -> &str {
        self.fold.as_ref().map_or(self.original.as_str(), |f| f.text.as_str())
    }

    /// The folded text addressed by character.
    #[inline]
    pub fn view(&self) -> View<'_> {
        if self.wide.is_empty() {
            View::Ascii(self.folded().as_bytes())
        } else {
            View::Wide(&self.wide)
        }
    }

    /// Start of token `k` in the folded text (characters).
    #[inline]
    pub fn folded_start(&self, k: usize) -> usize {
        self.fold.as_ref().map_or(self.orig_starts[k], |f| f.starts[k])
    }

    /// End of token `k` in the folded text (characters).
    #[inline]
    pub fn folded_end(&self, k: usize) -> usize {
        self.fold.as_ref().map_or(self.orig_ends[k], |f| f.ends[k])
    }

    /// Original `(start, end)` of the folded characters `start..end` (`end > start`).
    #[inline]
    pub fn folded_to_original(&self, start: usize, end: usize) -> (usize, usize) {
        match self.fold.as_ref().and_then(|f| f.source.as_ref()) {
            None => (start, end),
            Some(m) => (m[start], m[end - 1] + 1),
        }
    }

    /// Original span of tokens `i..=j`.
    #[inline]
    pub fn token_span(&self, i: usize, j: usize) -> (usize, usize) {
        (self.orig_starts[i], self.orig_ends[j])
    }
}
