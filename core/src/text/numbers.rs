//! Number words over the item stream (the Rust twin of `trace_engine/text/numbers.py`; its docstring states the
//! rules): fillers out, digit words and written digit groups merged into digit runs, ``oh`` a zero only inside a
//! run, ``double five`` → ``55``, compounds (``two thousand twenty four`` → ``2024``) their own token.

use std::fmt::Write;

use super::items::{Item, Items, GAP_HYPHEN, GAP_WS, K_DIGITS, K_WORD};
use super::words::{is_compound_word, is_filler, is_multiplier, is_number_pass_word, is_small, is_zero_word};
use super::words::{repeater, scale, teen, tens, unit, HUNDRED};

/// Whether [`convert_numbers`] can change anything: some item is a number word, ``oh``/``o``, a repeater or a
/// filler (written digit groups never merge with each other).
pub(crate) fn needs_number_pass(items: &Items) -> bool {
    items.v.iter().any(|it| is_number_pass_word(items.text(it)))
}

/// If `items[i]` starts a digit item, appends its digits to `out` and returns `(next index, is a zero word)`.
fn digit_item(items: &Items, v: &[Item], i: usize, out: &mut String) -> Option<(usize, bool)> {
    let it = &v[i];
    let t = items.text(it);
    if it.kind == K_DIGITS {
        out.push_str(t);
        return Some((i + 1, false));
    }
    if it.kind != K_WORD {
        return None;
    }
    if let Some(d) = unit(t) {
        if let Some(nxt) = v.get(i + 1) {
            if nxt.kind == K_WORD && nxt.gap <= GAP_HYPHEN && is_multiplier(items.text(nxt)) {
                return None; // "five hundred": a compound
            }
        }
        let _ = write!(out, "{d}");
        return Some((i + 1, false));
    }
    if is_zero_word(t) {
        out.push('0');
        return Some((i + 1, true));
    }
    if let (Some(r), Some(nxt)) = (repeater(t), v.get(i + 1)) {
        if nxt.gap == GAP_WS {
            let nt = items.text(nxt);
            if nxt.kind == K_WORD {
                let d = unit(nt).or_else(|| is_zero_word(nt).then_some(0));
                if let Some(d) = d {
                    for _ in 0..r {
                        let _ = write!(out, "{d}");
                    }
                    return Some((i + 2, false));
                }
            } else if nxt.kind == K_DIGITS && nt.len() == 1 {
                for _ in 0..r {
                    out.push_str(nt);
                }
                return Some((i + 2, false));
            }
        }
    }
    None
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Last {
    Start,
    Unit,
    Teen,
    Tens,
    Hundred,
    Scale,
    And,
}

/// A compound number starting at `v[i]`: `(value, index after its last word)`.
fn parse_compound(items: &Items, v: &[Item], i: usize) -> (u64, usize) {
    let n = v.len();
    let mut total: u64 = 0;
    let mut cur: u64 = 0;
    let mut last = Last::Start;
    let mut last_scale: u64 = 1_000_000_000_000_000_000;
    let mut j = i;
    let mut end = i;
    let opens = |l: Last| matches!(l, Last::Start | Last::Hundred | Last::Scale | Last::And);
    while j < n {
        let it = &v[j];
        if it.kind != K_WORD || (j > i && it.gap > GAP_HYPHEN) {
            break;
        }
        let t = items.text(it);
        if let Some(u) = unit(t) {
            if opens(last) || (last == Last::Tens && u != 0) {
                cur += u;
                last = Last::Unit;
            } else {
                break;
            }
        } else if let Some(x) = teen(t) {
            if !opens(last) {
                break;
            }
            cur += x;
            last = Last::Teen;
        } else if let Some(x) = tens(t) {
            if !opens(last) {
                break;
            }
            cur += x;
            last = Last::Tens;
        } else if t == HUNDRED {
            if last == Last::Start {
                cur = 100;
            } else if matches!(last, Last::Unit | Last::Teen | Last::Tens) && 0 < cur && cur < 100 {
                cur *= 100;
            } else {
                break;
            }
            last = Last::Hundred;
        } else if let Some(sv) = scale(t) {
            if sv >= last_scale || last == Last::And {
                break;
            }
            total += if cur != 0 { cur } else { 1 } * sv;
            cur = 0;
            last = Last::Scale;
            last_scale = sv;
        } else if t == "and" {
            if !matches!(last, Last::Hundred | Last::Scale) || j + 1 >= n {
                break;
            }
            let nxt = &v[j + 1];
            if nxt.kind != K_WORD || nxt.gap > GAP_HYPHEN || !is_small(items.text(nxt)) {
                break;
            }
            last = Last::And;
        } else {
            break;
        }
        j += 1;
        if last != Last::And {
            end = j;
        }
    }
    if end == i {
        end = i + 1; // defensive: always consume at least the first word
    }
    (total + cur, end)
}

/// The digits token that replaces the source items spanning `s..e` (spoken or written numbers joined).
fn digits_token(items: &mut Items, digits: &str, s: usize, e: usize) -> Item {
    Item {
        t: items.push_str(digits),
        s,
        e,
        gap: GAP_WS,
        kind: K_DIGITS,
    }
}

/// Drops fillers, converts number words, merges digit runs (the gap of a produced item is not meaningful).
pub(crate) fn convert_numbers(items: &mut Items) {
    // 1. fillers out, carrying the widest gap forward (in place)
    if items.v.iter().any(|it| it.kind == K_WORD && is_filler(items.text(it))) {
        let mut carry: i16 = -1;
        let mut w = 0;
        for r in 0..items.v.len() {
            let mut it = items.v[r];
            if it.kind == K_WORD && is_filler(items.text(&it)) {
                carry = carry.max(it.gap as i16);
                continue;
            }
            if carry >= 0 {
                if carry > it.gap as i16 {
                    it.gap = carry as u8;
                }
                carry = -1;
            }
            items.v[w] = it;
            w += 1;
        }
        items.v.truncate(w);
    }

    // 2. digit runs and compounds
    let cleaned = std::mem::take(&mut items.v);
    let mut out = std::mem::take(&mut items.spare);
    out.clear();
    let n = cleaned.len();
    let mut digits = String::new();
    let mut i = 0;
    while i < n {
        let it = cleaned[i];
        let t = items.text(&it);
        if it.kind == K_DIGITS || (it.kind == K_WORD && is_number_pass_word(t)) {
            digits.clear();
            if let Some((mut j, mut all_zero_words)) = digit_item(items, &cleaned, i, &mut digits) {
                while j < n && cleaned[j].gap == GAP_WS {
                    if cleaned[j].kind == K_DIGITS && cleaned[j - 1].kind == K_DIGITS {
                        break; // two written groups keep their own tokens: "4111 1111"
                    }
                    let Some((next, zero)) = digit_item(items, &cleaned, j, &mut digits) else {
                        break;
                    };
                    all_zero_words = all_zero_words && zero;
                    j = next;
                }
                if all_zero_words {
                    out.extend_from_slice(&cleaned[i..j]); // "oh", "oh oh": not a number
                } else {
                    out.push(digits_token(items, &digits, it.s, cleaned[j - 1].e));
                }
                i = j;
                continue;
            }
            if it.kind == K_WORD && is_compound_word(t) {
                let (value, j) = parse_compound(items, &cleaned, i);
                digits.clear();
                let _ = write!(digits, "{value}");
                out.push(digits_token(items, &digits, it.s, cleaned[j - 1].e));
                i = j;
                continue;
            }
        }
        out.push(it);
        i += 1;
    }
    items.v = out;
    items.spare = cleaned;
}
