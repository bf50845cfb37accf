//! Text edits on a turn's original text: masking, removal with tidy spacing, injected prefixes and suffixes.
//!
//! Offsets are characters (as Python indexes `str`). Output is built as [`Piece`]s: ranges of the original and
//! inserted text, so a turn whose Python string holds lone surrogates (which Rust strings cannot) is rebuilt from
//! the original object, character for character (see [`Text::materialize`]).

use pyo3::prelude::*;
use pyo3::types::PyString;

/// A turn's text with character indexing.
pub struct Text<'a> {
    pub s: &'a str,
    /// byte offset of each character, plus the end; empty when the text is ASCII (character = byte)
    offsets: std::borrow::Cow<'a, [usize]>,
    /// the Python string it came from, when Rust could not hold it exactly (lone surrogates)
    pub py: Option<Bound<'a, PyString>>,
}

/// The byte offset of each character of `s`, plus its end.
#[inline(never)]
fn char_offsets(s: &str) -> Vec<usize> {
    let mut v: Vec<usize> = Vec::with_capacity(s.len() + 1);
    v.extend(s.char_indices().map(|(b, _)| b));
    v.push(s.len());
    v
}

/// Python's `str.isspace()` for one character.
#[inline]
pub fn py_isspace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// [`py_isspace`] for an ASCII byte: `\t` to `\r`, `\x1c` to `\x1f` and the space (one bit each in a mask of the
/// bytes up to the space: a shift and a test, where the three ranges take three compares).
#[inline]
pub fn py_isspace_ascii(b: u8) -> bool {
    const SPACES: u64 = 1 << b' ' | 0xf << 0x1c | 0x1f << b'\t';
    b <= b' ' && SPACES >> b & 1 != 0
}

impl<'a> Text<'a> {
    #[inline]
    pub fn new(s: &'a str, py: Option<Bound<'a, PyString>>) -> Text<'a> {
        // most turns are ASCII: the test is inlined, the offsets are built out of line
        let offsets = if s.is_ascii() { Vec::new() } else { char_offsets(s) };
        Text {
            s,
            offsets: offsets.into(),
            py,
        }
    }

    /// [`Text::new`] for a text the caller knows is ASCII (a streamed turn tracks it as it grows).
    pub fn ascii(s: &'a str) -> Text<'a> {
        debug_assert!(s.is_ascii());
        Text {
            s,
            offsets: std::borrow::Cow::Borrowed(&[]),
            py: None,
        }
    }

    /// [`Text::new`] for a text whose character offsets the caller keeps (`offsets`: the byte offset of each
    /// character, plus the end; a streamed turn extends them as it grows instead of finding them on every feed).
    pub fn with_offsets(s: &'a str, offsets: &'a [usize]) -> Text<'a> {
        debug_assert_eq!(offsets.last(), Some(&s.len()));
        Text {
            s,
            offsets: std::borrow::Cow::Borrowed(offsets),
            py: None,
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        if self.offsets.is_empty() {
            self.s.len()
        } else {
            self.offsets.len() - 1
        }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.s.is_empty()
    }

    #[inline]
    pub fn byte(&self, ci: usize) -> usize {
        if self.offsets.is_empty() {
            ci.min(self.s.len())
        } else {
            self.offsets[ci.min(self.offsets.len() - 1)]
        }
    }

    #[inline]
    pub fn char_at(&self, ci: usize) -> char {
        if self.offsets.is_empty() {
            self.s.as_bytes()[ci] as char
        } else {
            self.s[self.offsets[ci]..].chars().next().unwrap_or('\0')
        }
    }

    #[inline]
    pub fn slice(&self, cs: usize, ce: usize) -> &'a str {
        &self.s[self.byte(cs)..self.byte(ce.max(cs))]
    }

    /// Pieces as a Python string (from the original object where Rust's copy is not exact).
    pub fn materialize(&self, py: Python<'_>, pieces: &[Piece]) -> PyResult<Py<PyString>> {
        match &self.py {
            None => Ok(PyString::new(py, &self.render(pieces)).unbind()),
            Some(orig) => {
                let parts = pyo3::types::PyList::empty(py);
                for p in pieces {
                    match p {
                        Piece::Range(a, b) => parts.append(orig.as_any().get_item(pyo3::types::PySlice::new(
                            py,
                            *a as isize,
                            *b as isize,
                            1,
                        ))?)?,
                        Piece::Lit(s) => parts.append(PyString::new(py, s))?,
                    }
                }
                Ok(PyString::new(py, "")
                    .call_method1("join", (parts,))?
                    .downcast_into::<PyString>()?
                    .unbind())
            }
        }
    }

    /// Pieces as Rust text (lone surrogates read as U+FFFD).
    pub fn render(&self, pieces: &[Piece]) -> String {
        let len = pieces
            .iter()
            .map(|p| match p {
                Piece::Range(a, b) => self.slice(*a, *b).len(),
                Piece::Lit(s) => s.len(),
            })
            .sum();
        let mut out = String::with_capacity(len);
        for p in pieces {
            match p {
                Piece::Range(a, b) => out.push_str(self.slice(*a, *b)),
                Piece::Lit(s) => out.push_str(s),
            }
        }
        out
    }
}

/// A part of an output text.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    /// original characters `a..b`
    Range(usize, usize),
    Lit(String),
}

/// `body.strip()` is empty.
pub fn is_blank(text: &Text<'_>, pieces: &[Piece]) -> bool {
    pieces.iter().all(|p| match p {
        Piece::Range(a, b) => text.slice(*a, *b).chars().all(py_isspace),
        Piece::Lit(s) => s.chars().all(py_isspace),
    })
}

/// `body.rstrip()`, on pieces.
pub fn rstrip(text: &Text<'_>, pieces: &mut Vec<Piece>) {
    while let Some(last) = pieces.last_mut() {
        match last {
            Piece::Range(a, b) => {
                let mut end = *b;
                while end > *a && py_isspace(text.char_at(end - 1)) {
                    end -= 1;
                }
                if end > *a {
                    *b = end;
                    return;
                }
                pieces.pop();
            }
            Piece::Lit(s) => {
                let trimmed = s.trim_end_matches(py_isspace).len();
                if trimmed > 0 {
                    s.truncate(trimmed);
                    return;
                }
                pieces.pop();
            }
        }
    }
}

/// Index of the first non-blank character at or after `pos` (the text's length when there is none).
pub fn next_visible(text: &Text<'_>, mut pos: usize) -> usize {
    let n = text.len();
    while pos < n && matches!(text.char_at(pos), ' ' | '\t') {
        pos += 1;
    }
    pos
}

/// Index of the last non-blank character before `pos` (-1 when there is none).
fn prev_visible(text: &Text<'_>, pos: usize) -> isize {
    let mut p = pos as isize - 1;
    while p >= 0 && matches!(text.char_at(p as usize), ' ' | '\t') {
        p -= 1;
    }
    p
}

/// Widen a removal so that it leaves no double space, no space before punctuation and no orphaned comma ("I
/// will, trust me." -> "I will."). It looks one visible character either side.
pub fn removal_extent(text: &Text<'_>, start: usize, end: usize) -> (usize, usize) {
    let before = prev_visible(text, start);
    let after = next_visible(text, end);
    let n = text.len();
    let prev_ch = if before >= 0 {
        Some(text.char_at(before as usize))
    } else {
        None
    };
    let next_ch = if after < n { Some(text.char_at(after)) } else { None };
    let punct = |c: Option<char>, set: &str| c.is_some_and(|c| set.contains(c));
    if prev_ch == Some(',') && next_ch == Some(',') {
        return (before as usize, after + 1); // "can, X, help" -> "can help"
    }
    if prev_ch == Some(',') && punct(next_ch, ".;:!?") {
        return (before as usize, after);
    }
    if (prev_ch.is_none() || punct(prev_ch, ".!?")) && next_ch == Some(',') {
        return (start, next_visible(text, after + 1));
    }
    if punct(next_ch, ",.;:!?") {
        return ((before + 1) as usize, after);
    }
    if next_ch.is_none() {
        return ((before + 1) as usize, n);
    }
    (start, after)
}

fn char_is_lower(py: Python<'_>, c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_lowercase()
    } else {
        py_str_method(py, c, "islower").unwrap_or(false)
    }
}

fn char_is_upper(py: Python<'_>, c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_uppercase()
    } else {
        py_str_method(py, c, "isupper").unwrap_or(false)
    }
}

fn py_str_method(py: Python<'_>, c: char, name: &str) -> Option<bool> {
    let mut buf = [0u8; 4];
    PyString::new(py, c.encode_utf8(&mut buf))
        .call_method0(name)
        .ok()?
        .extract()
        .ok()
}

fn char_upper(py: Python<'_>, c: char) -> String {
    if c.is_ascii() {
        return c.to_ascii_uppercase().to_string();
    }
    let mut buf = [0u8; 4];
    PyString::new(py, c.encode_utf8(&mut buf))
        .call_method0("upper")
        .and_then(|u| u.extract::<String>())
        .unwrap_or_else(|_| c.to_uppercase().collect())
}

/// An edit: replace original characters `start..end` with `repl` (`""` removes them, tidily).
pub type Edit = (usize, usize, String);

/// Pieces a plan may add after [`apply_edits`]: an injected prefix and suffix.
const ROOM: usize = 2;

/// Apply replacements (overlaps merge into the widest; removals tidy their own spacing). `apply_edits` of the
/// Python gate, as pieces.
pub fn apply_edits(py: Python<'_>, text: &Text<'_>, edits: &[Edit]) -> Vec<Piece> {
    let n = text.len();
    if edits.is_empty() {
        // room for the prefix and the suffix a plan may add: no reallocation on a turn with injected lines
        let mut out = Vec::with_capacity(1 + ROOM);
        out.push(Piece::Range(0, n));
        return out;
    }
    // a turn has a few edits: sorted on the stack (a stable sort of a short slice does not allocate), and the
    // replacements borrowed from the edits until they become pieces
    const FEW: usize = 8;
    let mut few: [&Edit; FEW] = [&edits[0]; FEW];
    let mut many: Vec<&Edit> = Vec::new();
    let sorted: &mut [&Edit] = if edits.len() <= FEW {
        for (slot, e) in few.iter_mut().zip(edits) {
            *slot = e;
        }
        &mut few[..edits.len()]
    } else {
        many.extend(edits.iter());
        &mut many
    };
    sorted.sort_by_key(|a| (a.0, std::cmp::Reverse(a.1)));
    // (start, end, replacement, the text of an uppercase fix)
    let mut merged: Vec<(usize, usize, &str, Option<String>)> = Vec::with_capacity(sorted.len());
    for &&(start, end, ref repl) in sorted.iter() {
        let (mut start, mut end, mut repl) = (start, end.min(n), repl.as_str());
        if repl.is_empty() {
            let (s, e) = removal_extent(text, start, end);
            start = s;
            end = e;
            if 0 < start && end < n {
                let before = text.char_at(start - 1);
                let after = text.char_at(end);
                if !matches!(before, ' ' | '\t') && !" \t,.;:!?".contains(after) {
                    repl = " "; // keep the words on either side apart
                }
            }
        }
        if let Some(last) = merged.last_mut() {
            if start < last.1 {
                if end > last.1 {
                    last.1 = end;
                }
                continue;
            }
        }
        merged.push((start, end, repl, None));
    }
    if let Some(first) = merged.first_mut() {
        if first.0 == 0 && first.2.is_empty() {
            first.1 = next_visible(text, first.1); // nothing left before it: no leading space either
        }
    }
    for edit in merged.iter_mut() {
        let (start, end) = (edit.0, edit.1);
        // a capitalized sentence opening was removed: the next word now opens the sentence
        if edit.2.is_empty() && end < n && start < n {
            let next = text.char_at(end);
            if char_is_lower(py, next) && char_is_upper(py, text.char_at(start)) {
                let before = prev_visible(text, start);
                if before == -1 || ".!?".contains(text.char_at(before as usize)) {
                    edit.1 = end + 1;
                    edit.3 = Some(char_upper(py, next));
                }
            }
        }
    }
    let mut out = Vec::with_capacity(merged.len() * 2 + 1 + ROOM);
    let mut pos = 0;
    for (start, end, repl, upper) in merged {
        if start > pos {
            out.push(Piece::Range(pos, start));
        }
        match upper {
            Some(u) if !u.is_empty() => out.push(Piece::Lit(u)),
            Some(_) => {}
            None if !repl.is_empty() => out.push(Piece::Lit(repl.to_string())),
            None => {}
        }
        pos = end;
    }
    if pos < n {
        out.push(Piece::Range(pos, n));
    }
    out
}

/// Mask all digits of a written number but the last `keep_last`, keeping its separators; a spoken number becomes
/// `ending in NNNN`. `digit_positions`: the characters of `segment` Python's `str.isdigit` accepts, ascending;
/// `spoken_digits`: the digit tokens of the segment's normalized view, joined.
pub fn mask_digits(
    segment: &str,
    digit_positions: &[usize],
    keep_last: usize,
    spoken_digits: impl FnOnce() -> Option<String>,
) -> String {
    if digit_positions.len() >= keep_last.max(1) + 4 {
        let keep_from = digit_positions.len() - keep_last;
        // the positions ascend: walk them along the characters (the k-th digit is masked when k < keep_from)
        let mut k = 0;
        let mut out = String::with_capacity(segment.len());
        for (i, ch) in segment.chars().enumerate() {
            if digit_positions.get(k) == Some(&i) {
                out.push(if k < keep_from { 'X' } else { ch });
                k += 1;
            } else {
                out.push(ch);
            }
        }
        return out;
    }
    match spoken_digits() {
        Some(digits) if keep_last > 0 && digits.chars().count() >= keep_last => {
            let tail: Vec<char> = digits.chars().collect();
            let tail = &tail[tail.len() - keep_last..];
            let spaced: Vec<String> = tail.iter().map(|c| c.to_string()).collect();
            format!("ending in {}", spaced.join(" "))
        }
        _ => "[redacted]".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mask is the three ranges, byte for byte.
    #[test]
    fn py_isspace_ascii_is_the_three_ranges() {
        for b in 0..=255u8 {
            let ranges = matches!(b, b'\t'..=b'\r' | 0x1c..=0x1f | b' ');
            assert_eq!(py_isspace_ascii(b), ranges, "{b:#x}");
            if b.is_ascii() {
                assert_eq!(py_isspace(char::from(b)), ranges, "{b:#x}");
            }
        }
    }

    /// The mask by its definition: every digit position but the last `keep_last` becomes `X`.
    fn mask_by_definition(segment: &str, positions: &[usize], keep_last: usize) -> String {
        let masked = &positions[..positions.len() - keep_last];
        segment
            .chars()
            .enumerate()
            .map(|(i, c)| if masked.contains(&i) { 'X' } else { c })
            .collect()
    }

    #[test]
    fn mask_digits_masks_all_but_the_last_digits() {
        for segment in [
            "408-247-8880",
            "+1 (602) 426-2638",
            "4111 1111 1111 1111",
            "1ª2³4-5é67 89",
            "123-45-6789",
        ] {
            let positions: Vec<usize> = segment
                .chars()
                .enumerate()
                .filter(|(_, c)| c.is_ascii_digit())
                .map(|(i, _)| i)
                .collect();
            for keep_last in 0..=4 {
                if positions.len() < keep_last.max(1) + 4 {
                    continue;
                }
                let got = mask_digits(segment, &positions, keep_last, || None);
                assert_eq!(
                    got,
                    mask_by_definition(segment, &positions, keep_last),
                    "{segment} {keep_last}"
                );
            }
        }
        assert_eq!(
            mask_digits("408-247-8880", &[0, 1, 2, 4, 5, 6, 8, 9, 10, 11], 4, || None),
            "XXX-XXX-8880"
        );
        assert_eq!(mask_digits("12", &[0, 1], 4, || Some("12".into())), "[redacted]");
    }
}
