//! The normalized view of a turn (the Rust twin of `trace_engine/text/normalize.py`, whose docstring states the
//! rules): fold, tokens with their original spans, symbols, contractions, spelled words, then the number pass.
//!
//! The scanner is hand-written rather than built on the `regex` crate: the rules are written in Python's `\w`/`\s`
//! classes on Python's Unicode version ([`super::chars`]), the spelled-word rule needs a back-reference, and a
//! single pass over the characters that classifies gaps as it goes costs less than a regex plus a second look.

use super::chars::{is_alnum, is_apostrophe, is_inline_space, is_space, push_casefold};
use super::fold::fold;
use super::items::{Item, Items, GAP_HYPHEN, GAP_OTHER, GAP_WS, K_DECIMAL, K_DIGITS, K_PLACEHOLDER, K_WORD};
use super::numbers::{convert_numbers, needs_number_pass};
use super::words::{expansion, is_number_pass_word, prefilter, Prefiltered, GENERIC_SUFFIXES};
use super::Fold;
use super::NormalizedText;
use crate::swar;

/// Characters addressed by index (code points): ASCII text as bytes, anything else as a `char` slice.
/// (`str` is only ever ASCII text here: its bytes are its characters.)
pub(crate) trait Chars {
    fn len(&self) -> usize;
    fn at(&self, i: usize) -> char;
    /// The characters `a..b` as a `str`, when the text is ASCII bytes.
    fn ascii_str(&self, a: usize, b: usize) -> Option<&str>;
}

impl Chars for str {
    #[inline]
    fn len(&self) -> usize {
        str::len(self)
    }
    #[inline]
    fn at(&self, i: usize) -> char {
        self.as_bytes()[i] as char
    }
    #[inline]
    fn ascii_str(&self, a: usize, b: usize) -> Option<&str> {
        Some(&self[a..b])
    }
}

impl Chars for [char] {
    #[inline]
    fn len(&self) -> usize {
        <[char]>::len(self)
    }
    #[inline]
    fn at(&self, i: usize) -> char {
        self[i]
    }
    #[inline]
    fn ascii_str(&self, _: usize, _: usize) -> Option<&str> {
        None
    }
}

/// Whether `word` (a previous word: its characters, then its whitespace) lets the normalizer restart after it: two
/// or more ASCII letters, not `and` nor a number-pass word, then only ASCII whitespace. At such a restart point `F`,
/// `normalize(t) == normalize(t[..F]) ++ normalize(t[F..])` (offsets shifted; [`NormalizedText::join`]): folding
/// works per character and per word, and no later stage reads across such a word.
pub(crate) fn restarts_after(word: &[u8]) -> bool {
    let letters = word.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    if letters < 2 || letters == word.len() || !word[letters..].iter().all(|&b| b.is_ascii() && is_space(b as char)) {
        return false;
    }
    if letters > 16 {
        return true; // longer than any number word
    }
    let mut lower = [0u8; 16];
    let out = &mut lower[..letters];
    out.copy_from_slice(&word[..letters]);
    out.make_ascii_lowercase();
    // SAFETY: ASCII letters are UTF-8
    let w = unsafe { std::str::from_utf8_unchecked(out) };
    w != "and" && !is_number_pass_word(w)
}

/// Builds the normalized view of `text`.
pub fn normalize(text: &str) -> NormalizedText {
    let mut nt = NormalizedText::default();
    normalize_into(text, &mut nt);
    nt
}

/// Builds the normalized view of `text` into `nt`, reusing its buffers (no allocation once they are large enough,
/// for ASCII text).
pub fn normalize_into(text: &str, nt: &mut NormalizedText) {
    view_into(text, false, nt);
}

/// The normalized view of a rule phrase (`{variable}` and `*` kept as tokens); [`normalize_phrase`] is its text.
pub fn normalize_phrase_view(phrase: &str) -> NormalizedText {
    let mut nt = NormalizedText::default();
    view_into(phrase, true, &mut nt);
    nt
}

thread_local! {
    /// The item buffers, reused from turn to turn (taken while in use, so a nested call just allocates).
    static SCRATCH: std::cell::Cell<Items> = std::cell::Cell::new(Items::default());
}

/// Runs `f` with empty item buffers.
fn with_items<R>(f: impl FnOnce(&mut Items) -> R) -> R {
    let mut items = SCRATCH.with(|s| s.take());
    items.arena.clear();
    items.v.clear();
    items.spare.clear();
    let out = f(&mut items);
    SCRATCH.with(|s| s.set(items));
    out
}

fn view_into(text: &str, phrase: bool, nt: &mut NormalizedText) {
    if !phrase && !text.is_ascii() && view_in_pieces(text, nt) {
        return;
    }
    view_whole(text, phrase, nt);
}

/// The view of `text` in one piece: the ASCII fast path, else the scanner (over characters and folded, when `text`
/// is not ASCII).
fn view_whole(text: &str, phrase: bool, nt: &mut NormalizedText) {
    nt.clear();
    nt.original.push_str(text);
    if !phrase && text.is_ascii() {
        if view_plain_ascii(text, nt) {
            return;
        }
        nt.clear();
        nt.original.push_str(text);
    }
    with_items(|items| view_from(text, phrase, nt, items));
}

/// The last restart point in `lo + 1..=x` of `text` (the text in `lo..x` is ASCII, `lo` is a word's start or 0),
/// else `lo`: a word's start whose previous word [`restarts_after`].
fn restart_before(text: &str, lo: usize, x: usize) -> usize {
    let b = text.as_bytes();
    let space = |i: usize| is_space(char::from(b[i]));
    // the character at `x` is not ASCII: a word starts there unless it is whitespace
    let x_space = text[x..].chars().next().is_some_and(is_space);
    let mut i = x;
    // the word starts from `x` down, each tested with the word before it
    let mut next_start = None;
    while i > lo {
        let start = !(if i == x { x_space } else { space(i) }) && space(i - 1);
        if start {
            if let Some(s) = next_start {
                if restarts_after(&b[i..s]) {
                    return s;
                }
            }
            next_start = Some(i);
        }
        i -= 1;
    }
    // `lo` starts a word (or is 0): the word after it may restart
    match next_start {
        Some(s) if !space(lo) && restarts_after(&b[lo..s]) => s,
        _ => lo,
    }
}

/// The first restart point after the word of `text` at byte `x` (a character that is not ASCII, which no word that
/// restarts holds, nor the whitespace after one): the start of a word whose previous word [`restarts_after`].
fn restart_after(text: &str, x: usize) -> Option<usize> {
    let b = text.as_bytes();
    let mut prev_word: Option<usize> = None;
    let mut prev_space = false;
    for (k, ch) in text[x..].char_indices() {
        let i = x + k;
        let space = is_space(ch);
        if !space && prev_space {
            if prev_word.is_some_and(|w| restarts_after(&b[w..i])) {
                return Some(i);
            }
            prev_word = Some(i);
        }
        prev_space = space;
    }
    None
}

thread_local! {
    /// A piece's view in [`view_in_pieces`], reused from turn to turn.
    static PIECE: std::cell::Cell<NormalizedText> = std::cell::Cell::new(NormalizedText::default());
}

/// The view of `text` (not all ASCII) built piece by piece, cut at restart points ([`restarts_after`]): the pieces
/// that are ASCII take the ASCII paths, and only those with a character that is not ASCII (from the restart point
/// before it to the one after its word) the scanner over characters and folding, which cost several times more per
/// character. So one curly apostrophe or em dash no longer sends a whole turn down the slow path. Only the words
/// around each character that is not ASCII are read to find the cuts. Returns `false`, with `nt` untouched, when no
/// restart point sets an ASCII piece apart.
fn view_in_pieces(text: &str, nt: &mut NormalizedText) -> bool {
    let b = text.as_bytes();
    // the cuts, in order: each piece that is not ASCII starts at one (or at 0) and ends at the next (or the end)
    let mut ends: Vec<usize> = Vec::new();
    let mut at = 0; // where the last piece that is not ASCII ended
    while let Some(x) = b[at..].iter().position(|c| !c.is_ascii()).map(|p| at + p) {
        let start = restart_before(text, at, x);
        if ends.last() == Some(&start) {
            ends.pop(); // no ASCII piece between it and the piece before: one piece
        } else if start > 0 {
            ends.push(start);
        }
        match restart_after(text, x) {
            Some(end) => {
                ends.push(end);
                at = end;
            }
            None => break,
        }
    }
    if ends.is_empty() {
        return false; // one piece
    }
    ends.push(b.len());
    let mut piece = PIECE.with(|p| p.take());
    let (mut start, mut chars, mut folded_chars) = (0, 0, 0);
    for (k, &end) in ends.iter().enumerate() {
        let part = &text[start..end];
        let into = if k == 0 { &mut *nt } else { &mut piece };
        view_whole(part, false, into);
        let (n, folded) = if part.is_ascii() && into.fold.is_none() {
            (part.len(), part.len())
        } else {
            (part.chars().count(), into.folded().chars().count())
        };
        if k > 0 {
            nt.join(&piece, chars, folded_chars);
        }
        chars += n;
        folded_chars += folded;
        start = end;
    }
    PIECE.with(|p| p.set(piece));
    true
}

/// Byte classes of the fast path, one table load per byte (ASCII only; every byte from 128 up is in no class).
const B_ALNUM: u8 = 1;
/// `str.isspace()`
const B_SPACE: u8 = 8;
/// [`is_chunk_joiner`]: `. , _ '`
const B_JOINER: u8 = 16;

static BYTE_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0usize;
    while b < 128 {
        let c = b as u8;
        let mut k = 0;
        if c.is_ascii_alphanumeric() {
            k |= B_ALNUM;
        }
        if matches!(c, b'\t'..=b'\r' | 0x1c..=0x1f | b' ') {
            k |= B_SPACE;
        }
        if matches!(c, b'.' | b',' | b'_' | b'\'') {
            k |= B_JOINER;
        }
        t[b] = k;
        b += 1;
    }
    t
};

/// The fast path's output: the token columns of a [`NormalizedText`] and its text as bytes, written straight into
/// their buffers. Each write checks its own room once (a compare; growing is out of line), instead of a capacity
/// check per column and per byte: a token is five stores, a word's bytes are copied (and lowercased) eight at a time.
/// The columns' lengths are kept here and set on the columns when they grow and on drop, so every exit (the full
/// scanner taking over included) leaves each column exactly as long as the tokens written.
struct Columns<'a> {
    /// only ASCII bytes are ever written (see [`view_plain_ascii`]); its length is always current
    text: &'a mut Vec<u8>,
    norm_starts: &'a mut Vec<usize>,
    norm_ends: &'a mut Vec<usize>,
    orig_starts: &'a mut Vec<usize>,
    orig_ends: &'a mut Vec<usize>,
    is_digits: &'a mut Vec<bool>,
    /// tokens written: the length of every column
    len: usize,
    /// tokens every column has capacity for
    cap: usize,
}

impl<'a> Columns<'a> {
    fn of(nt: &'a mut NormalizedText) -> Self {
        let len = nt.norm_starts.len();
        debug_assert!([
            nt.norm_ends.len(),
            nt.orig_starts.len(),
            nt.orig_ends.len(),
            nt.is_digits.len()
        ]
        .iter()
        .all(|&l| l == len));
        let mut out = Columns {
            // SAFETY: only ASCII bytes are written (the input's, lowercased, and ASCII literals): the text stays UTF-8
            text: unsafe { nt.text.as_mut_vec() },
            norm_starts: &mut nt.norm_starts,
            norm_ends: &mut nt.norm_ends,
            orig_starts: &mut nt.orig_starts,
            orig_ends: &mut nt.orig_ends,
            is_digits: &mut nt.is_digits,
            len,
            cap: 0,
        };
        out.cap = out.capacity();
        out
    }

    /// Tokens every column has room for.
    fn capacity(&self) -> usize {
        self.norm_starts
            .capacity()
            .min(self.norm_ends.capacity())
            .min(self.orig_starts.capacity())
            .min(self.orig_ends.capacity())
            .min(self.is_digits.capacity())
    }

    /// Sets the columns' lengths to the tokens written.
    fn sync(&mut self) {
        // SAFETY: tokens `..len` were written (below `cap`, within every column's capacity); the elements are `Copy`
        unsafe {
            self.norm_starts.set_len(self.len);
            self.norm_ends.set_len(self.len);
            self.orig_starts.set_len(self.len);
            self.orig_ends.set_len(self.len);
            self.is_digits.set_len(self.len);
        }
    }

    #[cold]
    #[inline(never)]
    fn grow_tokens(&mut self) {
        self.sync();
        let extra = self.len.max(16);
        self.norm_starts.reserve(extra);
        self.norm_ends.reserve(extra);
        self.orig_starts.reserve(extra);
        self.orig_ends.reserve(extra);
        self.is_digits.reserve(extra);
        self.cap = self.capacity();
    }

    #[cold]
    #[inline(never)]
    fn grow_text(&mut self, bytes: usize) {
        self.text.reserve(bytes.max(self.text.len()).max(64));
    }

    /// Room in the text for `bytes` more bytes.
    #[inline(always)]
    fn text_room(&mut self, bytes: usize) {
        if self.text.capacity() - self.text.len() < bytes {
            self.grow_text(bytes);
        }
    }

    /// Appends `bytes` (ASCII) to the text.
    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) {
        self.text_room(bytes.len());
        let at = self.text.len();
        // SAFETY: room for `bytes.len()` bytes from `at`; they are initialized before the length covers them
        unsafe {
            let dst = self.text.as_mut_ptr().add(at);
            for (i, &x) in bytes.iter().enumerate() {
                dst.add(i).write(x);
            }
            self.text.set_len(at + bytes.len());
        }
    }

    /// Appends `b[s..q]` lowercased (`b` ASCII), eight bytes at a time where `b` has eight from there.
    #[inline(always)]
    fn put_lower(&mut self, b: &[u8], s: usize, q: usize) {
        let len = q - s;
        // an eight-byte store from `len - 1` writes up to seven bytes past the word, in the spare capacity
        self.text_room(len + 8);
        let at = self.text.len();
        // SAFETY: room for `len + 8` bytes from `at`; each store starts below `at + len` and is at most eight long;
        // the length covers only the word's bytes, all written
        unsafe {
            let dst = self.text.as_mut_ptr().add(at);
            let mut i = 0;
            while i < len {
                if s + i + 8 <= b.len() {
                    let w = crate::swar::load(&b[s + i..s + i + 8]);
                    let lower = w | crate::swar::bytes_between(w, b'A' - 1, b'Z' + 1) >> 2;
                    std::ptr::copy_nonoverlapping(lower.to_le_bytes().as_ptr(), dst.add(i), 8);
                    i += 8;
                } else {
                    dst.add(i).write(b[s + i].to_ascii_lowercase());
                    i += 1;
                }
            }
            self.text.set_len(at + len);
        }
    }

    /// Starts a token: the separating space, then its offset in the text.
    #[inline(always)]
    fn start(&mut self) -> usize {
        if !self.text.is_empty() {
            self.put(b" ");
        }
        self.text.len()
    }

    /// Ends the token begun at `start` (from the original `s..e`).
    #[inline(always)]
    fn end(&mut self, start: usize, s: usize, e: usize, digits: bool) {
        if self.len == self.cap {
            self.grow_tokens();
        }
        let k = self.len;
        let end = self.text.len();
        // SAFETY: `k < cap`, which every column has capacity for; the lengths cover `k` only once it is written
        unsafe {
            self.norm_starts.as_mut_ptr().add(k).write(start);
            self.norm_ends.as_mut_ptr().add(k).write(end);
            self.orig_starts.as_mut_ptr().add(k).write(s);
            self.orig_ends.as_mut_ptr().add(k).write(e);
            self.is_digits.as_mut_ptr().add(k).write(digits);
        }
        self.len = k + 1;
    }

    /// The token's text so far (ASCII).
    #[inline(always)]
    fn word(&self, start: usize) -> &str {
        // SAFETY: every byte written to the text is ASCII
        unsafe { std::str::from_utf8_unchecked(&self.text[start..]) }
    }

    /// A written number's token: its digits and decimal point, without thousands separators.
    #[inline]
    fn number(&mut self, b: &[u8], s: usize, q: usize, separated: bool) {
        if !separated {
            self.put_lower(b, s, q); // digits only: lowercasing keeps them
            return;
        }
        for &x in &b[s..q] {
            if x != b',' {
                self.put(&[x]);
            }
        }
    }
}

impl Drop for Columns<'_> {
    fn drop(&mut self) {
        self.sync();
    }
}

/// What the fast path has seen of its word tokens: the spelled-word and number-word checks.
struct Seen {
    single_letters: usize,
    spelled: bool,
    number_words: bool,
}

impl Seen {
    /// Ends a word token (not a number) begun at `start`, whose [`prefilter`] is `pre`; `false` when the text needs
    /// the full scanner.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn word_prefiltered(
        &mut self,
        out: &mut Columns<'_>,
        text: &str,
        start: usize,
        s: usize,
        e: usize,
        digits: bool,
        pre: Prefiltered,
    ) -> bool {
        let t = out.word(start);
        if t.len() == 1 && t.as_bytes()[0].is_ascii_alphabetic() {
            self.single_letters += 1;
            self.spelled = self.spelled || (may_spell_at(text, s) && spelled_at(text, s).is_some());
            if self.spelled && self.single_letters >= 3 {
                return false;
            }
        }
        self.number_words = self.number_words || pre.is_number_pass_word(t);
        out.end(start, s, e, digits);
        true
    }

    /// [`Seen::word_prefiltered`] out of line, for the seldom paths (contractions).
    #[inline(never)]
    fn word_outlined(
        &mut self,
        out: &mut Columns<'_>,
        text: &str,
        at: usize,
        s: usize,
        e: usize,
        digits: bool,
    ) -> bool {
        let pre = prefilter(out.word(at));
        self.word_prefiltered(out, text, at, s, e, digits, pre)
    }
}

/// "dollars", "percent", "at": tokens the number pass and the spelled-word rule never look at.
#[inline(never)]
fn symbol(out: &mut Columns<'_>, w: &str, s: usize, e: usize) {
    let at = out.start();
    out.put(w.as_bytes());
    out.end(at, s, e, false);
}

/// The end of the run of ASCII letters and digits at `q` in `b`, and whether it holds a letter; eight bytes at a
/// time. A byte-at-a-time loop leaves on a branch that mispredicts about once per word the first time the processor
/// sees a turn's text (where a word ends is what the text decides), and every turn is new text: here a branch is
/// taken per eight bytes, and only words of eight or more characters go round again.
#[inline(always)]
fn alphanumeric_run(b: &[u8], mut q: usize) -> (usize, bool) {
    let mut letters = 0u64;
    loop {
        let rest = &b[q..];
        // past the end: zero bytes, which end the run
        let x = swar::load_first(rest);
        let digits = swar::bytes_between(x, b'0' - 1, b'9' + 1);
        // ASCII letters in either case (0x20 folds "A".."Z" onto "a".."z" and no other byte into them)
        let alpha = swar::bytes_between(x | (swar::ONES * 0x20), b'a' - 1, b'z' + 1);
        let stop = !(digits | alpha) & swar::HIGH;
        // the flags below the first stop (all of them when there is none): the run's own bytes
        letters |= alpha & (stop ^ stop.wrapping_sub(1));
        let run = (stop.trailing_zeros() / 8) as usize;
        q += run;
        if run < 8 {
            return (q, letters != 0);
        }
    }
}

/// The fast path for the common turn: ASCII text whose tokens are words, digits, written numbers (`1,000`, `12.50`),
/// contractions, `%`, `@` and `$` before a number, with no spelled-out word. Writes the tokens straight into `nt` in
/// one pass over the bytes (a word's letters and digits eight at a time, [`alphanumeric_run`]; a class-table load
/// for each other byte); `false` (with `nt` half built) when the text needs the full scanner.
///
/// Why its tokens are the full scanner's: each chunk and symbol becomes the items `scan_raw` would make of it, and
/// the two passes that look across items are settled here. The spelled-word merge changes items only when some
/// spelled word exists (`find_spelled`) and three single-letter items do; a spelled word can only start at a
/// single-letter chunk (it needs a letter with no word character or apostrophe before it and whitespace or a
/// separator after it; anything else is a chunk with a `.` or `_` inside, which takes the full scanner), so
/// `spelled_at` is asked at those starts only. The number pass reads items and the gaps between them: when a token
/// is a number word, [`number_pass_on_tokens`] rebuilds the items from the tokens (the gaps from the original text
/// between their spans) and runs the same pass.
fn view_plain_ascii(text: &str, nt: &mut NormalizedText) -> bool {
    let b = text.as_bytes();
    let n = b.len();
    let mut seen_words = Seen {
        single_letters: 0,
        spelled: false,
        number_words: false,
    };
    let mut out = Columns::of(nt);
    // a "$" not yet read: its offset, and whether only whitespace has followed it
    let mut dollar: Option<usize> = None;
    let mut dollar_clean = false;
    let mut p = 0;
    while p < n {
        let c = b[p];
        if c == b' ' {
            p += 1; // between most words: whitespace keeps a "$" clean
            continue;
        }
        let class = BYTE_CLASS[c as usize];
        if class & B_ALNUM == 0 {
            p += 1;
            let w = match c {
                b'%' => "percent",
                b'@' => "at",
                b'$' => {
                    if let Some(ds) = dollar {
                        symbol(&mut out, "dollars", ds, ds + 1);
                    }
                    dollar = Some(p - 1);
                    dollar_clean = true;
                    continue;
                }
                _ => {
                    dollar_clean &= class & B_SPACE != 0;
                    continue;
                }
            };
            if dollar.is_some() {
                return false; // "$%": the full scanner puts "dollars" first
            }
            symbol(&mut out, w, p - 1, p);
            continue;
        }
        // a chunk: alphanumeric runs joined by single ". , _" or apostrophes
        let s = p;
        let mut q = p;
        let mut letters = false; // whether any of its alphanumeric bytes is a letter
        let mut apostrophe = false;
        let mut separated = false; // a "." or ","
        loop {
            let (end, any_letter) = alphanumeric_run(b, q);
            q = end;
            letters |= any_letter;
            if q + 1 < n && BYTE_CLASS[b[q] as usize] & B_JOINER != 0 && BYTE_CLASS[b[q + 1] as usize] & B_ALNUM != 0 {
                match b[q] {
                    b'\'' => apostrophe = true,
                    b'_' => return false,
                    _ => separated = true,
                }
                q += 1;
            } else {
                break;
            }
        }
        p = q;
        // digits joined by "." and ","
        let number = !apostrophe && !letters;
        if separated && !number {
            return false; // "p.m.", "jane.doe": words with dots take the full scanner
        }
        if number && separated && !numeric_segment(text, s, q) {
            return false; // "415.555.0198": digit groups, one token each
        }
        let at = out.start();
        if let Some(ds) = dollar.take() {
            if !(number && dollar_clean) {
                return false; // "$ for": the full scanner puts "dollars" first
            }
            // "$12" reads "12 dollars", both tokens spanning "$12"
            out.number(b, s, q, separated);
            out.end(at, ds, q, !separated || !b[s..q].contains(&b'.'));
            symbol(&mut out, "dollars", ds, q);
            continue;
        }
        if number {
            out.number(b, s, q, separated);
            out.end(at, s, q, !separated || !b[s..q].contains(&b'.'));
            continue;
        }
        out.put_lower(b, s, q);
        let ok = if apostrophe {
            contraction_tokens(&mut out, &mut seen_words, text, at, s, q)
        } else {
            let pre = prefilter(out.word(at));
            match pre.expansion(out.word(at)) {
                None => seen_words.word_prefiltered(&mut out, text, at, s, q, false, pre),
                Some(parts) => expanded_tokens(&mut out, &mut seen_words, text, parts, at, s, q),
            }
        };
        if !ok {
            return false;
        }
    }
    if let Some(ds) = dollar {
        symbol(&mut out, "dollars", ds, ds + 1);
    }
    drop(out);
    if seen_words.number_words {
        number_pass_on_tokens(text, nt);
    }
    true
}

/// The tokens of a word written at `at` that has an apostrophe inside (a contraction, a possessive, or a plain word
/// such as "o'clock"); `false` when the text needs the full scanner.
#[inline(never)] // out of the fast path's loop: most words have no apostrophe
fn contraction_tokens(out: &mut Columns<'_>, seen: &mut Seen, text: &str, at: usize, s: usize, q: usize) -> bool {
    match word_form(out.word(at)) {
        WordForm::Plain => seen.word_outlined(out, text, at, s, q, false),
        WordForm::Expansion(parts) => expanded_tokens(out, seen, text, parts, at, s, q),
        WordForm::Suffix(base, repl) => {
            out.text.truncate(at + base);
            let digits = out.text[at..].iter().all(u8::is_ascii_digit);
            if !seen.word_outlined(out, text, at, s, q, digits) {
                return false;
            }
            match repl {
                Some(r) => {
                    let at = out.start();
                    out.put(r.as_bytes());
                    seen.word_outlined(out, text, at, s, q, false)
                }
                None => true,
            }
        }
    }
}

/// The tokens of a contraction's expansion (the word written at `at` is replaced), each spanning the word.
#[inline(never)] // out of the fast path's loop: few words expand
fn expanded_tokens(
    out: &mut Columns<'_>,
    seen: &mut Seen,
    text: &str,
    parts: &[&str],
    at: usize,
    s: usize,
    q: usize,
) -> bool {
    out.text.truncate(at);
    for (k, part) in parts.iter().enumerate() {
        let at = if k == 0 { at } else { out.start() };
        out.put(part.as_bytes());
        if !seen.word_outlined(out, text, at, s, q, false) {
            return false;
        }
    }
    true
}

/// The number pass over the fast path's tokens: the items `scan_raw` would have made (tokens of one chunk share its
/// span and are joined by whitespace; otherwise the gap is the original text between two spans, as `scan_raw`
/// computes it from the end of the previous match), converted, and written back as the tokens.
///
/// Only the tokens from the first number word on (and the digit group right before it) are looked at again: the
/// pass leaves every earlier item as it was, because a digit run it merges holds no two written groups in a row and
/// so starts at most one digit group before its first number word, and fillers are number words.
#[inline(never)] // out of the fast path's loop: only turns with a number word get here
fn number_pass_on_tokens(text: &str, nt: &mut NormalizedText) {
    let first_word = (0..nt.len()).find(|&k| is_number_pass_word(nt.token(k))).unwrap_or(0);
    let from = if first_word > 0 && nt.is_digits[first_word - 1] {
        first_word - 1
    } else {
        first_word
    };
    with_items(|items| {
        let mut prev_end = if from > 0 { nt.orig_ends[from - 1] } else { 0 };
        for k in from..nt.len() {
            let (s, e) = (nt.orig_starts[k], nt.orig_ends[k]);
            let tok = nt.token(k);
            let g = if k > 0 && s < prev_end {
                GAP_WS
            } else {
                gap(text, prev_end, s)
            };
            let kind = if nt.is_digits[k] {
                K_DIGITS
            } else if tok.as_bytes()[0].is_ascii_digit() && tok.contains('.') {
                K_DECIMAL
            } else {
                K_WORD
            };
            items.push(tok, s, e, g, kind);
            prev_end = e;
        }
        convert_numbers(items);
        nt.truncate_tokens(from);
        build(nt, items, None);
    });
}

/// How a lowercased word with no ". , _" inside reads: a contraction's expansion, a base before a generic suffix
/// (`base` bytes, then the suffix's word if it has one: "they'll" → "they will", "cat's" → "cat"), or itself.
enum WordForm {
    Plain,
    Expansion(&'static [&'static str]),
    Suffix(usize, Option<&'static str>),
}

fn word_form(w: &str) -> WordForm {
    if let Some(exp) = expansion(w) {
        return WordForm::Expansion(exp);
    }
    if w.bytes().any(|x| x == b'\'') {
        for &(suf, repl) in GENERIC_SUFFIXES {
            if w.ends_with(suf) && w.len() > suf.len() {
                let base = w.len() - suf.len();
                if w[..base].contains('\'') {
                    break;
                }
                return WordForm::Suffix(base, repl);
            }
        }
    }
    WordForm::Plain
}

#[inline(never)] // the full scanner: kept out of `view_into`, whose fast path most turns take
fn view_from(text: &str, phrase: bool, nt: &mut NormalizedText, items: &mut Items) {
    if text.is_ascii() {
        scan(text, phrase, items);
        build(nt, items, None);
        return;
    }
    match fold(text) {
        None => {
            let chars: Vec<char> = text.chars().collect();
            scan(&chars[..], phrase, items);
            build(nt, items, None);
            nt.wide = chars;
        }
        Some(folded) => {
            scan(&folded.chars[..], phrase, items);
            build(nt, items, folded.source.as_deref());
            nt.fold = Some(Fold {
                text: folded.chars.iter().collect(),
                starts: items.v.iter().map(|it| it.s).collect(),
                ends: items.v.iter().map(|it| it.e).collect(),
                source: folded.source,
            });
            if !folded.chars.iter().all(char::is_ascii) {
                nt.wide = folded.chars;
            }
        }
    }
}

/// A rule phrase with the same rules; `{variable}` placeholders and `*` stay single tokens, verbatim.
pub fn normalize_phrase(phrase: &str) -> String {
    with_items(|items| {
        if phrase.is_ascii() {
            scan(phrase, true, items);
        } else {
            let chars: Vec<char> = match fold(phrase) {
                Some(f) => f.chars,
                None => phrase.chars().collect(),
            };
            scan(&chars[..], true, items);
        }
        let mut out = String::new();
        for (k, it) in items.v.iter().enumerate() {
            if k > 0 {
                out.push(' ');
            }
            out.push_str(items.text(it));
        }
        out
    })
}

/// Tokens from items, appended to `nt`'s; `source` maps the scanned characters to the original's.
fn build(nt: &mut NormalizedText, items: &Items, source: Option<&[usize]>) {
    let n = items.v.len();
    nt.norm_starts.reserve(n);
    nt.norm_ends.reserve(n);
    nt.orig_starts.reserve(n);
    nt.orig_ends.reserve(n);
    nt.is_digits.reserve(n);
    for (k, it) in items.v.iter().enumerate() {
        if k > 0 || !nt.text.is_empty() {
            nt.text.push(' ');
        }
        nt.norm_starts.push(nt.text.len());
        nt.text.push_str(items.text(it));
        nt.norm_ends.push(nt.text.len());
        match source {
            None => {
                nt.orig_starts.push(it.s);
                nt.orig_ends.push(it.e);
            }
            Some(m) => {
                nt.orig_starts.push(m[it.s]);
                nt.orig_ends.push(m[it.e - 1] + 1);
            }
        }
        nt.is_digits.push(it.kind == K_DIGITS);
    }
}

// ------------------------------------------------------------------------------------------- scanning

/// Raw items of `text`, spelled words merged, number pass applied.
fn scan<T: Chars + ?Sized>(text: &T, phrase: bool, items: &mut Items) {
    scan_raw(text, phrase, items);
    // every letter of a spelled word is an item of its own: look for one only when there are three such items
    let single_letters = items.v.iter().filter(|it| {
        let t = items.text(it);
        t.len() == 1 && t.as_bytes()[0].is_ascii_alphabetic()
    });
    if single_letters.count() >= 3 && find_spelled(text, 0).is_some() {
        merge_spelled(text, items);
    }
    if needs_number_pass(items) {
        convert_numbers(items);
    }
}

/// The end of the `_CHUNK` starting at `p` (an alphanumeric character): alphanumeric runs joined by single
/// ``. , _`` or apostrophe characters; and whether it has such a joiner at all.
#[inline]
fn chunk_end<T: Chars + ?Sized>(text: &T, p: usize) -> (usize, bool) {
    let n = text.len();
    let mut q = p;
    let mut joined = false;
    loop {
        while q < n && is_alnum(text.at(q)) {
            q += 1;
        }
        if q + 1 < n && is_chunk_joiner(text.at(q)) && is_alnum(text.at(q + 1)) {
            q += 1;
            joined = true;
        } else {
            return (q, joined);
        }
    }
}

#[inline]
fn is_chunk_joiner(c: char) -> bool {
    matches!(c, '.' | ',' | '_') || is_apostrophe(c)
}

/// The end of a `{variable}` placeholder at `p` (`\{[^{}\s]+\}`), if there is one.
fn placeholder_end<T: Chars + ?Sized>(text: &T, p: usize) -> Option<usize> {
    let n = text.len();
    let mut q = p + 1;
    while q < n {
        let c = text.at(q);
        if c == '{' || c == '}' || is_space(c) {
            break;
        }
        q += 1;
    }
    (q > p + 1 && q < n && text.at(q) == '}').then_some(q + 1)
}

/// How the characters `a..b` between two matches read (`_gap`).
fn gap<T: Chars + ?Sized>(text: &T, a: usize, b: usize) -> u8 {
    if a >= b || (b == a + 1 && text.at(a) == ' ') {
        return GAP_WS;
    }
    let mut q = a;
    while q < b && is_space(text.at(q)) {
        q += 1;
    }
    if q == b {
        return GAP_WS;
    }
    let h = q;
    while q < b && is_hyphen(text.at(q)) {
        q += 1;
    }
    if q == h {
        return GAP_OTHER;
    }
    while q < b && is_space(text.at(q)) {
        q += 1;
    }
    if q == b {
        GAP_HYPHEN
    } else {
        GAP_OTHER
    }
}

#[inline]
pub(crate) fn is_hyphen(c: char) -> bool {
    c == '-' || ('\u{2010}'..='\u{2015}').contains(&c)
}

fn scan_raw<T: Chars + ?Sized>(text: &T, phrase: bool, items: &mut Items) {
    let n = text.len();
    let mut prev_end = 0;
    let mut dollar: Option<(usize, u8)> = None; // (start, gap) of a pending "$"
    let mut p = 0;
    while p < n {
        let c = text.at(p);
        let mut joined = true; // conservative for anything but a plain chunk
        let e = if is_alnum(c) {
            let (e, j) = chunk_end(text, p);
            joined = j;
            e
        } else if matches!(c, '$' | '%' | '@') || (phrase && c == '*') {
            p + 1
        } else if phrase && c == '{' {
            match placeholder_end(text, p) {
                Some(e) => e,
                None => {
                    p += 1;
                    continue;
                }
            }
        } else {
            p += 1;
            continue;
        };
        let s = p;
        let g = gap(text, prev_end, s);
        prev_end = e;
        p = e;
        if c == '$' {
            if let Some((ds, dgap)) = dollar {
                items.push("dollars", ds, ds + 1, dgap, K_WORD);
            }
            dollar = Some((s, g));
            continue;
        }
        let mark = items.v.len();
        match c {
            '%' => items.push("percent", s, e, g, K_WORD),
            '@' => items.push("at", s, e, g, K_WORD),
            '*' | '{' => {
                let a = items.arena.len() as u32;
                for q in s..e {
                    items.arena.push(text.at(q));
                }
                let t = (a, items.arena.len() as u32);
                items.v.push(Item {
                    t,
                    s,
                    e,
                    gap: g,
                    kind: K_PLACEHOLDER,
                });
            }
            _ if !joined => add_word(text, s, e, g, items), // one run of letters/digits: the common case
            _ => add_chunk(text, s, e, g, items),
        }
        if let Some((ds, dgap)) = dollar.take() {
            let first = items.v.get(mark).copied();
            match first {
                Some(first)
                    if items.v.len() == mark + 1
                        && (first.kind == K_DIGITS || first.kind == K_DECIMAL)
                        && first.gap == GAP_WS =>
                {
                    // "$12" reads "12 dollars", both tokens spanning "$12"
                    let it = &mut items.v[mark];
                    it.s = ds;
                    it.gap = dgap;
                    let end = it.e;
                    items.push("dollars", ds, end, GAP_WS, K_WORD);
                }
                _ => {
                    let t = items.push_str("dollars");
                    items.v.insert(
                        mark,
                        Item {
                            t,
                            s: ds,
                            e: ds + 1,
                            gap: dgap,
                            kind: K_WORD,
                        },
                    );
                }
            }
        }
    }
    if let Some((ds, dgap)) = dollar {
        items.push("dollars", ds, ds + 1, dgap, K_WORD);
    }
}

#[inline]
fn all_ascii_digits<T: Chars + ?Sized>(text: &T, a: usize, b: usize) -> bool {
    (a..b).all(|q| text.at(q).is_ascii_digit())
}

/// A chunk `s..e`: word characters joined by single ``. , _`` or apostrophe characters.
fn add_chunk<T: Chars + ?Sized>(text: &T, s: usize, e: usize, gap0: u8, items: &mut Items) {
    if !(s..e).any(|q| matches!(text.at(q), '.' | ',' | '_')) {
        add_word(text, s, e, gap0, items);
        return;
    }
    // sub-words (apostrophes keep a word together), separated by exactly one ". , _"
    let mut subs: Vec<(usize, usize, bool)> = Vec::new();
    let mut a = s;
    for q in s..=e {
        if q == e || matches!(text.at(q), '.' | ',' | '_') {
            subs.push((a, q, all_ascii_digits(text, a, q)));
            a = q + 1;
        }
    }
    let nsub = subs.len();
    let mut k = 0;
    let mut cur_gap = gap0;
    while k < nsub {
        let (a, b, dig) = subs[k];
        if dig {
            let mut j = k;
            while j + 1 < nsub && subs[j + 1].2 && matches!(text.at(subs[j].1), '.' | ',') {
                j += 1;
            }
            let end = subs[j].1;
            if j > k && numeric_segment(text, a, end) {
                let t0 = items.arena.len() as u32;
                let mut decimal = false;
                for q in a..end {
                    match text.at(q) {
                        ',' => {}
                        '.' => {
                            decimal = true;
                            items.arena.push('.');
                        }
                        ch => items.arena.push(ch),
                    }
                }
                let t = (t0, items.arena.len() as u32);
                let kind = if decimal { K_DECIMAL } else { K_DIGITS };
                items.v.push(Item {
                    t,
                    s: a,
                    e: end,
                    gap: cur_gap,
                    kind,
                });
            } else {
                for (q, &(qa, qb, _)) in subs.iter().enumerate().take(j + 1).skip(k) {
                    let t0 = items.arena.len() as u32;
                    for x in qa..qb {
                        items.arena.push(text.at(x));
                    }
                    let t = (t0, items.arena.len() as u32);
                    let g = if q == k { cur_gap } else { GAP_OTHER };
                    items.v.push(Item {
                        t,
                        s: qa,
                        e: qb,
                        gap: g,
                        kind: K_DIGITS,
                    });
                }
            }
            k = j;
        } else {
            add_word(text, a, b, cur_gap, items);
        }
        // the separator after sub k
        if k + 1 < nsub {
            let p = subs[k].1;
            let sep = text.at(p);
            if sep == '.' && !(subs[k].2 && subs[k + 1].2) {
                items.push("dot", p, p + 1, GAP_WS, K_WORD);
                cur_gap = GAP_WS;
            } else if sep == '_' {
                items.push("underscore", p, p + 1, GAP_WS, K_WORD);
                cur_gap = GAP_WS;
            } else {
                cur_gap = GAP_OTHER;
            }
        }
        k += 1;
    }
}

/// `[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]+\.[0-9]+` over `a..b` (digits, commas and dots only).
fn numeric_segment<T: Chars + ?Sized>(text: &T, a: usize, b: usize) -> bool {
    let digits_run = |mut q: usize| {
        let st = q;
        while q < b && text.at(q).is_ascii_digit() {
            q += 1;
        }
        (q, q - st)
    };
    // thousands grouping
    let (mut q, first) = digits_run(a);
    if (1..=3).contains(&first) {
        let mut groups = 0;
        while q < b && text.at(q) == ',' {
            let (r, len) = digits_run(q + 1);
            if len != 3 {
                break;
            }
            q = r;
            groups += 1;
        }
        if groups > 0 {
            if q == b {
                return true;
            }
            if text.at(q) == '.' {
                let (r, len) = digits_run(q + 1);
                if len > 0 && r == b {
                    return true;
                }
            }
        }
    }
    // a decimal
    let (q, first) = digits_run(a);
    if first == 0 || q >= b || text.at(q) != '.' {
        return false;
    }
    let (r, len) = digits_run(q + 1);
    len > 0 && r == b
}

/// One word `a..b` (no ". , _" inside): digits, a contraction, a possessive, or a plain word.
fn add_word<T: Chars + ?Sized>(text: &T, a: usize, b: usize, gap0: u8, items: &mut Items) {
    let w0 = items.arena.len();
    let digits = if let Some(raw) = text.ascii_str(a, b) {
        items.arena.push_str(raw);
        let digits = raw.bytes().all(|x| x.is_ascii_digit());
        if !digits {
            items.arena[w0..].make_ascii_lowercase();
        }
        digits
    } else {
        let ascii = (a..b).all(|q| text.at(q).is_ascii());
        for q in a..b {
            let c = text.at(q);
            if ascii {
                items.arena.push(c.to_ascii_lowercase());
            } else if is_apostrophe(c) {
                items.arena.push('\'');
            } else {
                push_casefold(c, &mut items.arena);
            }
        }
        ascii && items.arena[w0..].bytes().all(|x| x.is_ascii_digit())
    };
    if digits {
        items.v.push(Item {
            t: (w0 as u32, items.arena.len() as u32),
            s: a,
            e: b,
            gap: gap0,
            kind: K_DIGITS,
        });
        return;
    }
    let w1 = items.arena.len();
    match word_form(&items.arena[w0..w1]) {
        WordForm::Expansion(exp) => {
            items.arena.truncate(w0);
            for (k, part) in exp.iter().enumerate() {
                items.push(part, a, b, if k == 0 { gap0 } else { GAP_WS }, K_WORD);
            }
        }
        WordForm::Suffix(base, repl) => {
            let base_end = w0 + base;
            items.arena.truncate(base_end);
            let kind = if items.arena[w0..base_end].bytes().all(|x| x.is_ascii_digit()) {
                K_DIGITS
            } else {
                K_WORD
            };
            items.v.push(Item {
                t: (w0 as u32, base_end as u32),
                s: a,
                e: b,
                gap: gap0,
                kind,
            });
            if let Some(r) = repl {
                items.push(r, a, b, GAP_WS, K_WORD);
            }
        }
        WordForm::Plain => items.v.push(Item {
            t: (w0 as u32, w1 as u32),
            s: a,
            e: b,
            gap: gap0,
            kind: K_WORD,
        }),
    }
}

// ------------------------------------------------------------------------------------------- spelled words

#[inline]
fn is_spell_separator(c: char) -> bool {
    matches!(c, '-' | '.' | '_' | '*' | '/' | '|' | '+' | '~' | '\u{b7}' | '\u{2022}')
}

/// `(?![^\W_]|['’‘ʼ])` at `i`.
#[inline]
fn letter_ends<T: Chars + ?Sized>(text: &T, i: usize) -> bool {
    i >= text.len() || {
        let c = text.at(i);
        !is_alnum(c) && !is_apostrophe(c)
    }
}

#[inline]
fn skip_inline_space<T: Chars + ?Sized>(text: &T, mut q: usize) -> usize {
    while q < text.len() && is_inline_space(text.at(q)) {
        q += 1;
    }
    q
}

/// Whether a spelled word may start at the letter at `p` (false only where [`spelled_at`] is `None`): the next
/// thing after inline spaces is a separator, or, after at least one, a single letter. Inline, so that the fast path
/// asks [`spelled_at`] only at such letters, not at every "a" and "I" before a word.
#[inline(always)]
fn may_spell_at<T: Chars + ?Sized>(text: &T, p: usize) -> bool {
    let r = skip_inline_space(text, p + 1);
    r < text.len() && {
        let c = text.at(r);
        is_spell_separator(c) || (r > p + 1 && c.is_ascii_alphabetic() && letter_ends(text, r + 1))
    }
}

/// The spelled word (`SPELLED_RE`) starting exactly at `p`, if any: its end.
fn spelled_at<T: Chars + ?Sized>(text: &T, p: usize) -> Option<usize> {
    let n = text.len();
    if !text.at(p).is_ascii_alphabetic() {
        return None;
    }
    if p > 0 {
        let b = text.at(p - 1);
        if is_alnum(b) || is_apostrophe(b) {
            return None;
        }
    }
    // letters separated by whitespace, at least three in all
    let mut q = p + 1;
    let mut count = 0;
    loop {
        let r = skip_inline_space(text, q);
        if r == q || r >= n || !text.at(r).is_ascii_alphabetic() || !letter_ends(text, r + 1) {
            break;
        }
        q = r + 1;
        count += 1;
    }
    if count >= 2 {
        return Some(q);
    }
    // letters separated by the same one of "- . _ * / | + ~ · •" (spaces around it allowed)
    let r = skip_inline_space(text, p + 1);
    if r >= n || !is_spell_separator(text.at(r)) {
        return None;
    }
    let sep = text.at(r);
    let letter = |r: usize| -> Option<usize> {
        let r = skip_inline_space(text, r);
        (r < n && text.at(r).is_ascii_alphabetic() && letter_ends(text, r + 1)).then_some(r + 1)
    };
    let mut q = letter(r + 1)?;
    let mut more = 0;
    loop {
        let r = skip_inline_space(text, q);
        if r >= n || text.at(r) != sep {
            break;
        }
        match letter(r + 1) {
            Some(end) => {
                q = end;
                more += 1;
            }
            None => break,
        }
    }
    (more >= 1).then_some(q)
}

/// The first spelled word at or after `from`: `(start, end)`.
fn find_spelled<T: Chars + ?Sized>(text: &T, from: usize) -> Option<(usize, usize)> {
    (from..text.len()).find_map(|p| spelled_at(text, p).map(|e| (p, e)))
}

/// Replaces the items of each spelled-out word with one word item spanning it.
fn merge_spelled<T: Chars + ?Sized>(text: &T, items: &mut Items) {
    let old = std::mem::take(&mut items.v);
    let n = old.len();
    let mut out = std::mem::take(&mut items.spare);
    out.clear();
    let mut k = 0;
    let mut from = 0;
    while let Some((a, b)) = find_spelled(text, from) {
        from = b;
        if (a..b).all(|q| {
            let c = text.at(q);
            !c.is_ascii_alphabetic() || c == 'o' || c == 'O'
        }) {
            continue; // "o o o": zeros between digits ("one o o o five"), not a word
        }
        while k < n && old[k].s < a {
            out.push(old[k]);
            k += 1;
        }
        let g = if k < n { old[k].gap } else { GAP_WS };
        while k < n && old[k].e <= b {
            k += 1;
        }
        let t0 = items.arena.len() as u32;
        for q in a..b {
            let c = text.at(q);
            if c.is_ascii_alphabetic() {
                items.arena.push(c.to_ascii_lowercase());
            }
        }
        out.push(Item {
            t: (t0, items.arena.len() as u32),
            s: a,
            e: b,
            gap: g,
            kind: K_WORD,
        });
    }
    out.extend_from_slice(&old[k..]);
    items.v = out;
    items.spare = old;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Normalizing a text that is not all ASCII piece by piece, cut at restart points ([`view_in_pieces`]), gives the
    /// view normalizing it whole gives: tokens, offsets, folded text and its map, the characters read. Random texts of
    /// word shapes every stage tells apart (number words, spelled letters, contractions, e-mail words, digits), words
    /// that fold (accents, ligatures, wide digits, lookalikes that fold only among themselves, curly quotes, dashes,
    /// an ellipsis, combining marks) and words that do not, apart by ASCII and other whitespace.
    #[test]
    fn a_view_in_pieces_is_the_whole_view() {
        let words = [
            "hello",
            "Thanks",
            "the",
            "a",
            "I",
            "and",
            "at",
            "dot",
            "com",
            "one",
            "twenty",
            "hundred",
            "oh",
            "double",
            "um",
            "five",
            "I'll",
            "don't",
            "gonna",
            "cannot",
            "j",
            "o",
            "h",
            "n",
            "5",
            "207",
            "$5",
            "4111",
            "12.99",
            "11:30",
            "1st",
            "e.g.",
            "x-ray",
            "jane.doe@example.com",
            "we,",
            "today.",
            "well?",
        ];
        let words: Vec<&str> = words.iter().copied().chain(crate::NON_ASCII_WORDS).collect();
        let spaces = [
            " ", " ", " ", "  ", "\t", "\n", ", ", ". ", "\u{a0}", "\u{2003}", "\u{3000}", "\u{85}", "-",
        ];
        let mut next = crate::draws(0x2545_f491_4f6c_dd1d);
        let (mut pieces, mut checked) = (0, 0);
        for _ in 0..40_000 {
            let mut text = String::new();
            for _ in 0..1 + next(20) {
                // plain words half the time: they are the restart points
                let plain = ["we", "will", "call", "your", "office", "today", "thanks", "the"];
                text.push_str(if next(2) == 0 {
                    plain[next(plain.len())]
                } else {
                    words[next(words.len())]
                });
                text.push_str(spaces[next(spaces.len())]);
            }
            if text.is_ascii() {
                continue;
            }
            let mut whole = NormalizedText::default();
            view_whole(&text, false, &mut whole);
            let mut got = NormalizedText::default();
            if view_in_pieces(&text, &mut got) {
                pieces += 1;
                assert_eq!(got, whole, "{text:?}");
            }
            assert_eq!(normalize(&text), whole, "{text:?}");
            checked += 1;
        }
        assert!(
            checked > 30_000 && pieces > 20_000,
            "{checked} texts, {pieces} in pieces"
        );
    }

    fn tokens(s: &str) -> Vec<String> {
        normalize(s).tokens().map(str::to_string).collect()
    }

    #[test]
    fn words_symbols_and_contractions() {
        assert_eq!(
            tokens("Don't pay $12.99 at 50%"),
            ["do", "not", "pay", "12.99", "dollars", "at", "50", "percent"]
        );
        assert_eq!(
            tokens("jane.doe@example.com"),
            ["jane", "dot", "doe", "at", "example", "dot", "com"]
        );
        assert_eq!(tokens("1,000 and 415.555.0198"), ["1000", "and", "415", "555", "0198"]);
    }

    #[test]
    fn numbers_and_spelled_words() {
        assert_eq!(tokens("four one one one, double five"), ["4111", "55"]);
        assert_eq!(tokens("two thousand twenty four"), ["2024"]);
        assert_eq!(tokens("it is g u a r a n t e e d"), ["it", "is", "guaranteed"]);
        assert_eq!(tokens("one o o o five"), ["10005"]);
    }

    #[test]
    fn spans_are_characters_of_the_original() {
        let nt = normalize("ssn ０７８-０５ ok");
        assert_eq!(nt.tokens().collect::<Vec<_>>(), ["ssn", "078", "05", "ok"]);
        assert_eq!((nt.orig_starts[1], nt.orig_ends[1]), (4, 7));
        let nt = normalize("guar\u{200d}anteed");
        assert_eq!((nt.token(0), nt.orig_starts[0], nt.orig_ends[0]), ("guaranteed", 0, 11));
    }

    #[test]
    fn alphanumeric_run_is_the_byte_at_a_time_run() {
        // every ASCII byte next to letters and digits; runs across and within eight-byte steps, and to the end
        let mut draw = crate::draws(7);
        for _ in 0..50_000 {
            let len = draw(24);
            let text: Vec<u8> = (0..len)
                .map(|_| match draw(4) {
                    0 => draw(128) as u8,
                    1 => b'0' + draw(10) as u8,
                    2 => b'a' + draw(26) as u8,
                    _ => b'A' + draw(26) as u8,
                })
                .collect();
            let from = draw(len + 1);
            let end = text[from..]
                .iter()
                .position(|c| !c.is_ascii_alphanumeric())
                .map_or(len, |k| from + k);
            let letters = text[from..end].iter().any(u8::is_ascii_alphabetic);
            assert_eq!(alphanumeric_run(&text, from), (end, letters), "{text:?} from {from}");
        }
    }

    /// The fast path writes its columns and text past their lengths and grows them itself: its views equal the
    /// full scanner's on ASCII turns built of every kind of piece, into fresh buffers and into reused ones (larger or
    /// smaller than needed), with words longer than one and two eight-byte copies, upper case and digits among them.
    #[test]
    fn fast_path_equals_full_scanner() {
        const PIECES: &[&str] = &[
            "Hello",
            "WORLD",
            "i'm",
            "Don't",
            "they'll",
            "cat's",
            "o'clock",
            "gonna",
            "Extraordinarily",
            "internationalization",
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            "4111",
            "1,000",
            "12.50",
            "415.555.0198",
            "$",
            "$12",
            "%",
            "@",
            "one",
            "twenty",
            "hundred",
            "x",
            "a",
            "b",
            "c",
            "-",
            ",",
            ".",
            "?",
            "  ",
            "\t",
            "p.m.",
            "jane_doe",
            "A1b2C3d4E5",
            "uh",
            "12345678",
            "123456789",
            "1234567a",
            "abcdefgh",
            "abcdefghZ",
            "`",
            "[x{",
        ];
        let mut reused = NormalizedText::default();
        for i in 0..4000usize {
            let len = i % 40;
            let mut text = String::new();
            for k in 0..len {
                if k > 0 && (i + k) % 3 != 0 {
                    text.push(' ');
                }
                text.push_str(PIECES[(i.wrapping_mul(7919) ^ k.wrapping_mul(104_729)) % PIECES.len()]);
            }
            let mut full = NormalizedText::default();
            full.original.push_str(&text);
            with_items(|items| view_from(&text, false, &mut full, items));
            normalize_into(&text, &mut reused);
            assert_eq!(reused, full, "{text:?}");
            assert_eq!(normalize(&text), full, "{text:?}");
        }
    }

    #[test]
    fn phrases_keep_placeholders() {
        assert_eq!(
            normalize_phrase("This is {agent_name} from * Inc."),
            "this is {agent_name} from * inc"
        );
    }
}
