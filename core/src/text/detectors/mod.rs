//! The built-in PII detectors over the normalized view's token stream, and their registry: **a detector is defined
//! once, here** (its module holds the code, [`DETECTORS`] its entry), and everything else is derived from the
//! registry: the IR enum and the JSON schemas' enums, the config's PII pattern names and guardrail rules, the
//! compile path's prefilter hints, the generated docs (`docs/detectors.md`) and the quality benchmark's entity map.
//!
//! Detectors read tokens, not characters, so written and spoken forms are found alike; every hit carries ORIGINAL
//! offsets (characters) and a canonical value. [`detect_many`] gives one finding per value, of its most specific
//! kind. The rules are stated in `trace_engine/text/detectors.py` (the Python face) and held to the frozen Python
//! reference by equivalence tests.
//!
//! Adding a detector (see docs/architecture.md): write its module (`fn(&mut Ctx, &Exempt) -> Vec<Hit>`), add a
//! [`Kind`] variant and its [`DetectorSpec`] to [`DETECTORS`], then run `trace docs` (docs and schemas) and the tests.

mod context;
mod email;
pub(crate) use email::has_dot_token;
mod mbi;
mod numeric;
pub mod validators;

use std::collections::HashSet;

pub use context::Ctx;
pub use email::{PROVIDER_SPLITS, TLDS};
pub use numeric::ID_LABELS;
pub use validators::{aba_ok, luhn_ok, mbi_ok, nanp_ok, ssn_ok, Check, Rejection, CHECKS};

use super::chars::{casefold, is_space};
use super::NormalizedText;
use crate::swar::{self, bytes_between};

/// Canonical values that are never reported (see [`canonical_exempt`]).
pub type Exempt = HashSet<String>;

/// A detector kind, in registry order (the index of its [`DetectorSpec`] in [`DETECTORS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Kind {
    CreditCard,
    Ssn,
    Email,
    UsPhone,
    Mbi,
    AbaRouting,
}

impl Kind {
    /// The detector's registry entry.
    #[inline]
    pub fn spec(self) -> &'static DetectorSpec {
        &DETECTORS[self as usize]
    }

    /// The detector's name (`credit_card`…), as rule packs and findings spell it.
    #[inline]
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The kind of a detector name.
    pub fn from_name(name: &str) -> Option<Kind> {
        DETECTORS.iter().find(|s| s.name == name).map(|s| s.kind)
    }
}

/// One detector finding: `start..end` are characters of the ORIGINAL text; `value` is canonical.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Hit {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
    pub value: String,
}

impl Hit {
    /// A hit spanning the original characters of tokens `i..=j`.
    pub(crate) fn tokens(kind: Kind, nt: &NormalizedText, i: usize, j: usize, value: String) -> Hit {
        Hit {
            kind,
            start: nt.orig_starts[i],
            end: nt.orig_ends[j],
            value,
        }
    }
}

/// The remedy a config guardrail applies to a finding of this kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mask {
    /// Mask every character of the value but its last `n` digits.
    KeepLast(u32),
    /// Replace the value by a placeholder.
    Placeholder(&'static str),
}

/// A config guardrail (`guardrails.block_pii.patterns`): the rule synthesized for this kind.
#[derive(Debug, Clone, Copy)]
pub struct Guardrail {
    pub title: &'static str,
    pub severity: &'static str,
    pub mask: Mask,
    pub reason: &'static str,
    /// the call variable naming values that do not count (`callback_numbers` for phones)
    pub exempt_variable: Option<&'static str>,
}

/// Everything about one detector.
pub struct DetectorSpec {
    pub kind: Kind,
    /// the name rule packs, configs and findings use
    pub name: &'static str,
    /// a short human name (docs)
    pub title: &'static str,
    /// what it finds, in Markdown (docs)
    pub doc: &'static str,
    /// `(text, value)`: texts it must find, with the canonical value (docs and a registry-wide test)
    pub examples: &'static [(&'static str, &'static str)],
    /// One value gives one finding: a hit overlapping a hit of a lower rank is dropped (0 is the most specific).
    pub specificity: u8,
    /// Prefilter hint: digits its shortest value has (spoken digits count; 0 for a detector of words).
    pub min_digits: usize,
    /// Prefilter hint: it needs the word `at` in the normalized text (a spoken or written `@`).
    pub needs_at: bool,
    /// A cheap test on the normalized text, after the digit count (`None`: none).
    pub plausible: Option<fn(&str) -> bool>,
    /// An exempt value (any written form) in canonical form, `None` when unusable.
    pub canonical: fn(&str) -> Option<String>,
    /// The config guardrail for this kind, when `block_pii` may name it.
    pub guardrail: Option<Guardrail>,
    /// The Presidio entity type it corresponds to (quality benchmarks).
    pub presidio_entity: Option<&'static str>,
    pub run: fn(&mut Ctx<'_>, &Exempt) -> Vec<Hit>,
}

fn canonical_digits(v: &str) -> Option<String> {
    let d: String = v.chars().filter(char::is_ascii_digit).collect();
    (!d.is_empty()).then_some(d)
}

fn canonical_phone(v: &str) -> Option<String> {
    let d: String = v.chars().filter(char::is_ascii_digit).collect();
    let d = if d.len() == 11 && d.starts_with('1') {
        d[1..].to_string()
    } else {
        d
    };
    (!d.is_empty()).then_some(d)
}

fn canonical_email(v: &str) -> Option<String> {
    Some(casefold(v.trim_matches(is_space)))
}

fn canonical_mbi(v: &str) -> Option<String> {
    Some(
        v.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_uppercase())
            .collect(),
    )
}

/// An MBI starts with a digit then a letter (`C A`), and [`mbi::mbi`] reads it from a run of candidate tokens
/// (digit tokens, single letters, short letter-and-digit mixes) joined by single spaces in the normalized text.
/// So the digit is followed either by a letter of its own token ("1eg4"), or by a space and the first letter of the
/// next token, which is a candidate: a single letter ("1 e g 4 …"), or a mix, whose second character is a digit or
/// whose third is ("1 e4 …", "1 eg4 …": the shape's third character may be a letter, its fourth is a digit).
///
/// Where that holds, the 11 characters from the digit must have the MBI's shape too ([`mbi_shape_from`]): an
/// ordinal ("6th avenue"), a unit or a suite number ("125c") passes the first test, not the second.
///
/// It runs on every turn with five digits, so it looks for digits eight bytes at a time (one bit per byte, see
/// [`swar::bytes_between`]) and checks only the few bytes after each digit.
fn mbi_plausible(text: &str) -> bool {
    mbi_digits_then_letters(text, true)
}

/// [`mbi_plausible`]; without `shape`, only the digit-then-letter test (what `trace explain` asks, so that the
/// detector runs and says why a candidate of the wrong shape is not an MBI).
fn mbi_digits_then_letters(text: &str, shape: bool) -> bool {
    let b = text.as_bytes();
    first_mbi_digit(b, 0, shape).is_some()
}

/// How far past a digit [`mbi_plausible`] reads: the 11 characters of [`mbi_shape_from`] and the single spaces
/// between them (and one more), so what it says of a digit at `i` reads no byte past `b[i..i + MBI_READS]`.
pub(crate) const MBI_READS: usize = 22;

/// The first digit at or after `from` in `b` that [`mbi_digits_then_letters`] stops at (it reads no byte before it):
/// a streamed turn asks from where it has not asked before ([`PlausibleScan`]).
fn first_mbi_digit(b: &[u8], from: usize, shape: bool) -> Option<usize> {
    let seg = &b[from..];
    let mut at = 0;
    while at < seg.len() {
        let x = match seg.get(at..at + 8) {
            Some(eight) => swar::load(eight),
            None => {
                let mut word = [b' '; 8]; // past the end: spaces, never digits
                word[..seg.len() - at].copy_from_slice(&seg[at..]);
                u64::from_le_bytes(word)
            }
        };
        let mut digits = bytes_between(x, b'0' - 1, b'9' + 1);
        while digits != 0 {
            let i = from + at + (digits.trailing_zeros() / 8) as usize;
            if mbi_digit_then_letter(b, i) && (!shape || mbi_shape_from(b, i)) {
                return Some(i);
            }
            digits &= digits - 1;
        }
        at += 8;
    }
    None
}

/// The digit at `i` is followed by a letter of its own token, or by a space and a candidate token's first letter;
/// and the MBI's 11 characters read from it have its shape ([`mbi_shape_from`]).
#[cfg(test)]
fn mbi_starts_at(b: &[u8], i: usize) -> bool {
    mbi_digit_then_letter(b, i) && mbi_shape_from(b, i)
}

/// The first test of [`mbi_starts_at`].
#[inline]
fn mbi_digit_then_letter(b: &[u8], i: usize) -> bool {
    let lower = |k: usize| b.get(k).is_some_and(u8::is_ascii_lowercase);
    let digit = |k: usize| b.get(k).is_some_and(u8::is_ascii_digit);
    let ends = |k: usize| b.get(k).is_none_or(|&c| c == b' ');
    lower(i + 1)
        || (b.get(i + 1) == Some(&b' ')
            && lower(i + 2)
            && (ends(i + 3) || digit(i + 3) || (lower(i + 3) && digit(i + 4))))
}

/// The 11 characters from `i` in the normalized text `b`, spaces left out, have the MBI's shape
/// ([`validators::mbi_shape`]), read no further than the first byte no candidate token holds (only lower-case
/// ASCII letters and digits: [`mbi::candidate`]). An MBI that [`mbi::mbi`] finds starting at `i` is 11 characters
/// of consecutive candidate tokens, and tokens are joined by single spaces, so it is exactly those characters.
#[cold] // reached only from a digit followed by a letter
fn mbi_shape_from(b: &[u8], i: usize) -> bool {
    let mut chars = [0u8; 11];
    let mut k = 0;
    for &c in b.iter().skip(i) {
        if k == chars.len() {
            break;
        }
        if c == b' ' {
            continue;
        }
        if !(c.is_ascii_lowercase() || c.is_ascii_digit()) {
            return false;
        }
        chars[k] = c.to_ascii_uppercase();
        k += 1;
    }
    k == chars.len() && validators::mbi_shape(&chars)
}

/// An e-mail address needs an `at` token with words on both sides and a `dot` token (every domain has a dot,
/// written or spoken: [`email::email`] looks for one first), so a turn without both cannot have one.
fn spoken_at(text: &str) -> bool {
    first_at_token(text.as_bytes()).is_some() && email::has_dot_token(text)
}

/// Where `b` (normalized text) first holds ` at `: an `at` token with a token on each side.
fn first_at_token(b: &[u8]) -> Option<usize> {
    static AT: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(" at "));
    AT.find(b)
}

/// The `plausible` preconditions ([`mbi_plausible`], [`spoken_at`]) of a growing normalized text from byte `from`
/// on, its final part (text no later text changes) scanned once: a stream's detectors ask them of the view from
/// their split on after every update, and the view's text before its frozen end never changes. Each scan goes from
/// where the last one left off to the text's end and stops at the first place that meets it; a place whose
/// answer reads final bytes alone is kept (a precondition met there stays met), and one that found nothing moves
/// the start past the final text.
#[derive(Debug, Default, Clone, Copy)]
pub struct PlausibleScan {
    from: usize,
    /// no digit before `mbi_upto` meets [`mbi_plausible`] (or `mbi`: one whose bytes are final does)
    mbi_upto: usize,
    mbi: bool,
    /// no ` at ` / ` dot ` starts before these (or `at` / `dot`: one in final text is there)
    at_upto: usize,
    at: bool,
    dot_upto: usize,
    dot: bool,
}

impl PlausibleScan {
    /// What kind `kind`'s `plausible` precondition says of `text[from..]`, a normalized text whose first `fin` bytes
    /// are final: every text this is asked of later starts with them (and `fin` never moves back). A new `from`
    /// starts over.
    pub fn plausible(&mut self, kind: Kind, text: &str, from: usize, fin: usize) -> bool {
        if self.from != from {
            *self = PlausibleScan {
                from,
                mbi_upto: from,
                at_upto: from,
                dot_upto: from,
                ..PlausibleScan::default()
            };
        }
        let b = text.as_bytes();
        let fin = fin.clamp(from, b.len());
        match kind {
            // a digit's answer reads `MBI_READS` bytes after it and whether the text ends before them
            Kind::Mbi => {
                self.mbi
                    || Self::scan(&mut self.mbi, &mut self.mbi_upto, fin, MBI_READS, |at| {
                        first_mbi_digit(b, at, true)
                    })
            }
            Kind::Email => {
                let at = self.at
                    || Self::scan(&mut self.at, &mut self.at_upto, fin, 4, |at| {
                        first_at_token(&b[at..]).map(|p| at + p)
                    });
                // the dot token first or last in the text is looked at again: the text's ends move
                let w = &b[from..];
                at && (self.dot
                    || w == b"dot"
                    || w.starts_with(b"dot ")
                    || w.ends_with(b" dot")
                    || Self::scan(&mut self.dot, &mut self.dot_upto, fin, 5, |at| {
                        email::first_inner_dot(&b[at..]).map(|p| at + p)
                    }))
            }
            other => other.spec().plausible.is_none_or(|f| f(&text[from..])),
        }
    }

    /// Look for the first place at or after `*upto` that meets a precondition (`first`), whose answer reads `reads`
    /// bytes from it: met for good (`*met`) when they are final (before `fin`); `*upto` moves past the places before
    /// it whose answer reads final bytes alone (they did not meet it, and never will).
    fn scan(
        met: &mut bool,
        upto: &mut usize,
        fin: usize,
        reads: usize,
        first: impl Fn(usize) -> Option<usize>,
    ) -> bool {
        // the places before this one read final bytes alone: what they say now, they say for good
        let settled = fin.saturating_sub(reads - 1);
        match first(*upto) {
            Some(at) => {
                *met = at + reads <= fin;
                *upto = (*upto).max(at.min(settled)); // none before `at` meets it now
                true
            }
            None => {
                *upto = (*upto).max(settled);
                false
            }
        }
    }
}

/// The registry, in the order rule packs list detectors.
pub static DETECTORS: [DetectorSpec; 6] = [
    DetectorSpec {
        kind: Kind::CreditCard,
        name: "credit_card",
        title: "Payment card number",
        doc: "13–19 digits formed by consecutive whole tokens of a digit run, Luhn-valid. Candidate windows are \
              aligned to token boundaries (a card is never cut out of the middle of a token); the longest valid \
              window wins, then the leftmost, and chosen windows never overlap, so a run longer than the card (an \
              expiry date spoken right after it) still yields the card. There is deliberately no issuer (IIN) prefix \
              table: issuer ranges are reassigned and extended over time (Mastercard's 2-series, 8-digit IINs), a \
              stale table silently misses real cards, and Luhn plus length is PCI DSS's own guidance for discovering \
              cardholder data. Value: the digits.",
        examples: &[
            ("the card on file is 4111 1111 1111 1111", "4111111111111111"),
            (
                "four one one one, one one one one, one one one one, one one one one",
                "4111111111111111",
            ),
        ],
        specificity: 1,
        min_digits: 13,
        needs_at: false,
        plausible: None,
        canonical: canonical_digits,
        guardrail: Some(Guardrail {
            title: "Never say a full card number",
            severity: "critical",
            mask: Mask::KeepLast(4),
            reason: "A full card number was about to be spoken; only the last four digits may be.",
            exempt_variable: None,
        }),
        presidio_entity: Some("CREDIT_CARD"),
        run: numeric::credit_card,
    },
    DetectorSpec {
        kind: Kind::Ssn,
        name: "ssn",
        title: "US Social Security number",
        doc: "A window of exactly 9 digits: written, grouped 3-2-4 or 9 ungrouped digits (other groupings only with \
              \"ssn\"/\"social\" among the 4 tokens before it: \"my ssn is 078-051121\"); area not 000/666/900–999, \
              group not 00, serial not 0000, and not a well-known fake (078-05-1120, 219-09-9999). Not reported when \
              it is a valid ABA routing number with \"routing\" or \"aba\" among the 3 tokens before it, nor when it \
              is introduced as another identifier: an `ID_LABELS` noun (\"claim\", \"order\", \"policy\", \
              \"tracking\", \"member\", \"license\", \"reference\", \"confirmation\"…) among the 6 tokens before it, \
              with no \"ssn\"/\"social\" there. Value: the 9 digits.",
        examples: &[
            ("the social on file is 123-45-6789", "123456789"),
            ("my ssn is one two three, four five, six seven eight nine", "123456789"),
        ],
        specificity: 3,
        min_digits: 9,
        needs_at: false,
        plausible: None,
        canonical: canonical_digits,
        guardrail: Some(Guardrail {
            title: "Never say a full Social Security number",
            severity: "critical",
            mask: Mask::KeepLast(4),
            reason: "A full Social Security number was about to be spoken; only the last four digits may be.",
            exempt_variable: None,
        }),
        presidio_entity: Some("US_SSN"),
        run: numeric::ssn,
    },
    DetectorSpec {
        kind: Kind::Email,
        name: "email",
        title: "E-mail address",
        doc: "`LOCAL at DOMAIN`. **Written** (the `at` came from `@`): the local part and domain are the tokens \
              glued to it in the original (no whitespace between them; `.`, `_`, `-` and `+` inside allowed). A \
              written `@` glued on both sides is strong evidence, so the domain may end in any TLD of two or more \
              letters or a punycode label (`jane@example.de`, `info@presidio.site`, `a@xn--d1acufc.xn--p1ai`); it \
              ends at its last built-in, two-letter or punycode TLD when it has one (`bob@example.com.Thanks` → \
              `bob@example.com`). **Spoken or mixed**, as speech recognition writes it (\"jane dot doe at example \
              dot com\", \"maria.g@outlook dot com\", \"tom at hot mail dot com\", \"s a m at example dot org\", \
              \"front dash desk at river dash clinic dot com\"): the local part is 1–4 labels joined by `dot` / \
              `underscore` / `dash` / `hyphen` (letters spelled one by one are one label, a digit label may follow a \
              word: \"john two three\"), ending right before `at` (or `at sign`, `at the rate`, a spaced `@`); a \
              single-label local part that is a function word (`me`, `us`, `him`, …) is rejected. The domain is \
              labels joined by `dot` (spoken or written), a label being a word, a provider split in two \
              (`PROVIDER_SPLITS`: \"g mail\", \"hot mail\", \"out look\", \"ya hoo\") or words joined by \
              `dash`/`hyphen`; it is cut at its last built-in TLD (`TLDS`; no network, no public-suffix list), \
              because in speech the TLD is the only evidence. The hit spans the whole address, so masking leaves \
              nothing of it. Value: the address in lower case.",
        examples: &[
            ("you can write to jane.doe@example.com", "jane.doe@example.com"),
            ("it is jane dot doe at example dot com", "jane.doe@example.com"),
        ],
        specificity: 0,
        min_digits: 0,
        needs_at: true,
        plausible: Some(spoken_at),
        canonical: canonical_email,
        guardrail: Some(Guardrail {
            title: "Don't read out email addresses",
            severity: "medium",
            mask: Mask::Placeholder("[email]"),
            reason: "An email address was about to be read aloud.",
            exempt_variable: None,
        }),
        presidio_entity: Some("EMAIL_ADDRESS"),
        run: email::email,
    },
    DetectorSpec {
        kind: Kind::UsPhone,
        name: "us_phone",
        title: "US phone number",
        doc: "A window of 10 digits, or 11 starting with the country code 1; NANP-valid (area and exchange start \
              2–9, area not N11). Written, grouped 3-3-4, 3-7 or 10 ungrouped, optionally after a `1` group \
              (`1-800-555-0199`), or 11 ungrouped starting with 1. A window that starts after a `+` country code \
              other than 1 in its segment (\"+61 2 9265 8888\") is international and skipped. Value: the 10 digits; \
              the hit takes in a leading `+` or an opening parenthesis.",
        examples: &[
            ("call us at (415) 555-0198", "4155550198"),
            ("four one five, five five five, oh one nine eight", "4155550198"),
        ],
        specificity: 5,
        min_digits: 10,
        needs_at: false,
        plausible: None,
        canonical: canonical_phone,
        guardrail: Some(Guardrail {
            title: "Don't read out phone numbers other than the business's",
            severity: "medium",
            mask: Mask::Placeholder("[phone]"),
            reason: "A phone number that is not one of the business's callback numbers was about to be read aloud.",
            exempt_variable: Some("callback_numbers"),
        }),
        presidio_entity: Some("PHONE_NUMBER"),
        run: numeric::us_phone,
    },
    DetectorSpec {
        kind: Kind::Mbi,
        name: "mbi",
        title: "Medicare Beneficiary Identifier",
        doc: "11 characters `C A AN N A AN N A A N N` (no S, L, O, I, B, Z), written with or without separators or \
              spelled out. Candidate tokens are single letters, digit tokens and short letter+digit mixes \
              (\"1eg4\"); consecutive candidates are concatenated and every 11-character window that starts and ends \
              on a token boundary (or inside a digit token, since spoken digits merge: \"seven three\" → \"73\") is \
              checked. Value: upper case, no separators.",
        examples: &[("the MBI is 1EG4-TE5-MK73", "1EG4TE5MK73")],
        specificity: 2,
        min_digits: 5,
        needs_at: false,
        plausible: Some(mbi_plausible),
        canonical: canonical_mbi,
        guardrail: None,
        presidio_entity: Some("US_MBI"),
        run: mbi::mbi,
    },
    DetectorSpec {
        kind: Kind::AbaRouting,
        name: "aba_routing",
        title: "ABA routing number",
        doc: "A window of exactly 9 digits (written: ungrouped, 4-4-1 as in `3222-7162-7`, or 3-3-3) passing the ABA \
              checksum with a valid Federal Reserve prefix (00–12, 21–32, 61–72, 80). No context word is required; a \
              number that is both a valid SSN and a valid routing number is an SSN unless introduced as a routing \
              number. Value: the 9 digits.",
        examples: &[("the routing number is 021000021", "021000021")],
        specificity: 4,
        min_digits: 9,
        needs_at: false,
        plausible: None,
        canonical: canonical_digits,
        guardrail: None,
        presidio_entity: Some("ABA_ROUTING_NUMBER"),
        run: numeric::aba_routing,
    },
];

/// Exempt values for `kind` in canonical form (digits only for numbers, 10 digits for phones, lower-case e-mail,
/// upper-case MBI without separators); unusable entries are dropped.
pub fn canonical_exempt<'a>(kind: Kind, values: impl IntoIterator<Item = &'a str>) -> Exempt {
    let canonical = kind.spec().canonical;
    values.into_iter().filter_map(canonical).collect()
}

/// Digit characters of the normalized text (spoken digits are digits there).
#[inline]
pub fn digit_count(nt: &NormalizedText) -> usize {
    ascii_digits(nt.text.as_bytes())
}

/// The ASCII digits of `b`.
#[inline]
pub(crate) fn ascii_digits(b: &[u8]) -> usize {
    // every turn counts its digits: eight bytes at a time, one bit per digit byte (see [`swar::bytes_between`])
    let digits = |x: u64| swar::count_flags(bytes_between(x, b'0' - 1, b'9' + 1));
    let mut chunks = b.chunks_exact(8);
    let n: usize = (&mut chunks).map(|eight| digits(swar::load(eight))).sum();
    n + digits(swar::load_tail(chunks.remainder()))
}

/// Cheap precondition: `kind` can have a hit in `nt` (`digits`: [`digit_count`]).
pub fn possible(kind: Kind, nt: &NormalizedText, digits: usize) -> bool {
    possible_in(kind, &nt.text, digits)
}

/// [`possible`] from the normalized text alone (all the preconditions read).
fn possible_in(kind: Kind, text: &str, digits: usize) -> bool {
    let spec = kind.spec();
    digits >= spec.min_digits && spec.plausible.is_none_or(|f| f(text))
}

/// Whether no detector can hit the normalized view of `text`, decided from `text` alone, before any view is built
/// (a rewritten turn about to be stored: most are a turn with its phone number masked, and building their view
/// costs more than everything else storing them does). `true` only when, for every kind, [`possible`] is false on
/// `normalize(text)`, so [`detect_many`] finds nothing there; `false` says nothing.
///
/// Why it holds, for an ASCII `text` (anything else: `false`):
/// - **Digits.** Folding keeps ASCII as it is, so the normalized text's digits ([`digit_count`]) come from the
///   text's own digits, which the normalizer keeps or drops but never repeats, and from number words: a word of
///   the number pass (`is_number_pass_word`: number words, `oh`/`o`, repeaters like `double`, fillers), written
///   out or spelled letter by letter. Every maximal run of letters is looked up (a superset of the words the number
///   pass reads: a word split at an apostrophe or hyphen is a run, and so is the stem of a word ending in "n't",
///   which the normalizer reads as the stem and "not"; a contraction's expansion adds no number word);
///   a spelled word is at least three letters each standing alone (no letter, digit or apostrophe next to it: the
///   normalizer's `spelled_at`), so three such letters end the test ("I'm", "you'd" have none). With none of those,
///   `digit_count(normalize(text)) <= ` the text's digits, and a kind whose `min_digits` is above that cannot hit.
/// - **E-mail** (no digits needed) needs a `dot` token ([`spoken_at`]). The normalizer makes one from the word
///   `dot` (any case; a run of letters) or from a `.` between two parts of one word (`example.com`), which has a
///   character other than whitespace right after it; spelled words are out as above.
/// - Any other kind that needs no digits: `false` (a new detector must state its own precondition here).
pub fn none_possible_in(text: &str) -> bool {
    let b = text.as_bytes();
    if !b.is_ascii() {
        return false;
    }
    let digits = ascii_digits(b);
    if DETECTORS
        .iter()
        .any(|s| s.min_digits <= digits && s.kind != Kind::Email)
    {
        return false;
    }
    let (n, mut singles, mut i) = (b.len(), 0, 0);
    while i < n {
        let c = b[i];
        if !c.is_ascii_alphabetic() {
            if c == b'.' && i + 1 < n && !b[i + 1].is_ascii_whitespace() {
                return false; // may be a written `dot`
            }
            i += 1;
            continue;
        }
        let start = i;
        let mut upper = false;
        while i < n && b[i].is_ascii_alphabetic() {
            upper |= b[i] < b'a';
            i += 1;
        }
        // a letter of a spelled word stands alone: no letter, digit or apostrophe on either side
        let apart = |k: Option<&u8>| k.is_none_or(|&c| !c.is_ascii_alphanumeric() && c != b'\'');
        if i - start == 1 && apart(start.checked_sub(1).map(|k| &b[k])) && apart(b.get(i)) {
            singles += 1;
            if singles >= 3 {
                return false; // a spelled word may be among them
            }
        }
        let run = &text[start..i];
        // "twon't": the normalizer reads the stem before "n't" ("two") and "not"
        let stem = (run.len() > 1 && b.get(i) == Some(&b'\'') && matches!(b[i - 1], b'n' | b'N'))
            .then(|| &run[..run.len() - 1]);
        let makes_digits_or_dot = |w: &str| w == "dot" || crate::text::words::is_number_pass_word(w);
        for word in std::iter::once(run).chain(stem) {
            if !upper {
                if makes_digits_or_dot(word) {
                    return false;
                }
                continue;
            }
            let mut lower = [0u8; 24];
            let Some(low) = lower.get_mut(..word.len()) else {
                return false; // longer than any number word: not worth a buffer
            };
            low.copy_from_slice(word.as_bytes());
            low.make_ascii_lowercase();
            // SAFETY: `text` is ASCII (tested first), and lower-cased ASCII is ASCII, so UTF-8
            if makes_digits_or_dot(unsafe { std::str::from_utf8_unchecked(low) }) {
                return false;
            }
        }
    }
    true
}

/// Runs detector `kind` over `nt` (no precondition, no specificity).
pub fn detect(kind: Kind, nt: &NormalizedText, exempt: &Exempt) -> Vec<Hit> {
    (kind.spec().run)(&mut Ctx::new(nt), exempt)
}

/// The longest run of consecutive digit tokens (in digits) and of consecutive MBI candidate tokens (in characters,
/// [`mbi::candidate`]) of the tokens given one by one ([`Runs::step`]), and the runs the last ones are in: what
/// [`Precheck::rule_out_by_runs`] reads. A stream carries them over its final tokens.
#[derive(Debug, Default, Clone, Copy)]
pub struct Runs {
    digits: usize,
    most_digits: usize,
    cands: usize,
    most_cands: usize,
}

impl Runs {
    /// The next token (`cands`: whether MBI candidates are counted; when not, `most_cands` stays 0).
    #[inline]
    pub fn step(&mut self, tok: &str, is_digits: bool, cands: bool) {
        self.step_digits(tok.len(), is_digits);
        if cands {
            self.cands = if mbi::candidate(tok, is_digits) {
                self.cands + tok.len()
            } else {
                0
            };
            self.most_cands = self.most_cands.max(self.cands);
        }
    }

    /// The digits of the shortest hit of a numeric kind: a run of consecutive digit tokens with fewer holds none
    /// (0 for the other kinds).
    #[inline]
    pub const fn least_digits(kind: Kind) -> usize {
        match kind {
            Kind::CreditCard => 13,
            Kind::UsPhone => 10,
            Kind::Ssn | Kind::AbaRouting => 9,
            Kind::Email | Kind::Mbi => 0,
        }
    }

    /// The next token's digit run alone (`len`: its length in bytes).
    #[inline(always)]
    fn step_digits(&mut self, len: usize, is_digits: bool) {
        self.digits = if is_digits { self.digits + len } else { 0 };
        self.most_digits = self.most_digits.max(self.digits);
    }
}

/// [`possible`] per kind for one text, each computed at most once (the cheap digit count first), so that a caller
/// that looks before building its requests ([`Precheck::any`]) and [`detect_many_checked`] share the work.
pub struct Precheck {
    digits: usize,
    can: [Option<bool>; DETECTORS.len()],
    /// the kinds the runs rule out are ruled out already ([`Precheck::rule_out_by_runs`])
    runs_looked: bool,
}

impl Precheck {
    pub fn new(nt: &NormalizedText) -> Precheck {
        Precheck {
            digits: digit_count(nt),
            can: [None; DETECTORS.len()],
            runs_looked: false,
        }
    }

    #[inline]
    pub fn possible(&mut self, kind: Kind, nt: &NormalizedText) -> bool {
        let digits = self.digits;
        *self.can[kind as usize].get_or_insert_with(|| possible(kind, nt, digits))
    }

    /// Whether any detector may hit: when not, [`detect_many`] finds nothing.
    pub fn any(&mut self, nt: &NormalizedText) -> bool {
        DETECTORS.iter().any(|s| self.possible(s.kind, nt))
    }

    /// The preconditions of a normalized view with this text and [`digit_count`] `digits`, all looked at now (a
    /// stream asks before it builds the view, counting the digits it has not counted before).
    pub fn of_text(text: &str, digits: usize) -> Precheck {
        Precheck::of_plausible(digits, |kind| kind.spec().plausible.is_none_or(|f| f(text)))
    }

    /// [`Precheck::of_text`] given what the text's `plausible` preconditions say (a stream keeps what the final part
    /// of its text said): a kind may hit when the text has its `min_digits` and, for a kind with a `plausible`
    /// precondition, `plausible(kind)` (asked only then, as [`possible_in`] asks).
    pub fn of_plausible(digits: usize, mut plausible: impl FnMut(Kind) -> bool) -> Precheck {
        let mut can = [None; DETECTORS.len()];
        for (c, s) in can.iter_mut().zip(&DETECTORS) {
            *c = Some(digits >= s.min_digits && (s.plausible.is_none() || plausible(s.kind)));
        }
        Precheck {
            digits,
            can,
            runs_looked: false,
        }
    }

    /// Whether `kind` may hit, as far as looked at ([`Precheck::of_text`]).
    pub fn may(&self, kind: Kind) -> bool {
        self.can[kind as usize] != Some(false)
    }

    /// `kind` cannot hit (the caller knows more than the preconditions: an e-mail without a `dot` token).
    pub fn rule_out(&mut self, kind: Kind) {
        self.can[kind as usize] = Some(false);
    }

    /// Rules out the kinds whose hits need a longer run of consecutive tokens than `nt` has (what
    /// [`Precheck::rule_out_by_runs`] says given every token), looking only as far as it must; the tokens are read
    /// for MBI candidates only when the MBI's own (cheaper) precondition passed, else only their lengths and digit
    /// flags are.
    ///
    /// Why it holds: every hit of a numeric kind is a window of consecutive whole digit tokens of one digit run
    /// ([`Ctx::digit_runs`] reads `is_digits` with dates and times switched off, so its runs lie inside runs of
    /// consecutive `is_digits` tokens, and a window's digits are its tokens' bytes): a card has 13-19 digits, a
    /// phone 10 or 11, an SSN and a routing number 9 ([`Runs::least_digits`]). An MBI is 11 characters of one run
    /// of consecutive candidate tokens ([`mbi::mbi`] skips a shorter run). So a kind whose shortest hit is longer
    /// than every such run in `nt` finds nothing there.
    pub fn rule_out_short_runs(&mut self, nt: &NormalizedText) {
        const NUMERIC: [Kind; 4] = [Kind::CreditCard, Kind::UsPhone, Kind::Ssn, Kind::AbaRouting];
        let want_digits = NUMERIC
            .iter()
            .filter(|&&k| self.may(k))
            .map(|&k| Runs::least_digits(k))
            .max()
            .unwrap_or(0);
        let want_cands = if self.possible(Kind::Mbi, nt) { 11 } else { 0 };
        let mut runs = Runs::default();
        if want_cands == 0 {
            for ((s, e), &d) in nt.norm_starts.iter().zip(&nt.norm_ends).zip(&nt.is_digits) {
                if runs.most_digits >= want_digits {
                    break; // nothing more to rule out
                }
                runs.step_digits(e - s, d);
            }
        } else {
            for k in 0..nt.len() {
                if runs.most_digits >= want_digits && runs.most_cands >= want_cands {
                    break;
                }
                runs.step(nt.token(k), nt.is_digits[k], true);
            }
        }
        self.rule_out_by_runs(&runs);
    }

    /// Rules out the kinds whose hits need a longer run of consecutive tokens than the tokens `runs` was given have
    /// (every one of them looked at): the numeric kinds read windows of consecutive digit tokens (a card 13
    /// digits, a phone 10, an SSN or a routing number 9), an MBI 11 characters of consecutive candidate tokens
    /// ([`mbi::candidate`]).
    pub fn rule_out_by_runs(&mut self, runs: &Runs) {
        self.runs_looked = true;
        for (kind, needs) in [
            (
                Kind::CreditCard,
                runs.most_digits >= Runs::least_digits(Kind::CreditCard),
            ),
            (Kind::UsPhone, runs.most_digits >= Runs::least_digits(Kind::UsPhone)),
            (Kind::Ssn, runs.most_digits >= Runs::least_digits(Kind::Ssn)),
            (
                Kind::AbaRouting,
                runs.most_digits >= Runs::least_digits(Kind::AbaRouting),
            ),
            (Kind::Mbi, runs.most_cands >= 11),
        ] {
            if !needs {
                self.rule_out(kind);
            }
        }
    }

    /// Whether any detector may hit, as far as looked at.
    pub fn any_may(&self) -> bool {
        DETECTORS.iter().any(|s| self.may(s.kind))
    }
}

/// Hits per request `(kind, canonical exempt values)`, one finding per value: a hit overlapping a hit of a more
/// specific kind (found whether or not that kind was requested, exempt values included) is dropped. Each detector
/// runs at most once per exempt set, and only when [`possible`].
pub fn detect_many(nt: &NormalizedText, requests: &[(Kind, &Exempt)]) -> Vec<Vec<Hit>> {
    detect_many_checked(nt, requests, Precheck::new(nt))
}

/// [`detect_many`] with the preconditions looked at so far.
pub fn detect_many_checked(nt: &NormalizedText, requests: &[(Kind, &Exempt)], pre: Precheck) -> Vec<Vec<Hit>> {
    let mut out = vec![Vec::new(); requests.len()];
    detect_in::<false>(nt, requests, pre, &mut Vec::new(), |i, h| out[i].push(h.clone()));
    out
}

/// [`detect_many_checked`], each hit handed to `emit(request index, hit)` in the order [`detect_many`] lists them
/// instead of collected: the gate keeps only the spans, so no hit and no value is copied or freed.
pub fn detect_each_checked(
    nt: &NormalizedText,
    requests: &[(Kind, &Exempt)],
    pre: Precheck,
    emit: impl FnMut(usize, &Hit),
) {
    detect_in::<false>(nt, requests, pre, &mut Vec::new(), emit);
}

/// [`detect_many`], and the candidates the requested detectors rejected and why (`trace explain`), sorted and
/// without repeats. The gate calls [`detect_many`]: it records nothing.
pub fn detect_many_explained(nt: &NormalizedText, requests: &[(Kind, &Exempt)]) -> (Vec<Vec<Hit>>, Vec<Rejection>) {
    let mut rejected = Vec::new();
    let mut hits = vec![Vec::new(); requests.len()];
    detect_in::<true>(nt, requests, Precheck::new(nt), &mut rejected, |i, h| {
        hits[i].push(h.clone())
    });
    rejected.retain(|r| requests.iter().any(|(k, _)| *k == r.kind));
    rejected.sort_unstable();
    rejected.dedup();
    (hits, rejected)
}

/// The one body of all three: `RECORD` is a constant, so the gate's instance has no trace of the recording. Each
/// detector runs at most once without exempt values (its hits kept in `raw`, which the more specific kinds' claims
/// read in place), once more per request with exempt values.
fn detect_in<const RECORD: bool>(
    nt: &NormalizedText,
    requests: &[(Kind, &Exempt)],
    mut pre: Precheck,
    rejected: &mut Vec<Rejection>,
    mut emit: impl FnMut(usize, &Hit),
) {
    if RECORD && pre.digits >= Kind::Mbi.spec().min_digits && mbi_digits_then_letters(&nt.text, false) {
        // explained, the MBI detector runs on the looser test, so that it says why a candidate of the wrong shape
        // is none (it finds nothing the shape test rules out)
        pre.can[Kind::Mbi as usize] = Some(true);
    }
    if !pre.any(nt) {
        return; // the common case: nothing any detector could find
    }
    if !pre.runs_looked {
        // a turn with digits here and there (prices, times, an address): often no run is long enough for any kind
        pre.rule_out_short_runs(nt);
        if !pre.any(nt) {
            return;
        }
    }
    let mut cx = if RECORD { Ctx::recording(nt) } else { Ctx::new(nt) };
    let no_exempt = Exempt::new();
    let mut raw: [Option<Vec<Hit>>; DETECTORS.len()] = Default::default();
    for (i, &(kind, exempt)) in requests.iter().enumerate() {
        if !pre.possible(kind, nt) {
            continue;
        }
        let fresh = if exempt.is_empty() {
            if raw[kind as usize].is_none() {
                raw[kind as usize] = Some((kind.spec().run)(&mut cx, &no_exempt));
            }
            None
        } else {
            Some((kind.spec().run)(&mut cx, exempt))
        };
        let rank = kind.spec().specificity;
        let own_empty = match &fresh {
            Some(f) => f.is_empty(),
            None => raw[kind as usize].as_ref().is_none_or(Vec::is_empty),
        };
        if !own_empty {
            // the kinds that may claim these hits, each run once (never with exempt values)
            for spec in DETECTORS.iter().filter(|s| s.specificity < rank) {
                if raw[spec.kind as usize].is_none() && pre.possible(spec.kind, nt) {
                    raw[spec.kind as usize] = Some((spec.run)(&mut cx, &no_exempt));
                }
            }
        }
        let own: &[Hit] = match &fresh {
            Some(f) => f,
            None => raw[kind as usize].as_deref().unwrap_or(&[]),
        };
        for h in own {
            let claimed = DETECTORS.iter().filter(|s| s.specificity < rank).any(|s| {
                raw[s.kind as usize]
                    .as_ref()
                    .is_some_and(|claims| claims.iter().any(|c| c.start < h.end && h.start < c.end))
            });
            if claimed {
                if RECORD {
                    cx.reject_span(kind, h.start, h.end, Check::MoreSpecific);
                }
                continue;
            }
            emit(i, h);
        }
    }
    if RECORD {
        *rejected = cx.rejections();
    }
}

/// Several detectors, one finding per value ([`detect_many`]); hits sorted by `(start, end, kind name)`.
pub fn detect_all(nt: &NormalizedText, requests: &[(Kind, &Exempt)]) -> Vec<Hit> {
    let mut hits: Vec<Hit> = detect_many(nt, requests).into_iter().flatten().collect();
    hits.sort_by(|a, b| (a.start, a.end, a.kind.name()).cmp(&(b.start, b.end, b.kind.name())));
    hits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::normalize;

    /// [`PlausibleScan`] answers what `mbi_plausible` and `spoken_at` say of the text from the split on, at every
    /// point of a text growing token by token, its final part lagging behind and the text after that rewritten
    /// (as a stream's normalizer rewrites it) into the text's own next tokens or other ones that meet or break a
    /// precondition, from every token's start on: texts with MBIs (written, spelled, cut at the final end), digits
    /// before letters that are no MBI, e-mails spoken and written, `at` and `dot` first and last.
    #[test]
    fn plausible_scan_answers_what_the_whole_text_does() {
        let texts = [
            "my medicare number is 1EG4-TE5-MK73 thanks",
            "it is one e g four t e five m k seven three and 2 more",
            "we are at 6th avenue and 125c main street at 5 pm",
            "write to jane dot doe at example dot com or tom@hotmail.com today",
            "dot at dot at",
            "at the end a dot",
            "call 1 e 4 2 a 3 b 4 c 5 d 6 e 7 f 8 g 9 h at home dot",
            "no digits here at all",
        ];
        let rewrites = [
            "",
            " 9 z",
            " at",
            " at x",
            " dot",
            " x dot y",
            " 1 e g 4 t e 5 m k 7 3 x",
            " 1eg4 te5 mk7",
        ];
        let (mut checked, mut met) = (0, [0, 0]);
        for source in texts {
            let text = normalize(source).text;
            let b = text.as_bytes();
            let ends: Vec<usize> = (1..=b.len())
                .filter(|&e| b[e - 1] != b' ' && b.get(e).is_none_or(|&c| c == b' '))
                .collect();
            let starts: Vec<usize> = std::iter::once(0)
                .chain(ends.iter().map(|&e| e + 1))
                .filter(|&s| s < b.len())
                .collect();
            for &from in &starts {
                for lag in [0, 1, 3] {
                    let mut scan = PlausibleScan::default();
                    for (k, &len) in ends.iter().enumerate().filter(|&(_, &e)| e > from) {
                        // the final part ends `lag` tokens back (at a token's end), never before `from`; after it,
                        // the text's own tokens or a rewrite
                        let fin = k.checked_sub(lag).map_or(0, |j| ends[j]).max(from);
                        let own = &text[fin..len];
                        let after = if k % 3 == 0 || own.is_empty() {
                            own
                        } else {
                            rewrites[k % rewrites.len()]
                        };
                        let grown = format!("{}{after}", &text[..fin]);
                        let window = &grown[from..];
                        for (n, kind) in [Kind::Mbi, Kind::Email].into_iter().enumerate() {
                            let want = (kind.spec().plausible.unwrap())(window);
                            assert_eq!(
                                scan.plausible(kind, &grown, from, fin),
                                want,
                                "{kind:?} {window:?} fin {fin}"
                            );
                            checked += 1;
                            met[n] += usize::from(want);
                        }
                    }
                }
            }
        }
        assert!(checked > 1000 && met[0] > 50 && met[1] > 50, "{checked} {met:?}");
    }

    /// `count` random turns of 1 to `most` pieces joined by separators, from a fixed seed (xorshift).
    fn random_turns<'a>(
        seed: u64,
        count: usize,
        most: usize,
        pieces: &'a [&'a str],
        seps: &'a [&'a str],
    ) -> impl Iterator<Item = String> + 'a {
        let mut x = seed;
        let mut next = move |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        (0..count).map(move |_| {
            let mut t = String::new();
            for k in 0..1 + next(most) {
                if k > 0 {
                    t.push_str(seps[next(seps.len())]);
                }
                t.push_str(pieces[next(pieces.len())]);
            }
            t
        })
    }

    #[test]
    fn registry_is_consistent() {
        let mut ranks: Vec<u8> = DETECTORS.iter().map(|s| s.specificity).collect();
        ranks.sort();
        assert_eq!(ranks, (0..DETECTORS.len() as u8).collect::<Vec<_>>());
        for (i, spec) in DETECTORS.iter().enumerate() {
            assert_eq!(spec.kind as usize, i, "{}", spec.name);
            assert_eq!(Kind::from_name(spec.name), Some(spec.kind));
        }
    }

    /// The byte-at-a-time statement of [`mbi_plausible`].
    fn mbi_plausible_bytes(text: &str) -> bool {
        let b = text.as_bytes();
        (0..b.len()).any(|i| b[i].is_ascii_digit() && mbi_starts_at(b, i))
    }

    #[test]
    fn mbi_plausible_reads_eight_bytes_as_one_at_a_time() {
        let alphabet = [
            "a", "z", "q", "0", "9", "5", " ", " ", " ", "A", "Z", "`", "{", "/", ":", "\u{e9}", "\u{7f}", "\t", "ab",
            "12",
        ];
        let mut state = 14u64;
        for _ in 0..50_000 {
            let mut text = String::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 40) as usize;
            let mut r = state;
            for _ in 0..len {
                r = r.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                text.push_str(alphabet[(r >> 33) as usize % alphabet.len()]);
            }
            assert_eq!(mbi_plausible(&text), mbi_plausible_bytes(&text), "{text:?}");
        }
        for text in [
            "",
            "a",
            "1a",
            "a b c d",
            "1 a",
            "1 ab",
            "1 a1",
            "1 ab1",
            "1 abc1",
            "x1 a",
            "12345678a",
            "1234567 a b c d",
            "1234567a",
        ] {
            assert_eq!(mbi_plausible(text), mbi_plausible_bytes(text), "{text:?}");
        }
    }

    #[test]
    fn digit_count_reads_eight_bytes_as_one_at_a_time() {
        let alphabet = [
            "0", "9", "5", "a", " ", "/", ":", "\u{e9}", "\u{663}", "12", "\u{7f}", "\u{b9}",
        ];
        let mut state = 99u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut r = state;
            let mut nt = NormalizedText::default();
            for _ in 0..(state % 40) as usize {
                r = r.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                nt.text.push_str(alphabet[(r >> 33) as usize % alphabet.len()]);
            }
            assert_eq!(
                digit_count(&nt),
                nt.text.bytes().filter(u8::is_ascii_digit).count(),
                "{:?}",
                nt.text
            );
        }
    }

    /// Whenever the `mbi` detector finds something, its precondition said it might: random runs of the tokens an
    /// MBI is made of (written, spelled, mixed, split anywhere) among words.
    #[test]
    fn mbi_plausible_never_hides_an_mbi() {
        let pieces = [
            "1eg4",
            "te5",
            "mk73",
            "1EG4-TE5-MK73",
            "1",
            "e",
            "g",
            "4",
            "t",
            "5",
            "m",
            "k",
            "7",
            "3",
            "73",
            "one",
            "seven",
            "three",
            "four",
            "five",
            "eg4",
            "e4",
            "g4t",
            "2",
            "9",
            "a",
            "c",
            "d",
            "f",
            "h",
            "j",
            "r",
            "the",
            "number",
            "is",
            "-",
            "1e",
            "4te",
            "5mk",
            "7e",
            "n",
            "p",
            "q",
            "u",
            "v",
            "w",
            "x",
            "y",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let (mut found, mut rejected) = (0, 0);
        for _ in 0..200_000 {
            let mut text = String::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut r = state;
            for k in 0..(state % 16) as usize {
                r = r.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                if k > 0 {
                    text.push(if (r >> 60) == 0 { '-' } else { ' ' });
                }
                text.push_str(pieces[(r >> 33) as usize % pieces.len()]);
            }
            let nt = normalize(&text);
            let hits = detect(Kind::Mbi, &nt, &Exempt::new());
            if !hits.is_empty() {
                found += 1;
                assert!(mbi_plausible(&nt.text), "{text:?} -> {:?}", nt.text);
            } else if !mbi_plausible(&nt.text) {
                rejected += 1;
            }
        }
        assert!(found > 100 && rejected > 1000, "found {found}, rejected {rejected}");
    }

    /// [`none_possible_in`] against the normalizer and the detectors themselves: whenever it says no detector can
    /// hit, none may (neither the preconditions nor any detector, exempt values aside), over random turns made of
    /// the words that make digits and dots: number words in any case, spelled letters, fillers, `dot`, written
    /// domains, glued punctuation, masks.
    #[test]
    fn none_possible_in_never_hides_a_hit() {
        const WORDS: &[&str] = &[
            "the",
            "phone",
            "number",
            "is",
            "[phone]",
            "[ssn]",
            "at",
            "AT",
            "@",
            "dot",
            "DOT",
            "Dot",
            "example.com",
            "jane.doe",
            "com",
            "one",
            "One",
            "TWO",
            "three",
            "twenty-one",
            "hundred",
            "thousand",
            "oh",
            "o",
            "O",
            "o'clock",
            "double",
            "triple",
            "uh",
            "um",
            "a",
            "I",
            "I'm",
            "b",
            "e",
            "n",
            "d",
            "t",
            "x",
            "m",
            "v",
            "f-i-v-e",
            "d.o.t",
            "s i x",
            "z e r o",
            "4",
            "41",
            "415",
            "5550",
            "12345",
            "123-45-6789",
            "1eg4",
            "te5",
            "mk73",
            "7200",
            "#",
            "125C",
            "Ave.",
            "p.m.",
            "e.g.",
            "5.5",
            "$4,300",
            "50%",
            "nine",
            "Nine",
            "seventy",
            "eighteen",
            "zero",
            "naught",
            "nil",
            "you'd",
            "'n'",
            "y'all",
            "d'",
            "'o",
            "t'",
            "i",
            "onen't",
            "Sevenn't",
            "seven's",
            "nine'll",
            "won't",
            "it's",
            "...",
            "call",
            "stop",
            "\u{e9}t\u{e9}",
        ];
        const SEPS: &[&str] = &[" ", " ", " ", ", ", ". ", "-", "", "'", " - ", "/", "! ", "\u{a0}"];
        let requests: Vec<(Kind, Exempt)> = DETECTORS.iter().map(|s| (s.kind, Exempt::new())).collect();
        let requests: Vec<(Kind, &Exempt)> = requests.iter().map(|(k, e)| (*k, e)).collect();
        let (mut none, mut some) = (0, 0);
        for t in random_turns(0x2545_f491_4f6c_dd1d, 300_000, 10, WORDS, SEPS) {
            if !none_possible_in(&t) {
                some += 1;
                continue;
            }
            none += 1;
            let nt = normalize(&t);
            assert!(!Precheck::new(&nt).any(&nt), "{t:?} -> {:?}", nt.text);
            let hits = detect_many(&nt, &requests);
            assert!(hits.iter().all(Vec::is_empty), "{t:?} -> {hits:?}");
        }
        assert!(none > 20_000 && some > 20_000, "none {none}, some {some}");
    }

    /// [`Precheck::rule_out_short_runs`] (the whole turn's) and [`Precheck::rule_out_by_runs`] given every
    /// token (a stream's) against the detectors themselves: a kind either rules out finds nothing, over random
    /// turns of digit groups of every length at the kinds' thresholds (a 13-digit card, a 10-digit phone, a 9-digit
    /// SSN and routing number, an MBI), spoken digits, dates and times, separators that do and do not cut a run.
    /// Raising any threshold by one makes it fail for that kind.
    #[test]
    fn short_runs_rule_out_only_kinds_that_find_nothing() {
        const PIECES: &[&str] = &[
            "4222222222222",
            "4222 2222 22222",
            "4111 1111 1111 1111",
            "415 555 0198",
            "415-555-0198",
            "(415) 555-0198",
            "+1 415 555 0198",
            "4155550198",
            "123-45-6789",
            "123456789",
            "021000021",
            "0210 0002 1",
            "1EG4-TE5-MK73",
            "1eg4 te5 mk73",
            "one e g four t e five m k seven three",
            "1",
            "12",
            "123",
            "1234",
            "12345",
            "4155",
            "0198",
            "555",
            "four one five",
            "five five five",
            "oh one nine eight",
            "twenty",
            "12/05/2024",
            "9:30",
            "$4,300",
            "ssn",
            "routing",
            "the",
            "number",
            "is",
            "at",
            "e",
            "m",
            "k",
            "125c",
            "te5",
        ];
        const SEPS: &[&str] = &[" ", " ", " ", "-", ", ", ". ", "/", " and "];
        let none = Exempt::new();
        let (mut ruled_out, mut found) = ([0usize; DETECTORS.len()], [0usize; DETECTORS.len()]);
        for t in random_turns(0x9e37_79b9_7f4a_7c15, 100_000, 6, PIECES, SEPS) {
            let nt = normalize(&t);
            let mut whole = Precheck::of_text(&nt.text, usize::MAX); // every precondition but the runs passed
            whole.rule_out_short_runs(&nt);
            // the runs alone: no precondition looked at
            let mut stream = Precheck {
                digits: usize::MAX,
                can: [None; DETECTORS.len()],
                runs_looked: false,
            };
            let mut runs = Runs::default();
            for k in 0..nt.len() {
                runs.step(nt.token(k), nt.is_digits[k], true);
            }
            stream.rule_out_by_runs(&runs);
            for spec in &DETECTORS {
                let hits = detect(spec.kind, &nt, &none);
                let plausible = spec.plausible.is_none_or(|f| f(&nt.text));
                for (pre, how, runs_only) in [(&whole, "whole", plausible), (&stream, "stream", true)] {
                    if !pre.may(spec.kind) && runs_only {
                        ruled_out[spec.kind as usize] += 1;
                        assert!(hits.is_empty(), "{how} {}: {t:?} -> {:?}: {hits:?}", spec.name, nt.text);
                    }
                }
                if !hits.is_empty() {
                    found[spec.kind as usize] += 1;
                }
            }
        }
        for spec in DETECTORS.iter().filter(|s| s.kind != Kind::Email) {
            let k = spec.kind as usize;
            assert!(
                ruled_out[k] > 1000 && found[k] > 1000,
                "{}: {} {}",
                spec.name,
                ruled_out[k],
                found[k]
            );
        }
    }

    #[test]
    fn none_possible_in_cases() {
        for t in [
            "Their phone number is [phone]. If you'd like us to stop calling, just say stop.",
            "It's [phone] and it's at 805 North Vasco Road",
            "call [phone] at 5 pm.",
        ] {
            assert!(none_possible_in(t), "{t:?}");
        }
        for t in [
            "call [phone] at 12345",        // five digits: an MBI may need them
            "the code is one two three",    // number words
            "write to jane at example.com", // a written dot
            "jane at example dot com",      // a spoken one
            "spelled d o t or t w o",       // spelled letters
            "it's at five o'clock",         // `o` is a zero
            "caf\u{e9} [phone]",            // not ASCII
        ] {
            assert!(!none_possible_in(t), "{t:?}");
        }
    }

    #[test]
    fn every_example_is_found() {
        for spec in &DETECTORS {
            for (text, value) in spec.examples {
                let nt = normalize(text);
                let hits = detect_many(&nt, &[(spec.kind, &Exempt::new())]).remove(0);
                assert!(
                    hits.iter().any(|h| h.value == *value),
                    "{}: {text:?} -> {hits:?}",
                    spec.name
                );
            }
        }
    }
}
