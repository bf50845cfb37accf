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

    /// Appends `tail`, the view of the text that follows this view's original at a restart point
    /// ([`normalize::restarts_after`]), where the view of the whole text is the two views one after the other: the
    /// tail's tokens, with their offsets moved past this text (`chars` characters long, its folded text
    /// `folded_chars`), its folded text after this one's (this one's original where folding changed nothing), and
    /// the characters its tokens were read from after this one's.
    pub fn join(&mut self, tail: &NormalizedText, chars: usize, folded_chars: usize) {
        let k = self.len();
        let prefix_bytes = self.original.len();
        // the prefix's folded text is ASCII when it has no characters of its own (`wide`)
        let prefix_wide = !self.wide.is_empty();
        let ascii_reading: Vec<char> = if !prefix_wide && !tail.wide.is_empty() {
            self.folded().bytes().map(char::from).collect()
        } else {
            Vec::new()
        };
        self.original.push_str(&tail.original);
        if k > 0 && !tail.is_empty() {
            self.text.push(' ');
        }
        let base = self.text.len();
        self.text.push_str(&tail.text);
        self.norm_starts.extend(tail.norm_starts.iter().map(|&s| s + base));
        self.norm_ends.extend(tail.norm_ends.iter().map(|&e| e + base));
        self.orig_starts.extend(tail.orig_starts.iter().map(|&s| s + chars));
        self.orig_ends.extend(tail.orig_ends.iter().map(|&e| e + chars));
        self.is_digits.extend_from_slice(&tail.is_digits);
        self.fold = match (self.fold.take(), &tail.fold) {
            (None, None) => None,
            (prefix, tail_fold) => {
                // the prefix's folded text and offsets (itself, when folding left it as it is)
                let mut f = prefix.unwrap_or_else(|| Fold {
                    text: self.original[..prefix_bytes].to_string(),
                    starts: self.orig_starts[..k].to_vec(),
                    ends: self.orig_ends[..k].to_vec(),
                    source: None,
                });
                let text = tail.folded();
                let (starts, ends) = match tail_fold {
                    Some(t) => (&t.starts, &t.ends),
                    None => (&tail.orig_starts, &tail.orig_ends),
                };
                f.text.push_str(text);
                f.starts.extend(starts.iter().map(|&s| s + folded_chars));
                f.ends.extend(ends.iter().map(|&e| e + folded_chars));
                // each folded character's original one: the prefix's own, then the tail's shifted (where one of
                // the two moved characters; in order where it did not)
                let tail_source = tail_fold.as_ref().and_then(|t| t.source.as_ref());
                if f.source.is_some() || tail_source.is_some() {
                    let mut m = f.source.take().unwrap_or_else(|| (0..folded_chars).collect());
                    match tail_source {
                        Some(t) => m.extend(t.iter().map(|&s| s + chars)),
                        None => m.extend((0..text.chars().count()).map(|j| j + chars)),
                    }
                    f.source = Some(m);
                }
                Some(f)
            }
        };
        // the characters the tokens were read from, when they are not all ASCII
        if prefix_wide {
            if tail.wide.is_empty() {
                self.wide.extend(tail.folded().bytes().map(char::from));
            } else {
                self.wide.extend_from_slice(&tail.wide);
            }
        } else if !tail.wide.is_empty() {
            self.wide = ascii_reading;
            self.wide.extend_from_slice(&tail.wide);
        }
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
