//! The normalized view of a rewritten turn built from the view of the turn it was rewritten from.
//!
//! A modified turn is stored only after its spoken text has been looked at again for detector hits (a removal can
//! join two digit groups, a mask or an injected line adds text), so the spoken text needs its own normalized view.
//! Most of it is the original text unchanged: a mask in the middle, a disclosure before or after. This module keeps
//! the original view's tokens on both sides of the rewrite and normalizes only the words between, using the
//! normalizer's *restart points* (see [`super::incremental`]): at the start of a word whose previous word is two or
//! more ASCII letters (not a number word, filler or `and`) followed by whitespace, with only ASCII text before it,
//!
//! ```text
//! normalize(t) == normalize(t[..F]) ++ shift(normalize(t[F..]))
//! ```
//!
//! so the tokens before `F` depend only on `t[..F]` and the tokens from `F` on only on `t[F..]`.
//!
//! **Why the spliced view equals a fresh one.** Let `s` be the original text, `p` the length of the longest common
//! prefix of `s` and the spoken text `r`, and `q` that of their longest common suffix (at most `min(|s|, |r|) - p`,
//! so the two never overlap in either text). Both texts are ASCII (otherwise the whole text is normalized).
//! - The head point `F` is a restart point of `s` with `F < p`. Everything before `F`, the previous word included,
//!   and the character at `F` (a word's first character) are the same in `r`, so `F` is a restart point of `r` and
//!   `r[..F] == s[..F]`: the tokens of `r` before `F` are the tokens of `s` that start before `F`.
//! - The tail point `G` is a restart point of `s` whose previous word *and the whitespace before that word* lie in
//!   the common suffix (`word start - 1 >= |s| - q`). Shifted by `d = |r| - |s|`, the same bytes are there in `r`:
//!   `G + d` is a word start of `r`, its previous word is the same whole word, and only ASCII comes before it, so it
//!   is a restart point of `r`, and `r[G + d..] == s[G..]`: the tokens of `r` from `G + d` on are those of `s` from
//!   `G` on, shifted by `d`. Its previous word starts after `p > F`, so `G + d` is also a restart point of
//!   `r[F..]`, and the two splits compose: `normalize(r) == head ++ normalize(r[F..G + d]) ++ tail`.
//! - What depends on more than one word is therefore always inside the middle that is normalized afresh: a digit
//!   run a removal joins or a mask extends (digits are no restart words), a number word next to the edit, an
//!   e-mail address spelled around it (`at` and `dot` are two-letter words, but the words of the address next to
//!   the edit are not plain words followed by a restart), a spelled-out word.
//!
//! **Injected lines.** A disclosure injected before or after the turn is a known text `L` (the program's remedy,
//! the same on every call), so its normalized view is kept once per engine ([`LiteralView`]): when the spoken text
//! starts with `L`, the head is `normalize(L[..F])` for the last restart point `F` of `L` (the same bytes start the
//! spoken text, so `F` is a restart point there); when it ends with `L` at `E`, the tail is `normalize(L[G..])`
//! moved to `E + G` for the first restart point `G` of `L` whose previous word is a word of the spoken text too
//! (inside `L`, or `L`'s first word with whitespace before `E`). Either way the middle keeps the words around the
//! seam, and the tail's previous word must start at or after the head point, so the two splits still compose.
//!
//! The detectors then run over the whole spliced view, exactly as over a fresh one: their greedy choices read
//! whole digit runs, which this module never needs to reason about. Folding: an ASCII text that folding changes
//! (`fold` set) is normalized whole.
//!
//! Property tests: `splice_equals_fresh_normalization` below (random turns with digits, number words, spelled
//! letters, e-mail words and random masks, removals, prefixes and suffixes) and the Python suite's stored-text
//! comparison with the frozen gate (`tests/test_reference_gate.py`).

use crate::swar;
use crate::text::NormalizedText;

use super::edits::py_isspace_ascii as space;
use crate::text::normalize::restarts_after;

/// The start of the last word of `s` that starts before `x` (a non-space after a space or at 0).
fn word_start_before(s: &[u8], x: usize) -> Option<usize> {
    let mut i = x.min(s.len());
    while i > 0 {
        i -= 1;
        if !space(s[i]) && (i == 0 || space(s[i - 1])) {
            return Some(i);
        }
    }
    None
}

/// The start of the first word of `s` that starts at or after `x`.
fn word_start_from(s: &[u8], x: usize) -> Option<usize> {
    if x == 0 && !s.is_empty() && !space(s[0]) {
        return Some(0);
    }
    let mut i = x.max(1);
    while i < s.len() {
        if !space(s[i]) && space(s[i - 1]) {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// The length of the longest common prefix of `a` and `b`, eight bytes at a time.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let (x, y) = (swar::load(&a[i..i + 8]), swar::load(&b[i..i + 8]));
        if x != y {
            return i + ((x ^ y).trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i + a[i..n].iter().zip(&b[i..n]).take_while(|(x, y)| x == y).count()
}

/// The length of the longest common suffix of `a` and `b`, eight bytes at a time.
fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let (a, b) = (&a[a.len() - n..], &b[b.len() - n..]);
    let mut k = 0; // bytes matched from the end
    while k + 8 <= n {
        let (x, y) = (swar::load(&a[n - k - 8..n - k]), swar::load(&b[n - k - 8..n - k]));
        if x != y {
            return k + ((x ^ y).leading_zeros() / 8) as usize;
        }
        k += 8;
    }
    k + a[..n - k]
        .iter()
        .rev()
        .zip(b[..n - k].iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
}

/// The last restart point of `s` before `p` (0: none).
fn head_restart(s: &[u8], p: usize) -> usize {
    let mut at = word_start_before(s, p);
    while let Some(a) = at {
        let Some(prev) = word_start_before(s, a) else { return 0 };
        if restarts_after(&s[prev..a]) {
            return a;
        }
        at = Some(prev);
    }
    0
}

/// The first restart point of `s` whose previous word starts after `from` (its whitespace before it at or after
/// `from`); `None` when there is none.
fn tail_restart(s: &[u8], from: usize) -> Option<usize> {
    let mut w = word_start_from(s, from + 1)?;
    loop {
        let g = word_start_from(s, w + 1)?;
        if restarts_after(&s[w..g]) {
            return Some(g);
        }
        w = g;
    }
}

/// An injected line's normalized views for a splice: before its last restart point and from its first one.
#[derive(Debug, Clone, Default)]
pub struct LiteralView {
    pub text: String,
    /// the last restart point (0: none) and `normalize(text[..head_at])`
    head_at: usize,
    head: NormalizedText,
    /// the first restart point (`text.len()`: none), where its previous word starts, and `normalize(text[tail_at..])`
    tail_at: usize,
    tail_word: usize,
    tail: NormalizedText,
}

impl LiteralView {
    pub fn new(text: &str) -> LiteralView {
        let b = text.as_bytes();
        let mut view = LiteralView {
            text: text.to_string(),
            tail_at: b.len(),
            ..LiteralView::default()
        };
        if !b.is_ascii() {
            return view; // never used: the spliced texts are ASCII
        }
        view.head_at = head_restart(b, b.len());
        view.head = crate::text::normalize(&text[..view.head_at]);
        if let Some(w) = word_start_from(b, 0) {
            let mut w = w;
            while let Some(g) = word_start_from(b, w + 1) {
                if restarts_after(&b[w..g]) {
                    (view.tail_at, view.tail_word) = (g, w);
                    break;
                }
                w = g;
            }
        }
        view.tail = crate::text::normalize(&text[view.tail_at..]);
        if view.head.fold.is_some()
            || !view.head.wide.is_empty()
            || view.tail.fold.is_some()
            || !view.tail.wide.is_empty()
        {
            view.head_at = 0;
            view.tail_at = b.len();
        }
        view
    }
}

/// Tokens of `src` appended to `out` (joined by a space), their original offsets moved by `+ shift - unshift`.
fn append(out: &mut NormalizedText, src: &NormalizedText, from: usize, shift: usize, unshift: usize) {
    if from >= src.len() {
        return;
    }
    if !out.text.is_empty() {
        out.text.push(' ');
    }
    let start = src.norm_starts[from];
    let base = out.text.len();
    out.text.push_str(&src.text[start..]);
    out.norm_starts
        .extend(src.norm_starts[from..].iter().map(|&x| x - start + base));
    out.norm_ends
        .extend(src.norm_ends[from..].iter().map(|&x| x - start + base));
    out.orig_starts
        .extend(src.orig_starts[from..].iter().map(|&x| x + shift - unshift));
    out.orig_ends
        .extend(src.orig_ends[from..].iter().map(|&x| x + shift - unshift));
    out.is_digits.extend_from_slice(&src.is_digits[from..]);
}

/// Builds into `out` the normalized view of `spoken` from `orig` (the view of the text it was rewritten from) and
/// the views of the lines injected before (`before`) and after (`after`) it, normalizing only what lies between
/// the restart points around the rewrite (into `mid`, a scratch view). `false` when nothing can be kept
/// (non-ASCII text, folding, no restart point on either side): then `out` is not the view and the caller
/// normalizes `spoken` whole.
pub fn respoken_view(
    orig: &NormalizedText,
    spoken: &str,
    before: Option<&LiteralView>,
    after: Option<&LiteralView>,
    mid: &mut NormalizedText,
    out: &mut NormalizedText,
) -> bool {
    let s = orig.original.as_bytes();
    let r = spoken.as_bytes();
    if orig.fold.is_some() || !orig.wide.is_empty() || !s.is_ascii() || !r.is_ascii() {
        return false;
    }
    let p = common_prefix(s, r);
    let room = s.len().min(r.len()) - p;
    let q = common_suffix(&s[p..], &r[p..]).min(room);
    // the head point and what gives the tokens before it
    let mut f = head_restart(s, p);
    let mut head_lit = None;
    if let Some(l) = before.filter(|l| l.head_at > f && r.starts_with(l.text.as_bytes())) {
        (f, head_lit) = (l.head_at, Some(l));
    }
    // the tail point in the spoken text, where its previous word starts, and what gives the tokens from it on
    let (mut g_r, mut tail_lit, mut g) = (r.len(), None, s.len());
    if q > 0 {
        if let Some(at) = tail_restart(s, s.len() - q) {
            let prev = word_start_before(s, at).unwrap_or(0);
            if prev + r.len() - s.len() >= f {
                (g, g_r) = (at, at + r.len() - s.len());
            }
        }
    }
    if let Some(l) = after.filter(|l| l.tail_at < l.text.len() && r.ends_with(l.text.as_bytes())) {
        let e = r.len() - l.text.len();
        let word_start = l.tail_word > 0 || e == 0 || space(r[e - 1]);
        if word_start && e + l.tail_word >= f && e + l.tail_at < g_r {
            (g_r, tail_lit, g) = (e + l.tail_at, Some(l), s.len());
        }
    }
    if f == 0 && g_r == r.len() {
        return false; // nothing to keep
    }
    crate::text::normalize_into(&spoken[f..g_r], mid);
    if mid.fold.is_some() || !mid.wide.is_empty() {
        return false;
    }
    out.clear();
    out.original.push_str(spoken);
    // the head: tokens and offsets as they are
    let head = match head_lit {
        Some(l) => &l.head,
        None => orig,
    };
    let k = head.orig_starts.partition_point(|&x| x < f);
    if k > 0 {
        out.text.push_str(&head.text[..head.norm_ends[k - 1]]);
        out.norm_starts.extend_from_slice(&head.norm_starts[..k]);
        out.norm_ends.extend_from_slice(&head.norm_ends[..k]);
        out.orig_starts.extend_from_slice(&head.orig_starts[..k]);
        out.orig_ends.extend_from_slice(&head.orig_ends[..k]);
        out.is_digits.extend_from_slice(&head.is_digits[..k]);
    }
    // the middle: normalized afresh, from `f`
    append(out, mid, 0, f, 0);
    // the tail: the original's tokens from `g` on, moved by the rewrite's change in length, or the line's
    match tail_lit {
        Some(l) => append(out, &l.tail, 0, g_r, 0),
        None => append(
            out,
            orig,
            orig.orig_starts.partition_point(|&x| x < g),
            r.len(),
            s.len(),
        ),
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::normalize;

    /// Words chosen to sit on every side of a restart point: plain words, number words and fillers, `and`, single
    /// letters (spelled words), e-mail joiners, digit groups, punctuation glued on, contractions, brackets.
    const WORDS: &[&str] = &[
        "the",
        "phone",
        "number",
        "is",
        "call",
        "us",
        "at",
        "dot",
        "com",
        "jane",
        "doe",
        "example",
        "and",
        "oh",
        "one",
        "two",
        "five",
        "seven",
        "nine",
        "ten",
        "twenty",
        "hundred",
        "thousand",
        "double",
        "triple",
        "zero",
        "uh",
        "um",
        "a",
        "b",
        "c",
        "i",
        "e",
        "g",
        "k",
        "x",
        "415",
        "555",
        "0198",
        "4111",
        "1111",
        "123-45-6789",
        "408-247-8880",
        "021000021",
        "1eg4",
        "te5",
        "mk73",
        "$322.",
        "11:30",
        "4:20",
        "am",
        "pm",
        "pm.",
        "we'll",
        "it's",
        "don't",
        "[phone]",
        "[ssn]",
        "[email]",
        "jane.doe@example.com",
        "e-mail",
        "dash",
        "underscore",
        "hyphen",
        "sign",
        "plus",
        "+1",
        "(415)",
        "#5",
        "ssn",
        "social",
        "card",
        "routing",
        "claim",
        "reach",
        "them",
        "by",
        "Their",
        "Sure.",
        "Okay,",
        "first",
        "second",
        "point",
        "percent",
        "1st",
        "2nd",
        "ext",
        "nine-one-one",
    ];
    const SEPS: &[&str] = &[" ", " ", " ", " ", "  ", ", ", ". ", "\t", " - ", "-", "\n", "/"];
    const LINES: &[&str] = &[
        "i am an automated assistant",
        "If you'd like us to stop calling, just say stop and we'll add you to our do not call list.",
        "This is Sam calling from Acme. this call may be recorded",
        "one two three",
        "4111",
        "at example dot com",
    ];

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
            xs[self.below(xs.len())]
        }
    }

    fn turn(rng: &mut Rng) -> String {
        let n = 1 + rng.below(30);
        let mut t = String::new();
        for k in 0..n {
            if k > 0 {
                t.push_str(rng.pick(SEPS));
            }
            t.push_str(rng.pick(WORDS));
        }
        if rng.below(3) == 0 {
            t.push(['.', '?', '!'][rng.below(3)]);
        }
        t
    }

    /// A rewrite as the planner makes them: masks, removals, a prefix or a suffix, or several.
    fn rewrite(rng: &mut Rng, s: &str) -> String {
        let mut r = s.to_string();
        for _ in 0..1 + rng.below(3) {
            let len = r.len();
            match rng.below(5) {
                0 | 1 if len > 0 => {
                    let a = rng.below(len + 1);
                    let b = (a + rng.below(20)).min(len);
                    let mask = rng.pick(&["[phone]", "[ssn]", "[email]", "", "123", " ", "one", "[credit_card]"]);
                    r.replace_range(a..b, mask);
                }
                2 => r = format!("{} {}", rng.pick(LINES), r),
                3 => r = format!("{} {}", r.trim_end(), rng.pick(LINES)),
                4 if rng.below(2) == 0 => {
                    // glued on: the line's first or last word runs into the turn's
                    r = if rng.below(2) == 0 {
                        format!("{}{}", rng.pick(LINES), r)
                    } else {
                        format!("{}{}", r, rng.pick(LINES))
                    }
                }
                _ => {
                    let a = rng.below(len + 1);
                    r.insert_str(a, rng.pick(WORDS));
                }
            }
        }
        r
    }

    #[test]
    fn splice_equals_fresh_normalization() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let (mut mid, mut out) = (NormalizedText::default(), NormalizedText::default());
        let mut spliced = 0;
        let lits: Vec<LiteralView> = LINES.iter().map(|l| LiteralView::new(l)).collect();
        for _ in 0..60_000 {
            let s = turn(&mut rng);
            let r = rewrite(&mut rng, &s);
            let orig = normalize(&s);
            let before = lits.iter().find(|l| r.starts_with(&l.text));
            let after = lits.iter().find(|l| r.ends_with(&l.text));
            if respoken_view(&orig, &r, before, after, &mut mid, &mut out) {
                spliced += 1;
                assert_eq!(out, normalize(&r), "{s:?} -> {r:?}");
            }
        }
        assert!(spliced > 30_000, "only {spliced} rewrites kept anything");
    }

    #[test]
    fn common_ends_eight_bytes_at_a_time() {
        let mut rng = Rng(77);
        for _ in 0..20_000 {
            let a: Vec<u8> = (0..rng.below(40)).map(|_| b"ab "[rng.below(3)]).collect();
            let b: Vec<u8> = (0..rng.below(40)).map(|_| b"ab "[rng.below(3)]).collect();
            let p = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
            let q = a.iter().rev().zip(b.iter().rev()).take_while(|(x, y)| x == y).count();
            assert_eq!(common_prefix(&a, &b), p, "{a:?} {b:?}");
            assert_eq!(common_suffix(&a, &b), q, "{a:?} {b:?}");
        }
    }

    #[test]
    fn splice_cases() {
        let cases = [
            (
                "Their phone number is 408-247-8880.",
                "Their phone number is [phone]. i am an automated assistant",
            ),
            ("call us at 415 555 0198 please", "call us at [phone] please"),
            (
                "call us at 415 555 0198 thanks please",
                "call us at 415 555 thanks please",
            ),
            (
                "write to jane dot doe at example dot com today",
                "write to [email] today",
            ),
            (
                "the number is four one five five five five",
                "the number is four one [phone] five",
            ),
            ("a b c d e f g h", "a b [x] e f g h"),
            (
                "my card is 4111 1111 1111 1111 and the code",
                "my card is 4111 and the code",
            ),
            ("one two three four five six seven", "one two three [ssn] six seven"),
            ("plain words only here", "plain words only here and more"),
            ("plain words only here", "prefix then plain words only here"),
            ("uh the number uh is", "uh the number uh [phone] is"),
        ];
        let (mut mid, mut out) = (NormalizedText::default(), NormalizedText::default());
        for (s, r) in cases {
            let orig = normalize(s);
            let lits: Vec<LiteralView> = LINES.iter().map(|l| LiteralView::new(l)).collect();
            let before = lits.iter().find(|l| r.starts_with(&l.text));
            let after = lits.iter().find(|l| r.ends_with(&l.text));
            if respoken_view(&orig, r, before, after, &mut mid, &mut out) {
                assert_eq!(out, normalize(r), "{s:?} -> {r:?}");
            }
        }
    }
}
