//! Character classes exactly as Python's `str` methods and `re` classes see them (Unicode 14.0 of CPython 3.11,
//! from the generated [`tables`](super::tables)): ASCII is decided inline, everything else by binary search.

use super::tables;

#[inline]
pub(crate) fn in_ranges(table: &[(u32, u32)], c: char) -> bool {
    let cp = c as u32;
    table
        .binary_search_by(|&(lo, hi)| {
            if hi < cp {
                std::cmp::Ordering::Less
            } else if lo > cp {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

#[inline]
pub(crate) fn lookup(table: &'static [(u32, &'static str)], c: char) -> Option<&'static str> {
    let cp = c as u32;
    table.binary_search_by_key(&cp, |&(k, _)| k).ok().map(|i| table[i].1)
}

/// `str.isalnum()`: Python's `\w` without `_` (`[^\W_]`).
#[inline]
pub fn is_alnum(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric()
    } else {
        in_ranges(tables::ALNUM, c)
    }
}

/// `str.isalpha()`.
#[inline]
pub fn is_alpha(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphabetic()
    } else {
        in_ranges(tables::ALPHA, c)
    }
}

/// `str.isdigit()` (superscripts and other digits too, not only decimal ones).
#[inline]
pub fn is_digit(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_digit()
    } else {
        in_ranges(tables::DIGIT, c)
    }
}

/// `str.isdecimal()`: Python's `\d`.
#[inline]
pub fn is_decimal(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_digit()
    } else {
        in_ranges(tables::DECIMAL, c)
    }
}

/// `str.isspace()`: Python's `\s` (ASCII: `\t \n \v \f \r`, the separators `\x1c`-`\x1f` and the space).
#[inline]
pub fn is_space(c: char) -> bool {
    if c.is_ascii() {
        matches!(c, '\t'..='\r' | '\x1c'..='\x1f' | ' ')
    } else {
        in_ranges(tables::SPACE, c)
    }
}

/// Python's `[^\S\n]`: whitespace other than a newline.
#[inline]
pub fn is_inline_space(c: char) -> bool {
    c != '\n' && is_space(c)
}

/// The typographic apostrophes the tokenizer reads as `'` (and `'` itself).
#[inline]
pub fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{2018}' | '\u{2bc}')
}

/// Appends `str.casefold()` of `c`.
#[inline]
pub fn push_casefold(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
    } else if let Some(s) = lookup(tables::CASEFOLD, c) {
        out.push_str(s);
    } else {
        out.push(c);
    }
}

/// `s.casefold()`.
pub fn casefold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        push_casefold(c, &mut out);
    }
    out
}

/// The UTS #39 skeleton of a non-ASCII letter, if it has one.
#[inline]
pub fn skeleton(c: char) -> Option<&'static str> {
    if c.is_ascii() {
        None
    } else {
        lookup(tables::SKELETON, c)
    }
}
