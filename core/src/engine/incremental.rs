//! The normalized view and the automaton scan of a streamed turn, kept up to date chunk by chunk with work in
//! proportion to the new text (see [`super::stream`]).
//!
//! **Normalization restarts at a frozen point.** The normalizer has no context across a *restart point*: the start
//! of a word whose previous word is two or more ASCII letters (not a number word, filler or `and`) followed by ASCII
//! whitespace, whatever text comes before that word. There, every stage is local: folding works per character and
//! per word; a token never spans whitespace; the gap before the next token is read from whitespace alone; a spelled
//! word (single letters) cannot run through a two-letter word; the number pass never joins a plain word to a digit
//! run or a compound, and no filler carries its gap over it. So `normalize(buf) == normalize(buf[..F]) ++
//! shift(normalize(buf[F..]))` for a restart point `F`, and the tokens before `F` never change again: each feed
//! normalizes only `buf[F..]` (the words since the last restart point plus the chunk) and appends its tokens, offsets
//! shifted, to the frozen ones. The end of a turn that ends in whitespace after such a word is a restart point too,
//! so a chunk of whole words is normalized once. Text that is not ASCII before `F` changes only how the two views
//! are joined: a point is kept in characters and bytes of the original and of the folded text ([`Point`]), the
//! folded text and the characters the tokens were read from are the prefix's followed by the tail's
//! ([`Incremental::append_tail`]), and what the frozen prefix holds (whether folding changed it, whether it reads
//! characters that are not ASCII) is looked at once, as the frozen point passes it. Most feeds do not call the
//! normalizer at all: when every word since the restart point is one it reads as its own letters ([`lone_token`]:
//! letters, maybe sentence punctuation, no number word or expansion) and the turn is ASCII, their tokens are appended
//! as they are.
//!
//! **The automaton carries its state.** Aho-Corasick hits ending at or before a point depend only on the text
//! before it, so the hits in the frozen tokens' normalized text are kept, the automaton's state after them is kept,
//! and each feed runs the automaton over the unfrozen normalized text only.
//!
//! **Settled hits become matches once.** A hit is turned into a match by looking at the next character and, for a
//! template, at a few tokens around it; once every token it may read is frozen, what it gives is kept ([`Settled`]).
//!
//! **Detectors rerun after their last split.** A split is a word that starts [`PLAIN_AFTER`] plain words after
//! [`CLEAN_BEFORE`] words without an e-mail joiner: no detector hit spans it or reads across it, so the hits before it
//! are kept and the detectors run on the view from it on (offsets rebased, then shifted back). Plain words are strict
//! words, contractions the normalizer expands into them, and a lone `a` or `I` between them ([`plain_class`] says
//! why each is safe). Before building that view, its preconditions are looked at without it: the digits (final text
//! counted once), a `dot` token for an e-mail, and a run of consecutive digit (MBI candidate) tokens long enough for
//! a number; most feeds stop there, as a whole-turn scan would find nothing there either.
//!
//! **Bounded regexes resume.** A regex whose atom hit searches on from its last final match
//! ([`super::scan::RegexCarry`]): a match is final once the normalized text it reads is frozen.
//!
//! **The matches are gathered again only when their input changed.** A gathering reads the settled hits' adds, what
//! the pending hits give, the due regexes' matches and the detectors' hits; a feed where all of them are what the
//! last gathering read (a template's atom waiting for the words after it gives nothing, again) keeps the matches.
//!
//! **Quiet feeds skip the update.** After an update that left nothing pending (every hit settled, no regex due that
//! plain words could change, e-mail ruled out from the split on), a feed whose words are all plain (read as their own
//! letters, a lone `a` or `I` among them, no e-mail joiner but an `at` while no `dot` came) and in which no
//! automaton key ends cannot change the matches, whatever came before them (digits, symbols, a number a detector
//! found): its words are taken as they are, and the next update catches up ([`Incremental::append_quiet`] says
//! why).
//!
//! What is *not* carried: an unbounded regex reruns over the whole normalized text, the pending hits are processed
//! again on every feed until they settle, the matches are gathered whole when they change, and text without restart
//! points or splits (digit runs, e-mail words, words that are not ASCII and fold to no plain word) is looked at again
//! from the last one on every feed. Feeds of a turn that is not all ASCII are never quiet: each one updates.
//! The counters ([`Work`]) make the linear part testable.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use pyo3::prelude::*;

use super::call::CallCore;
use super::clock::{fault, Stage};
use super::native::{pooled, recycle};
use super::scan::{Keys, Matches, RegexCarry, Scratch, Settled};
use super::textview::{Hit, View};
use crate::text::detectors::{has_dot_token, Kind as DetKind, PlausibleScan, Precheck, Runs};
use crate::text::words::{is_number_pass_word, is_spoken_symbol, may_read_apart, AND};
use crate::text::NormalizedText;

/// Plain words ([`plain_class`]) from a detector split on: more than the 6 tokens the numeric detectors
/// read before a number ("claim", "ssn"), so no hit after them looks back across the split.
const PLAIN_AFTER: usize = 6;
/// Words before a detector split with no e-mail joiner ([`no_joiner`]): more than an e-mail domain reaches past its
/// `at` without a `dot` (a label and 3 domain words), so no hit before them reaches the split.
const CLEAN_BEFORE: usize = 5;

/// Characters and tokens of a typical agent turn: the least room a stream's buffers start with ([`StreamRoom`]).
const TURN_CHARS: usize = 512;
const TURN_TOKENS: usize = 128;
/// The most room a stream's buffers start with: a longer turn grows them as it goes (far more room would cost every
/// later stream an allocation the allocator serves from fresh pages).
const ROOM_CHARS: usize = 4096;
const ROOM_TOKENS: usize = 1024;

/// The room a new stream's buffers start with, for an engine: the most its closed streams needed so far (in bytes of
/// text, words and normalized tokens), between a typical turn's and [`ROOM_CHARS`] / [`ROOM_TOKENS`]. A stream as
/// long as the ones before it then never regrows its buffers mid-turn (each regrowth copies what they hold), and a
/// turn loop whose turns are short keeps small ones.
#[derive(Debug, Default)]
pub struct StreamRoom {
    chars: AtomicUsize,
    words: AtomicUsize,
    tokens: AtomicUsize,
}

impl StreamRoom {
    /// Bytes of text: the turn's buffers (as written, as released, as normalized).
    pub fn chars(&self) -> usize {
        self.chars.load(Relaxed).clamp(TURN_CHARS, ROOM_CHARS)
    }

    /// Words: the per-word tables.
    pub fn words(&self) -> usize {
        self.words.load(Relaxed).clamp(TURN_TOKENS, ROOM_TOKENS)
    }

    /// Tokens of the normalized view.
    pub fn tokens(&self) -> usize {
        self.tokens.load(Relaxed).clamp(TURN_TOKENS, ROOM_TOKENS)
    }

    /// A stream closed having needed this much room.
    pub fn needed(&self, chars: usize, words: usize, tokens: usize) {
        self.chars.fetch_max(chars.min(ROOM_CHARS), Relaxed);
        self.words.fetch_max(words.min(ROOM_TOKENS), Relaxed);
        self.tokens.fetch_max(tokens.min(ROOM_TOKENS), Relaxed);
    }
}

/// Characters a feed normalizes, mostly: a token stream's chunk and the words since the last restart point.
const FEED_CHARS: usize = 64;

/// What a stream's scan did, for tests that count work instead of timing it.
#[derive(Debug, Default, Clone, Copy)]
pub struct Work {
    /// original characters normalized, over all feeds
    pub normalized_chars: u64,
    /// normalized bytes the automaton read, over all feeds
    pub scanned_bytes: u64,
    /// normalized bytes the detectors read, over all feeds
    pub detected_bytes: u64,
    /// normalized bytes the regexes searched, over all feeds
    pub regex_bytes: u64,
    /// feeds that gathered the matches again (the others left them as they were: [`Incremental::unchanged`])
    pub scans: u64,
    /// feeds whose words were appended without an update ([`Incremental::append_quiet`])
    pub quiet_feeds: u64,
}

/// A streamed turn's normalized view and matches.
pub struct Incremental {
    view: View,
    tail: NormalizedText,
    matches: Matches,
    scratch: Scratch,
    /// the frozen prefix: `buf` up to this point, its tokens and their normalized text
    frozen: Point,
    /// folding changed the frozen prefix (its folded text is not the original), and the characters its tokens were
    /// read from are not all ASCII
    frozen_folded: bool,
    frozen_wide: bool,
    frozen_word: usize,
    frozen_toks: usize,
    frozen_text: usize,
    /// how many leading bytes of the turn are ASCII, and whether a non-ASCII one came after them (then the count
    /// stops)
    ascii_upto: usize,
    non_ascii: bool,
    /// the automaton's state after `view.nt.text[..frozen_text]` (`None`: the start) and the hits before it
    state: Option<u32>,
    hits: Vec<(usize, u32)>,
    tail_hits: Vec<(usize, u32)>,
    all_hits: Vec<(usize, u32)>,
    /// what the first `settled_hits` hits gave (see [`Incremental::settle`])
    settled: Settled,
    settled_hits: usize,
    /// the longest variable value in tokens (what a template hit may read after its end), once looked up
    longest_value: Option<usize>,
    /// whether a settled hit marked a regex due (it then runs on every feed)
    settled_regex: bool,
    /// the matches are the settled hits', the due regexes' and the detectors' alone: every hit the last scan
    /// processed was settled after it, every due regex resumes ([`super::scan::RegexCarry`], which then says whether
    /// its matches changed) and none runs unasked (see [`Incremental::unchanged`])
    quiet: bool,
    /// whether the last update left the matches as they were
    unchanged: bool,
    /// the adds and due regexes the matches were last gathered from (the settled hits', then the pending hits'),
    /// while they describe the matches (`gathered_ok`: no atomless template or regex that runs unasked, the
    /// variables and the matches not handed over since), and the same for this update
    gathered: Settled,
    next: Settled,
    gathered_ok: bool,
    /// the bounded regexes' final matches and where to search on
    regexes: RegexCarry,
    /// detectors: the split (word, character) before which their hits are final, those hits per detector leaf,
    /// the view from the split on, and the plain words counted so far
    det_word: usize,
    det_at: Point,
    det_frozen: Vec<Vec<Hit>>,
    det_all: Vec<Vec<Hit>>,
    det_nt: NormalizedText,
    det_cursor: usize,
    det_run: usize,
    /// the last word was a lone letter after a strict token, counted into the run once a strict token follows
    det_pending: bool,
    det_clean: usize,
    /// `det_all` is `det_frozen` as it is (the last look found nothing from the split on, and the split stayed)
    det_all_frozen: bool,
    /// the last look ruled e-mail addresses out from the split on (the one kind whose hits words of letters after
    /// the text may change: see [`Incremental::append_quiet`])
    det_email_out: bool,
    /// `(start, end, digits)`: the digits in `view.nt.text[start..end]`, final text from the split on
    det_digits: (usize, usize, usize),
    /// the detectors' `plausible` preconditions of the view from the split on, its final text scanned once
    det_scans: PlausibleScan,
    /// `(first, upto, runs, dot)`: the runs ([`Runs`]) of tokens `first..upto` (final ones, from the split on) and
    /// whether one of them is `dot`
    det_runs: (usize, usize, Runs, bool),
    /// after an update that left the turn quiet, how far words may be appended without one (see
    /// [`Incremental::append_quiet`]); `None`: the next feed updates
    ahead: Option<Ahead>,
    /// a quiet feed appended words since the last update: the view and the hits stop before the turn's end (the
    /// matches are the turn's)
    behind: bool,
    fed: u64,
    /// the call's `vars_gen` the matches were computed under
    gen: u64,
    pub work: Work,
}

/// Where quiet feeds stand ([`Incremental::append_quiet`]): the automaton's state after the normalized text of the
/// turn's first `words` words (all of them complete), whether that text is empty, and how many of those words the
/// view holds (the words up to the last update's end: the quiet feeds' words are appended when the hits catch up).
#[derive(Debug, Clone, Copy)]
struct Ahead {
    state: u32,
    words: usize,
    empty: bool,
    viewed: usize,
}

/// `src` lower-cased into `buf`, as a `str`: `""` when it is not ASCII or longer than `buf` (a word's letters, on
/// the stack, without a UTF-8 check per word).
#[inline]
pub(crate) fn ascii_lower<'a>(src: &[u8], buf: &'a mut [u8]) -> &'a str {
    if src.len() > buf.len() || !src.is_ascii() {
        return "";
    }
    let out = &mut buf[..src.len()];
    out.copy_from_slice(src);
    out.make_ascii_lowercase();
    // SAFETY: ASCII bytes (checked above) are UTF-8
    unsafe { std::str::from_utf8_unchecked(out) }
}

/// `letters` (2 to 16 ASCII letters, as [`letters_shape`] gives them) lower-cased into `buf`, as a `str`: a byte loop
/// (an ASCII letter's lower case is one bit set), where [`ascii_lower`]'s ASCII test and variable-length copy cost
/// several times more on a word this short.
#[inline]
fn letters_lower<'a>(letters: &[u8], buf: &'a mut [u8; 16]) -> &'a str {
    let n = letters.len().min(16);
    for (out, &b) in buf.iter_mut().zip(&letters[..n]) {
        *out = b | 0x20;
    }
    // SAFETY: ASCII letters with the 0x20 bit set are ASCII lower-case letters, which are UTF-8
    unsafe { std::str::from_utf8_unchecked(&buf[..n]) }
}

use crate::text::normalize::restarts_after;

/// How a word (its characters, then its whitespace; ASCII) may take part in a detector split's plain run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plain {
    /// tokens of two or more letters only, none a number word, `and` or an e-mail joiner: no detector takes them
    /// into a digit run, an MBI's run of candidates or a run of spelled letters, and none joins an address
    Strict,
    /// a lone `a` or `I`: plain only between words that end and start with a [`Plain::Strict`] token
    Lone,
    /// `I'm`, `I'll`, `I've`, `I'd`: a lone `i` token, then strict ones; plain only after a strict token
    LoneLead,
    Not,
}

/// Whether `w` (lower case) is a token no detector takes in or looks through: two to 16 letters, not a number word
/// nor a filler, not `and`, nor one of the words that join an e-mail address (`at`, `dot`, `dash`, `hyphen`,
/// `underscore`).
fn strict_token(w: &str) -> bool {
    (2..=16).contains(&w.len())
        && w.bytes().all(|b| b.is_ascii_lowercase())
        && w != "and"
        && !is_spoken_joiner(w)
        && !is_number_pass_word(w)
}

/// Whether `w` (lower case) is a spelled symbol that joins an e-mail address's pieces (`at`, `dot`, `dash`,
/// `hyphen`, `underscore`): the sticky words besides the number pass's.
pub fn is_spoken_joiner(w: &str) -> bool {
    matches!(w, "dot" | "at" | "dash" | "hyphen" | "underscore")
}

/// What `word` (its characters, then its whitespace; ASCII) is for a detector split: optionally quoted, letters,
/// optionally an apostrophe and letters (a contraction the normalizer expands), then only sentence punctuation.
///
/// Why the lone letters are safe between strict tokens (`detectors/`): an MBI needs 11 characters of consecutive
/// candidate tokens and a strict token is no candidate, so a lone letter's run is one character; an e-mail's spoken
/// local part takes in a run of single letters before its label, but a lone `a` or `i` is a word there, not an
/// initial, and strict tokens end every run; the numeric detectors read digit tokens and the tokens before them, and
/// a lone letter is one token, so six words are still at least six tokens. A contraction maps every token of its
/// expansion to the word's span, glued to each other and to nothing outside (whitespace follows), and whatever
/// tokens it gives, its first (strict, or an `i` after a strict token) bounds every run of letters reaching back.
fn plain_class(word: &[u8]) -> Plain {
    let end = word
        .iter()
        .position(|b| b.is_ascii_whitespace() || (0x1c..=0x1f).contains(b))
        .unwrap_or(word.len());
    if end == word.len() {
        return Plain::Not; // not followed by whitespace: glued to what comes next
    }
    let core = &word[..end];
    let lead = core.iter().take_while(|b| matches!(b, b'"' | b'\'' | b'(')).count();
    let head = core[lead..].iter().take_while(|b| b.is_ascii_alphabetic()).count();
    let mut body = head;
    if head >= 1 && core.get(lead + head) == Some(&b'\'') {
        let tail = core[lead + head + 1..]
            .iter()
            .take_while(|b| b.is_ascii_alphabetic())
            .count();
        if tail > 0 {
            body = head + 1 + tail;
        }
    }
    let rest = &core[lead + body..];
    if body == 0
        || body > 16
        || !rest
            .iter()
            .all(|b| matches!(b, b'.' | b',' | b'!' | b'?' | b';' | b':' | b'"' | b'\'' | b')'))
    {
        return Plain::Not;
    }
    if rest.first() == Some(&b'\'') {
        return Plain::Not; // a word glued to an apostrophe (a possessive): keep it simple, not plain
    }
    let mut lower = [0u8; 16];
    let w = ascii_lower(&core[lead..lead + body], &mut lower);
    if body == head {
        return match w {
            "a" | "i" => Plain::Lone,
            _ if strict_token(w) => Plain::Strict,
            _ => Plain::Not,
        };
    }
    // a contraction: only one the normalizer expands, whose first part is two or more letters or `i`
    match crate::text::words::expansion(w) {
        Some(exp) if head >= 2 || w.starts_with("i'") => match exp.split_first() {
            Some((&"i", more)) if head == 1 && !more.is_empty() && more.iter().all(|t| strict_token(t)) => {
                Plain::LoneLead
            }
            Some((first, more)) if head >= 2 && strict_token(first) && more.iter().all(|t| strict_token(t)) => {
                Plain::Strict
            }
            _ => Plain::Not,
        },
        _ => Plain::Not,
    }
}

/// The length of the token the normalizer reads word `k` of `buf` (`starts`, `facts`: its words') as when that is
/// its own letters lower-cased, whatever words of this kind come before and after it (0: it may not be): a
/// [`lone_token`], or a [`lone_letter`].
fn alone_token(buf: &[u8], starts: &[usize], facts: &[WordFacts], k: usize) -> usize {
    match facts[k].token {
        0 => lone_letter(buf, starts, facts, k),
        letters => letters as usize,
    }
}

/// 1 when word `k` of `buf` is a lone `a` or `I` (either case) with whitespace right after it and a word of two or
/// more letters before it (or none: the turn's first word); 0 otherwise.
///
/// Why the normalizer reads it as its own letter among [`alone_token`] words (`normalize.rs`, spelled words): a
/// single letter is joined to others only into a spelled word, three or more single letters apart by inline space
/// or by the same separator (`-`, `.`...). The word before it has two letters or more (a lone token or a
/// restart point's word), and the words after it are alone tokens (letters first): a lone letter among them has no
/// single letter next to it (this test refuses one after another) and no separator after it (whitespace follows it
/// and a letter starts the next word). It is no number-pass word, no expansion, ASCII, no digit: one token.
fn lone_letter(buf: &[u8], starts: &[usize], facts: &[WordFacts], k: usize) -> usize {
    let s = starts[k];
    let single = matches!(buf[s], b'a' | b'A' | b'i' | b'I')
        && buf.get(s + 1).is_some_and(|&c| super::edits::py_isspace_ascii(c));
    usize::from(single && (k == 0 || facts[k - 1].token > 0 || facts[k - 1].restarts))
}

/// The length of word `k`'s token ([`alone_token`]) when it may follow a quiet turn without an update
/// ([`Incremental::append_quiet`]), 0 when it may not: it is an alone token and not a spoken e-mail joiner (`at`,
/// `dot`...: the words of letters the e-mail's precondition reads).
fn quiet_token(buf: &[u8], starts: &[usize], facts: &[WordFacts], k: usize) -> usize {
    let f = &facts[k];
    let letters = alone_token(buf, starts, facts, k);
    // an alone token that is not a strict one is a lone letter, `and` or a joiner
    if letters > 1 && f.plain != Plain::Strict {
        let mut lower = [0u8; 16];
        let s = starts[k];
        if is_spoken_joiner(letters_lower(&buf[s..s + letters], &mut lower)) {
            return 0;
        }
    }
    letters
}

/// Whether word `k` of `buf` is an `at` (any case) that the normalizer reads as its own letters ([`alone_token`]):
/// the one e-mail joiner a quiet feed may take, while the detectors' text has no `dot` ([`Incremental::lacks_dot`]).
fn alone_at(buf: &[u8], starts: &[usize], facts: &[WordFacts], k: usize) -> bool {
    let s = starts[k];
    alone_token(buf, starts, facts, k) == 2 && buf[s..s + 2].eq_ignore_ascii_case(b"at")
}

/// Whether word `k` (`k >= 1`, the word before it complete) starts at a restart point: its previous word lets the
/// normalizer restart after it (an ASCII word: [`WordFacts`]). Whatever came before that word, folding and every
/// later stage are local to it, and [`Incremental::renormalize`] joins the views of the text before and after.
fn restarts_at(k: usize, facts: &[WordFacts]) -> bool {
    facts[k - 1].restarts
}

/// Sentence punctuation after a word's letters (`.,!?;:`): it joins nothing when whitespace follows.
fn ends_sentence(b: &u8) -> bool {
    matches!(b, b'.' | b',' | b'!' | b'?' | b';' | b':')
}

/// What the stages of a streamed turn ask of one of its words (its characters, then its whitespace; ASCII), read
/// once ([`word_facts`]) when the whitespace after it arrives, instead of on every feed that looks at it: whether
/// the normalizer may restart after it, its part in a detector split's runs, and, for the hold-back, whether a
/// detector may join it to its neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WordFacts {
    /// [`restarts_after`]
    pub restarts: bool,
    /// [`plain_class`]
    pub plain: Plain,
    /// [`no_joiner`]
    pub no_joiner: bool,
    /// what the hold-back's test says of the word (`super::stream::is_sticky`), when read here: `None` for a word
    /// that is not a run of 2 to 16 letters (the hold-back reads it itself, when it reaches it)
    pub sticky: Option<bool>,
    /// [`lone_token`]: the word's letters when the normalizer reads it as exactly those letters lower-cased, one
    /// token spanning them, whatever words of that kind surround it (0: it may not)
    pub token: u8,
}

impl WordFacts {
    /// A word that is not ASCII (or follows text that is not): no restart after it, not plain, not clean; the
    /// stages' own ASCII tests say the same, whatever is stored.
    pub const NOT_ASCII: WordFacts = WordFacts {
        restarts: false,
        plain: Plain::Not,
        no_joiner: false,
        sticky: None,
        token: 0,
    };
}

/// A streamed turn's words as [`Incremental`] reads them: where each starts, in characters (`starts`) and in bytes
/// of the turn's UTF-8 (`bytes`), and what each one followed by whitespace is (`facts`, one per word in order: every
/// word but the last, and the last when whitespace follows it); `chars`: the turn's length in characters.
#[derive(Debug, Clone, Copy)]
pub struct Words<'a> {
    pub starts: &'a [usize],
    pub bytes: &'a [usize],
    pub facts: &'a [WordFacts],
    pub chars: usize,
}

/// A point of the turn between two words: its offset in the original text (characters and bytes) and in the text
/// the view's tokens were read from, the folded text (characters and bytes: the original's where folding changed
/// nothing before it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Point {
    chars: usize,
    bytes: usize,
    folded_chars: usize,
    folded_bytes: usize,
}

impl Point {
    /// The point at offset `chars` (`bytes` in bytes) with only ASCII text before it, which folds to itself.
    fn ascii(chars: usize, bytes: usize) -> Point {
        Point {
            chars,
            bytes,
            folded_chars: chars,
            folded_bytes: bytes,
        }
    }

    /// The point at original offset `chars` (`bytes` in bytes) of the view `nt`, which holds the text up to it;
    /// `from` is an earlier point of the same text (the folded text is walked from it, not from the start).
    fn at(nt: &NormalizedText, chars: usize, bytes: usize, from: Point) -> Point {
        let Some(f) = &nt.fold else {
            return Point::ascii(chars, bytes); // nothing before it changed: offsets are the original's
        };
        // the folded characters that come from the original ones before the point
        let folded_chars = f.source.as_ref().map_or(chars, |m| m.partition_point(|&s| s < chars));
        let rest = &f.text[from.folded_bytes..];
        let walked = rest
            .char_indices()
            .nth(folded_chars - from.folded_chars)
            .map_or(rest.len(), |(i, _)| i);
        Point {
            chars,
            bytes,
            folded_chars,
            folded_bytes: from.folded_bytes + walked,
        }
    }
}

/// [`WordFacts`] of `word`: its characters, then at least its first whitespace character (ASCII; Python's
/// whitespace). A run of 2 to 16 ASCII letters, optionally followed by sentence punctuation (`.,!?;:`), most words,
/// is looked up once for all of them (`sticky_word`: whether the hold-back's set holds a word of letters, any case,
/// given whether it is a number-pass word or an e-mail joiner; asked of bare letters only); any other word
/// is read by [`restarts_after`], [`plain_class`], [`no_joiner`] and [`lone_token`] themselves. Both ways give the
/// same facts (`word_facts_equal_the_stages_own_tests`).
pub fn word_facts(word: &[u8], sticky_word: impl Fn(&[u8], bool) -> bool) -> WordFacts {
    let Some((letters, punct, space)) = letters_shape(word) else {
        return WordFacts {
            restarts: restarts_after(word),
            plain: plain_class(word),
            no_joiner: no_joiner(word),
            sticky: None,
            token: 0, // `lone_token` takes only the shape read above
        };
    };
    let bare = punct == 0;
    // `plain_class` and `no_joiner` end a word at ASCII whitespace or an information separator: not at a vertical
    // tab, which Python's whitespace (the word's end here) has too
    let ends = space != 0x0b;
    if !may_read_apart(&word[..letters]) {
        // most words: no number-pass word, expansion, `and` nor spoken symbol, so no table is read (what the lines
        // below give for such a word)
        return WordFacts {
            restarts: bare,
            plain: if ends { Plain::Strict } else { Plain::Not },
            no_joiner: ends,
            sticky: bare.then(|| sticky_word(&word[..letters], false)),
            token: letters as u8,
        };
    }
    let mut lower = [0u8; 16];
    let w = letters_lower(&word[..letters], &mut lower);
    let number_pass = is_number_pass_word(w);
    let joiner = is_spoken_joiner(w);
    // `restarts_after` wants whitespace right after the letters
    let restarts = bare && w != AND && !number_pass;
    // a filler is a number-pass word: most words skip the filler table
    let filler = number_pass && crate::text::words::is_filler(w);
    WordFacts {
        restarts,
        plain: if ends && w != AND && !number_pass && !joiner {
            Plain::Strict
        } else {
            Plain::Not
        },
        no_joiner: ends && !filler && w != AND && !is_spoken_symbol(w),
        sticky: bare.then(|| sticky_word(w.as_bytes(), number_pass || joiner)),
        token: if reads_as_itself(w, number_pass) {
            letters as u8
        } else {
            0
        },
    }
}

/// Whether `word` (its characters, then its whitespace; ASCII) is followed by whitespace, made of letters and digits
/// (optionally quoted or followed by sentence punctuation), and is none of the words that join or introduce an
/// e-mail address, nor a filler the number pass drops.
fn no_joiner(word: &[u8]) -> bool {
    let end = word
        .iter()
        .position(|b| b.is_ascii_whitespace() || (0x1c..=0x1f).contains(b))
        .unwrap_or(word.len());
    if end == word.len() {
        return false;
    }
    let core = &word[..end];
    let lead = core.iter().take_while(|b| matches!(b, b'"' | b'(')).count();
    let body = core[lead..].iter().take_while(|b| b.is_ascii_alphanumeric()).count();
    let rest = &core[lead + body..];
    if body == 0
        || body > 16
        || !rest
            .iter()
            .all(|b| matches!(b, b'.' | b',' | b'!' | b'?' | b';' | b':' | b'"' | b')'))
    {
        return false;
    }
    let mut lower = [0u8; 16];
    let w = ascii_lower(&core[lead..lead + body], &mut lower);
    w != AND && !is_spoken_symbol(w) && !crate::text::words::is_filler(w)
}

/// [`WordFacts`] of a word that is not ASCII (`word`: its characters, then its whitespace): [`WordFacts::NOT_ASCII`],
/// except that its part in a detector split ([`plain_class`], [`no_joiner`]) is that of the ASCII word it folds to,
/// if it folds to one: the detectors read the folded tokens, and folding works per character and per word, so a
/// "café" among plain words does not stop a split. (No restart after it, no token of its own letters: those read
/// the original text.)
pub fn non_ascii_word_facts(word: &str) -> WordFacts {
    let folded: Option<String> = crate::text::fold::fold(word).map(|f| f.chars.into_iter().collect());
    match folded {
        Some(f) if f.is_ascii() => WordFacts {
            plain: plain_class(f.as_bytes()),
            no_joiner: no_joiner(f.as_bytes()),
            ..WordFacts::NOT_ASCII
        },
        _ => WordFacts::NOT_ASCII,
    }
}

/// The letters of `word` (its characters, then at least its first whitespace character; ASCII) when the
/// normalizer reads it as one token, those letters lower-cased and spanning them, in any text of such words and
/// whitespace: 2 to 16 letters, then only sentence punctuation (`.,!?;:`), and neither a number-pass word (a number,
/// `oh`, a repeater, a filler) nor a word the normalizer expands (`cannot`, `gonna`); 0 for any other word.
///
/// Why (`normalize.rs`, `view_plain_ascii`: such text is ASCII, so it takes that path): the letters make one chunk
/// (the punctuation joins nothing, as no letter or digit follows it) put lower-cased as a word token; the
/// punctuation and whitespace are skipped; a single letter (a spelled word's piece) is not such a word, and without
/// a number-pass word the number pass does not run. `tokens_of_plain_words_are_the_normalizers` holds it.
pub fn lone_token(word: &[u8]) -> u8 {
    let Some((letters, _, _)) = letters_shape(word) else {
        return 0;
    };
    let mut lower = [0u8; 16];
    let w = letters_lower(&word[..letters], &mut lower);
    if reads_as_itself(w, is_number_pass_word(w)) {
        letters as u8
    } else {
        0
    }
}

/// `(letters, punctuation, whitespace)` of a word (its characters, then its whitespace; ASCII) that is 2 to 16
/// ASCII letters, then only sentence punctuation ([`ends_sentence`]), then Python's whitespace: the shape
/// [`word_facts`] reads at once and [`lone_token`] accepts; `None` for any other word.
fn letters_shape(word: &[u8]) -> Option<(usize, usize, u8)> {
    let letters = word.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    let punct = word[letters..].iter().take_while(|b| ends_sentence(b)).count();
    let space = *word.get(letters + punct)?;
    ((2..=16).contains(&letters) && super::edits::py_isspace_ascii(space)).then_some((letters, punct, space))
}

/// Whether the normalizer reads `w` (lower-case letters; `number_pass`: [`is_number_pass_word`] of it) as itself:
/// no number pass takes it and it is not a word the normalizer expands.
fn reads_as_itself(w: &str, number_pass: bool) -> bool {
    !number_pass && crate::text::words::expansion(w).is_none()
}

/// A stream's match set goes back to the pool for the next stream or call (its span buffers are kept), as a call's
/// does ([`Matches::give_back`]), and its normalized texts to theirs (a new stream takes its texts from there, with
/// the room it needs: see [`StreamRoom`]).
impl Drop for Incremental {
    fn drop(&mut self) {
        use std::mem::take;
        take(&mut self.matches).give_back();
        // the view goes back with its own drop
        recycle(take(&mut self.tail));
        recycle(take(&mut self.det_nt));
        if self.hits.capacity() > SPARE_HITS {
            return; // a giant turn's: not kept
        }
        let spare = Spare {
            hits: take(&mut self.hits),
            tail_hits: take(&mut self.tail_hits),
            all_hits: take(&mut self.all_hits),
            settled: take(&mut self.settled),
            gathered: take(&mut self.gathered),
            next: take(&mut self.next),
            det_frozen: take(&mut self.det_frozen),
            det_all: take(&mut self.det_all),
        };
        // at thread exit the pool may be gone already: then the buffers are just freed
        let _ = SPARE.try_with(|s| {
            let mut kept = s.borrow_mut();
            if kept.len() < 4 {
                kept.push(spare);
            }
        });
    }
}

/// The buffers a stream's hits and settled adds grow in, kept from a dropped stream for the next one on the thread
/// ([`Incremental::new`]): without them every stream grew its own from empty over its first feeds.
#[derive(Default)]
struct Spare {
    hits: Vec<(usize, u32)>,
    tail_hits: Vec<(usize, u32)>,
    all_hits: Vec<(usize, u32)>,
    settled: Settled,
    gathered: Settled,
    next: Settled,
    det_frozen: Vec<Vec<Hit>>,
    det_all: Vec<Vec<Hit>>,
}

/// The most hits a kept [`Spare`] has room for.
const SPARE_HITS: usize = 1 << 12;

thread_local! {
    /// [`Spare`] buffers of dropped streams.
    static SPARE: std::cell::RefCell<Vec<Spare>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `v`, emptied, with its room.
fn cleared<T>(mut v: Vec<T>) -> Vec<T> {
    v.clear();
    v
}

impl Incremental {
    pub fn new(call: &CallCore) -> Incremental {
        let spare = SPARE.with(|s| s.borrow_mut().pop()).unwrap_or_default();
        Incremental {
            // room for the turns the engine's streams saw ([`StreamRoom`]), so a stream's feeds do not regrow the
            // view, and for the text a feed normalizes (its chunk, and the words since the last restart point)
            view: View {
                nt: pooled().cleared_with_room(call.sh.stream_room.chars(), call.sh.stream_room.tokens()),
            },
            tail: pooled().cleared_with_room(FEED_CHARS, FEED_CHARS / 4),
            matches: Matches::reused(call.sh.program.matchers.count as usize),
            scratch: Scratch::default(),
            frozen: Point::default(),
            frozen_folded: false,
            frozen_wide: false,
            frozen_word: 0,
            frozen_toks: 0,
            frozen_text: 0,
            ascii_upto: 0,
            non_ascii: false,
            state: None,
            hits: cleared(spare.hits),
            tail_hits: cleared(spare.tail_hits),
            all_hits: cleared(spare.all_hits),
            settled: spare.settled.cleared(),
            settled_hits: 0,
            longest_value: None,
            settled_regex: false,
            quiet: false,
            unchanged: false,
            gathered: spare.gathered.cleared(),
            next: spare.next.cleared(),
            gathered_ok: false,
            regexes: RegexCarry::default(),
            det_word: 0,
            det_at: Point::default(),
            det_frozen: spare.det_frozen.into_iter().map(cleared).collect(),
            det_all: spare.det_all.into_iter().map(cleared).collect(),
            det_nt: pooled().cleared_with_room(0, 0),
            det_cursor: 0,
            det_run: 0,
            det_pending: false,
            det_clean: 0,
            det_all_frozen: false,
            det_email_out: false,
            det_digits: (0, 0, 0),
            det_scans: PlausibleScan::default(),
            det_runs: (usize::MAX, 0, Runs::default(), false),
            ahead: None,
            behind: false,
            fed: 0,
            gen: call.vars_gen,
            work: Work::default(),
        }
    }

    /// The normalized view of the turn so far (after [`Incremental::update`]).
    pub fn view(&self) -> &View {
        &self.view
    }

    /// How many updates ran.
    pub fn fed(&self) -> u64 {
        self.fed
    }

    /// The matches of the turn so far (after [`Incremental::update`]).
    pub fn matches(&self) -> &Matches {
        &self.matches
    }

    /// Whether the last [`Incremental::update`] left the matches as the one before it did.
    pub fn unchanged(&self) -> bool {
        self.unchanged
    }

    /// The matches of the whole turn and its view (`normalize(buf)`), for the whole-turn check at close, when the
    /// matches are still those of `buf` for the call as it is now (no variable changed since the last update).
    /// They are handed over, not copied.
    pub fn hand_over(&mut self, call: &CallCore, buf: &str) -> Option<(&mut Matches, &mut View)> {
        if self.fed == 0 || self.gen != call.vars_gen || self.view.nt.original != buf {
            return None;
        }
        self.fed = 0; // what stays here after the hand-over is not this turn's
        self.gathered_ok = false;
        Some((&mut self.matches, &mut self.view))
    }

    /// Bring the view and the matches up to date with `buf` (the turn so far: what the last update saw plus new
    /// text), whose words are `words`.
    pub fn update(&mut self, call: &mut CallCore, buf: &str, words: Words<'_>) -> PyResult<&Matches> {
        let (word_starts, facts) = (words.starts, words.facts);
        fault(Stage::Normalize)?;
        self.fed += 1;
        // where the last update left the view and the quiet feeds since the automaton (`None`: not quiet)
        let ahead = self.ahead.take();
        self.behind = false;
        if self.gen != call.vars_gen {
            // the variables changed (new facts mid-turn): detector hits kept under the old exempt values go
            self.gen = call.vars_gen;
            self.det_word = 0;
            self.det_at = Point::default();
            self.det_frozen.clear();
            self.det_cursor = 0;
            self.det_run = 0;
            self.det_pending = false;
            self.det_clean = 0;
            self.det_all_frozen = false;
            self.det_email_out = false;
            self.settled = Settled::default(); // templates read the variables
            self.settled_hits = 0;
            self.longest_value = None;
            self.settled_regex = false;
            self.quiet = false;
            self.gathered_ok = false;
        }
        self.unchanged = false;
        if !self.non_ascii {
            let more = buf.as_bytes()[self.ascii_upto..]
                .iter()
                .take_while(|b| b.is_ascii())
                .count();
            self.ascii_upto += more;
            self.non_ascii = self.ascii_upto < buf.len();
        }
        let (viewed, stepped) = ahead.map_or((self.frozen_word, self.frozen_word), |a| (a.viewed, a.words));
        // the view's tokens of the words up to `viewed` (the last update's end; a word may have none or several)
        let viewed_toks = self.view.nt.len();
        debug_assert!(viewed_toks >= self.frozen_toks);
        // the automaton's hits in the text of the words it stepped over are the last update's (quiet: none after its
        // restart point; the quiet feeds stepped over their words without one): it resumes after them
        let kept = self.renormalize(buf, words, viewed, stepped);
        let resume = ahead.filter(|_| kept).map(|a| {
            // the quiet words after `viewed` have a token each
            let toks = viewed_toks + (stepped - viewed);
            (if toks == 0 { 0 } else { self.view.nt.norm_ends[toks - 1] }, a.state)
        });
        fault(Stage::Scan)?;
        let sh = call.sh.clone();
        let matchers = &sh.program.matchers;
        // the next restart point: the last one
        let (word, at, at_bytes) = self.restart_point(buf, words);
        let nt = &self.view.nt;
        let toks = nt.orig_starts.partition_point(|&s| s < at);
        let text_end = if toks == 0 { 0 } else { nt.norm_ends[toks - 1] };
        self.tail_hits.clear();
        let bytes = nt.text.as_bytes();
        let (scan_from, from_state) = match resume {
            Some((at, state)) if at <= text_end => (at, Some(state)),
            _ => (self.frozen_text, self.state),
        };
        let carried = matchers.carry_hits(bytes, scan_from, text_end, from_state, &mut self.tail_hits);
        let mut text_end_state = None;
        match carried {
            Some((state, end_state)) => {
                text_end_state = Some(end_state);
                self.work.scanned_bytes += (bytes.len() - scan_from) as u64;
                // a phrase key inside a word ("id" in "side") gives nothing, and in the final text it never will:
                // such hits are not kept (they would make every feed scan again until they settle), nor those of
                // keys no agent turn hears (`agent_silent`, as an agent turn's whole scan drops them)
                let lens = &matchers.pattern_len;
                let silent = &matchers.agent_silent;
                self.tail_hits.retain(|&(stop, p)| {
                    let start = stop - lens[p as usize] as usize;
                    !silent[p as usize]
                        && (stop > text_end
                            || ((start == 0 || bytes[start - 1] == b' ') && (stop == text_end || bytes[stop] == b' '))
                            || matchers.payloads[p as usize].iter().any(|x| x.is_regex))
                });
                // not traced: a feed's evaluation is provisional, and close checks the turn whole, traced
                let from = self.settled_hits;
                self.all_hits.clear();
                self.all_hits.extend_from_slice(&self.hits[from..]);
                self.all_hits.extend_from_slice(&self.tail_hits);
                let (dets, dets_same) = if matchers.detectors.is_empty() {
                    (None, true)
                } else {
                    let was_frozen = self.det_all_frozen;
                    self.detect(matchers, &call.vars, buf, words, at)?;
                    (Some(&self.det_all[..]), was_frozen && self.det_all_frozen)
                };
                self.regexes.stable = text_end;
                // the same input as the last gathering, the detectors found what they found and every due regex
                // finds what it found (searched once: a search tells a change once): a scan would give the same
                // matches (the spans are in the original text). The same input: every hit the last gathering
                // processed settled since and none is pending (`quiet`), or the settled hits' adds, then what the
                // pending hits give now, are what it read (most pending hits are a template's atom, "with" or
                // "from", waiting for the words after it, and give nothing)
                let quiet = self.quiet && self.all_hits.is_empty();
                let next = &mut self.next;
                if !quiet {
                    next.adds.clone_from(&self.settled.adds);
                    next.regex_due.clone_from(&self.settled.regex_due);
                    next.regex_due.resize(matchers.regexes.len(), false);
                    let adds = &mut next.adds;
                    matchers.process_hits(
                        &self.view,
                        &call.vars,
                        &self.all_hits,
                        &mut next.regex_due,
                        None,
                        &mut |leaf, span| adds.push((leaf, span)),
                    );
                }
                let (same_input, due, any_due) = if quiet {
                    (true, &self.settled.regex_due, self.settled_regex)
                } else {
                    let same = self.gathered_ok
                        && next.adds == self.gathered.adds
                        && next.regex_due == self.gathered.regex_due;
                    (same, &next.regex_due, next.regex_due.contains(&true))
                };
                self.unchanged = same_input
                    && dets_same
                    && !self.view.nt.text.is_empty()
                    && (!any_due || matchers.regexes_unchanged(due, &self.view, &mut self.regexes));
                if !self.unchanged && quiet {
                    // no hit pending: the gathering reads the settled hits' adds alone
                    next.adds.clone_from(&self.settled.adds);
                    next.regex_due.clone_from(&self.settled.regex_due);
                }
                self.work.regex_bytes = self.regexes.searched_bytes;
                if !self.unchanged {
                    self.work.scans += 1;
                    // the pending hits are processed above: their adds go in as settled ones, in the same order
                    matchers.scan_hits(
                        &self.view,
                        &call.vars,
                        Some(&self.next),
                        Some(&mut self.regexes),
                        &[],
                        dets,
                        &mut self.matches,
                        &mut self.scratch,
                        None,
                    )?;
                    self.work.regex_bytes = self.regexes.searched_bytes;
                    std::mem::swap(&mut self.gathered, &mut self.next);
                    self.gathered_ok = matchers.atomless.is_empty() && matchers.always_regexes.is_empty();
                }
                let processed = self.all_hits.len();
                self.hits.extend(self.tail_hits.iter().filter(|h| h.0 <= text_end));
                self.state = Some(state);
                self.settle(matchers, &call.vars, toks);
                self.quiet = self.settled_hits == from + processed
                    && matchers.regexes_resume(&self.settled.regex_due)
                    && matchers.atomless.is_empty()
                    && matchers.always_regexes.is_empty();
            }
            _ => {
                // no automaton of our own: scan the whole view
                self.quiet = false;
                self.gathered_ok = false;
                self.work.scans += 1;
                self.work.scanned_bytes += bytes.len() as u64;
                matchers.scan(
                    Keys::Agent,
                    &self.view,
                    &call.vars,
                    &mut self.matches,
                    &mut self.scratch,
                    None,
                )?;
            }
        }
        self.frozen_word = word;
        self.freeze(buf, at, at_bytes);
        self.frozen_toks = toks;
        self.frozen_text = text_end;
        if let Some(state) = text_end_state {
            self.ahead = self.quiet_after(matchers, word_starts, facts).then_some(Ahead {
                state,
                words: facts.len(),
                empty: self.view.nt.text.is_empty(),
                viewed: facts.len(),
            });
        }
        Ok(&self.matches)
    }

    /// Whether the update just made leaves the turn quiet: words with a [`quiet_token`] may follow without one
    /// ([`Incremental::append_quiet`] says why each condition is there).
    fn quiet_after(&self, matchers: &super::scan::Matchers, word_starts: &[usize], facts: &[WordFacts]) -> bool {
        let text = &self.view.nt.text;
        // a word after a final `at` gives an e-mail its `at` token with a word after it: quiet only while the text
        // the detectors read lacks the other half, a `dot` token (which no quiet word is)
        let ends_at = text == "at" || text.ends_with(" at");
        let detectors_quiet =
            matchers.detectors.is_empty() || (self.det_email_out && (!ends_at || self.lacks_dot(matchers)));
        // a due regex (an atom of it hit) searches on every update: words after the text must not change its matches
        let regexes_quiet = !self.settled_regex
            || (self.settled.regex_due.iter())
                .zip(&matchers.regexes)
                .all(|(&due, r)| !due || r.ends_off_words);
        // the words since the restart point need not be alone tokens: the view holds their normalization, and words
        // with a quiet token appended after whitespace leave it as it is and add their own tokens only, whatever it
        // is, ASCII or not (`quiet_words_after_any_text_add_only_their_tokens`): a word that is not ASCII has no quiet
        // token itself ([`non_ascii_word_facts`]), so it goes through an update
        self.quiet && regexes_quiet && detectors_quiet && facts.len() == word_starts.len()
    }

    /// Whether the words the turn gained since the last update leave its matches as they are, known without an
    /// update (most feeds of a token stream, when their words are plain): if so they are taken (the view and the
    /// hits stay behind, [`Incremental::update`] catches up when it next runs) and the matches stand for the turn.
    /// No word since the last update is such a feed too ([`Incremental::holds`]: one within a word).
    ///
    /// When: the last update left the turn quiet ([`Incremental::quiet_after`]), the variables are as then (`gen`),
    /// the turn so far (`buf`, its words' `starts` and `facts`) ends in whitespace, every word since then has a
    /// [`quiet_token`], and no automaton key ends in their normalized text. Why the matches stand:
    /// - **The view** grows by the new words' tokens alone: words with a quiet token after whitespace leave the
    ///   normalization of the text before them as it was, whatever that text is (ASCII or not), and add their own
    ///   letters lower-cased ([`alone_token`]), a token each (`quiet_words_after_any_text_add_only_their_tokens`).
    /// - **The automaton's hits** are the last update's: the automaton runs on from its state after the text then,
    ///   over the new tokens (a space before each), and no key ends there. Every earlier hit settled (`quiet`): what
    ///   it gives reads no token after the final ones, and whatever follows them does not change it.
    /// - **The regexes**: one runs only where one of its atoms hits (no new hit), and no match of one that is due
    ///   (an atom of it hit before) ends in the new words or reads them ([`super::scan::RegexLeaf::ends_off_words`]).
    /// - **The detectors** find what they found: the new tokens are letters, no digit and no number word. A
    ///   numeric kind's hit is a window of a run of digit tokens (dates and times told by digit tokens and the
    ///   characters between them alone), read with the tokens and characters before it: the new tokens end the last
    ///   run, and no window or what it reads changes. An MBI's hit is 11 characters of a run of candidate tokens
    ///   ending in two digits (`mbi_shape`): a new token is no candidate, or a lone letter after a longer word (a
    ///   run of one), so no hit ends in them, and every one before them reads the characters and token boundaries it
    ///   read before. An e-mail's may change (a new word may be its top-level domain), so the last look must have
    ///   ruled e-mail out (`det_email_out`): an address needs an `at` token with a word after it and a `dot` token
    ///   (`spoken_at`); the text lacked one of the two, and the new words are no joiner, so it still lacks the
    ///   `dot`, and the `at` with a word after it too unless the text ended in `at` (then the text from the split
    ///   on has no `dot` token: [`Incremental::quiet_after`]), or unless a new word is an `at`, taken only while the
    ///   text from the split on has no `dot` token ([`Incremental::lacks_dot`]): it still has none.
    pub fn append_quiet(&mut self, matchers: &super::scan::Matchers, gen: u64, buf: &str, words: Words<'_>) -> bool {
        // the quiet words' letters are read in bytes (their starts in bytes: the turn may have text that is not ASCII
        // before them)
        let (starts, facts) = (words.bytes, words.facts);
        if self.holds(gen, buf) {
            // no word since the last update (a feed within a word): the matches are those of `buf` already
            self.work.quiet_feeds += 1;
            return true;
        }
        let Some(Ahead {
            mut state,
            words,
            mut empty,
            viewed,
        }) = self.ahead
        else {
            return false;
        };
        if gen != self.gen || facts.len() != starts.len() {
            return false;
        }
        let b = buf.as_bytes();
        for k in words..facts.len() {
            let s = starts[k];
            // an alone token has 1 to 16 letters
            let n = match quiet_token(b, starts, facts, k) {
                n @ 1..=16 => n,
                0 if alone_at(b, starts, facts, k) && self.lacks_dot(matchers) => 2,
                _ => return false,
            };
            let e = s + n;
            // the space before the token (none first), then its letters lower-cased, in one slice: the automaton
            // steps over it in a plain loop
            let mut spaced = [b' '; 17];
            for (out, &c) in spaced[1..].iter_mut().zip(&b[s..s + n]) {
                *out = c | 0x20;
            }
            match matchers.step_without_hits(state, &spaced[usize::from(empty)..1 + n]) {
                Some(next) => state = next,
                None => return false,
            }
            self.work.scanned_bytes += (e - s + usize::from(!empty)) as u64;
            empty = false;
        }
        self.ahead = Some(Ahead {
            state,
            words: facts.len(),
            empty,
            viewed,
        });
        self.behind = true;
        self.work.quiet_feeds += 1;
        true
    }

    /// Whether the text the detectors read from their split on (the view as the last update left it) has no `dot`
    /// token, so that an `at` after it cannot give an e-mail (or there are no detectors).
    fn lacks_dot(&self, matchers: &super::scan::Matchers) -> bool {
        matchers.detectors.is_empty() || !has_dot_token(&self.view.nt.text[self.det_split().1..])
    }

    /// Whether a quiet feed appended words since the last update ([`Incremental::append_quiet`]).
    pub fn behind(&self) -> bool {
        self.behind
    }

    /// [`Incremental::update`] unless the view and the matches are those of `buf` already ([`Incremental::holds`]):
    /// after quiet feeds (the view and the hits stop before their words), and after feeds that looked only at the
    /// turn's complete words (at close, the last word is complete).
    pub fn catch_up(&mut self, call: &mut CallCore, buf: &str, words: Words<'_>) -> PyResult<()> {
        if !self.holds(call.vars_gen, buf) {
            self.update(call, buf, words)?;
        }
        Ok(())
    }

    /// Whether the view and the matches are those of `buf` (the turn so far, or the part of it a feed looks at:
    /// these only grow) for the variables as of `gen`: the last update saw `buf` whole and no quiet feed came since.
    fn holds(&self, gen: u64, buf: &str) -> bool {
        self.fed > 0 && !self.behind && self.gen == gen && self.view.nt.original.len() == buf.len()
    }

    /// Move the frozen point to original offset `chars` (`bytes` in bytes), a restart point at or after it, in the
    /// view just built: the text between the two points adds to what the frozen prefix is known to hold (whether
    /// folding changed it, whether it reads characters that are not ASCII), looked at once.
    fn freeze(&mut self, buf: &str, chars: usize, bytes: usize) {
        if bytes <= self.ascii_upto {
            // an ASCII prefix folds to itself and reads ASCII characters
            self.frozen = Point::ascii(chars, bytes);
            return;
        }
        let (old, nt) = (self.frozen, &self.view.nt);
        let new = Point::at(nt, chars, bytes, old);
        let original = &buf[old.bytes..new.bytes];
        match &nt.fold {
            Some(f) => {
                let folded = &f.text[old.folded_bytes..new.folded_bytes];
                self.frozen_folded |= folded != original;
                self.frozen_wide |= !folded.is_ascii();
            }
            None => self.frozen_wide |= !original.is_ascii(),
        }
        self.frozen = new;
    }

    /// Where the detectors' split is in the view: its first token and that token's normalized byte (the text's end
    /// when no token starts at or after the split).
    fn det_split(&self) -> (usize, usize) {
        let nt = &self.view.nt;
        let first = nt.orig_starts.partition_point(|&s| s < self.det_at.chars);
        (first, nt.norm_starts.get(first).copied().unwrap_or(nt.text.len()))
    }

    /// Turn the hits that no later text can change into what they give, once: the longest run of the pending hits
    /// (in order) each of which ends [`super::scan::Matchers::hit_reach`] tokens (its own) before the first token
    /// that may still change (`final_toks`), or whose templates the final tokens decide already
    /// ([`super::scan::Matchers::hit_decided`]). A plain phrase's hit settles once its own tokens are final; a
    /// template's waits for what its pattern may read, or until what it read so far decides it.
    fn settle(&mut self, matchers: &super::scan::Matchers, vars: &super::scan::ScanVars, final_toks: usize) {
        let nt = &self.view.nt;
        let longest = *self
            .longest_value
            .get_or_insert_with(|| super::scan::Matchers::longest_value(vars));
        let mut k = self.settled_hits;
        while let Some(&(end, pattern)) = self.hits.get(k) {
            let last_tok = nt.norm_ends.partition_point(|&e| e < end); // the token holding the hit's last byte
            if last_tok + matchers.hit_reach(pattern, longest) >= final_toks
                && !matchers.hit_decided(&self.view, vars, end, pattern, last_tok, final_toks)
            {
                break;
            }
            k += 1;
        }
        if k <= self.settled_hits {
            return;
        }
        let done = &mut self.settled;
        done.regex_due.resize(matchers.regexes.len(), false);
        let adds = &mut done.adds;
        matchers.process_hits(
            &self.view,
            vars,
            &self.hits[self.settled_hits..k],
            &mut done.regex_due,
            None,
            &mut |leaf, span| adds.push((leaf, span)),
        );
        self.settled_regex = done.regex_due.iter().any(|&d| d);
        self.settled_hits = k;
    }

    /// The detectors' hits in the turn so far, into `det_all`: those before the split kept, the view from the split
    /// on run again. Then the split moves to the last word that starts [`PLAIN_AFTER`] plain words after
    /// [`CLEAN_BEFORE`] words without an e-mail joiner: digit runs, letter runs and e-mail labels stop at a plain
    /// word, no hit after the split looks back across it and no e-mail before it reaches it, so the hits before it
    /// are final and the view from it on has the same hits as the whole view there. `final_upto`: the restart point
    /// this update found (the text before it is normalized for good).
    fn detect(
        &mut self,
        matchers: &super::scan::Matchers,
        vars: &super::scan::ScanVars,
        buf: &str,
        words: Words<'_>,
        final_upto: usize,
    ) -> PyResult<()> {
        let (word_starts, facts) = (words.starts, words.facts);
        let complete = word_starts.len().saturating_sub(1);
        let mut split = None;
        while self.det_cursor < complete {
            let w = self.det_cursor;
            // a word that is not ASCII has the facts of none of these (`WordFacts::NOT_ASCII`)
            let class = facts[w].plain;
            let clean = class != Plain::Not || facts[w].no_joiner;
            self.det_clean = if clean { self.det_clean + 1 } else { 0 };
            self.det_cursor += 1;
            // the run counts words whose every token is strict or a lone letter between strict tokens; it ends on a
            // strict token when a split is looked for
            let after_strict = self.det_run > 0 && !self.det_pending;
            let ends_strict = match class {
                Plain::Strict => {
                    self.det_run += if self.det_pending { 2 } else { 1 };
                    true
                }
                Plain::LoneLead if after_strict => {
                    self.det_run += 1;
                    true
                }
                Plain::Lone if after_strict => false,
                _ => {
                    self.det_run = 0;
                    false
                }
            };
            self.det_pending = class == Plain::Lone && after_strict;
            if ends_strict && self.det_run >= PLAIN_AFTER && self.det_clean >= PLAIN_AFTER + CLEAN_BEFORE {
                let cand = w + 1 - PLAIN_AFTER;
                // its tokens and everything before it are normalized for good (before the restart point)
                if cand > self.det_word && word_starts[cand] <= final_upto {
                    split = Some(cand);
                }
            }
        }
        let nt = &self.view.nt;
        let at = self.det_at;
        let (first, base) = self.det_split();
        let leaves = matchers.detectors.len();
        self.det_frozen.resize(leaves, Vec::new());
        self.det_all.resize(leaves, Vec::new());
        // the digits of the view from the split on, those in text that no feed changes any more counted once
        let count = |t: &str| crate::text::detectors::ascii_digits(t.as_bytes());
        let (from, upto, counted) = if self.det_digits.0 == base {
            self.det_digits
        } else {
            (base, base, 0)
        };
        let fin = self.frozen_text.max(upto).min(nt.text.len());
        let counted = counted + count(&nt.text[upto..fin]);
        self.det_digits = (from, fin, counted);
        let digits = counted + count(&nt.text[fin..]);
        let scans = &mut self.det_scans;
        let mut pre = Precheck::of_plausible(digits, |kind| scans.plausible(kind, &nt.text, base, fin));
        if pre.any_may() {
            // the tokens from the split on: their runs and whether one is `dot`, the final ones looked at once
            if self.det_runs.0 != first {
                self.det_runs = (first, first, Runs::default(), false);
            }
            let (_, upto, runs, dot) = &mut self.det_runs;
            while *upto < self.frozen_toks.min(nt.len()) {
                let tok = nt.token(*upto);
                runs.step(tok, nt.is_digits[*upto], true);
                *dot |= tok == "dot";
                *upto += 1;
            }
            let (mut runs, mut dot) = (*runs, *dot);
            for k in *upto..nt.len() {
                let tok = nt.token(k);
                runs.step(tok, nt.is_digits[k], true);
                dot |= tok == "dot";
            }
            if pre.may(DetKind::Email) && !dot {
                pre.rule_out(DetKind::Email); // every domain has a dot: the detector looks for one first
            }
            pre.rule_out_by_runs(&runs); // what `rule_out_short_runs` gives, every token looked at
        }
        self.det_email_out = !pre.may(DetKind::Email);
        if !pre.any_may() {
            // no detector hit in the view from the split on, known without building it
            self.work.detected_bytes += (nt.text.len() - base) as u64;
            if !self.det_all_frozen {
                for (all, frozen) in self.det_all.iter_mut().zip(&self.det_frozen) {
                    all.clone_from(frozen);
                }
                self.det_all_frozen = true;
            }
            if let Some(w) = split {
                self.det_word = w;
                self.det_at = Point::at(nt, word_starts[w], words.bytes[w], self.det_at);
            }
            return Ok(());
        }
        let d = &mut self.det_nt;
        d.clear();
        d.original.push_str(&buf[at.bytes..]);
        d.text.push_str(&nt.text[base..]);
        d.norm_starts.extend(nt.norm_starts[first..].iter().map(|&x| x - base));
        d.norm_ends.extend(nt.norm_ends[first..].iter().map(|&x| x - base));
        d.orig_starts
            .extend(nt.orig_starts[first..].iter().map(|&x| x - at.chars));
        d.orig_ends.extend(nt.orig_ends[first..].iter().map(|&x| x - at.chars));
        d.is_digits.extend_from_slice(&nt.is_digits[first..]);
        // the folded text and the characters read from the split on (folded offsets rebased on the split's own)
        d.fold = nt.fold.as_ref().map(|f| crate::text::Fold {
            text: f.text[at.folded_bytes..].to_string(),
            starts: f.starts[first..].iter().map(|&x| x - at.folded_chars).collect(),
            ends: f.ends[first..].iter().map(|&x| x - at.folded_chars).collect(),
            source: (f.source.as_ref()).map(|m| m[at.folded_chars..].iter().map(|&x| x - at.chars).collect()),
        });
        if !nt.wide.is_empty() {
            d.wide.extend_from_slice(&nt.wide[at.folded_chars..]);
        }
        self.work.detected_bytes += d.text.len() as u64;
        // the hits before the split, then those from it on (their spans in the turn's characters)
        for (all, frozen) in self.det_all.iter_mut().zip(&self.det_frozen) {
            all.clone_from(frozen);
        }
        let (all, shift) = (&mut self.det_all, at.chars as u32);
        matchers.detector_each_checked(d, vars, pre, |k, h| {
            all[k].push(Hit {
                start: h.start + shift,
                end: h.end + shift,
            })
        });
        self.det_all_frozen = false;
        if let Some(w) = split {
            let to = word_starts[w] as u32;
            for (frozen, all) in self.det_frozen.iter_mut().zip(&self.det_all) {
                let found = &all[frozen.len()..];
                frozen.extend(found.iter().filter(|h| h.end <= to));
            }
            self.det_word = w;
            self.det_at = Point::at(&self.view.nt, word_starts[w], words.bytes[w], self.det_at);
        }
        Ok(())
    }

    /// The last restart point at or after the frozen one: `(word index, character)`. The end of the turn so far is
    /// one when its last word would make a restart point of the next word's start (it ends in whitespace): what
    /// comes next starts a word there, or is more whitespace, which no token spans.
    fn restart_point(&self, buf: &str, words: Words<'_>) -> (usize, usize, usize) {
        let mut k = words.starts.len();
        // the last word has facts once whitespace follows it (without, it restarts nothing)
        if k > self.frozen_word && words.facts.get(k - 1).is_some_and(|f| f.restarts) {
            return (k, words.chars, buf.len());
        }
        while k > self.frozen_word + 1 {
            k -= 1;
            if restarts_at(k, words.facts) {
                return (k, words.starts[k], words.bytes[k]);
            }
        }
        (self.frozen_word, self.frozen.chars, self.frozen.bytes)
    }

    /// `view.nt = normalize(buf)`: the frozen tokens kept, the text after the frozen point normalized and appended.
    /// The words from the frozen one to `stepped` are [`alone_token`]s (one token each; the last update left the turn
    /// quiet and the quiet feeds since took only such words, [`Incremental::append_quiet`]), and the view holds the
    /// tokens of those before `viewed` already. Returns whether the words before `stepped` are read as those tokens
    /// still: the automaton may then resume after them.
    fn renormalize(&mut self, buf: &str, words: Words<'_>, viewed: usize, stepped: usize) -> bool {
        let (word_starts, facts) = (words.starts, words.facts);
        let ascii = buf.len() <= self.ascii_upto;
        let first = self.frozen_word;
        // the characters read again: those after the words the view keeps
        let count = |work: &mut Work, from: usize| work.normalized_chars += (words.chars - from) as u64;
        let after_viewed = if viewed > first {
            word_starts.get(viewed).copied().unwrap_or(words.chars)
        } else {
            self.frozen.chars
        };
        // the words since the restart point that the normalizer reads as their own letters, every one complete (its
        // facts read; most feeds of a token stream): their tokens are appended as they are, all of them, or those
        // before the last restart point among them (the words after it are normalized on their own). Only where the
        // text before them is ASCII too (characters are bytes there, and it folds to itself)
        let b = buf.as_bytes();
        let lone = (stepped - first)
            + (stepped..facts.len())
                .take_while(|&k| alone_token(b, words.bytes, facts, k) > 0)
                .count();
        if ascii && facts.len() == word_starts.len() && first + lone == facts.len() {
            self.append_lone_tokens(buf, words, first..facts.len(), viewed);
            count(&mut self.work, after_viewed);
            return true;
        }
        let restart = (first + 1..=first + lone)
            .rev()
            .find(|&k| k < word_starts.len() && words.bytes[k] <= self.ascii_upto && restarts_at(k, facts));
        let (from, k) = match restart {
            Some(upto) => {
                self.append_lone_tokens(buf, words, first..upto, viewed);
                (Point::ascii(word_starts[upto], words.bytes[upto]), self.view.nt.len())
            }
            None => (self.frozen, self.frozen_toks),
        };
        let ends_at = restart.unwrap_or(first);
        count(
            &mut self.work,
            if ends_at >= viewed {
                after_viewed
            } else {
                self.frozen.chars
            },
        );
        self.append_tail(buf, from, k);
        ends_at >= stepped
    }

    /// `view.nt = normalize(buf)` from its first `k` tokens, those of the text before `at` (the frozen point, or a
    /// restart point after it with only ASCII text between), and `normalize(buf[at..])`, appended with offsets
    /// shifted. Folding works per character and per word, so the folded text is the prefix's followed by the tail's,
    /// and so are the characters the tokens were read from: the prefix's are kept as the view read them (what the
    /// prefix holds is known from [`Incremental::freeze`]), the tail's appended.
    fn append_tail(&mut self, buf: &str, at: Point, k: usize) {
        crate::text::normalize_into(&buf[at.bytes..], &mut self.tail);
        // the view cut back to the point: its first `k` tokens, and the prefix's folding when folding changed it (a
        // fold the view had for its tail alone is dropped) and its characters read when they are not all ASCII
        let nt = &mut self.view.nt;
        nt.original.truncate(at.bytes);
        nt.truncate_tokens(k);
        let folded_chars = if self.frozen_folded { at.folded_chars } else { at.chars };
        nt.fold = nt.fold.take().filter(|_| self.frozen_folded).map(|mut f| {
            f.text.truncate(at.folded_bytes);
            f.starts.truncate(k);
            f.ends.truncate(k);
            if let Some(m) = &mut f.source {
                m.truncate(at.folded_chars);
            }
            f
        });
        if self.frozen_wide {
            nt.wide.truncate(folded_chars);
        } else {
            nt.wide.clear();
        }
        nt.join(&self.tail, at.chars, folded_chars);
    }

    /// [`Incremental::renormalize`] when every word since the restart point (`range`: the first of them is the
    /// frozen one) is one the normalizer reads as its own letters ([`alone_token`]), with only ASCII text before them
    /// (characters are bytes): `normalize` of that text is those tokens, lower-cased, spanning the letters, joined
    /// by single spaces (no fold: it is ASCII). The tokens of the words before `viewed` are in the view already.
    fn append_lone_tokens(&mut self, buf: &str, words: Words<'_>, range: std::ops::Range<usize>, viewed: usize) {
        let (starts, facts) = (words.bytes, words.facts);
        let nt = &mut self.view.nt;
        nt.original.truncate(self.frozen.bytes);
        nt.original.push_str(&buf[self.frozen.bytes..]);
        // the view keeps its tokens of the words before `viewed` (those of the last update's normalization: a word
        // there may have none or several) and drops those after them; no restart point lies between `range.start`
        // (the last one) and `viewed`, so `viewed` is never past the words appended
        let kept = viewed.clamp(range.start, range.end);
        debug_assert!(viewed <= range.end);
        if kept == range.start {
            nt.truncate_tokens(self.frozen_toks);
        }
        nt.fold = None;
        nt.wide.clear();
        let b = buf.as_bytes();
        for k in kept..range.end {
            let s = starts[k];
            let e = s + alone_token(b, starts, facts, k);
            if !nt.text.is_empty() {
                nt.text.push(' ');
            }
            let at = nt.text.len();
            // SAFETY: ASCII letters with the 0x20 bit set (lower case) are UTF-8
            unsafe { nt.text.as_mut_vec() }.extend(b[s..e].iter().map(|&c| c | 0x20));
            nt.norm_starts.push(at);
            nt.norm_ends.push(nt.text.len());
            nt.orig_starts.push(s);
            nt.orig_ends.push(e);
            nt.is_digits.push(false);
        }
    }
}

/// For tests: sticky words of the gate's own kind (number-pass words and e-mail joiners).
#[cfg(test)]
pub(crate) const GATE_LIKE_STICKY: [&str; 9] = [
    "one",
    "twenty",
    "hundred",
    "oh",
    "double",
    "dot",
    "at",
    "dash",
    "underscore",
];

#[cfg(test)]
mod tests {
    use super::super::edits::py_isspace;
    use super::{
        alone_at, alone_token, lone_token, no_joiner, non_ascii_word_facts, plain_class, quiet_token, restarts_after,
        word_facts, StreamRoom, WordFacts, GATE_LIKE_STICKY, ROOM_CHARS, ROOM_TOKENS, TURN_CHARS, TURN_TOKENS,
    };

    /// A new stream's room: a typical turn's until a stream needed more, then the most any needed (never less
    /// again), and never more than the cap, however long a turn was.
    #[test]
    fn stream_room_is_the_most_streams_needed_within_bounds() {
        let room = StreamRoom::default();
        assert_eq!(
            (room.chars(), room.words(), room.tokens()),
            (TURN_CHARS, TURN_TOKENS, TURN_TOKENS)
        );
        room.needed(100, 20, 25);
        assert_eq!(
            (room.chars(), room.words(), room.tokens()),
            (TURN_CHARS, TURN_TOKENS, TURN_TOKENS)
        );
        room.needed(1000, 190, 200);
        room.needed(700, 130, 140);
        assert_eq!((room.chars(), room.words(), room.tokens()), (1000, 190, 200));
        room.needed(1_000_000, 200_000, 300_000);
        assert_eq!(
            (room.chars(), room.words(), room.tokens()),
            (ROOM_CHARS, ROOM_TOKENS, ROOM_TOKENS)
        );
    }

    /// Word shapes the stages tell apart (see `word_facts_equal_the_stages_own_tests`).
    const WORD_SHAPES: [&str; 68] = [
        "hello",
        "Hello",
        "HELLO",
        "hi",
        "a",
        "I",
        "i",
        "an",
        "and",
        "And",
        "at",
        "dot",
        "Dot",
        "dash",
        "hyphen",
        "underscore",
        "sign",
        "symbol",
        "rate",
        "one",
        "Twenty",
        "hundred",
        "thousand",
        "oh",
        "o",
        "double",
        "uh",
        "um",
        "hmm",
        "don't",
        "I'm",
        "it's",
        "o'clock",
        "cannot",
        "abcdefghijklmnop",
        "abcdefghijklmnopq",
        "abcdefghijklmnopqrstuvwxyz",
        "\"hello",
        "(hello",
        "hello,",
        "hello.",
        "hello!",
        "hello?\"",
        "hello)",
        "hello's",
        "Time...",
        "okay;",
        "and,",
        "at.",
        "one,",
        "uh,",
        "cannot.",
        "sign:",
        "a,",
        "wait?!",
        "hello,\"",
        "abcdefghijklmnop.",
        "abcdefghijklmnopq,",
        "h3llo",
        "555",
        "5th",
        "a1",
        "e-mail",
        "j.doe",
        "@",
        "x",
        "ok",
        "Mr",
    ];

    /// The facts read once per word are what the stages' own tests give, on every word shape they tell apart: a
    /// run of letters (of every length around the 2 to 16 read at once) that is a number word, a filler, `and`, an
    /// e-mail joiner or introducer, a contraction, a lone letter, quoted, with punctuation or digits, before each
    /// kind of whitespace (a vertical tab is Python's whitespace but ends no word for the detector split's tests).
    #[test]
    fn word_facts_equal_the_stages_own_tests() {
        let words = WORD_SHAPES;
        let spaces = [
            " ", "  ", "\t", "\n", "\r\n", "\u{b}", "\u{b} ", " \u{b}", "\u{1c}", "\u{1f} ", "\u{c}",
        ];
        // a filler too: the one read gives its `sticky_word` whether a word is special, not the set
        let set: Vec<&str> = GATE_LIKE_STICKY.iter().copied().chain(["uh"]).collect();
        let mut fast = 0;
        for w in words {
            for sp in spaces {
                let word = format!("{w}{sp}");
                let b = word.as_bytes();
                let got = word_facts(b, |letters, _| {
                    set.contains(&String::from_utf8_lossy(letters).to_ascii_lowercase().as_str())
                });
                assert_eq!(got.restarts, restarts_after(b), "{word:?}");
                assert_eq!(got.plain, plain_class(b), "{word:?}");
                assert_eq!(got.no_joiner, no_joiner(b), "{word:?}");
                assert_eq!(got.token, lone_token(b), "{word:?}");
                if let Some(sticky) = got.sticky {
                    fast += 1;
                    assert!(
                        w.bytes().all(|c| c.is_ascii_alphabetic()) && (2..=16).contains(&w.len()),
                        "{word:?}"
                    );
                    assert_eq!(sticky, set.contains(&w.to_ascii_lowercase().as_str()), "{word:?}");
                }
            }
        }
        assert!(fast > 300, "most words of letters are read at once ({fast})");
        // a hold-back set may hold an ordinary word (a pack's own sticky word): it is asked of the letters as
        // written, whatever case, and answers for its lower case
        let asked = |word: &str| {
            word_facts(word.as_bytes(), |letters, special| {
                !special && String::from_utf8_lossy(letters).to_ascii_lowercase() == "booking"
            })
            .sticky
        };
        assert_eq!(asked("BOOKING "), Some(true));
        assert_eq!(asked("booking\t"), Some(true));
        assert_eq!(asked("Bookings "), Some(false));
    }

    /// What [`lone_token`] claims, held to the normalizer: a text of words it accepts, in any order and with any
    /// whitespace, normalizes to their letters lower-cased, one token each spanning them. The words: the shapes the
    /// stages tell apart and more the normalizer reads in its own ways (expansions, dotted and joined words,
    /// symbols); it must accept plain words with sentence punctuation (so the claim is not empty) and refuse a
    /// number, a filler, an expansion, a contraction and a single letter.
    #[test]
    fn tokens_of_plain_words_are_the_normalizers() {
        let plain = [
            "booking,",
            "time.",
            "you?",
            "great!",
            "note:",
            "first;",
            "ok...",
            "Reservation",
            "then?!",
        ];
        let more = [
            "gonna", "wanna", "e.g.", "p.m.", "$5", "50%", "j@x", "co_op", "x-ray", "Mr.", "st", "side", "half%",
            "cost$", "hey@",
        ];
        let spaces = [" ", "  ", "\t", "\n", "\u{b}", "\u{1c}", " \r\n"];
        let mut accepted = Vec::new();
        for w in WORD_SHAPES.iter().chain(&plain).chain(&more) {
            let n = lone_token(format!("{w} ").as_bytes()) as usize;
            if n > 0 {
                accepted.push((*w, n));
            }
        }
        for w in plain {
            assert!(accepted.iter().any(|&(a, _)| a == w), "{w:?} is refused");
        }
        for w in ["one", "uh", "cannot", "gonna", "I'm", "a"] {
            assert!(accepted.iter().all(|&(a, _)| a != w), "{w:?} is accepted");
        }
        // every accepted word after every other, with each kind of whitespace, and a few longer texts
        let mut texts: Vec<Vec<(&str, usize, &str)>> = Vec::new();
        for (i, &(a, na)) in accepted.iter().enumerate() {
            for (j, &(b, nb)) in accepted.iter().enumerate() {
                let sp = spaces[(i + j) % spaces.len()];
                texts.push(vec![(a, na, sp), (b, nb, " ")]);
            }
        }
        texts.push(
            accepted
                .iter()
                .enumerate()
                .map(|(k, &(w, n))| (w, n, spaces[k % spaces.len()]))
                .collect(),
        );
        for text in texts {
            let (mut buf, mut want_text, mut spans) = (String::new(), Vec::new(), Vec::new());
            for (w, n, sp) in text {
                spans.push((buf.len(), buf.len() + n));
                want_text.push(w[..n].to_ascii_lowercase());
                buf.push_str(w);
                buf.push_str(sp);
            }
            assert_normalizes_to(&buf, &want_text, &spans);
        }
    }

    /// What lets quiet feeds follow any text ([`super::Incremental::quiet_after`]), and an update append the tokens
    /// of the words since ([`super::Incremental::renormalize`]): words the normalizer reads as their own letters
    /// ([`quiet_token`], and [`alone_token`] of which those are some) appended after whitespace leave the
    /// normalization of the text before them as it was, and add exactly their tokens, whatever that text is (digits,
    /// number words, symbols, spelled letters, fillers, contractions, written e-mails...), also text that is not
    /// ASCII (folded letters, lookalikes, curly quotes, dashes, wide digits, spaces only Python calls whitespace).
    /// Random texts of such words, then quiet or alone words.
    #[test]
    fn quiet_words_after_any_text_add_only_their_tokens() {
        let before: Vec<&str> = WORD_SHAPES
            .iter()
            .copied()
            .chain([
                "5",
                "207",
                "$207",
                "$",
                "%",
                "5%",
                "11:30",
                "408-247-8880",
                "(555)",
                "+1",
                "4111",
                "1,000",
                "12.99",
                "1st",
                "12th",
                "#",
                "#1000.",
                "&",
                "-",
                ".",
                ",",
                "e.g.",
                "U.S.A.",
                "x-ray",
                "o'clock",
                "it's",
                "gonna",
                "jane.doe@example.com",
                "s",
                "k",
                "b",
                "five",
                "oh",
                "o",
                "point",
                "double",
                "triple",
                "niner",
                "er",
                "Mr.",
                "p.m.",
                "s-",
                "a-",
                "g",
                "mail",
                "at",
                "dot",
                "com",
            ])
            .chain(crate::NON_ASCII_WORDS)
            .collect();
        let quiet: Vec<&str> = WORD_SHAPES
            .iter()
            .copied()
            .chain([
                "is",
                "people",
                "Per",
                "ticket.",
                "Hello,",
                "am",
                "pm",
                "th",
                "st",
                "nd",
                "mail",
                "com",
                "at",
                "At",
                "dot",
                "dash",
                "hyphen",
                "underscore",
                "Dot",
            ])
            .collect();
        let spaces = [
            " ", "  ", "\t", "\n", " \r\n", "\u{a0}", "\u{2003}", "\u{3000}", "\u{85}",
        ];
        let mut next = crate::draws(0x9e37_79b9_7f4a_7c15u64);
        let (mut checked, mut not_ascii) = (0, 0);
        for _ in 0..120_000 {
            let mut buf = String::new();
            for _ in 0..next(7) {
                buf.push_str(before[next(before.len())]);
                buf.push_str(spaces[next(spaces.len())]);
            }
            let head = buf.len();
            for _ in 0..1 + next(3) {
                buf.push_str(quiet[next(quiet.len())]);
                buf.push_str(spaces[next(spaces.len())]);
            }
            // the words (where each starts, in characters and bytes) and their facts, as a stream reads them; the
            // quiet ones must each have a quiet token
            let chars: Vec<(usize, char)> = buf.char_indices().collect();
            let (mut starts, mut bytes) = (Vec::new(), Vec::new());
            for (c, &(at, ch)) in chars.iter().enumerate() {
                if !py_isspace(ch) && (c == 0 || py_isspace(chars[c - 1].1)) {
                    starts.push(c);
                    bytes.push(at);
                }
            }
            let b = buf.as_bytes();
            let facts: Vec<WordFacts> = (0..bytes.len())
                .map(|k| {
                    let word = &buf[bytes[k]..bytes.get(k + 1).copied().unwrap_or(b.len())];
                    if word.is_ascii() {
                        word_facts(word.as_bytes(), |_, _| false)
                    } else {
                        non_ascii_word_facts(word)
                    }
                })
                .collect();
            let first_quiet = bytes.partition_point(|&s| s < head);
            let tokens: Option<Vec<usize>> = (first_quiet..bytes.len())
                .map(|k| {
                    // every quiet token is an alone one, and so is every e-mail joiner of letters: an update appends
                    // their tokens too ([`Incremental::renormalize`])
                    let quiet = Some(quiet_token(b, &bytes, &facts, k))
                        .filter(|&n| (1..=16).contains(&n))
                        .or_else(|| alone_at(b, &bytes, &facts, k).then_some(2));
                    let alone = Some(alone_token(b, &bytes, &facts, k)).filter(|&n| n > 0);
                    assert!(quiet.is_none() || quiet == alone, "{buf:?}");
                    alone
                })
                .collect();
            let Some(tokens) = tokens else { continue };
            let mut want = crate::text::normalize(&buf[..head]);
            for (k, n) in (first_quiet..bytes.len()).zip(tokens) {
                if !want.text.is_empty() {
                    want.text.push(' ');
                }
                let at = want.text.len();
                want.text.push_str(&buf[bytes[k]..bytes[k] + n].to_ascii_lowercase());
                want.norm_starts.push(at);
                want.norm_ends.push(want.text.len());
                want.orig_starts.push(starts[k]);
                want.orig_ends.push(starts[k] + n);
                want.is_digits.push(false);
            }
            not_ascii += usize::from(!buf.is_ascii());
            let got = crate::text::normalize(&buf);
            assert_eq!(
                (&got.text, &got.norm_starts, &got.norm_ends),
                (&want.text, &want.norm_starts, &want.norm_ends),
                "{buf:?}"
            );
            assert_eq!(
                (&got.orig_starts, &got.orig_ends, &got.is_digits),
                (&want.orig_starts, &want.orig_ends, &want.is_digits),
                "{buf:?}"
            );
            checked += 1;
        }
        assert!(checked > 12_000, "only {checked} texts had quiet words");
        assert!(not_ascii > 6_000, "only {not_ascii} of them were not ASCII");
    }

    /// `normalize(buf)` is the tokens `want`, lower-case letters spanning `spans` of `buf`: no digit, no fold.
    fn assert_normalizes_to(buf: &str, want: &[String], spans: &[(usize, usize)]) {
        let nt = crate::text::normalize(buf);
        assert_eq!(nt.text, want.join(" "), "{buf:?}");
        let got: Vec<(usize, usize)> = nt
            .orig_starts
            .iter()
            .copied()
            .zip(nt.orig_ends.iter().copied())
            .collect();
        assert_eq!(got, spans, "{buf:?}");
        assert!(
            nt.is_digits.iter().all(|d| !d) && nt.fold.is_none() && nt.wide.is_empty(),
            "{buf:?}"
        );
    }

    /// Lone `a` and `I` between longer plain words are read by the normalizer as their own letter, one token each
    /// ([`super::lone_letter`]): texts of alone words ([`alone_token`]) with lone letters first, last, between any
    /// two of them and before each kind of whitespace normalize to those tokens. And the test refuses what the
    /// normalizer reads otherwise: a letter after a letter (three make a spelled word), with punctuation glued to it
    /// (`.` joins spelled letters too), another letter, a letter first in the turn's words only when nothing is
    /// before it.
    #[test]
    fn lone_letters_among_alone_words_are_the_normalizers() {
        let words = ["thanks", "Booking,", "time.", "ok...", "and", "you?", "at"];
        let letters = ["a", "A", "i", "I"];
        let spaces = [" ", "  ", "\t", "\n", "\u{b}", "\u{1c}", " \r\n"];
        // the words and their whitespace, then the facts and starts the stream reads
        let read = |text: &[(&str, &str)]| {
            let mut buf = String::new();
            let mut starts = Vec::new();
            for (w, sp) in text {
                starts.push(buf.len());
                buf.push_str(w);
                buf.push_str(sp);
            }
            let ends = starts.iter().skip(1).copied().chain([buf.len()]);
            let facts: Vec<WordFacts> = starts
                .iter()
                .zip(ends)
                .map(|(&s, e)| word_facts(&buf.as_bytes()[s..e], |_, _| false))
                .collect();
            (buf, starts, facts)
        };
        let mut texts: Vec<Vec<(&str, &str)>> = Vec::new();
        for (i, &w) in words.iter().enumerate() {
            for (j, &l) in letters.iter().enumerate() {
                let sp = spaces[(i + j) % spaces.len()];
                texts.push(vec![(l, sp), (w, " ")]);
                texts.push(vec![(w, sp), (l, " ")]);
                texts.push(vec![(w, " "), (l, sp), (w, sp), (l, " "), (w, "\n")]);
            }
        }
        for text in texts {
            let (buf, starts, facts) = read(&text);
            let b = buf.as_bytes();
            let mut want = Vec::new();
            let mut spans = Vec::new();
            for k in 0..text.len() {
                let n = alone_token(b, &starts, &facts, k);
                assert!(n > 0, "{buf:?} word {k}");
                want.push(buf[starts[k]..starts[k] + n].to_ascii_lowercase());
                spans.push((starts[k], starts[k] + n));
            }
            assert_normalizes_to(&buf, &want, &spans);
        }
        // refused: the second of two letters, a letter with punctuation, other letters, a digit
        for (text, k) in [
            (vec![("thanks", " "), ("a", " "), ("I", " ")], 2),
            (vec![("a", " "), ("i", " ")], 1),
            (vec![("thanks", " "), ("a.", " ")], 1),
            (vec![("thanks", " "), ("a,", " ")], 1),
            (vec![("thanks", " "), ("b", " ")], 1),
            (vec![("thanks", " "), ("\"a", " ")], 1),
            (vec![("thanks", " "), ("7", " ")], 1),
        ] {
            let (buf, starts, facts) = read(&text);
            assert_eq!(alone_token(buf.as_bytes(), &starts, &facts, k), 0, "{buf:?} word {k}");
        }
        // and what the refusals guard against: three letters make one spelled word, with dots between them too
        assert_eq!(crate::text::normalize("thanks a i a ").text, "thanks aia");
        assert_eq!(crate::text::normalize("thanks a. i. a ").text, "thanks aia");
    }
}
