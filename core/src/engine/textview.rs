//! The evaluator's view of the text layer: a turn's original text, its normalized view and the detectors.
//!
//! The normalizer and the detectors live in `crate::text` (the Rust port of `trace_engine/text/`, held to it by the
//! text layer's equivalence tests); the evaluator reaches them through [`View::of`] and `native::detect_many`.

use pyo3::prelude::*;
use pyo3::types::PyString;

use std::sync::OnceLock;

use crate::text::detectors::{Kind, DETECTORS};
use crate::text::NormalizedText;

/// A detector kind as the evaluator keys it: the text layer's registry kind, with a code (1, 2, ...) in the order of
/// the detectors' names, so that spans sorted by code sort as the Python gate's tuples do (by kind name). Nothing
/// here names a detector: a new registry entry is a new kind with no edit (see `crate::text::detectors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DetKind(pub Kind);

/// The registry's kinds in the order of their names.
fn by_name() -> &'static [Kind] {
    static KINDS: OnceLock<Vec<Kind>> = OnceLock::new();
    KINDS.get_or_init(|| {
        let mut kinds: Vec<Kind> = DETECTORS.iter().map(|s| s.kind).collect();
        kinds.sort_by_key(|k| k.name());
        kinds
    })
}

impl DetKind {
    pub fn name(self) -> &'static str {
        self.0.name()
    }

    pub fn parse(s: &str) -> Option<DetKind> {
        Kind::from_name(s).map(DetKind)
    }

    /// 1 + the kind's rank by name (0 is no kind: a phrase or regex span).
    pub fn code(self) -> u8 {
        by_name().iter().position(|k| *k == self.0).map_or(0, |i| i as u8 + 1)
    }

    pub fn from_code(code: u8) -> Option<DetKind> {
        (code as usize)
            .checked_sub(1)
            .and_then(|i| by_name().get(i))
            .map(|k| DetKind(*k))
    }

    /// Every kind, in code order.
    pub fn all() -> impl Iterator<Item = DetKind> {
        by_name().iter().map(|k| DetKind(*k))
    }
}

impl PartialOrd for DetKind {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for DetKind {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.name().cmp(other.name())
    }
}

/// One turn's text as the evaluator reads it: the original (as Python indexes it: character offsets) and its
/// normalized view.
pub struct View {
    pub nt: NormalizedText,
}

impl Drop for View {
    fn drop(&mut self) {
        crate::engine::native::recycle(std::mem::take(&mut self.nt));
    }
}

impl View {
    pub fn empty() -> View {
        View {
            nt: NormalizedText::default(),
        }
    }

    /// The normalized view of `text`.
    pub fn of(text: &str) -> View {
        View {
            nt: crate::engine::native::normalize(text),
        }
    }

    /// Number of tokens.
    #[inline]
    pub fn ntok(&self) -> usize {
        self.nt.norm_starts.len()
    }

    /// Token `i`.
    #[inline]
    pub fn tok(&self, i: usize) -> &str {
        &self.nt.text[self.nt.norm_starts[i]..self.nt.norm_ends[i]]
    }

    /// Whether the tokens from `at` are `value`.
    #[inline]
    pub fn toks_equal(&self, at: usize, value: &[String]) -> bool {
        at + value.len() <= self.ntok() && value.iter().enumerate().all(|(k, v)| self.tok(at + k) == v)
    }

    /// Index of the token containing (or starting at) normalized byte `off`; on a separating space the token
    /// before it; `None` when there are no tokens.
    #[inline]
    pub fn token_at(&self, off: usize) -> Option<usize> {
        let starts = &self.nt.norm_starts;
        if starts.is_empty() {
            return None;
        }
        let i = starts.partition_point(|&s| s <= off);
        Some(i.saturating_sub(1))
    }

    /// Original `(start, end)` (characters) covering every token that `text[norm_start..norm_end]` touches.
    pub fn to_original(&self, norm_start: usize, norm_end: usize) -> (u32, u32) {
        let nt = &self.nt;
        let n = self.ntok();
        if n == 0 {
            return (0, 0);
        }
        let starts = &nt.norm_starts;
        let mut i = starts.partition_point(|&s| s <= norm_start) as isize - 1;
        if i < 0 {
            i = 0;
        } else {
            let iu = i as usize;
            if iu + 1 < n && norm_start >= self.nt.norm_ends[iu] {
                i += 1; // on the space after token i
            }
        }
        let last = if norm_end > norm_start {
            norm_end - 1
        } else {
            norm_start
        };
        let mut j = starts.partition_point(|&s| s <= last) as isize - 1;
        if j < i {
            j = i;
        }
        (nt.orig_starts[i as usize] as u32, nt.orig_ends[j as usize] as u32)
    }

    /// Normalized `(start, stop)` bytes of tokens `first..last_excl`.
    #[inline]
    pub fn token_span(&self, first: usize, last_excl: usize) -> (usize, usize) {
        (self.nt.norm_starts[first], self.nt.norm_ends[last_excl - 1])
    }
}

/// A detector hit: original character offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub start: u32,
    pub end: u32,
}

/// A Python `str` as Rust text, and whether it was lossy: lone surrogates (which Rust strings cannot hold) become
/// U+FFFD one for one, so character offsets are the same on both sides. The string's own UTF-8 is borrowed when it
/// has one (no copy: the turn's hot path).
pub fn py_text<'a>(s: &'a Bound<'_, PyString>) -> PyResult<(std::borrow::Cow<'a, str>, bool)> {
    match s.to_str() {
        Ok(t) => Ok((std::borrow::Cow::Borrowed(t), false)),
        Err(_) => {
            let raw = s.call_method1("encode", ("utf-32-le", "surrogatepass"))?;
            let bytes: &[u8] = raw.downcast::<pyo3::types::PyBytes>()?.as_bytes();
            let mut out = String::with_capacity(bytes.len() / 4);
            for c in bytes.chunks_exact(4) {
                let u = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                out.push(char::from_u32(u).unwrap_or('\u{FFFD}'));
            }
            Ok((std::borrow::Cow::Owned(out), true))
        }
    }
}

/// The Python strings of the literal pieces an engine's rewrites add (its injected lines, joined with their spaces),
/// by text: an engine injects few texts, and every call injects the same ones.
pub type PyLiterals = std::sync::Mutex<Vec<(String, Py<PyString>)>>;

/// How many texts a [`PyLiterals`] keeps (the oldest goes first).
const PY_LITERALS: usize = 64;

/// The rewrite `pieces` of the turn `orig` (of `chars` characters) as a Python string, when they are the whole turn
/// with literal text before it, after it or both (injected lines, the common rewrite): `orig` concatenated with the
/// literals' strings (kept in `cache`) by Python, so the turn is neither copied into a Rust string nor decoded back.
/// `None` for any other pieces. The result equals the pieces rendered: the same characters in the same order.
pub fn around_whole(
    py: Python<'_>,
    chars: usize,
    pieces: &[super::edits::Piece],
    orig: &Bound<'_, PyString>,
    cache: &PyLiterals,
) -> PyResult<Option<Py<PyString>>> {
    use super::edits::Piece;
    let whole = |p: &Piece| matches!(p, Piece::Range(0, e) if *e == chars);
    let (before, after) = match pieces {
        [Piece::Lit(a), m] if whole(m) => (Some(a), None),
        [m, Piece::Lit(b)] if whole(m) => (None, Some(b)),
        [Piece::Lit(a), m, Piece::Lit(b)] if whole(m) => (Some(a), Some(b)),
        _ => return Ok(None),
    };
    let mut out = orig.clone().into_any();
    if let Some(a) = before {
        out = concat(py, literal(py, a, cache).bind(py), &out)?;
    }
    if let Some(b) = after {
        out = concat(py, &out, literal(py, b, cache).bind(py))?;
    }
    Ok(Some(out.downcast_into::<PyString>()?.unbind()))
}

/// `a + b`, both `str`.
fn concat<'py>(py: Python<'py>, a: &Bound<'py, PyAny>, b: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: two live objects; `PyUnicode_Concat` returns a new reference or NULL with an exception set
    unsafe { Bound::from_owned_ptr_or_err(py, pyo3::ffi::PyUnicode_Concat(a.as_ptr(), b.as_ptr())) }
}

/// The Python string of `text`, from `cache` (added when missing).
fn literal(py: Python<'_>, text: &str, cache: &PyLiterals) -> Py<PyString> {
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, s)) = cache.iter().find(|(t, _)| t == text) {
        return s.clone_ref(py);
    }
    let s = PyString::new(py, text).unbind();
    if cache.len() >= PY_LITERALS {
        cache.remove(0);
    }
    cache.push((text.to_string(), s.clone_ref(py)));
    s
}
