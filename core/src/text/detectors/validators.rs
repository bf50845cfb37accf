//! Checksums and formats of the numeric identifiers (exposed to Python as `trace_engine.text.luhn_ok`…).

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
    if d.len() != 9 || !ascii_digits(d) {
        return false;
    }
    let (area, group, serial) = (&d[..3], &d[3..5], &d[5..]);
    if area == "000" || area == "666" || area.starts_with('9') {
        return false;
    }
    if group == "00" || serial == "0000" {
        return false;
    }
    d != "078051120" && d != "219099999"
}

/// A 10-digit NANP number: area NXX and exchange NXX with N = 2–9; area code not N11 (911, 411, …).
pub fn nanp_ok(d10: &str) -> bool {
    if d10.len() != 10 || !ascii_digits(d10) {
        return false;
    }
    let b = d10.as_bytes();
    if b[0] < b'2' || b[3] < b'2' {
        return false;
    }
    &d10[1..3] != "11"
}

/// ABA routing number: 9 digits, 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10), valid prefix.
pub fn aba_ok(d9: &str) -> bool {
    if d9.len() != 9 || !ascii_digits(d9) {
        return false;
    }
    let v: Vec<u32> = d9.bytes().map(|b| (b - b'0') as u32).collect();
    let p = v[0] * 10 + v[1];
    if !(p <= 12 || (21..=32).contains(&p) || (61..=72).contains(&p) || p == 80) {
        return false;
    }
    let s = 3 * (v[0] + v[3] + v[6]) + 7 * (v[1] + v[4] + v[7]) + (v[2] + v[5] + v[8]);
    s.is_multiple_of(10)
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
}
