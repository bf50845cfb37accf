//! The numeric detectors: `credit_card`, `ssn`, `aba_routing`, `us_phone` (rules: `trace_engine.text.detectors`).

use super::context::{num, pick, pick_greedy, Ctx};
use super::validators::{aba_check, aba_ok, luhn_double, nanp_check, ssn_check, Check};
use super::{Exempt, Hit, Kind};

/// Luhn-valid windows of 13-19 digits of consecutive whole tokens of a digit run; the longest valid window wins,
/// then the leftmost, and chosen windows never overlap. Deliberately no issuer (IIN) prefix table: issuer ranges
/// change (Mastercard's 2-series, 8-digit IINs) and a stale table silently misses real cards, while Luhn plus length
/// is PCI DSS's own guidance for discovering cardholder data.
pub(crate) fn credit_card(cx: &mut Ctx<'_>, exempt: &Exempt) -> Vec<Hit> {
    let mut cands: Vec<(usize, usize, usize, String)> = Vec::new();
    let cx: &Ctx<'_> = cx.digit_runs();
    for &(ri, rj) in cx.runs() {
        let mut luhn_valid = false; // for the trace: some window of the run passed Luhn
        for a in ri..=rj {
            // incremental Luhn: s_even doubles the digits at even left positions, s_odd at odd ones
            let (mut s_even, mut s_odd, mut pos) = (0u32, 0u32, 0usize);
            let mut b = a;
            while b <= rj && pos + cx.tok_len(b) <= 19 {
                for ch in cx.tok(b).bytes() {
                    let d = (ch - b'0') as u32;
                    if pos & 1 == 1 {
                        s_even += d;
                        s_odd += luhn_double(d);
                    } else {
                        s_even += luhn_double(d);
                        s_odd += d;
                    }
                    pos += 1;
                }
                if pos >= 13 {
                    // the rightmost digit is undoubled: for an even-length window the even left positions are
                    // doubled (s_even), for an odd one the odd positions
                    let total = if pos & 1 == 0 { s_even } else { s_odd };
                    if total % 10 == 0 {
                        luhn_valid = true;
                        let digits: String = (a..=b).map(|k| cx.tok(k)).collect();
                        if exempt.contains(&digits) {
                            cx.reject(Kind::CreditCard, a, b, Check::Exempt);
                        } else if pos == 14 && compact_timestamp(cx, a, b, &digits) {
                            cx.reject(Kind::CreditCard, a, b, Check::Timestamp);
                        } else {
                            cands.push((pos, a, b, digits));
                        }
                    }
                }
                b += 1;
            }
        }
        if cx.recording_rejections() && !luhn_valid && (ri..=rj).map(|k| cx.tok(k).len()).sum::<usize>() >= 13 {
            cx.reject(Kind::CreditCard, ri, rj, Check::Luhn);
        }
    }
    let mut hits: Vec<Hit> = pick_greedy(cands)
        .into_iter()
        .map(|(_, a, b, d)| Hit::tokens(Kind::CreditCard, cx.nt, a, b, d))
        .collect();
    hits.sort_by_key(|h| h.start); // stable, as the reference
    hits
}

/// A written `YYYYMMDDhhmmss` (one group, or date and time groups 8 + 6) with a plausible date and time.
fn compact_timestamp(cx: &Ctx<'_>, a: usize, b: usize, digits: &str) -> bool {
    let shape = (b - a, cx.tok(a).len());
    if !(shape == (0, 14) || shape == (1, 8)) || !(a..=b).all(|k| cx.is_written(k)) {
        return false;
    }
    let (year, month, day) = (num(&digits[..4]), num(&digits[4..6]), num(&digits[6..8]));
    let (hour, minute, second) = (num(&digits[8..10]), num(&digits[10..12]), num(&digits[12..]));
    (1800..=2099).contains(&year)
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour < 24
        && minute < 60
        && second < 61
}

/// Words that say the 9 digits after them are a routing number.
const ROUTING_CONTEXT: &[&str] = &["routing", "aba"];
/// Words that say a number is a Social Security number.
const SSN_CONTEXT: &[&str] = &["ssn", "ssns", "social", "ss"];
/// Nouns that introduce a number as some other identifier ("your claim number is 123-45-6789"): such a number is
/// not an SSN.
pub const ID_LABELS: &[&str] = &[
    "claim",
    "order",
    "policy",
    "tracking",
    "member",
    "license",
    "licence",
    "reference",
    "ref",
    "confirmation",
    "account",
    "acct",
    "invoice",
    "case",
    "ticket",
    "booking",
    "reservation",
    "transaction",
    "serial",
    "model",
    "customer",
    "patient",
    "employee",
    "student",
    "record",
    "receipt",
    "group",
    "plan",
    "itinerary",
    "shipment",
    "package",
    "parcel",
    "incident",
    "request",
    "application",
    "loan",
    "contract",
    "subscriber",
    "passport",
    "permit",
    "registration",
    "badge",
    "voucher",
    "coupon",
    "promo",
    "certificate",
    "authorization",
    "authorisation",
    "verification",
    "cancellation",
    "pnr",
    "sku",
    "part",
    "item",
    "product",
    "rx",
    "prescription",
    "medicare",
    "medicaid",
    "insurance",
    "visa",
];
/// How many tokens before a number an identifier label or SSN context word is looked for.
const LABEL_WINDOW: usize = 6;

fn any_before(cx: &Ctx<'_>, i: usize, window: usize, words: &[&str]) -> bool {
    (i.saturating_sub(window)..i).any(|k| words.contains(&cx.tok(k)))
}

/// The number starting at token `i` is introduced as another identifier: an [`ID_LABELS`] noun among the tokens
/// before it and no SSN word among them ("the ssn on the application is …" is an SSN).
fn other_identifier(cx: &Ctx<'_>, i: usize) -> bool {
    !any_before(cx, i, LABEL_WINDOW, SSN_CONTEXT) && any_before(cx, i, LABEL_WINDOW, ID_LABELS)
}

/// A window of exactly 9 digits grouped 3-2-4 or not at all (any grouping after "ssn"/"social"), SSN-valid; not a
/// routing number introduced as one, not a number introduced as another identifier.
pub(crate) fn ssn(cx: &mut Ctx<'_>, exempt: &Exempt) -> Vec<Hit> {
    let cx = cx.nine_digit_windows();
    let mut cands = Vec::new();
    for w in cx.nine() {
        if let Some(g) = &w.grouping {
            if g[..] != [9] && g[..] != [3, 2, 4] && !any_before(cx, w.a, 4, SSN_CONTEXT) {
                cx.reject(Kind::Ssn, w.a, w.b, Check::Grouping);
                continue; // a written 9-digit number grouped unlike an SSN ("1 40 62 05 00")
            }
        }
        match ssn_check(&w.digits) {
            Ok(()) => cands.push((9, w.a, w.b, w.digits.to_string())),
            Err(check) => cx.reject(Kind::Ssn, w.a, w.b, check),
        }
    }
    pick(cands)
        .into_iter()
        .filter(|(_, a, b, d)| {
            let check = if exempt.contains(d) {
                Check::Exempt
            } else if aba_ok(d) && any_before(cx, *a, 3, ROUTING_CONTEXT) {
                Check::RoutingNumber
            } else if other_identifier(cx, *a) {
                Check::OtherIdentifier
            } else {
                return true;
            };
            cx.reject(Kind::Ssn, *a, *b, check);
            false
        })
        .map(|(_, a, b, d)| Hit::tokens(Kind::Ssn, cx.nt, a, b, d))
        .collect()
}

/// A window of exactly 9 digits (written: ungrouped, 4-4-1 or 3-3-3) passing the ABA checksum with a valid prefix.
pub(crate) fn aba_routing(cx: &mut Ctx<'_>, exempt: &Exempt) -> Vec<Hit> {
    let cx = cx.nine_digit_windows();
    let mut cands = Vec::new();
    for w in cx.nine() {
        let grouped = w
            .grouping
            .as_ref()
            .is_none_or(|g| matches!(g[..], [9] | [4, 4, 1] | [3, 3, 3]));
        if !grouped {
            cx.reject(Kind::AbaRouting, w.a, w.b, Check::Grouping);
            continue;
        }
        match aba_check(&w.digits) {
            Ok(()) => cands.push((9, w.a, w.b, w.digits.to_string())),
            Err(check) => cx.reject(Kind::AbaRouting, w.a, w.b, check),
        }
    }
    pick(cands)
        .into_iter()
        .filter(|(_, a, b, d)| {
            let exempted = exempt.contains(d);
            if exempted {
                cx.reject(Kind::AbaRouting, *a, *b, Check::Exempt);
            }
            !exempted
        })
        .map(|(_, a, b, d)| Hit::tokens(Kind::AbaRouting, cx.nt, a, b, d))
        .collect()
}

fn phone_grouping_ok(g: &[u8]) -> bool {
    if g == [11] {
        return true;
    }
    let g = if g[0] == 1 && g.iter().map(|&n| n as usize).sum::<usize>() == 11 {
        &g[1..]
    } else {
        g
    };
    matches!(g, [10] | [3, 3, 4] | [3, 7])
}

/// A window of 10 digits, or 11 starting with the country code 1; NANP-valid. Value: the 10 digits. The hit takes
/// in a leading `+` or an opening parenthesis closed inside it.
pub(crate) fn us_phone(cx: &mut Ctx<'_>, exempt: &Exempt) -> Vec<Hit> {
    let cx = cx.phone_windows();
    let mut cands = Vec::new();
    for w in cx.phones() {
        let d10 = if w.digits.len() == 11 {
            if !w.digits.starts_with('1') {
                cx.reject(Kind::UsPhone, w.a, w.b, Check::CountryCode);
                continue;
            }
            &w.digits[1..]
        } else {
            &w.digits[..]
        };
        if w.grouping.as_ref().is_some_and(|g| !phone_grouping_ok(g)) {
            cx.reject(Kind::UsPhone, w.a, w.b, Check::Grouping);
            continue; // a written number grouped unlike a US phone ("55 5395 4586")
        }
        match nanp_check(d10) {
            Ok(()) => cands.push((w.digits.len(), w.a, w.b, d10.to_string())),
            Err(check) => cx.reject(Kind::UsPhone, w.a, w.b, check),
        }
    }
    let mut hits = Vec::new();
    for (_, a, b, d) in pick(cands) {
        if exempt.contains(&d) {
            cx.reject(Kind::UsPhone, a, b, Check::Exempt);
            continue;
        }
        let (mut start, end) = (cx.fstart(a), cx.fend(b));
        if start > 0 {
            let prev = cx.view.at(start - 1);
            if prev == '+' || (prev == '(' && cx.chars(start, end).any(|c| c == ')')) {
                start -= 1;
            }
        }
        let (start, end) = cx.nt.folded_to_original(start, end);
        hits.push(Hit {
            kind: Kind::UsPhone,
            start,
            end,
            value: d,
        });
    }
    hits
}
