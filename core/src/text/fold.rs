//! Unicode folding against evasion, the first stage of the normalized view (the Rust twin of
//! `trace_engine/text/fold.py`; see that module's docstring for the rules and why).
//!
//! 1. invisible characters (Cf, default ignorables) dropped;
//! 2. NFKD compatibility forms;
//! 3. combining marks dropped;
//! 4. every decimal digit made ASCII (steps 1-4 are one precomputed table lookup per non-ASCII character,
//!    [`fold_char`]);
//! 5. UTS #39 letter skeletons in words whose every non-ASCII letter has an ASCII lookalike.

use super::chars::{self, is_alnum, is_apostrophe, lookup, skeleton};
use super::tables;

/// Steps 1-4 for one character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharFold {
    /// Kept as it is (always for ASCII).
    Same,
    /// Dropped (invisible, or a mark).
    Drop,
    /// Replaced by a non-empty string.
    Map(&'static str),
    /// A Hangul syllable: its conjoining jamo (2 or 3).
    Hangul([char; 3], usize),
}

const HANGUL_FIRST: u32 = 0xAC00;
const HANGUL_LAST: u32 = 0xD7A3;

fn in_drop(c: char) -> bool {
    chars::in_ranges(tables::FOLD_DROP, c)
}

/// Steps 1-4 of the fold for one character.
#[inline]
pub fn fold_char(c: char) -> CharFold {
    if c.is_ascii() {
        return CharFold::Same;
    }
    let cp = c as u32;
    if (HANGUL_FIRST..=HANGUL_LAST).contains(&cp) {
        // Unicode §3.12: a syllable is a leading consonant, a vowel and an optional trailing consonant
        let s = cp - HANGUL_FIRST;
        let l = char::from_u32(0x1100 + s / 588).unwrap_or(c);
        let v = char::from_u32(0x1161 + (s % 588) / 28).unwrap_or(c);
        return match s % 28 {
            0 => CharFold::Hangul([l, v, v], 2),
            t => CharFold::Hangul([l, v, char::from_u32(0x11A7 + t).unwrap_or(c)], 3),
        };
    }
    if in_drop(c) {
        return CharFold::Drop;
    }
    match lookup(tables::FOLD_MAP, c) {
        Some(s) => CharFold::Map(s),
        None => CharFold::Same,
    }
}

impl CharFold {
    /// Appends the folded form of `c` to `out`; returns how many characters it has.
    #[inline]
    fn push(self, c: char, out: &mut Vec<char>) -> usize {
        match self {
            CharFold::Same => {
                out.push(c);
                1
            }
            CharFold::Drop => 0,
            CharFold::Map(s) => {
                let before = out.len();
                out.extend(s.chars());
                out.len() - before
            }
            CharFold::Hangul(jamo, n) => {
                out.extend_from_slice(&jamo[..n]);
                n
            }
        }
    }

    /// The folded form as a single character, when it is one.
    fn single(self, c: char) -> Option<char> {
        match self {
            CharFold::Same => Some(c),
            CharFold::Map(s) => {
                let mut it = s.chars();
                match (it.next(), it.next()) {
                    (Some(x), None) => Some(x),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

/// A text the fold changed: its characters and, for each, the index of the original character it came from
/// (`None` when every character kept its place, so folded offsets are original offsets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folded {
    pub chars: Vec<char>,
    pub source: Option<Vec<usize>>,
}

/// Folds `text`: `None` when nothing changed (always for ASCII text), else the folded characters and their map.
pub fn fold(text: &str) -> Option<Folded> {
    if text.is_ascii() {
        return None;
    }
    let mut chars: Vec<char> = Vec::with_capacity(text.len());
    let mut source: Vec<usize> = Vec::with_capacity(text.len());
    let mut changed = false;
    let mut resized = false;
    let mut has_skeleton = false;
    for (i, c) in text.chars().enumerate() {
        let f = fold_char(c);
        if f != CharFold::Same {
            changed = true;
        }
        if !c.is_ascii() && (skeleton(c).is_some() || f.single(c).and_then(skeleton).is_some()) {
            has_skeleton = true;
        }
        let n = f.push(c, &mut chars);
        if n != 1 {
            resized = true;
        }
        source.extend(std::iter::repeat_n(i, n));
    }
    if !changed && !has_skeleton {
        return None;
    }
    let mut source = if resized { Some(source) } else { None };
    if has_skeleton && !chars.iter().all(char::is_ascii) {
        skeletons(&mut chars, &mut source);
    }
    if chars.iter().copied().eq(text.chars()) {
        return None;
    }
    Some(Folded { chars, source })
}

/// Step 5: in every maximal run of letters/digits with a letter that has a skeleton, when every other non-ASCII
/// character of the run has one too (or is the modifier-letter apostrophe ʼ, a letter the tokenizer reads as `'`),
/// replace each by it (a run with any other non-ASCII character is a real word of another script and stays). `source` (`None`: the identity) is kept in step when a skeleton is wider than one character.
fn skeletons(chars: &mut Vec<char>, source: &mut Option<Vec<usize>>) {
    let n = chars.len();
    let mut out: Vec<char> = Vec::with_capacity(n + 8);
    let mut map: Option<Vec<usize>> = None;
    let mut i = 0;
    let mut copied = 0; // chars[..copied] are in `out`
    while i < n {
        if !is_alnum(chars[i]) {
            i += 1;
            continue;
        }
        let a = i;
        let mut mapped = false; // a character has a skeleton
        let mut qualifies = true; // every non-ASCII character has one (or is the apostrophe letter ʼ)
        while i < n && is_alnum(chars[i]) {
            let c = chars[i];
            if !c.is_ascii() {
                if skeleton(c).is_some() {
                    mapped = true;
                } else if !is_apostrophe(c) {
                    qualifies = false;
                }
            }
            i += 1;
        }
        if !mapped || !qualifies {
            continue; // nothing to map ("donʼt"), or a letter with no lookalike: a real word of another script
        }
        // the run a..i is replaced
        if map.is_none() {
            map = Some(match source {
                Some(s) => s[..copied].to_vec(),
                None => (0..copied).collect(),
            });
        }
        let m = map.as_mut().expect("set above");
        out.extend_from_slice(&chars[copied..a]);
        for k in copied..a {
            m.push(source.as_ref().map_or(k, |s| s[k]));
        }
        for k in a..i {
            let c = chars[k];
            let from = source.as_ref().map_or(k, |s| s[k]);
            match skeleton(c) {
                Some(s) => {
                    for x in s.chars() {
                        out.push(x);
                        m.push(from);
                    }
                }
                None => {
                    out.push(c);
                    m.push(from);
                }
            }
        }
        copied = i;
    }
    let Some(mut m) = map else { return };
    out.extend_from_slice(&chars[copied..]);
    for k in copied..n {
        m.push(source.as_ref().map_or(k, |s| s[k]));
    }
    let identity = m.len() == out.len() && source.is_none() && m.iter().enumerate().all(|(k, &v)| k == v);
    *chars = out;
    *source = if identity { None } else { Some(m) };
}
