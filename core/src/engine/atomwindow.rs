//! A bounded regex run only around its atoms' hits (YARA style), not over the whole turn.
//!
//! The scan marks a regex due when one of its atoms occurs in the normalized text; most turns then have a few atom
//! hits in a long text (the birth-date pattern's year atoms `190`…`202` hit phone numbers and prices). When the
//! regex's matches are at most `L` bytes long, the search can be confined to the bytes around the hits.
//!
//! **Why nothing is lost or changed.** The compiler's atoms are literals such that *every match contains one of
//! them* (`trace_engine/compile/atoms.py`), and the atom automaton reports every occurrence of every atom (an
//! overlapping search). So a match `[s, e)` contains an atom hit `[a, b)`, and with `e - s <= L`:
//! `s >= b - L` and `e <= a + L`. Every match therefore lies inside the window `[b - L, a + L)` of one of the hits,
//! hence inside one of the merged windows (windows that overlap or touch are merged, so merged windows are
//! disjoint and every match lies in exactly one).
//! - Searching a window `[x, y)` finds, at each start inside it, the same match as the whole-text search: all the
//!   whole text's candidate matches at a start in the window lie in that window, so cutting the haystack at `y`
//!   removes none of them, and the leftmost-first preference among the same candidates chooses the same one.
//!   Between two windows there is no match at all, so the window-by-window search, resumed after each match as
//!   `find_iter` resumes, yields the same sequence of matches as `find_iter` over the whole text.
//! - Look-around. The search starts with `find_at`, which reads the text before the start (`\b`, `^`). The haystack
//!   is cut at `y`, so what the regex sees after `y` is the end of the text: `y` is moved forward to the next space
//!   (or the end of the text), where a word boundary reads a non-word character either way, and a regex with an end
//!   anchor (`$`, `\z`, multi-line `$`) is never windowed. Windows start on a character boundary (moved back).
//!
//! Only regexes that are bounded and never match empty are windowed (the others run over the whole turn, as a
//! stream's unbounded regexes do). `window_search_equals_the_whole_search` below checks all of this against
//! `find_iter` on random texts.

use regex::Regex;

/// Whether a regex with this syntax tree may be searched around its atoms: its matches have a maximum length and
/// are never empty, and it reads nothing after a match but the next character (no end anchor). The longest match.
pub fn window_len(hir: &regex_syntax::hir::Hir) -> Option<usize> {
    use regex_syntax::hir::Look;
    let props = hir.properties();
    let looks = props.look_set();
    let reads_the_end = looks.contains(Look::End) || looks.contains(Look::EndLF) || looks.contains(Look::EndCRLF);
    if reads_the_end || props.minimum_len().is_none_or(|n| n == 0) {
        return None;
    }
    props.maximum_len()
}

/// The windows around atom hits `(end, atom length)` for matches of at most `max_len` bytes in `text`: sorted,
/// merged and disjoint, each ending at a space or the end of the text, each starting on a character boundary.
pub fn windows(text: &str, max_len: usize, hits: impl Iterator<Item = (usize, usize)>, out: &mut Vec<(usize, usize)>) {
    let b = text.as_bytes();
    let n = b.len();
    out.clear();
    for (end, len) in hits {
        let mut x = end.saturating_sub(max_len);
        while !text.is_char_boundary(x) {
            x -= 1;
        }
        let mut y = (end.saturating_sub(len) + max_len).min(n);
        while y < n && b[y] != b' ' {
            y += 1;
        }
        out.push((x, y));
    }
    out.sort_unstable();
    let mut w = 0;
    for i in 0..out.len() {
        if w > 0 && out[i].0 <= out[w - 1].1 {
            out[w - 1].1 = out[w - 1].1.max(out[i].1);
        } else {
            out[w] = out[i];
            w += 1;
        }
    }
    out.truncate(w);
}

/// The matches of `regex` inside `windows` (see [`windows`]), in order, as `find_iter` over the whole text gives
/// them (empty matches are never there: only regexes that never match empty are windowed).
pub fn find_in_windows(regex: &Regex, text: &str, windows: &[(usize, usize)], mut emit: impl FnMut(usize, usize)) {
    for &(x, y) in windows {
        let hay = &text[..y];
        let mut at = x;
        while let Some(m) = regex.find_at(hay, at) {
            if m.end() <= m.start() {
                break; // cannot happen (never empty); a guard against looping
            }
            emit(m.start(), m.end());
            at = m.end();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aho_corasick::{AhoCorasick, MatchKind};

    fn check(pattern: &str, atoms: &[&str], alphabet: &[&str], seed: u64, rounds: usize) -> (usize, usize) {
        let regex = Regex::new(pattern).unwrap();
        let hir = regex_syntax::parse(pattern).unwrap();
        let max_len = window_len(&hir).expect("windowable");
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(atoms)
            .unwrap();
        let mut state = seed;
        let (mut found, mut windowed) = (0, 0);
        let mut wins = Vec::new();
        for _ in 0..rounds {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut r = state;
            let mut text = String::new();
            for k in 0..(state % 30) as usize {
                r = r.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                if k > 0 && (r >> 62) != 0 {
                    text.push(' ');
                }
                text.push_str(alphabet[(r >> 33) as usize % alphabet.len()]);
            }
            let whole: Vec<(usize, usize)> = regex.find_iter(&text).map(|m| (m.start(), m.end())).collect();
            let hits: Vec<(usize, usize)> = ac.find_overlapping_iter(&text).map(|m| (m.end(), m.len())).collect();
            windows(&text, max_len, hits.iter().copied(), &mut wins);
            let mut got = Vec::new();
            find_in_windows(&regex, &text, &wins, |s, e| got.push((s, e)));
            assert_eq!(got, whole, "{pattern:?} in {text:?}, windows {wins:?}");
            found += whole.len();
            windowed += usize::from(!hits.is_empty() && wins.iter().map(|w| w.1 - w.0).sum::<usize>() < text.len());
        }
        (found, windowed)
    }

    #[test]
    fn window_search_equals_the_whole_search() {
        // the birth-date pattern of the HIPAA pack, and its atoms (the year's first three digits)
        let years = "190|191|192|193|194|195|196|197|198|199|200|201|202";
        let day = "(?:0?[1-9]|[12][0-9]|3[01])";
        let birth = format!(r"\b(?:{day} {day} (?:{years})[0-9]|(?:{years})[0-9] (?:0?[1-9]|1[0-2]) {day})\b");
        let atoms: Vec<&str> = years.split('|').collect();
        let digits = [
            "1",
            "12",
            "3",
            "03",
            "31",
            "1980",
            "2001",
            "2029",
            "1999",
            "199",
            "200",
            "415",
            "555",
            "0198",
            "19",
            "20",
            "2",
            "0",
            "x",
            "is",
            "born",
            "on",
            "\u{e9}t\u{e9}",
            "12a",
            "a12",
            "-",
            "/",
        ];
        let (found, windowed) = check(&birth, &atoms, &digits, 0x9e37_79b9_7f4a_7c15, 40_000);
        assert!(found > 1_000 && windowed > 1_000, "found {found}, windowed {windowed}");
        // word boundaries inside, a start anchor, alternatives of different lengths sharing an atom
        let (found, _) = check(
            r"(?:^|\b)call (?:me|us)(?: back)?\b",
            &["call"],
            &["call", "me", "us", "back", "callme", "x", "recall", "backs", "."],
            7,
            40_000,
        );
        assert!(found > 1_000, "found {found}");
        let (found, _) = check(
            r"\Bab[0-9]{1,3}c?",
            &["ab"],
            &["ab", "xab", "1", "22", "c", "cc", " ", "ab1c"],
            11,
            40_000,
        );
        assert!(found > 1_000, "found {found}");
    }

    #[test]
    fn only_bounded_regexes_without_an_end_anchor_are_windowed() {
        let len = |p: &str| window_len(&regex_syntax::parse(p).unwrap());
        assert_eq!(len(r"\babc\b"), Some(3));
        assert_eq!(len(r"^abc"), Some(3));
        assert_eq!(len(r"abc$"), None);
        assert_eq!(len(r"(?m)abc$"), None);
        assert_eq!(len(r"abc\z"), None);
        assert_eq!(len(r"abc[0-9]+"), None);
        assert_eq!(len(r"(?:abc)?"), None);
    }
}
