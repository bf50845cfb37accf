//! The `mbi` detector: Medicare Beneficiary Identifier, 11 characters `C A AN N A AN N A A N N`, written
//! (`1EG4-TE5-MK73`) or spelled out ("one e g four t e five m k seven three").

use super::context::Ctx;
use super::validators::{mbi_shape, Check};
use super::{Exempt, Hit, Kind};

/// Single letters, digit tokens (any length: they are split back into characters) and short letter+digit mixes
/// such as "1eg4": at most 11 characters, only lower-case ASCII letters and digits, not letters only. (A token with
/// any other byte, non-ASCII included, is no mix; so the characters are bytes and one pass decides.)
#[inline]
pub(super) fn candidate(tok: &str, is_digits: bool) -> bool {
    if is_digits {
        return true;
    }
    let b = tok.as_bytes();
    if b.len() == 1 {
        return b[0].is_ascii_lowercase();
    }
    if b.len() > 11 {
        return false; // no mix is that long: not worth reading
    }
    let mut digit = false;
    for &c in b {
        if c.is_ascii_digit() {
            digit = true;
        } else if !c.is_ascii_lowercase() {
            return false;
        }
    }
    digit && b.len() <= 11
}

/// Consecutive candidate tokens are concatenated and every 11-character window that starts and ends on a token
/// boundary — or inside a digit token, since spoken digits merge ("seven three" → "73") — is checked.
pub(crate) fn mbi(cx: &mut Ctx<'_>, exempt: &Exempt) -> Vec<Hit> {
    let mut hits = Vec::new();
    if !cx.nt.text.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
        return hits; // an MBI starts with a digit 1-9
    }
    let n = cx.n();
    let flags = &cx.nt.is_digits;
    let mut i = 0;
    while i < n {
        if !candidate(cx.tok(i), flags[i]) {
            i += 1;
            continue;
        }
        let mut j = i;
        let mut size = cx.tok(i).len();
        while j + 1 < n && candidate(cx.tok(j + 1), flags[j + 1]) {
            j += 1;
            size += cx.tok(j).len();
        }
        if size < 11 {
            i = j + 2; // token j + 1 (if any) is no candidate: the run stopped there
            continue;
        }
        // the run i..=j: its characters upper-cased, the token and offset of each, and the allowed boundaries
        let mut chars: Vec<u8> = Vec::with_capacity(size);
        let mut owner: Vec<usize> = Vec::with_capacity(size);
        let mut offset: Vec<usize> = Vec::with_capacity(size);
        let mut boundary: Vec<bool> = Vec::with_capacity(size + 1);
        for t in i..=j {
            let tok = cx.tok(t);
            let split = tok.bytes().all(|b| b.is_ascii_digit());
            for (q, ch) in tok.bytes().enumerate() {
                boundary.push(q == 0 || split);
                chars.push(ch.to_ascii_uppercase());
                owner.push(t);
                offset.push(q);
            }
        }
        boundary.push(true);
        let len = chars.len();
        let found = hits.len();
        let mut exempted = false;
        let mut p = 0;
        while p + 11 <= len {
            if boundary[p] && boundary[p + 11] && mbi_shape(&chars[p..p + 11]) {
                let value = String::from_utf8_lossy(&chars[p..p + 11]).into_owned();
                if exempt.contains(&value) {
                    exempted = true;
                    cx.reject(Kind::Mbi, owner[p], owner[p + 10], Check::Exempt);
                } else {
                    let (ta, tb) = (owner[p], owner[p + 10]);
                    let (mut start, mut end) = (cx.fstart(ta), cx.fend(tb));
                    // exact character offsets when a token is written verbatim in the (folded) text
                    if verbatim(cx, start, cx.fend(ta), cx.tok(ta)) {
                        start += offset[p];
                    }
                    if verbatim(cx, cx.fstart(tb), end, cx.tok(tb)) {
                        end = cx.fstart(tb) + offset[p + 10] + 1;
                    }
                    let (start, end) = cx.nt.folded_to_original(start, end);
                    hits.push(Hit {
                        kind: Kind::Mbi,
                        start,
                        end,
                        value,
                    });
                }
                p += 11;
            } else {
                p += 1;
            }
        }
        if hits.len() == found && !exempted {
            cx.reject(Kind::Mbi, i, j, Check::MbiFormat);
        }
        i = j + 1;
    }
    hits
}

/// `folded[a:b].lower() == tok` for an ASCII token (no non-ASCII character lower-cases to ASCII but the Kelvin
/// sign, which the fold has already made a `K`).
fn verbatim(cx: &Ctx<'_>, a: usize, b: usize, tok: &str) -> bool {
    b.saturating_sub(a) == tok.len()
        && cx
            .chars(a, b)
            .zip(tok.bytes())
            .all(|(c, t)| c.to_ascii_lowercase() == t as char)
}
