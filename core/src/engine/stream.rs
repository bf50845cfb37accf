//! Streaming agent turns: speak what is already safe while the LLM is still writing.
//!
//! `feed(chunk)` returns the newly safe part of what will be spoken. It holds back only a suffix that could still
//! change: the last few words (the longest phrase in the enabled packs, in tokens, plus slack), extended over any run
//! of digits, number words, spelled letters or `dot`/`at` words that a detector could still turn into a hit.
//! Everything before that point is final: the same edits apply to it whatever comes next, so what the feeds release
//! plus the tail at close equals the text a whole-turn check gives.
//!
//! Two things make a stream hold everything for a while: a first-turn disclosure that modify mode would prefix, and
//! a violation that will suppress the turn (block and handoff modes): what was already spoken cannot be taken back,
//! so nothing more is released and the fallback line is the tail. `suppressing` says so as soon as it is known.
//!
//! Work per feed ([`Incremental`]): each word is classified once, when the whitespace after it arrives
//! ([`WordFacts`]: a restart point after it, its detector split class, sticky for the hold-back); the turn's
//! normalized view is kept, and a feed normalizes only the text since the last *restart point* (a word after a plain
//! word, where the normalizer has no context across words), appending its tokens to the frozen ones; the
//! Aho-Corasick automaton resumes from its state after the frozen tokens; hits that no later text can change are
//! turned into matches once; the detectors rerun only on the view after their last split (a word with plain words
//! around it, which no hit spans or looks across); a bounded regex whose atom hit searches on from its last final
//! match ([`super::scan::RegexCarry`]). A *quiet* feed, plain words that provably cannot change the matches, skips
//! all of that and the next update catches up ([`Incremental::append_quiet`]). The rules are evaluated again only when
//! the matches changed (or the call did: a turn committed, new facts), and while the plan stays the same the text
//! past what it rewrites is released as a copy of the source, not rendered again. What still grows with the turn:
//! the matches are gathered whole on a feed whose hits change them (a few per turn), an unbounded regex reruns over the
//! whole normalized text, and a turn without restart points or detector splits (a long run of digits, or of words
//! that are not ASCII) is rescanned from its last one. Every feed is exact:
//! the carried view and matches are those of the whole turn so far (`_check_carried` compares them in the tests).
//! `close()` checks the turn whole from the carried matches (`_close_turn`: the same Decision, findings, timeline
//! and observers as `agent_turn`), and falls back to `call.agent_turn` when they cannot stand for a fresh scan (see
//! `_close_turn`).

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PySlice, PyString};

use super::call::{read_t, CallCore};
use super::clock::{fault, now_ns, Stage};
use super::edits::{apply_edits, next_visible, py_isspace, py_isspace_ascii, removal_extent, Piece, Text};
use super::eval::{Outcome, Plan};
use super::incremental::{is_spoken_joiner, non_ascii_word_facts, word_facts, Incremental, WordFacts, Words};
use super::scan::Matches;
use super::state::T;
use super::textview::py_text;
use crate::swar;

/// A stream's words as [`Incremental`] reads them (a macro: the fields are borrowed apart from the incremental scan,
/// which the caller borrows mutably). An ASCII turn's starts in bytes are its starts in characters.
macro_rules! words {
    ($stream:expr) => {
        Words {
            starts: &$stream.word_starts,
            bytes: if $stream.word_bytes.is_empty() {
                &$stream.word_starts
            } else {
                &$stream.word_bytes
            },
            facts: &$stream.word_facts,
            chars: $stream.chars,
        }
    };
}

/// Words that can be part of a detector hit spanning several words (numbers, spelled symbols).
pub struct Sticky {
    words: HashSet<String, BuildHasherDefault<Fnv>>,
    /// every word in `words` is a number-pass word or an e-mail joiner ([`is_spoken_joiner`]), as the gate's set is:
    /// a word that is neither is not in it, found without hashing it (most streamed words)
    number_pass_only: bool,
}

impl Sticky {
    /// The set of `words` (lower case), and whether the prefilter of [`Sticky::contains`] may stand for it.
    pub fn new(words: impl IntoIterator<Item = String>) -> Sticky {
        let words: HashSet<String, BuildHasherDefault<Fnv>> = words.into_iter().collect();
        let number_pass_only = words
            .iter()
            .all(|w| is_spoken_joiner(w) || crate::text::words::is_number_pass_word(w));
        Sticky {
            words,
            number_pass_only,
        }
    }

    /// Whether `folded` (lower case) is one of the words.
    #[inline]
    fn contains(&self, folded: &str) -> bool {
        self.contains_known(
            folded,
            crate::text::words::is_number_pass_word(folded) || is_spoken_joiner(folded),
        )
    }

    /// [`Sticky::contains`] for a caller that knows whether `folded` is a number-pass word or an e-mail joiner.
    #[inline]
    fn contains_known(&self, folded: &str, number_pass_or_joiner: bool) -> bool {
        if self.number_pass_only && !number_pass_or_joiner {
            return false;
        }
        self.words.contains(folded)
    }

    /// [`Sticky::contains_known`] of ASCII letters `letters` (any case, at most 16), lower-cased only when the set
    /// is looked at.
    #[inline]
    fn contains_letters(&self, letters: &[u8], number_pass_or_joiner: bool) -> bool {
        if self.number_pass_only && !number_pass_or_joiner {
            return false;
        }
        let mut lower = [0u8; 16];
        self.words
            .contains(super::incremental::ascii_lower(letters, &mut lower))
    }
}

/// FNV-1a: the sticky words are a few dozen short, fixed words looked up once per streamed word, where SipHash's
/// setup costs more than the lookup (no hostile input can crowd a set it cannot add to).
#[derive(Default)]
pub struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// Characters trimmed from a word before it is looked at: whatever Python calls whitespace and sentence punctuation.
fn trimmed(c: char) -> bool {
    if c.is_ascii() {
        trimmed_ascii(c as u8)
    } else {
        py_isspace(c)
    }
}

/// [`trimmed`] for an ASCII character.
fn trimmed_ascii(c: u8) -> bool {
    py_isspace_ascii(c) || matches!(c, b',' | b';' | b':' | b'!' | b'?' | b'"' | b'(' | b')' | b'[' | b']')
}

/// [`WORD_BYTE`]: a digit or a character that joins an e-mail's or a number's pieces (`@._-`).
const STICKY_BYTE: u8 = 1;
/// [`WORD_BYTE`]: not an ASCII letter.
const NOT_LETTER: u8 = 2;
/// What [`is_sticky`] asks of each byte of an ASCII word, looked up once per byte.
static WORD_BYTE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if b.is_ascii_digit() || matches!(b, b'@' | b'.' | b'_' | b'-') {
            t[c] |= STICKY_BYTE;
        }
        if !b.is_ascii_alphabetic() {
            t[c] |= NOT_LETTER;
        }
        c += 1;
    }
    t
};

fn is_sticky(py: Python<'_>, sticky: &Sticky, word: &str) -> bool {
    let b = word.as_bytes();
    if word.is_ascii() && word.len() <= 64 {
        // most words, on the stack: what the general path below gives for an ASCII word, in the order that reads
        // the fewest bytes (the tests of [`is_sticky_token`] first: they do not depend on letter case)
        let s = b.iter().position(|&c| !trimmed_ascii(c)).unwrap_or(b.len());
        let e = b.iter().rposition(|&c| !trimmed_ascii(c)).map_or(s, |e| e + 1);
        let core = &b[s..e];
        // one pass over the word's bytes: whether one is a digit or joins an e-mail's or a number's pieces, and
        // whether one is not a letter
        let classes = core.iter().fold(0, |acc, &c| acc | WORD_BYTE[usize::from(c)]);
        if core.len() <= 1 || classes & STICKY_BYTE != 0 {
            return true;
        }
        let mut lower = [0u8; 64];
        let folded = super::incremental::ascii_lower(core, &mut lower);
        if sticky.contains(folded) {
            return true;
        }
        return classes & NOT_LETTER != 0 && {
            let view = super::textview::View::of(folded);
            (0..view.ntok()).any(|k| is_sticky_token(py, sticky, view.tok(k)))
        };
    }
    // a word's slice runs to the next word, so it ends in whatever Python calls whitespace ("\u{a0}" too): all of
    // it is trimmed, or a number word before a no-break space would end the sticky run and release a detector's
    // digits before the detector has seen them whole
    let core = word.trim_matches(trimmed);
    if core.is_empty() {
        return true;
    }
    let mut lower = [0u8; 32];
    let owned: String;
    let folded: &str = if core.is_ascii() && core.len() <= lower.len() {
        // a word of the held-back tail, on every feed: folded on the stack
        lower[..core.len()].copy_from_slice(core.as_bytes());
        lower[..core.len()].make_ascii_lowercase();
        std::str::from_utf8(&lower[..core.len()]).unwrap_or(core)
    } else {
        owned = if core.is_ascii() {
            core.to_ascii_lowercase()
        } else {
            PyString::new(py, core)
                .call_method0("casefold")
                .and_then(|s| s.extract())
                .unwrap_or_else(|_| core.to_lowercase())
        };
        &owned
    };
    if is_sticky_token(py, sticky, folded) {
        return true;
    }
    // the word as the detectors read it: punctuation the normalizer splits at glues words ("one–one" is read "1 1",
    // a card's digits) and folding turns letters into others ("ｏｎｅ" is "1"), so it is sticky when any of its
    // normalized tokens is. A word of ASCII letters is read as itself, a number word or a contraction, none of which
    // adds a sticky token (`test_a_word_of_ascii_letters_is_read_as_itself_for_the_hold_back`): no normalization
    !folded.bytes().all(|b| b.is_ascii_alphabetic()) && {
        let view = super::textview::View::of(folded);
        (0..view.ntok()).any(|k| is_sticky_token(py, sticky, view.tok(k)))
    }
}

/// Whether `word` (a word's slice, its whitespace after it) is an `and`, which the number pass reads inside a compound.
fn joins_numbers(word: &str) -> bool {
    word.trim_matches(trimmed).eq_ignore_ascii_case("and")
}

/// A sticky word or token: a number word or a spelled symbol, one character, or one with a digit or a character
/// that joins an e-mail's or a number's pieces.
fn is_sticky_token(py: Python<'_>, sticky: &Sticky, folded: &str) -> bool {
    if sticky.contains(folded) || folded.chars().count() == 1 {
        return true;
    }
    folded.chars().any(|ch| {
        "@._-".contains(ch)
            || if ch.is_ascii() {
                ch.is_ascii_digit()
            } else {
                let mut buf = [0u8; 4];
                PyString::new(py, ch.encode_utf8(&mut buf))
                    .call_method0("isdigit")
                    .and_then(|b| b.extract())
                    .unwrap_or(false)
            }
    })
}

/// One streamed agent turn (subclassed in Python by `trace_engine.gate.stream.AgentStream`).
#[pyclass(subclass, module = "trace_engine._core")]
pub struct StreamCore {
    #[pyo3(get)]
    pub call: Py<CallCore>,
    pub t: Option<T>,
    #[pyo3(get, name = "t")]
    pub t_obj: PyObject,
    /// the turn so far (lone surrogates read as U+FFFD), and its length in characters
    buf: String,
    chars: usize,
    /// the chunks as given, kept once one held lone surrogates (the whole-turn check reads them exactly)
    py_chunks: Option<Vec<Py<PyString>>>,
    /// character index where each word starts, and whether the last character was whitespace
    word_starts: Vec<usize>,
    /// the same starts in bytes of `buf` once the turn is not all ASCII (empty before: they are `word_starts`)
    word_bytes: Vec<usize>,
    /// whether each complete word is sticky, as far as the hold-back looked ([`StreamCore::hold_from`]), or as
    /// [`word_facts`] read it: a long sticky run is looked at once, not on every feed that holds it back
    sticky_words: Vec<u8>,
    /// what each word followed by whitespace is ([`word_facts`]), read once when that whitespace arrives
    word_facts: Vec<WordFacts>,
    /// how many leading bytes of the turn are ASCII (below that, characters are bytes; all of them: an ASCII turn)
    ascii_bytes: usize,
    /// once the turn is not all ASCII: the byte offset of each of its characters, plus its end (extended chunk by
    /// chunk, where finding them on every feed would cost a pass over the whole turn)
    char_bytes: Vec<usize>,
    /// the hold-back's set of sticky words (the call's)
    sticky: std::sync::Arc<Sticky>,
    prev_space: bool,
    emitted: String,
    emitted_chars: usize,
    /// source characters the released text covers when it is a plain copy of the source (no edit, no prefix yet)
    plain_upto: Option<usize>,
    #[pyo3(get, set)]
    pub tail: Py<PyString>,
    #[pyo3(get, set)]
    pub closed: bool,
    #[pyo3(get, set)]
    pub failed: bool,
    /// the turn will be suppressed (block/handoff) whatever comes next, as far as the text so far shows
    #[pyo3(get)]
    pub suppressing: bool,
    #[pyo3(get)]
    pub max_holdback_chars: usize,
    /// the decision at close (for ``interrupt``)
    #[pyo3(get, set)]
    pub decision: PyObject,
    /// the call's turn counter after this turn committed (a barge-in rewinds only while it is the call's last)
    #[pyo3(get, set, name = "_committed_seq")]
    pub committed_seq: i64,
    #[pyo3(get, set)]
    pub interrupted: bool,
    /// after ``interrupt``, what was heard (``None`` before)
    #[pyo3(get, set, name = "_heard")]
    pub heard: PyObject,
    /// this stream's number in its call: the call's barge-in checkpoint names the stream it was taken for by it
    #[pyo3(get, name = "_checkpoint_id")]
    pub checkpoint_id: u64,
    pub latencies: Vec<u64>,
    inc: Incremental,
    outcome: Outcome,
    plan: Plan,
    /// the matches `outcome` and `plan` were computed from, and the call's turn counter and context generation
    /// then: a feed whose matches and call are the same, with nothing to rewrite, keeps them (see
    /// [`StreamCore::evaluated_still_holds`])
    evaluated: Matches,
    evaluated_call: Option<(u32, u64)>,
    /// `evaluated` equals the matches as the last feed left them (the incremental scan then says whether they
    /// changed, and they need not be compared)
    evaluated_synced: bool,
    /// source characters whose rendering under the current plan is exactly what was released, when it is
    rendered_to: Option<usize>,
}

/// The match set the last evaluation read goes back to the pool, as the stream's carried one does (see
/// [`Incremental`]'s drop).
impl Drop for StreamCore {
    fn drop(&mut self) {
        std::mem::take(&mut self.evaluated).give_back();
    }
}

impl StreamCore {
    /// The whole-turn check at close of `text`, the turn as fed ([`StreamCore::buffer`]): the same as
    /// `call.agent_turn(text, t)` (the Decision, the evidence, the observers), from the matches the feeds carried
    /// instead of a new normalization and scan. `None` when they cannot stand for a new scan, and the caller checks
    /// the turn whole: no chunk was scanned (an empty stream, or one that failed), explain is tracing (it records the
    /// scan's own events), the call ended or a variable changed since the last chunk (the facade's errors, the
    /// matches read the variables).
    #[inline(never)] // a symbol of its own for benchmarks/*.py's callgrind toggles
    fn _close_turn<'py>(
        slf: &Bound<'py, Self>,
        text: &Bound<'py, PyString>,
    ) -> PyResult<Option<Bound<'py, super::decision::Decision>>> {
        let py = slf.py();
        let mut me = slf.borrow_mut();
        let call_obj = me.call.clone_ref(py);
        let t_obj = me.t_obj.clone_ref(py);
        let call_b = call_obj.bind(py);
        let t = t_obj.bind(py);
        {
            let call = call_b.borrow();
            if me.failed || call.ended || call.tracer.is_some() || !super::call::plain_t(t) {
                return Ok(None);
            }
        }
        let tv = me.t;
        let buf = std::mem::take(&mut me.buf);
        let decision = {
            let mut call = call_b.borrow_mut();
            // after quiet feeds the view and the hits catch up (on an error, the turn is checked whole)
            let me = &mut *me;
            if me.inc.catch_up(&mut call, &buf, words!(me)).is_err() {
                me.buf = buf;
                return Ok(None);
            }
            match me.inc.hand_over(&call, &buf) {
                Some(carried) => Some(call.agent_turn_with(py, text, tv, Some(carried))?),
                None => None,
            }
        };
        me.buf = buf;
        drop(me);
        if decision.is_some() {
            super::call::notify(py, call_b, "agent", t);
        }
        Ok(decision)
    }

    /// Add `chunk` to the turn: its words' starts, and the facts of each word that whitespace now follows.
    fn append(&mut self, chunk: &str) {
        let base = self.chars;
        let base_bytes = self.buf.len();
        let ascii = chunk.is_ascii();
        if self.ascii_bytes == self.buf.len() {
            self.ascii_bytes += if ascii {
                chunk.len()
            } else {
                chunk.bytes().take_while(u8::is_ascii).count()
            };
        }
        if ascii {
            // most chunks: bytes are characters, read eight at a time (a word starts at a byte that is not
            // whitespace after one that is)
            let b = chunk.as_bytes();
            let mut prev_space = self.prev_space;
            for (k, piece) in b.chunks(8).enumerate() {
                let x = swar::load_first(piece);
                let space = swar::py_space_bytes(x);
                let after_space = space << 8 | u64::from(prev_space) << 7;
                // the zero bytes past a short piece's end are no whitespace: they would start words
                let within = u64::MAX >> (64 - 8 * piece.len());
                let mut starts = !space & after_space & swar::HIGH & within;
                while starts != 0 {
                    let at = 8 * k + (starts.trailing_zeros() / 8) as usize;
                    self.word_starts.push(base + at);
                    starts &= starts - 1;
                }
                prev_space = space >> (8 * piece.len() - 1) & 1 == 1;
            }
            self.prev_space = prev_space;
            if let Some(end) = self.char_bytes.pop() {
                // a turn that is not all ASCII keeps its characters' offsets (the old end is this chunk's start) and
                // its words' starts in bytes
                self.char_bytes.extend(end..end + chunk.len() + 1);
                let new_words = &self.word_starts[self.word_bytes.len()..];
                self.word_bytes.extend(new_words.iter().map(|&c| c - base + base_bytes));
            }
            self.buf.push_str(chunk);
            self.chars += chunk.len();
            self.classify_words();
            return;
        }
        if self.char_bytes.is_empty() {
            // the turn's first character that is not ASCII: its ASCII prefix's offsets, and its words' starts in
            // bytes (the same), once
            self.char_bytes.extend(0..base_bytes);
            self.word_bytes.extend_from_slice(&self.word_starts);
        } else {
            self.char_bytes.pop(); // the old end
        }
        let mut n = 0;
        for (at, ch) in chunk.char_indices() {
            let space = py_isspace(ch);
            if self.prev_space && !space {
                self.word_starts.push(base + n);
                self.word_bytes.push(base_bytes + at);
            }
            self.char_bytes.push(base_bytes + at);
            self.prev_space = space;
            n += 1;
        }
        self.char_bytes.push(base_bytes + chunk.len());
        self.buf.push_str(chunk);
        self.chars += n;
        self.classify_words();
    }

    /// Read the [`WordFacts`] of each word that whitespace now follows, once per word; a word of letters says
    /// whether it is sticky too, so the hold-back need not look at it.
    fn classify_words(&mut self) {
        let n = self.word_starts.len();
        let upto = if self.prev_space { n } else { n.saturating_sub(1) };
        let b = self.buf.as_bytes();
        while self.word_facts.len() < upto {
            let k = self.word_facts.len();
            let starts = words!(self).bytes;
            let (s, e) = (starts[k], starts.get(k + 1).copied().unwrap_or(b.len()));
            // an ASCII word (and its whitespace), wherever it is in the turn
            let facts = if e <= self.ascii_bytes || b[s..e].is_ascii() {
                let sticky = &self.sticky;
                word_facts(&b[s..e], |letters, special| sticky.contains_letters(letters, special))
            } else {
                non_ascii_word_facts(&self.buf[s..e])
            };
            self.word_facts.push(facts);
            if let Some(got) = facts.sticky {
                // the hold-back has not looked at this word yet; earlier words it has not looked at stay unknown (0)
                let seen = &mut self.sticky_words;
                if seen.len() < k {
                    seen.resize(k, 0);
                }
                match seen.get_mut(k) {
                    Some(at) => *at = 1 + u8::from(got),
                    None => seen.push(1 + u8::from(got)),
                }
            }
        }
    }

    /// The original offset before which nothing can change any more.
    fn safe_end(&mut self, py: Python<'_>, text: &Text<'_>, hold_words: usize, sticky: &Sticky) -> usize {
        let starts = &self.word_starts;
        if starts.is_empty() {
            return self.chars;
        }
        let ends_clean = self.prev_space;
        let held = if ends_clean { hold_words } else { hold_words + 1 };
        if starts.len() <= held {
            return 0;
        }
        let i = starts.len() - held;
        Self::hold_from(&mut self.sticky_words, starts, self.chars, py, text, i, sticky)
    }

    /// Where the safe text ends when word `i` is held: the run of sticky words before it is held too (a detector may
    /// still join them to it), and one more word. Whether a complete word (one with a word after it: its text is
    /// final) is sticky is looked at once and kept in `seen` (0: not yet, 1: no, 2: yes); a word of letters has it
    /// from [`word_facts`] already, when the whitespace after it arrived.
    fn hold_from(
        seen: &mut Vec<u8>,
        starts: &[usize],
        chars: usize,
        py: Python<'_>,
        text: &Text<'_>,
        mut i: usize,
        sticky: &Sticky,
    ) -> usize {
        let complete = starts.len().saturating_sub(1);
        if seen.len() < complete {
            seen.resize(complete, 0);
        }
        let word = |k: usize| text.slice(starts[k], starts.get(k + 1).copied().unwrap_or(chars));
        let mut sticky_at = |k: usize| match seen.get(k).copied() {
            Some(0) => {
                let got = is_sticky(py, sticky, word(k));
                seen[k] = 1 + u8::from(got);
                got
            }
            Some(known) => known == 2,
            None => is_sticky(py, sticky, word(k)), // the last word, still growing
        };
        while i > 0 {
            let k = i - 1;
            // an `and` between number words is read inside the compound ("one hundred and five" is 105): held with
            // them, or a digit run growing back over the compound would release its first words
            let held = sticky_at(k)
                || (k > 0
                    && matches!(text.char_at(starts[k]), 'a' | 'A') // most words are not: one byte says so
                    && joins_numbers(word(k))
                    && sticky_at(k - 1));
            if !held {
                break;
            }
            i -= 1;
        }
        i = i.saturating_sub(1); // one more word: the local part of a spoken email, or a number's lead-in
        let mut safe = starts[i];
        while safe > 0 && matches!(text.char_at(safe - 1), ' ' | '\t' | ',' | ';' | ':') {
            safe -= 1; // a removal in the held words may take the comma before them too
        }
        safe
    }

    /// Whether the last evaluation stands for this feed's too: the same matches and the call unchanged since (no
    /// turn committed, no new facts or variables). A mid-stream evaluation reads only these (the turn's word count
    /// only decides a window's close, which waits for the whole turn), and the plan reads the text only inside the
    /// violations' spans, which the longer turn keeps as they were.
    fn evaluated_still_holds(
        evaluated: &Matches,
        then: Option<(u32, u64)>,
        matches: &Matches,
        unchanged: bool,
        now: (u32, u64),
    ) -> bool {
        then == Some(now) && (unchanged || evaluated.same_as(matches))
    }

    fn release<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyString>> {
        let buf = std::mem::take(&mut self.buf);
        let offsets = std::mem::take(&mut self.char_bytes);
        let text = if self.ascii_bytes == buf.len() {
            Text::ascii(&buf) // an ASCII turn's characters are its bytes
        } else {
            Text::with_offsets(&buf, &offsets)
        };
        let got = self.release_from(py, &buf, &text);
        drop(text);
        self.char_bytes = offsets;
        self.buf = buf;
        got
    }

    /// The turn so far is `buf`: bring the matches and the plan up to date and return where the safe text ends
    /// (`None`: nothing is released while the turn will be suppressed or its prefix is not known).
    fn safe_upto(
        &mut self,
        py: Python<'_>,
        call: &mut CallCore,
        buf: &str,
        text: &Text<'_>,
    ) -> PyResult<Option<usize>> {
        let synced = std::mem::take(&mut self.evaluated_synced);
        // the matches are those of the turn's complete words: most feeds of plain words leave them as they are,
        // known without an update, and a feed within a word brings no new one
        let (seen, words) = complete_words(buf, words!(self));
        let matchers = &call.sh.program.matchers;
        let quiet = self.inc.append_quiet(matchers, call.vars_gen, seen, words);
        if !quiet {
            self.inc.update(call, seen, words)?;
        }
        let unchanged = synced && (quiet || self.inc.unchanged());
        let matches = self.inc.matches();
        let now = (call.st.seq, call.vars_gen);
        if !Self::evaluated_still_holds(&self.evaluated, self.evaluated_call, matches, unchanged, now) {
            call.stream_evaluate(py, matches, seen, self.t, &mut self.outcome, text, &mut self.plan)?;
            self.evaluated.copy_from(matches);
            self.evaluated_call = Some(now);
            self.rendered_to = None; // a new plan: render it from the start once
        }
        self.evaluated_synced = true;
        self.suppressing = self.plan.suppress > 0;
        if self.plan.suppress > 0 || self.outcome.unresolved_prefix {
            return Ok(None);
        }
        let sticky = &call.sh.sticky;
        let mut safe = self.safe_end(py, text, call.sh.program.hold_back_tokens, sticky);
        // an edit that reaches the safe end is held back whole, from the start of the word it starts in and the
        // sticky run before that word: a later hit may take it in from further back (while "12345-6789 hundred..."
        // is written, a hit reads from "6789"; the whole turn reads "12345-6789" and masks from "12345"), so
        // releasing up to the edit's start, mid-word, would speak "12345-"; repeated until no edit reaches it
        let mut moved = true;
        while moved {
            moved = false;
            for (start, end, repl) in &self.plan.edits {
                let (s, e) = if repl.is_empty() {
                    removal_extent(text, *start, *end)
                } else {
                    (*start, *end)
                };
                if s < safe && e >= safe {
                    safe = if self.word_starts.is_empty() {
                        s
                    } else {
                        let word = self.word_starts.partition_point(|&w| w <= s).saturating_sub(1);
                        let (seen, starts) = (&mut self.sticky_words, &self.word_starts);
                        Self::hold_from(seen, starts, self.chars, py, text, word, sticky).min(s)
                    };
                    moved = true;
                }
            }
        }
        Ok(Some(safe))
    }

    fn release_from<'py>(&mut self, py: Python<'py>, buf: &str, text: &Text<'_>) -> PyResult<Bound<'py, PyString>> {
        fault(Stage::StreamRelease)?;
        let safe = {
            // a new reference to the call, released without pyo3's deferred-decref check (a `Bound`, not a `Py`)
            let call_obj = self.call.bind(py).clone();
            let mut call = call_obj.borrow_mut();
            self.safe_upto(py, &mut call, buf, text)?
        };
        let Some(safe) = safe else {
            return Ok(PyString::new(py, ""));
        };
        self.max_holdback_chars = self.max_holdback_chars.max(self.chars - safe);
        let plan = &self.plan;
        let rendered;
        // the released text and its length in characters (a slice of the source: the characters it spans)
        let (delta, delta_chars): (&str, Option<usize>) =
            if plan.edits.is_empty() && plan.prefixes.is_empty() && self.plain_upto == Some(self.emitted_chars) {
                // nothing rewritten: the released text is the source itself
                if safe > self.emitted_chars {
                    let from = self.emitted_chars;
                    self.plain_upto = Some(safe);
                    (text.slice(from, safe), Some(safe - from))
                } else {
                    ("", Some(0))
                }
            } else if let Some(from) = self
                .rendered_to
                .filter(|&from| safe >= from && copies_on(text, plan, from, safe))
            {
                // the released text is the plan's rendering up to `from`, and past it the rendering is the source
                self.plain_upto = None;
                self.rendered_to = Some(safe);
                (text.slice(from, safe), Some(safe - from))
            } else {
                self.plain_upto = None;
                rendered = render_upto(py, text, plan, safe);
                if !rendered.starts_with(&self.emitted) {
                    self.rendered_to = None;
                    ("", Some(0)) // never contradict what was already released; hold until close
                } else {
                    self.rendered_to = Some(safe);
                    (&rendered[self.emitted.len()..], None)
                }
            };
        if !delta.is_empty() {
            self.emitted.push_str(delta);
            self.emitted_chars += delta_chars.unwrap_or_else(|| delta.chars().count());
            if self.plain_upto.is_some() {
                self.plain_upto = Some(self.emitted_chars);
            }
        }
        Ok(PyString::new(py, delta))
    }
}

/// The part of the turn `buf` (its words `words`) that a feed's matches are of: up to the start of its last word
/// when no whitespace follows that word yet, all of it otherwise.
///
/// A model streams a word in pieces (" now", "adays"): matched as it stands, every piece would be a word of its own
/// to the automaton and the detectors, and its hits would come and go ("act now" hits at " now" and is gone at
/// "adays"), each piece an update of the word written so far. The
/// word is held back anyway ([`StreamCore::safe_end`] holds one word more while the last one is incomplete), and the
/// held words begin where they would for the turn cut before that word, so what is released equals what a stream
/// cut there releases: the text before the safe end is final whatever comes next, the incomplete word included. A
/// hit that needs the word is seen once whitespace follows it, or at close, which checks the turn whole.
fn complete_words<'a>(buf: &'a str, words: Words<'a>) -> (&'a str, Words<'a>) {
    let n = words.facts.len();
    if n == words.starts.len() {
        return (buf, words);
    }
    let cut = Words {
        starts: &words.starts[..n],
        bytes: &words.bytes[..n],
        facts: words.facts,
        chars: words.starts[n],
    };
    (&buf[..words.bytes[n]], cut)
}

/// `text[start:]` in characters (the text itself when `start` is 0).
fn suffix_from<'py>(text: &Bound<'py, PyString>, start: usize) -> PyResult<Bound<'py, PyString>> {
    if start == 0 {
        return Ok(text.clone());
    }
    let from = isize::try_from(start).unwrap_or(isize::MAX);
    Ok(text
        .get_item(PySlice::new(text.py(), from, isize::MAX, 1))?
        .downcast_into()?)
}

/// What remains to speak after a turn decided `action` with `text` (``None``: nothing) once `emitted` characters of
/// it were released: after a suppression the fallback line, set apart from what was said; else the decided text
/// past what the feeds released (a prefix of it; if they ever did not release one, its rest: never repeat).
fn tail_after<'py>(
    action: &Bound<'py, PyString>,
    text: &Bound<'py, PyAny>,
    emitted: usize,
) -> PyResult<Bound<'py, PyString>> {
    let py = action.py();
    let text = match text.downcast::<PyString>() {
        Ok(t) => t.clone(),
        Err(_) if text.is_none() => PyString::new(py, ""),
        Err(_) => {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "a decision's text is a str or None",
            ))
        }
    };
    let suppressed = matches!(action.to_str()?, "block" | "handoff");
    if !suppressed {
        suffix_from(&text, emitted)
    } else if emitted == 0 || text.len()? == 0 {
        Ok(text)
    } else {
        Ok(PyString::new(py, " ").add(&text)?.downcast_into()?)
    }
}

/// Whether rendering `text[..to]` ([`render_upto`]) gives the rendering of `text[..from]` followed by
/// `text[from..to]`: no prefix, and every edit that ends by `to` ends before `from` with all it looks at after its
/// end (up to two visible characters and the blanks up to the next one) before `from` too.
fn copies_on(text: &Text<'_>, plan: &Plan, from: usize, to: usize) -> bool {
    plan.prefixes.is_empty()
        && plan.edits.iter().all(|&(_, end, _)| {
            if end > to {
                return true; // not rendered
            }
            let mut at = end;
            for _ in 0..3 {
                at = next_visible(text, at) + 1;
            }
            at < from
        })
}

/// What `text[:upto]` becomes (edits that end by `upto`, prefixes; no suffixes).
fn render_upto(py: Python<'_>, text: &Text<'_>, plan: &Plan, upto: usize) -> String {
    let head = Text::new(text.slice(0, upto), None);
    let edits: Vec<_> = plan.edits.iter().filter(|e| e.1 <= upto).cloned().collect();
    let body = apply_edits(py, &head, &edits);
    let mut out = String::new();
    let blank = super::edits::is_blank(&head, &body);
    if !plan.prefixes.is_empty() {
        out.push_str(&plan.prefixes.join(" "));
        if !blank {
            out.push(' ');
        } else {
            return out;
        }
    }
    for p in &body {
        match p {
            Piece::Range(a, b) => out.push_str(head.slice(*a, *b)),
            Piece::Lit(s) => out.push_str(s),
        }
    }
    out
}

#[pymethods]
impl StreamCore {
    #[new]
    #[pyo3(signature = (call, t=None))]
    #[inline(never)] // a symbol of its own for benchmarks/*.py's callgrind toggles: PGO inlines PyO3's wrapper
    fn new(py: Python<'_>, call: Bound<'_, CallCore>, t: Option<Bound<'_, PyAny>>) -> PyResult<Self> {
        let t_obj = t.map(|t| t.unbind()).unwrap_or_else(|| py.None());
        let tv = read_t(t_obj.bind(py))?;
        let (inc, evaluated, checkpoint_id, sticky, chars, words) = {
            let mut c = call.borrow_mut();
            c.streams_opened += 1;
            let count = c.sh.program.matchers.count as usize;
            let (chars, words) = (c.sh.stream_room.chars(), c.sh.stream_room.words());
            (
                Incremental::new(&c),
                Matches::reused(count),
                c.streams_opened,
                c.sticky(),
                chars,
                words,
            )
        };
        Ok(StreamCore {
            call: call.unbind(),
            t: tv,
            t_obj,
            buf: String::with_capacity(chars),
            chars: 0,
            py_chunks: None,
            word_starts: Vec::with_capacity(words),
            word_bytes: Vec::new(),
            sticky_words: Vec::with_capacity(words),
            word_facts: Vec::with_capacity(words),
            ascii_bytes: 0,
            char_bytes: Vec::new(),
            sticky,
            prev_space: true,
            emitted: String::with_capacity(chars),
            emitted_chars: 0,
            plain_upto: Some(0),
            tail: PyString::new(py, "").unbind(),
            closed: false,
            failed: false,
            suppressing: false,
            max_holdback_chars: 0,
            decision: py.None(),
            committed_seq: -1,
            interrupted: false,
            heard: py.None(),
            checkpoint_id,
            latencies: Vec::with_capacity(words / 2), // a chunk is a word or two: no regrowth mid-turn
            inc,
            outcome: Outcome::default(),
            plan: Plan::default(),
            evaluated,
            evaluated_call: None,
            evaluated_synced: false,
            rendered_to: None,
        })
    }

    /// Add ``chunk``; return the part of the turn that is now safe to speak (possibly empty).
    ///
    /// A chunk that arrives after :meth:`close` (the LLM still writing after a barge-in) is dropped: nothing more of
    /// this turn is spoken, and ``""`` is returned. Raises ``TypeError`` for a chunk that is not a ``str`` and
    /// ``CallEndedError`` once the call has ended; never on content.
    #[inline(never)] // a symbol of its own for benchmarks/*.py's callgrind toggles: PGO inlines PyO3's wrapper
    fn feed<'py>(slf: &Bound<'py, Self>, chunk: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyString>> {
        let py = slf.py();
        let ended = slf.borrow().call.borrow(py).ended;
        if !chunk.is_exact_instance_of::<PyString>() || ended {
            slf.call_method1("_check_feed", (chunk,))?;
        }
        let mut me = slf.borrow_mut();
        if me.closed {
            return Ok(PyString::new(py, ""));
        }
        let started = now_ns();
        let chunk = chunk.downcast::<PyString>()?;
        let (s, lossy) = py_text(chunk)?; // the chunk's own UTF-8, copied once, into the buffer
        if lossy && me.py_chunks.is_none() {
            let so_far = PyString::new(py, &me.buf).unbind();
            me.py_chunks = Some(vec![so_far]);
        }
        if let Some(chunks) = &mut me.py_chunks {
            chunks.push(chunk.clone().unbind());
        }
        me.append(&s);
        if me.failed {
            me.emitted.push_str(&s);
            me.emitted_chars = me.chars;
            return Ok(PyString::new(py, &s));
        }
        let delta = match me.release(py) {
            Ok(d) => d,
            Err(_) => {
                // fail open: pass the text through, as the whole-turn gate would; close() records the turn
                // redacted by the detectors alone (never raw)
                me.failed = true;
                me.call.borrow_mut(py).st.errors += 1;
                let d = if me.buf.starts_with(&me.emitted) {
                    me.buf[me.emitted.len()..].to_string()
                } else {
                    String::new()
                };
                me.emitted.push_str(&d);
                me.emitted_chars = me.emitted.chars().count();
                PyString::new(py, &d)
            }
        };
        let elapsed = now_ns().saturating_sub(started);
        me.latencies.push(elapsed);
        Ok(delta)
    }

    /// The turn as written so far (exactly as given).
    #[getter]
    fn buffer(&self, py: Python<'_>) -> PyResult<Py<PyString>> {
        match &self.py_chunks {
            None => Ok(PyString::new(py, &self.buf).unbind()),
            Some(chunks) => {
                let list = PyList::new(py, chunks.iter().map(|c| c.bind(py)))?;
                Ok(PyString::new(py, "")
                    .call_method1("join", (list,))?
                    .downcast_into::<PyString>()?
                    .unbind())
            }
        }
    }

    /// Everything released by the feeds so far.
    #[getter]
    fn emitted(&self) -> &str {
        &self.emitted
    }

    #[getter]
    fn chunk_latencies_ns(&self) -> Vec<u64> {
        self.latencies.clone()
    }

    /// Finish the turn: returns the whole-turn :class:`Decision`; :attr:`tail` is what remains to speak.
    ///
    /// The turn is checked whole from the matches the feeds carried, or by ``call.agent_turn`` when they cannot
    /// stand for a new scan; the call's barge-in checkpoint is taken first (see :mod:`trace_engine.gate.bargein`).
    /// Raises ``RuntimeError`` when the stream is closed already.
    fn close<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let (call, buffer, t, failed, checkpoint_id) = {
            let mut me = slf.borrow_mut();
            if me.closed {
                return Err(PyRuntimeError::new_err("stream already closed"));
            }
            me.closed = true;
            let buffer = me.buffer(py)?.into_bound(py);
            let call = me.call.clone_ref(py).into_bound(py);
            let tokens = me.inc.view().nt.len();
            (call.borrow().sh.stream_room).needed(me.buf.len(), me.word_starts.len(), tokens);
            (
                call,
                buffer,
                me.t_obj.clone_ref(py).into_bound(py),
                me.failed,
                me.checkpoint_id,
            )
        };
        if failed {
            // the turn is recorded redacted by the detectors alone; the feeds passed the text through as it came
            let decision = call.call_method1("_unavailable", (&buffer, &t))?;
            let mut me = slf.borrow_mut();
            me.tail = suffix_from(&buffer, me.emitted_chars)?.unbind();
            me.decision = decision.clone().unbind();
            me.committed_seq = i64::from(call.borrow().st.seq);
            return Ok(decision);
        }
        call.borrow_mut().checkpoint_for(py, checkpoint_id);
        let decision = match Self::_close_turn(slf, &buffer)? {
            Some(d) => d.into_any(),
            None => call.call_method1("agent_turn", (&buffer, &t))?,
        };
        let mut me = slf.borrow_mut();
        me.decision = decision.clone().unbind();
        me.committed_seq = i64::from(call.borrow().st.seq);
        let emitted = me.emitted_chars;
        let tail = match decision.downcast::<super::decision::Decision>() {
            Ok(d) => {
                let (action, text) = d.get().action_and_text(py);
                tail_after(action, text, emitted)?
            }
            Err(_) => tail_after(
                decision.getattr("action")?.downcast()?,
                &decision.getattr("text")?,
                emitted,
            )?,
        };
        me.tail = tail.unbind();
        Ok(decision)
    }

    /// For tests: the work the incremental scan did over all feeds, ``(characters normalized, normalized bytes
    /// scanned by the automaton, read by the detectors, searched by the regexes, feeds that gathered the matches
    /// again, feeds whose words were appended quietly, without an update)``.
    fn _work(&self) -> (u64, u64, u64, u64, u64, u64) {
        let w = &self.inc.work;
        (
            w.normalized_chars,
            w.scanned_bytes,
            w.detected_bytes,
            w.regex_bytes,
            w.scans,
            w.quiet_feeds,
        )
    }

    /// For tests: ``""`` when the carried view and matches equal a fresh normalization and scan of the turn's
    /// complete words so far ([`complete_words`], as of the last feed), else what differs. After a quiet feed the view
    /// catches up first, and its matches must be the ones the quiet feeds kept.
    fn _check_carried(&mut self, py: Python<'_>) -> PyResult<String> {
        if self.inc.fed() == 0 {
            return Ok(String::new());
        }
        let call_obj = self.call.clone_ref(py);
        let (seen, words) = complete_words(&self.buf, words!(self));
        let seen = seen.to_string();
        if self.inc.behind() {
            let kept: Vec<_> = self.inc.matches().iter().map(|(m, s)| (m, s.to_vec())).collect();
            let mut call = call_obj.borrow_mut(py);
            self.inc.catch_up(&mut call, &seen, words)?;
            let caught_up: Vec<_> = self.inc.matches().iter().map(|(m, s)| (m, s.to_vec())).collect();
            if kept != caught_up {
                return Ok(format!(
                    "a quiet feed kept matches that changed:\n kept      {kept:?}\n caught up {caught_up:?}"
                ));
            }
        }
        let call = call_obj.borrow(py);
        let fresh = super::textview::View::of(&seen);
        if fresh.nt != self.inc.view().nt {
            return Ok(format!(
                "view differs:\n carried {:?}\n fresh   {:?}",
                self.inc.view().nt,
                fresh.nt
            ));
        }
        let sh = call.sh.clone();
        let mut out = super::scan::Matches::new(sh.program.matchers.count as usize);
        let mut scratch = super::scan::Scratch::default();
        let vars = call.vars.clone();
        (sh.program.matchers).scan(super::scan::Keys::Agent, &fresh, &vars, &mut out, &mut scratch, None)?;
        let a: Vec<_> = self.inc.matches().iter().map(|(m, s)| (m, s.to_vec())).collect();
        let b: Vec<_> = out.iter().map(|(m, s)| (m, s.to_vec())).collect();
        if a != b {
            return Ok(format!("matches differ:\n carried {a:?}\n fresh   {b:?}"));
        }
        Ok(String::new())
    }
}

#[cfg(test)]
mod tests {
    use super::Sticky;

    fn sticky(words: &[&str]) -> Sticky {
        Sticky::new(words.iter().map(|w| (*w).to_string()))
    }

    /// The prefilter never hides a word of the set, and a word outside it is never taken in.
    #[test]
    fn sticky_contains_is_the_set_with_or_without_the_prefilter() {
        // words of the gate's set (number-pass words and e-mail joiners), then words outside it
        let in_gate = super::super::incremental::GATE_LIKE_STICKY;
        let others = ["hyphen", "hello", "the", "thousand", "two", "", "a", "ones", "atdot"];
        let gate_like = sticky(&in_gate);
        assert!(gate_like.number_pass_only);
        let custom = sticky(&["one", "hello", "at"]);
        assert!(
            !custom.number_pass_only,
            "a word outside the number pass: every word is hashed"
        );
        let probes = in_gate.iter().chain(&others).copied();
        for set in [&gate_like, &custom] {
            for w in probes.clone() {
                assert_eq!(set.contains(w), set.words.contains(w), "{w:?}");
            }
        }
        assert!(custom.contains("hello"));
        assert!(
            !gate_like.contains("thousand"),
            "a number-pass word not in the set stays out"
        );
    }
}
