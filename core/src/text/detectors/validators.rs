//! Checksums and formats of the numeric identifiers (exposed to Python as `trace_engine.text.luhn_ok`…), and the
//! checks by which a detector rejects a candidate ([`Check`], defined once here: `trace explain`'s
//! `validator_rejected` events and docs/explain.md read [`CHECKS`]).

use super::Kind;

/// Why a detector said no to a candidate it had found (a validator, a grouping or a context rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Check {
    Luhn,
    Timestamp,
    Grouping,
    SsnArea,
    SsnGroup,
    SsnSerial,
    SsnKnownFake,
    RoutingNumber,
    OtherIdentifier,
    AbaPrefix,
    AbaChecksum,
    CountryCode,
    NanpArea,
    NanpExchange,
    NanpN11,
    MbiFormat,
    EmailDomain,
    EmailLocal,
    Exempt,
    MoreSpecific,
}

/// Every check: (check, name, what a rejection by it means), in declaration order.
pub const CHECKS: &[(Check, &str, &str)] = &[
    (
        Check::Luhn,
        "luhn",
        "a run of 13 or more digits, but no 13–19-digit window of whole tokens passes the Luhn checksum",
    ),
    (
        Check::Timestamp,
        "timestamp",
        "Luhn-valid, but written as a compact date and time (YYYYMMDDhhmmss)",
    ),
    (
        Check::Grouping,
        "grouping",
        "written digits grouped unlike this identifier (an SSN is 3-2-4, a phone 3-3-4…)",
    ),
    (
        Check::SsnArea,
        "ssn_area",
        "the SSN's area (first 3 digits) is 000, 666 or 900–999, never issued",
    ),
    (
        Check::SsnGroup,
        "ssn_group",
        "the SSN's group (digits 4–5) is 00, never issued",
    ),
    (
        Check::SsnSerial,
        "ssn_serial",
        "the SSN's serial (last 4 digits) is 0000, never issued",
    ),
    (
        Check::SsnKnownFake,
        "ssn_known_fake",
        "a well-known sample SSN (078-05-1120, 219-09-9999)",
    ),
    (
        Check::RoutingNumber,
        "routing_number",
        "a valid ABA routing number introduced as one (\"routing\", \"aba\" before it)",
    ),
    (
        Check::OtherIdentifier,
        "other_identifier",
        "introduced as another identifier (\"claim\", \"order\", \"policy\"… before it)",
    ),
    (
        Check::AbaPrefix,
        "aba_prefix",
        "the first two digits are not a Federal Reserve routing prefix (00–12, 21–32, 61–72, 80)",
    ),
    (Check::AbaChecksum, "aba_checksum", "the ABA routing checksum fails"),
    (
        Check::CountryCode,
        "country_code",
        "11 digits that do not start with the country code 1",
    ),
    (Check::NanpArea, "nanp_area", "the area code does not start with 2–9"),
    (
        Check::NanpExchange,
        "nanp_exchange",
        "the exchange (digits 4–6) does not start with 2–9",
    ),
    (
        Check::NanpN11,
        "nanp_n11",
        "the area code is an N11 service code (211, 411, 911…)",
    ),
    (
        Check::MbiFormat,
        "mbi_format",
        "letters and digits of 11 or more characters, but no 11-character window has the MBI format",
    ),
    (
        Check::EmailDomain,
        "email_domain",
        "an `at` with no domain after it that ends in a known top-level domain",
    ),
    (
        Check::EmailLocal,
        "email_local",
        "an `at` and a domain, but no local part before it (none, or a function word: \"me\", \"us\"…)",
    ),
    (
        Check::Exempt,
        "exempt",
        "an exempt value (the call's own numbers, e.g. `callback_numbers`)",
    ),
    (
        Check::MoreSpecific,
        "more_specific",
        "the same words are a finding of a more specific detector (one finding per value)",
    ),
];

impl Check {
    /// The check's name (an entry of [`CHECKS`]).
    pub fn name(self) -> &'static str {
        CHECKS[self as usize].1
    }
}

/// A candidate a detector rejected: `start..end` are characters of the ORIGINAL text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rejection {
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
    pub check: Check,
}

const LUHN_DOUBLE: [u32; 10] = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9];

#[inline]
fn ascii_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// The Luhn value of digit `d` at a doubled position.
#[inline]
pub(crate) fn luhn_double(d: u32) -> u32 {
    LUHN_DOUBLE[d as usize]
}

/// Luhn checksum over an ASCII digit string (false for anything else or fewer than 2 digits).
pub fn luhn_ok(digits: &str) -> bool {
    if digits.len() < 2 || !ascii_digits(digits) {
        return false;
    }
    let total: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(k, b)| {
            let d = (b - b'0') as u32;
            if k & 1 == 1 {
                luhn_double(d)
            } else {
                d
            }
        })
        .sum();
    total.is_multiple_of(10)
}

/// A 9-digit SSN: area not 000/666/9xx, group not 00, serial not 0000, not a well-known fake.
pub fn ssn_ok(d: &str) -> bool {
    ssn_check(d).is_ok()
}

/// [`ssn_ok`], saying which rule fails (anything but 9 ASCII digits fails on the area).
#[inline]
pub fn ssn_check(d: &str) -> Result<(), Check> {
    if d.len() != 9 || !ascii_digits(d) {
        return Err(Check::SsnArea);
    }
    let (area, group, serial) = (&d[..3], &d[3..5], &d[5..]);
    if area == "000" || area == "666" || area.starts_with('9') {
        return Err(Check::SsnArea);
    }
    if group == "00" {
        return Err(Check::SsnGroup);
    }
    if serial == "0000" {
        return Err(Check::SsnSerial);
    }
    if d == "078051120" || d == "219099999" {
        return Err(Check::SsnKnownFake);
    }
    Ok(())
}

/// A 10-digit NANP number: area NXX and exchange NXX with N = 2–9; area code not N11 (911, 411, …).
pub fn nanp_ok(d10: &str) -> bool {
    nanp_check(d10).is_ok()
}

/// [`nanp_ok`], saying which rule fails (anything but 10 ASCII digits fails on the area).
#[inline]
pub fn nanp_check(d10: &str) -> Result<(), Check> {
    if d10.len() != 10 || !ascii_digits(d10) {
        return Err(Check::NanpArea);
    }
    let b = d10.as_bytes();
    if b[0] < b'2' {
        return Err(Check::NanpArea);
    }
    if b[3] < b'2' {
        return Err(Check::NanpExchange);
    }
    if &d10[1..3] == "11" {
        return Err(Check::NanpN11);
    }
    Ok(())
}

/// ABA routing number: 9 digits, 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10), valid prefix.
pub fn aba_ok(d9: &str) -> bool {
    aba_check(d9).is_ok()
}

/// [`aba_ok`], saying which rule fails (anything but 9 ASCII digits fails on the prefix).
#[inline]
pub fn aba_check(d9: &str) -> Result<(), Check> {
    if d9.len() != 9 || !ascii_digits(d9) {
        return Err(Check::AbaPrefix);
    }
    let v: Vec<u32> = d9.bytes().map(|b| (b - b'0') as u32).collect();
    let p = v[0] * 10 + v[1];
    if !(p <= 12 || (21..=32).contains(&p) || (61..=72).contains(&p) || p == 80) {
        return Err(Check::AbaPrefix);
    }
    let s = 3 * (v[0] + v[3] + v[6]) + 7 * (v[1] + v[4] + v[7]) + (v[2] + v[5] + v[8]);
    if s.is_multiple_of(10) {
        Ok(())
    } else {
        Err(Check::AbaChecksum)
    }
}

/// Letters an MBI may use (no S, L, O, I, B, Z).
#[inline]
fn mbi_letter(c: u8) -> bool {
    matches!(c, b'A' | b'C'..=b'H' | b'J' | b'K' | b'M' | b'N' | b'P'..=b'R' | b'T'..=b'Y')
}

/// `[1-9][A][A0-9][0-9][A][A0-9][0-9][A][A][0-9][0-9]` over 11 upper-case ASCII bytes.
pub(crate) fn mbi_shape(s: &[u8]) -> bool {
    s.len() == 11
        && (b'1'..=b'9').contains(&s[0])
        && s.iter().enumerate().skip(1).all(|(i, &c)| match i {
            1 | 4 | 7 | 8 => mbi_letter(c),
            2 | 5 => mbi_letter(c) || c.is_ascii_digit(),
            _ => c.is_ascii_digit(),
        })
}

/// Medicare Beneficiary Identifier format (11 characters, separators not allowed; case-insensitive).
pub fn mbi_ok(s: &str) -> bool {
    s.len() == 11 && s.is_ascii() && mbi_shape(s.to_ascii_uppercase().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validators() {
        assert!(luhn_ok("4111111111111111") && !luhn_ok("4111111111111112") && !luhn_ok("4"));
        assert!(ssn_ok("078051121") && !ssn_ok("078051120") && !ssn_ok("900123456"));
        assert!(nanp_ok("4155550198") && !nanp_ok("4115550198") && !nanp_ok("1155550198"));
        assert!(aba_ok("021000021") && !aba_ok("021000022") && !aba_ok("991000021"));
        assert!(mbi_ok("1EG4TE5MK73") && mbi_ok("1eg4te5mk73") && !mbi_ok("1EG4TE5MK7") && !mbi_ok("1SG4TE5MK73"));
    }

    #[test]
    fn checks_say_which_rule_failed() {
        assert_eq!(ssn_check("000123456"), Err(Check::SsnArea));
        assert_eq!(ssn_check("123006789"), Err(Check::SsnGroup));
        assert_eq!(ssn_check("123450000"), Err(Check::SsnSerial));
        assert_eq!(ssn_check("078051120"), Err(Check::SsnKnownFake));
        assert_eq!(nanp_check("1155550198"), Err(Check::NanpArea));
        assert_eq!(nanp_check("4151550198"), Err(Check::NanpExchange));
        assert_eq!(nanp_check("4115550198"), Err(Check::NanpN11));
        assert_eq!(aba_check("991000021"), Err(Check::AbaPrefix));
        assert_eq!(aba_check("021000022"), Err(Check::AbaChecksum));
        for (i, (c, _, _)) in CHECKS.iter().enumerate() {
            assert_eq!(*c as usize, i);
        }
    }
}
