//! The word tables of the normalized view, each defined once: a static list (exported to Python, so
//! `trace_engine.text` and the compile path read the same tables) and a `match`-based lookup for the hot path.

macro_rules! word_map {
    ($(#[$m:meta])* $name:ident, $lookup:ident: $ty:ty { $($w:literal => $v:expr),* $(,)? }) => {
        $(#[$m])*
        pub static $name: &[(&str, $ty)] = &[$(($w, $v)),*];
        #[doc = concat!("Lookup in [`", stringify!($name), "`].")]
        #[inline]
        pub fn $lookup(w: &str) -> Option<$ty> {
            match w {
                $($w => Some($v),)*
                _ => None,
            }
        }
    };
}

macro_rules! word_set {
    ($(#[$m:meta])* $name:ident, $lookup:ident { $($w:literal),* $(,)? }) => {
        $(#[$m])*
        pub static $name: &[&str] = &[$($w),*];
        #[doc = concat!("Membership in [`", stringify!($name), "`].")]
        #[inline]
        pub fn $lookup(w: &str) -> bool {
            matches!(w, $($w)|*)
        }
    };
}

/// Prefilters for word lookups, several tables in one: bit `set + len` of `pair[slot(first two bytes)]` is set
/// when some word of table `set` has that length and begins with those bytes (a one-byte word: its byte twice), and
/// bit `set + len` of `last[b]` when some such word ends in `b`; so most words are rejected with two loads instead of
/// a chain of string comparisons ("the" and "two" share a first byte and a length, "the" and "one" a last byte and
/// a length, but no number word of three letters begins "th"). Every word of a turn is looked up in each table, so
/// the tables share their entries: a word's lookups load the same two cache lines. Words of `WIDTH` bytes or more
/// always pass.
pub struct WordMask {
    pair: [u64; 1024],
    last: [u64; 256],
}

/// The bits of one table in an entry: lengths `0..WIDTH`.
const WIDTH: usize = 16;
/// The tables in [`MASKS`]: each its offset in an entry's bits.
const NUMBER_PASS: usize = 0;
const CONTRACTION: usize = WIDTH;
const READ_APART: usize = 2 * WIDTH;

impl WordMask {
    const fn empty() -> Self {
        WordMask {
            pair: [0; 1024],
            last: [0; 256],
        }
    }

    /// The `pair` slot of a word's first two bytes.
    #[inline(always)]
    const fn slot(b: &[u8]) -> usize {
        let second = if b.len() > 1 { b[1] } else { b[0] };
        ((b[0] as usize) << 5 ^ second as usize) & 1023
    }

    const fn with(mut self, w: &str, set: usize) -> Self {
        let b = w.as_bytes();
        if b.len() < WIDTH {
            let bit = 1 << (set + b.len());
            self.pair[Self::slot(b)] |= bit;
            self.last[b[b.len() - 1] as usize] |= bit;
        }
        self
    }

    const fn with_set(mut self, words: &[&str], set: usize) -> Self {
        let mut i = 0;
        while i < words.len() {
            self = self.with(words[i], set);
            i += 1;
        }
        self
    }

    /// Whether table `set` may hold `w`.
    #[inline(always)]
    pub fn may_contain(&self, w: &str, set: usize) -> bool {
        self.bits(w) >> set & 1 != 0
    }

    /// Every table's verdict on `w` at once: bit `set` is set when table `set` may hold it (the entries' bits for
    /// `w`'s length shifted down to bit 0 of each table; bits between the tables' first bits mean nothing, since a
    /// table's lengths stay below `WIDTH`). All set for a word of `WIDTH` bytes or more, none for the empty word.
    #[inline(always)]
    fn bits(&self, w: &str) -> u64 {
        self.bits_folded(w.as_bytes(), 0)
    }

    /// [`WordMask::bits`] of ASCII letters `letters` lower-cased, read without lower-casing the word (setting bit
    /// 0x20 of a letter lower-cases it).
    #[inline(always)]
    fn bits_of_letters(&self, letters: &[u8]) -> u64 {
        self.bits_folded(letters, 0x20)
    }

    /// [`WordMask::bits`] of `b` with `fold` set in each byte it reads (its first two and its last).
    #[inline(always)]
    fn bits_folded(&self, b: &[u8], fold: u8) -> u64 {
        let n = b.len();
        if n == 0 {
            return 0;
        }
        if n >= WIDTH {
            return u64::MAX;
        }
        let first = b[0] | fold;
        let second = if n > 1 { b[1] | fold } else { first };
        (self.pair[Self::slot(&[first, second])] & self.last[(b[n - 1] | fold) as usize]) >> n
    }
}

/// Both prefilters' verdicts on one word ([`is_number_pass_word`]'s and [`expansion`]'s), read with one pair of
/// loads: the normalizer looks each plain word up in both tables.
#[derive(Clone, Copy)]
pub struct Prefiltered(u64);

/// [`Prefiltered`] for `w`.
#[inline(always)]
pub fn prefilter(w: &str) -> Prefiltered {
    Prefiltered(MASKS.bits(w))
}

impl Prefiltered {
    /// [`is_number_pass_word`] of the word this was read from.
    #[inline(always)]
    pub fn is_number_pass_word(self, w: &str) -> bool {
        self.0 >> NUMBER_PASS & 1 != 0 && in_number_pass_tables(w)
    }

    /// [`expansion`] of the word this was read from.
    #[inline(always)]
    pub fn expansion(self, w: &str) -> Option<&'static [&'static str]> {
        if self.0 >> CONTRACTION & 1 != 0 {
            contraction_out_of_line(w)
        } else {
            None
        }
    }
}

macro_rules! keys {
    ($table:expr) => {{
        const N: usize = $table.len();
        const KEYS: [&str; N] = {
            let mut out = [""; N];
            let mut i = 0;
            while i < N {
                out[i] = $table[i].0;
                i += 1;
            }
            out
        };
        KEYS
    }};
}

word_map! {
    /// Contractions and their expansions (every token maps to the contraction's original span).
    CONTRACTIONS, contraction: &'static [&'static str] {
        "don't" => &["do", "not"],
        "doesn't" => &["does", "not"],
        "didn't" => &["did", "not"],
        "can't" => &["can", "not"],
        "cannot" => &["can", "not"],
        "won't" => &["will", "not"],
        "shan't" => &["shall", "not"],
        "ain't" => &["is", "not"],
        "isn't" => &["is", "not"],
        "aren't" => &["are", "not"],
        "wasn't" => &["was", "not"],
        "weren't" => &["were", "not"],
        "shouldn't" => &["should", "not"],
        "wouldn't" => &["would", "not"],
        "couldn't" => &["could", "not"],
        "mustn't" => &["must", "not"],
        "needn't" => &["need", "not"],
        "haven't" => &["have", "not"],
        "hasn't" => &["has", "not"],
        "hadn't" => &["had", "not"],
        "i'm" => &["i", "am"],
        "you're" => &["you", "are"],
        "we're" => &["we", "are"],
        "they're" => &["they", "are"],
        "it's" => &["it", "is"],
        "that's" => &["that", "is"],
        "there's" => &["there", "is"],
        "here's" => &["here", "is"],
        "what's" => &["what", "is"],
        "where's" => &["where", "is"],
        "who's" => &["who", "is"],
        "how's" => &["how", "is"],
        "he's" => &["he", "is"],
        "she's" => &["she", "is"],
        "let's" => &["let", "us"],
        "i've" => &["i", "have"],
        "you've" => &["you", "have"],
        "we've" => &["we", "have"],
        "they've" => &["they", "have"],
        "i'll" => &["i", "will"],
        "you'll" => &["you", "will"],
        "we'll" => &["we", "will"],
        "they'll" => &["they", "will"],
        "he'll" => &["he", "will"],
        "she'll" => &["she", "will"],
        "it'll" => &["it", "will"],
        "i'd" => &["i", "would"],
        "you'd" => &["you", "would"],
        "he'd" => &["he", "would"],
        "she'd" => &["she", "would"],
        "we'd" => &["we", "would"],
        "they'd" => &["they", "would"],
        "y'all" => &["you", "all"],
        "gonna" => &["going", "to"],
        "wanna" => &["want", "to"],
        "gotta" => &["got", "to"],
    }
}

/// Contraction suffixes of any other word, in the order they are tried (`None`: a possessive, dropped).
pub static GENERIC_SUFFIXES: &[(&str, Option<&str>)] = &[
    ("n't", Some("not")),
    ("'ll", Some("will")),
    ("'ve", Some("have")),
    ("'re", Some("are")),
    ("'d", Some("would")),
    ("'m", Some("am")),
    ("'s", None),
];

word_map! {
    /// Single-digit words (``niner``: radiotelephony).
    UNITS, unit: u64 {
        "zero" => 0, "one" => 1, "two" => 2, "three" => 3, "four" => 4, "five" => 5, "six" => 6,
        "seven" => 7, "eight" => 8, "nine" => 9, "niner" => 9,
    }
}
word_map! {
    TEENS, teen: u64 {
        "ten" => 10, "eleven" => 11, "twelve" => 12, "thirteen" => 13, "fourteen" => 14, "fifteen" => 15,
        "sixteen" => 16, "seventeen" => 17, "eighteen" => 18, "nineteen" => 19,
    }
}
word_map! {
    TENS, tens: u64 {
        "twenty" => 20, "thirty" => 30, "forty" => 40, "fifty" => 50, "sixty" => 60, "seventy" => 70,
        "eighty" => 80, "ninety" => 90,
    }
}
word_map! {
    SCALES, scale: u64 { "thousand" => 1_000, "million" => 1_000_000, "billion" => 1_000_000_000 }
}
word_map! {
    /// ``double X`` / ``triple X``: X repeated.
    REPEATERS, repeater: usize { "double" => 2, "triple" => 3, "treble" => 3 }
}
word_set! {
    /// Words read as the digit 0 inside a digit run.
    ZERO_WORDS, is_zero_word { "oh", "o", "nought", "naught" }
}
word_set! {
    /// Hesitations removed from the token stream (they never break a phrase or a digit run).
    FILLERS, is_filler { "uh", "um", "uhm", "umm", "er", "erm", "ah", "hmm", "hm", "mm" }
}

pub const HUNDRED: &str = "hundred";

/// ``hundred`` and the scales: a unit before one of them is part of a compound, not a digit.
#[inline]
pub fn is_multiplier(w: &str) -> bool {
    w == HUNDRED || scale(w).is_some()
}

/// Units, teens and tens.
#[inline]
pub fn is_small(w: &str) -> bool {
    unit(w).is_some() || teen(w).is_some() || tens(w).is_some()
}

/// Every word a compound number may be made of.
#[inline]
pub fn is_compound_word(w: &str) -> bool {
    is_small(w) || is_multiplier(w)
}

/// The prefilters of [`is_number_pass_word`] and [`contraction`].
static MASKS: WordMask = WordMask::empty()
    .with_set(&keys!(UNITS), NUMBER_PASS)
    .with_set(&keys!(TEENS), NUMBER_PASS)
    .with_set(&keys!(TENS), NUMBER_PASS)
    .with_set(&keys!(SCALES), NUMBER_PASS)
    .with(HUNDRED, NUMBER_PASS)
    .with_set(&keys!(REPEATERS), NUMBER_PASS)
    .with_set(ZERO_WORDS, NUMBER_PASS)
    .with_set(FILLERS, NUMBER_PASS)
    .with_set(&keys!(CONTRACTIONS), CONTRACTION)
    .with_set(SPOKEN_SYMBOLS, READ_APART)
    .with(AND, READ_APART);

word_set! {
    /// Words of letters that join the pieces of a spoken e-mail address (`at`, `dot`, `dash`, `hyphen`,
    /// `underscore`) or say "@" after `at` (`sign`, `symbol`, `rate`): a streamed turn reads each word's part in
    /// the detectors' runs from them (`engine::incremental`).
    SPOKEN_SYMBOLS, is_spoken_symbol { "at", "dot", "dash", "hyphen", "underscore", "sign", "symbol", "rate" }
}

/// `and`: it joins numbers ("one hundred and five") and runs of spelled words.
pub const AND: &str = "and";

/// Whether ASCII letters `letters` (any case) lower-cased may be a word of the number pass, an expansion,
/// `and` or a [`SPOKEN_SYMBOLS`] word: one prefilter lookup (most words are none, and a caller that knows so reads
/// no table, nor lower-cases the word).
#[inline(always)]
pub fn may_read_apart(letters: &[u8]) -> bool {
    let tables = 1 << NUMBER_PASS | 1 << CONTRACTION | 1 << READ_APART;
    MASKS.bits_of_letters(letters) & tables != 0
}

/// Every word the number pass may rewrite or drop.
#[inline(always)]
pub fn is_number_pass_word(w: &str) -> bool {
    MASKS.may_contain(w, NUMBER_PASS) && in_number_pass_tables(w)
}

/// The comparisons behind [`is_number_pass_word`]'s prefilter (kept out of line: the prefilter is inlined into every
/// caller, the comparisons are seldom reached).
#[inline(never)]
fn in_number_pass_tables(w: &str) -> bool {
    is_compound_word(w) || is_zero_word(w) || repeater(w).is_some() || is_filler(w)
}

/// [`contraction`] behind its prefilter.
#[inline(always)]
pub fn expansion(w: &str) -> Option<&'static [&'static str]> {
    if MASKS.may_contain(w, CONTRACTION) {
        contraction_out_of_line(w)
    } else {
        None
    }
}

/// [`contraction`], not inlined into [`expansion`]'s callers with the prefilter.
#[inline(never)]
fn contraction_out_of_line(w: &str) -> Option<&'static [&'static str]> {
    contraction(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every word of the number pass's tables.
    fn number_pass_words() -> Vec<&'static str> {
        keys!(UNITS)
            .iter()
            .chain(keys!(TEENS).iter())
            .chain(keys!(TENS).iter())
            .chain(keys!(SCALES).iter())
            .chain(keys!(REPEATERS).iter())
            .chain(ZERO_WORDS.iter())
            .chain(FILLERS.iter())
            .chain(std::iter::once(&HUNDRED))
            .copied()
            .collect()
    }

    #[test]
    fn masks_pass_every_word_of_their_tables() {
        for w in number_pass_words() {
            assert!(MASKS.may_contain(w, NUMBER_PASS) && is_number_pass_word(w), "{w}");
        }
        for w in keys!(CONTRACTIONS) {
            assert!(MASKS.may_contain(w, CONTRACTION) && expansion(w).is_some(), "{w}");
        }
        for w in ["the", "at", "a", "and", "would", "doing", "going", "", "x"] {
            assert!(!MASKS.may_contain(w, NUMBER_PASS) && !is_number_pass_word(w), "{w}");
            assert!(expansion(w).is_none(), "{w}");
            // "would" passes the contraction prefilter (and is then looked up in full)
            assert!(w == "would" || !MASKS.may_contain(w, CONTRACTION), "{w}");
        }
        // a long word always passes (and is then looked up in full)
        assert!(MASKS.may_contain("abcdefghijklmnop", NUMBER_PASS));
        // both prefilters read at once say what each says alone, on table words, their neighbours and others
        let mut words: Vec<String> = keys!(CONTRACTIONS).iter().map(|w| w.to_string()).collect();
        words.extend(
            keys!(UNITS)
                .iter()
                .chain(keys!(TENS).iter())
                .chain(FILLERS.iter())
                .map(|w| w.to_string()),
        );
        words.extend(
            [
                "",
                "a",
                "would",
                "the",
                "abcdefghijklmnop",
                "abcdefghijklmnopq",
                "o",
                "oh",
            ]
            .map(String::from),
        );
        for w in words.clone() {
            for cut in 0..w.len() {
                words.push(w[..cut].to_string());
                words.push(format!("{w}s"));
                words.push(format!("x{}", &w[cut..]));
            }
        }
        for w in &words {
            let pre = prefilter(w);
            assert_eq!(pre.is_number_pass_word(w), is_number_pass_word(w), "{w}");
            assert_eq!(pre.expansion(w), expansion(w), "{w}");
        }
    }

    /// `may_read_apart` passes every word it stands for, in any case, and rejects ordinary words: read as written,
    /// it is the prefilter of the word lower-cased.
    #[test]
    fn may_read_apart_passes_every_word_read_apart_in_any_case() {
        let apart = number_pass_words()
            .into_iter()
            .chain(keys!(CONTRACTIONS))
            .chain(SPOKEN_SYMBOLS.iter().copied())
            .chain([AND]);
        for w in apart.filter(|w| w.bytes().all(|b| b.is_ascii_alphabetic())) {
            for written in [w.to_string(), w.to_ascii_uppercase(), capitalized(w)] {
                assert!(may_read_apart(written.as_bytes()), "{written}");
            }
        }
        for w in ["the", "The", "booking", "x", "atlas", "Dots", "andes", "people"] {
            assert!(!may_read_apart(w.as_bytes()), "{w}");
        }
        assert!(
            may_read_apart(b"abcdefghijklmnop"),
            "a word of 16 letters or more is looked up in full"
        );
    }

    fn capitalized(w: &str) -> String {
        w[..1].to_ascii_uppercase() + &w[1..]
    }
}
