//! What the detectors derive from a view once and share: the folded text by character, digit tokens with written
//! dates and times left out, digit runs cut into segments, and candidate number windows.

use std::cell::RefCell;

use super::validators::{Check, Rejection};
use super::Kind;
use crate::text::chars::{is_alpha, is_space};
use crate::text::normalize::is_hyphen;
use crate::text::{NormalizedText, View};

/// A digit run cut where two written groups are separated by sentence punctuation: tokens `i..=j` (whether each
/// counts as written is [`Ctx`]'s `written`, by token).
pub(crate) struct Segment {
    pub i: usize,
    pub j: usize,
}

/// A candidate number: whole digit tokens `a..=b` of one segment, their digits, and their grouping (the token
/// lengths) when every token was written with digits. Held inline: windows are at most [`WINDOW_MAX`] digits.
pub(crate) struct Window {
    pub a: usize,
    pub b: usize,
    pub digits: Digits,
    pub grouping: Option<Grouping>,
}

/// The longest window the detectors ask for (phones: 11 digits), with room to spare.
pub(crate) const WINDOW_MAX: usize = 16;

/// A window's digits, inline (read as `&str`).
#[derive(Clone, Copy)]
pub(crate) struct Digits {
    len: u8,
    buf: [u8; WINDOW_MAX],
}

impl std::ops::Deref for Digits {
    type Target = str;
    fn deref(&self) -> &str {
        // only ASCII digits are ever pushed (digit tokens); checked, since a window is read several times per
        // candidate and `from_utf8`'s general validation costs far more than this ASCII test
        let b = &self.buf[..self.len as usize];
        if b.is_ascii() {
            // SAFETY: ASCII bytes are valid UTF-8
            unsafe { std::str::from_utf8_unchecked(b) }
        } else {
            ""
        }
    }
}

/// A window's grouping (its tokens' lengths, each at most [`WINDOW_MAX`]), inline (read as `&[u8]`).
#[derive(Clone, Copy)]
pub(crate) struct Grouping {
    len: u8,
    buf: [u8; WINDOW_MAX],
}

impl std::ops::Deref for Grouping {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }
}

thread_local! {
    /// The buffers of the last dropped [`Ctx`], reused by the next (a turn's detectors build one or two).
    static SPARE: std::cell::RefCell<Spare> = std::cell::RefCell::new(Spare::default());
}

#[derive(Default)]
struct Spare {
    flags: Vec<bool>,
    runs: Vec<(usize, usize)>,
    segments: Vec<Segment>,
    written: Vec<bool>,
    nine: Vec<Window>,
    phone: Vec<Window>,
}

/// An empty buffer from the spare ones.
fn spare<T>(pick: impl FnOnce(&mut Spare) -> &mut Vec<T>) -> Vec<T> {
    SPARE.with(|s| {
        s.try_borrow_mut()
            .map(|mut s| std::mem::take(pick(&mut s)))
            .unwrap_or_default()
    })
}

/// A view and what the detectors computed from it so far.
pub struct Ctx<'a> {
    pub nt: &'a NormalizedText,
    pub view: View<'a>,
    flags: Option<Vec<bool>>,
    runs: Option<Vec<(usize, usize)>>,
    segments: Option<Vec<Segment>>,
    /// by token, inside the segments: written with digits, and not dictated one by one (see [`Ctx::segments`])
    written: Vec<bool>,
    nine: Option<Vec<Window>>,
    phone: Option<Vec<Window>>,
    /// the candidates the detectors rejected, and why; `None` (the gate) records nothing
    rejected: Option<RefCell<Vec<Rejection>>>,
}

/// The decimal value of a short ASCII digit string (saturating: only compared with small bounds).
#[inline]
pub(crate) fn num(s: &str) -> u64 {
    s.bytes()
        .fold(0u64, |v, b| v.saturating_mul(10).saturating_add((b - b'0') as u64))
}

impl<'a> Ctx<'a> {
    pub fn new(nt: &'a NormalizedText) -> Self {
        Ctx {
            nt,
            view: nt.view(),
            flags: None,
            runs: None,
            segments: None,
            written: Vec::new(),
            nine: None,
            phone: None,
            rejected: None,
        }
    }

    /// A context that records the candidates the detectors reject ([`Ctx::rejections`]).
    pub fn recording(nt: &'a NormalizedText) -> Self {
        let mut cx = Ctx::new(nt);
        cx.rejected = Some(RefCell::new(Vec::new()));
        cx
    }

    /// Whether rejections are recorded (what a detector checks before computing anything only a rejection needs).
    #[inline(always)]
    pub(crate) fn recording_rejections(&self) -> bool {
        self.rejected.is_some()
    }

    /// Record that `kind` rejected the candidate of tokens `a..=b` by `check` (nothing unless recording).
    #[inline(always)]
    pub(crate) fn reject(&self, kind: Kind, a: usize, b: usize, check: Check) {
        if let Some(r) = &self.rejected {
            r.borrow_mut().push(Rejection {
                start: self.nt.orig_starts[a],
                end: self.nt.orig_ends[b],
                kind,
                check,
            });
        }
    }

    /// Record a rejection spanning ORIGINAL characters `start..end` (nothing unless recording).
    #[inline(always)]
    pub(crate) fn reject_span(&self, kind: Kind, start: usize, end: usize, check: Check) {
        if let Some(r) = &self.rejected {
            r.borrow_mut().push(Rejection {
                start,
                end,
                kind,
                check,
            });
        }
    }

    /// The rejections recorded so far.
    pub fn rejections(mut self) -> Vec<Rejection> {
        self.rejected.take().map(RefCell::into_inner).unwrap_or_default()
    }

    #[inline]
    pub fn n(&self) -> usize {
        self.nt.len()
    }

    #[inline]
    pub fn tok(&self, k: usize) -> &'a str {
        self.nt.token(k)
    }

    /// The length of token `k` in bytes (`tok(k).len()` without slicing the text).
    #[inline]
    pub fn tok_len(&self, k: usize) -> usize {
        self.nt.norm_ends[k] - self.nt.norm_starts[k]
    }

    #[inline]
    pub fn fstart(&self, k: usize) -> usize {
        self.nt.folded_start(k)
    }

    #[inline]
    pub fn fend(&self, k: usize) -> usize {
        self.nt.folded_end(k)
    }

    /// The folded characters `a..b` (none when `b <= a`).
    #[inline]
    pub fn chars(&self, a: usize, b: usize) -> impl Iterator<Item = char> + 'a {
        let view = self.view;
        (a..b.max(a)).map(move |i| view.at(i))
    }

    /// The folded characters `a..b` equal `s`.
    pub fn chars_eq(&self, a: usize, b: usize, s: &str) -> bool {
        self.chars(a, b).eq(s.chars())
    }

    /// The characters between tokens `k` and `k + 1`.
    #[inline]
    pub fn gap(&self, k: usize) -> impl Iterator<Item = char> + 'a {
        self.chars(self.fend(k), self.fstart(k + 1))
    }

    /// Token `k` was written with digits: no letter in its folded text (no number word merged into it).
    pub fn is_written(&self, k: usize) -> bool {
        let (a, b) = (self.fstart(k), self.fend(k));
        match self.view {
            // `is_alpha` of an ASCII character is `is_ascii_alphabetic`
            View::Ascii(bytes) => !bytes[a..b.max(a)].iter().any(u8::is_ascii_alphabetic),
            View::Wide(_) => !self.chars(a, b).any(is_alpha),
        }
    }

    // ------------------------------------------------------------------------------------- dates and times

    /// Digit tokens of written dates and times: `h:mm` / `hh:mm:ss` (hour < 24, minutes and seconds < 60), and three
    /// groups joined by the same `-`, `/` or `.`: `YYYY-MM-DD` (year 1800-2099), `MM/DD/YYYY` or `DD.MM.YY` (day and
    /// month in range either way round). Their digits are no card, SSN, phone or routing number.
    fn datetime_tokens(&self) -> Vec<usize> {
        let flags = &self.nt.is_digits;
        let n = flags.len();
        let mut out = Vec::new();
        let mut k = flags.iter().position(|&f| f).unwrap_or(n);
        while k + 1 < n {
            if !flags[k + 1] {
                k += 2;
                continue;
            }
            if !flags[k] {
                k += 1; // a word right before a digit group: no date or time starts here
                continue;
            }
            let (a, b) = (self.tok(k), self.tok(k + 1));
            let mut gap = self.gap(k);
            let sep = match (gap.next(), gap.next()) {
                (Some(c), None) => Some(c),
                _ => None,
            };
            let then = |s: char| k + 2 < n && flags[k + 2] && self.gap(k + 1).eq(std::iter::once(s));
            if sep == Some(':') && a.len() <= 2 && b.len() == 2 && num(a) < 24 && num(b) < 60 {
                out.extend([k, k + 1]);
                if then(':') && self.tok(k + 2).len() == 2 && num(self.tok(k + 2)) < 61 {
                    out.push(k + 2);
                }
            } else if let Some(s @ ('-' | '/' | '.')) = sep {
                if then(s) {
                    let c = self.tok(k + 2);
                    let (va, vb) = (num(a), num(b));
                    let ymd = a.len() == 4 && (1800..=2099).contains(&va) && vb <= 12 && c.len() <= 2 && {
                        let vc = num(c);
                        (1..=31).contains(&vc)
                    };
                    let dmy = a.len() <= 2
                        && (c.len() == 2 || c.len() == 4)
                        && 1 <= va
                        && ((va <= 12 && vb <= 31) || (va <= 31 && vb <= 12));
                    if b.len() <= 2 && 1 <= vb && (ymd || dmy) {
                        out.extend([k, k + 1, k + 2]);
                    }
                }
            }
            k += 1;
        }
        out
    }

    /// `is_digits` with the tokens of written dates and times switched off.
    pub fn digit_flags(&mut self) -> &[bool] {
        if self.flags.is_none() {
            let mut flags = spare(|s| &mut s.flags);
            flags.clear();
            flags.extend_from_slice(&self.nt.is_digits);
            if flags.contains(&true) {
                for k in self.datetime_tokens() {
                    flags[k] = false;
                }
            }
            self.flags = Some(flags);
        }
        self.flags.as_deref().unwrap_or(&[])
    }

    /// Maximal runs `(i, j)` (inclusive) of consecutive digit tokens, dates and times left out (computed once; then
    /// [`Ctx::runs`]).
    pub fn digit_runs(&mut self) -> &Self {
        if self.runs.is_none() {
            let flags = self.digit_flags();
            let n = flags.len();
            let mut runs = spare(|s| &mut s.runs);
            runs.clear();
            let mut i = 0;
            while i < n {
                if !flags[i] {
                    i += 1;
                    continue;
                }
                let mut j = i;
                while j + 1 < n && flags[j + 1] {
                    j += 1;
                }
                runs.push((i, j));
                i = j + 1;
            }
            self.runs = Some(runs);
        }
        self
    }

    /// The runs [`Ctx::digit_runs`] computed.
    pub fn runs(&self) -> &[(usize, usize)] {
        self.runs.as_deref().unwrap_or(&[])
    }

    // ------------------------------------------------------------------------------------- segments

    /// `\s+|\s*[-./_*|+~‐-―]\s*` over the characters between tokens `k` and `k + 1`.
    /// (One pass, nothing collected: the gap is whitespace with at most one separator in it.)
    fn dictation_gap(&self, k: usize) -> bool {
        let mut empty = true;
        let mut other = None; // the one character that is not whitespace
        for c in self.gap(k) {
            empty = false;
            if !is_space(c) {
                if other.is_some() {
                    return false;
                }
                other = Some(c);
            }
        }
        !empty
            && other.is_none_or(|c| {
                matches!(c, '-' | '.' | '/' | '_' | '*' | '|' | '+' | '~') || ('\u{2010}'..='\u{2015}').contains(&c)
            })
    }

    /// `[,;!?]|[.:]\s` somewhere between tokens `k` and `k + 1` (one pass, nothing collected).
    fn sentence_break(&self, k: usize) -> bool {
        let mut stop = false; // the previous character was `.` or `:`
        for c in self.gap(k) {
            if matches!(c, ',' | ';' | '!' | '?') || (stop && is_space(c)) {
                return true;
            }
            stop = matches!(c, '.' | ':');
        }
        false
    }

    /// Digit tokens `k` and `k + 1` are joined by a dash, dot or slash with no space around it.
    pub fn tight(&self, k: usize) -> bool {
        let mut any = false;
        for c in self.gap(k) {
            if !(matches!(c, '.' | '/') || is_hyphen(c)) {
                return false;
            }
            any = true;
        }
        any
    }

    /// Digit runs cut where two WRITTEN digit groups are separated by a comma or sentence punctuation (`, ; ! ?` or
    /// `. :` followed by a space). Spoken digits are never cut (speech-to-text puts commas between spoken groups);
    /// digits dictated one by one and transcribed as numerals count as spoken.
    ///
    /// Whether each token of a run counts as written goes to `written` (by token, one buffer for all runs): a pair
    /// of single written digits with a dictation gap between them is dictated, and both lose the mark. Every pair is
    /// judged on the marks as the tokens were written, before any pair cleared them (a token whose left pair was
    /// dictated still decides its right pair on its own mark).
    pub(crate) fn segments(&mut self) -> &[Segment] {
        if self.segments.is_none() {
            self.digit_runs();
            let runs = self.runs.take().unwrap_or_default();
            let mut written = spare(|s| &mut s.written);
            written.clear();
            written.resize(self.n(), false);
            let mut out = spare(|s| &mut s.segments);
            out.clear();
            for &(ri, rj) in &runs {
                for (k, w) in written.iter_mut().enumerate().take(rj + 1).skip(ri) {
                    *w = self.is_written(k);
                }
                let mut mark = written[ri]; // token k's mark as written
                let mut left_dictated = false; // the pair (k - 1, k) was dictated
                for k in ri..=rj {
                    let next = if k < rj { written[k + 1] } else { false }; // not cleared yet: only ..=k are
                    let dictated = k < rj
                        && mark
                        && next
                        && self.tok_len(k) == 1
                        && self.tok_len(k + 1) == 1
                        && self.dictation_gap(k);
                    written[k] = mark && !left_dictated && !dictated;
                    left_dictated = dictated;
                    mark = next;
                }
                let mut a = ri;
                for k in ri..rj {
                    if written[k] && written[k + 1] && self.sentence_break(k) {
                        out.push(Segment { i: a, j: k });
                        a = k + 1;
                    }
                }
                out.push(Segment { i: a, j: rj });
            }
            self.runs = Some(runs);
            self.written = written;
            self.segments = Some(out);
        }
        self.segments.as_deref().unwrap_or(&[])
    }

    // ------------------------------------------------------------------------------------- windows

    /// The candidate windows of 9 digits (SSN and routing number) and of 10 or 11 (phone), in one pass over the
    /// segments (the rules that skip a window do not depend on its length; a turn with a phone number asks for both).
    fn windows(&mut self) {
        const LONGEST: usize = 11;
        const { assert!(LONGEST <= WINDOW_MAX) };
        self.segments();
        let segments = self.segments.take().unwrap_or_default();
        let written = std::mem::take(&mut self.written);
        let mut nine = spare(|s| &mut s.nine);
        let mut phone = spare(|s| &mut s.phone);
        nine.clear();
        phone.clear();
        for seg in &segments {
            let (si, sj) = (seg.i, seg.j);
            let mut after_plus = false;
            for a in si..=sj {
                if a > si {
                    let s = self.fstart(a - 1);
                    if s > 0 && self.view.at(s - 1) == '+' {
                        after_plus = true;
                    }
                }
                if after_plus {
                    break;
                }
                if a > si && written[a] && written[a - 1] && self.tight(a - 1) {
                    continue;
                }
                let mut total = 0;
                for b in a..=sj {
                    total += self.tok_len(b);
                    if total > LONGEST {
                        break;
                    }
                    if total < 9 {
                        continue;
                    }
                    if b < sj && written[b] && written[b + 1] && self.tight(b) {
                        continue;
                    }
                    let all_written = written[a..=b].iter().all(|&w| w);
                    // `total` digits in `b - a + 1` tokens of at least one digit: both fit (`total <= LONGEST`)
                    let mut digits = Digits {
                        len: 0,
                        buf: [0; WINDOW_MAX],
                    };
                    let mut grouping = Grouping {
                        len: 0,
                        buf: [0; WINDOW_MAX],
                    };
                    for k in a..=b {
                        let t = self.tok(k).as_bytes();
                        digits.buf[digits.len as usize..digits.len as usize + t.len()].copy_from_slice(t);
                        digits.len += t.len() as u8;
                        grouping.buf[grouping.len as usize] = t.len() as u8;
                        grouping.len += 1;
                    }
                    let w = Window {
                        a,
                        b,
                        digits,
                        grouping: all_written.then_some(grouping),
                    };
                    if total == 9 {
                        nine.push(w)
                    } else {
                        phone.push(w)
                    }
                }
            }
        }
        self.segments = Some(segments);
        self.written = written;
        self.nine = Some(nine);
        self.phone = Some(phone);
    }

    /// Candidate numbers of exactly 9 digits (SSN and routing number share them). A written window that continues
    /// into a neighbouring written group through a dash, dot or slash is part of a longer number and skipped, and so
    /// is a window that starts after a `+` country code of its segment.
    pub(crate) fn nine_digit_windows(&mut self) -> &Self {
        if self.nine.is_none() {
            self.windows();
        }
        self
    }

    /// The windows [`Self::nine_digit_windows`] computed.
    pub(crate) fn nine(&self) -> &[Window] {
        self.nine.as_deref().unwrap_or(&[])
    }

    /// Candidate phone numbers: windows of 10 or 11 digits.
    pub(crate) fn phone_windows(&mut self) -> &Self {
        if self.phone.is_none() {
            self.windows();
        }
        self
    }

    /// The windows [`Self::phone_windows`] computed.
    pub(crate) fn phones(&self) -> &[Window] {
        self.phone.as_deref().unwrap_or(&[])
    }
}

impl Drop for Ctx<'_> {
    /// The buffers go back to the spare ones for the next context (each keeps its capacity).
    fn drop(&mut self) {
        fn keep<T>(into: &mut Vec<T>, v: Option<Vec<T>>) {
            if let Some(mut v) = v {
                if v.capacity() > into.capacity() {
                    v.clear();
                    *into = v;
                }
            }
        }
        let _ = SPARE.try_with(|s| {
            if let Ok(mut s) = s.try_borrow_mut() {
                let s = &mut *s;
                keep(&mut s.flags, self.flags.take());
                keep(&mut s.written, Some(std::mem::take(&mut self.written)));
                keep(&mut s.runs, self.runs.take());
                keep(&mut s.segments, self.segments.take());
                keep(&mut s.nine, self.nine.take());
                keep(&mut s.phone, self.phone.take());
            }
        });
    }
}

/// A candidate number: `(length, a, b, value)` (digits, first and last token, canonical value).
pub(crate) type Candidate = (usize, usize, usize, String);

/// Non-overlapping candidates: longest first, then leftmost; in the order chosen. Chosen in place, in the
/// candidates' own buffer: a turn with a number allocates no second vector for the choice.
pub(crate) fn pick_greedy(mut cands: Vec<Candidate>) -> Vec<Candidate> {
    cands.sort_by(|x, y| {
        y.0.cmp(&x.0)
            .then(x.1.cmp(&y.1))
            .then(x.2.cmp(&y.2))
            .then(x.3.cmp(&y.3))
    });
    // `..kept`: the chosen ones, in the order chosen; a rejected one is swapped past them and never read again
    let mut kept = 0;
    for k in 0..cands.len() {
        let (a, b) = (cands[k].1, cands[k].2);
        if cands[..kept].iter().any(|c| a <= c.2 && c.1 <= b) {
            continue; // overlaps one chosen already
        }
        cands.swap(kept, k);
        kept += 1;
    }
    cands.truncate(kept);
    cands
}

/// [`pick_greedy`] in text order (chosen candidates never overlap, so no two start at the same token).
pub(crate) fn pick(cands: Vec<Candidate>) -> Vec<Candidate> {
    let mut out = pick_greedy(cands);
    out.sort_unstable_by_key(|c| c.1);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(len: usize, a: usize, b: usize, value: &str) -> Candidate {
        (len, a, b, value.to_string())
    }

    #[test]
    fn pick_greedy_keeps_the_longest_then_the_leftmost_of_overlapping_candidates() {
        // tokens 0..=3 (13 digits) overlap 2..=5 (16) and 4..=6 (13); 7..=8 overlaps nothing chosen
        let cands = vec![
            cand(13, 0, 3, "a"),
            cand(13, 4, 6, "c"),
            cand(16, 2, 5, "b"),
            cand(13, 7, 8, "d"),
            cand(16, 5, 8, "e"),
        ];
        let chosen: Vec<(usize, usize)> = pick_greedy(cands).iter().map(|c| (c.1, c.2)).collect();
        // 2..=5 first (longest, leftmost), then 5..=8 overlaps it; of the 13s, 0..=3 and 4..=6 overlap it, 7..=8 not
        assert_eq!(chosen, [(2, 5), (7, 8)]);
    }

    #[test]
    fn pick_lists_the_chosen_candidates_in_text_order_with_their_values() {
        // chosen longest first: 6..=8, then 0..=2 (1..=3 overlaps it); listed by where they start
        let cands = vec![cand(10, 1, 3, "gone"), cand(12, 6, 8, "late"), cand(11, 0, 2, "early")];
        let chosen: Vec<(usize, usize, String)> = pick(cands).into_iter().map(|c| (c.1, c.2, c.3)).collect();
        assert_eq!(chosen, [(0, 2, "early".to_string()), (6, 8, "late".to_string())]);
    }
}
