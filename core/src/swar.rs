//! Eight bytes at a time ("SWAR"): byte tests on a `u64` read little-endian, one flag (the high bit) per byte, so the
//! lowest flag set is the first byte in the text. The scanners that skip ahead over text nothing can start in (JSON
//! strings, digit counts, the word automaton, the regex atoms) share these.

/// `0x01` in every byte.
pub const ONES: u64 = 0x0101_0101_0101_0101;
/// `0x80` in every byte: where the tests below put their flags.
pub const HIGH: u64 = ONES << 7;

/// The eight bytes of `eight` (exactly eight long), little-endian.
#[inline(always)]
pub fn load(eight: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(eight);
    u64::from_le_bytes(word)
}

/// A flag on each byte of `x` that is zero. The first zero byte is always flagged and no byte before it is; a byte
/// just above a zero byte may be flagged too (the borrow), so use it for "any" and "first", not for counting.
#[inline(always)]
pub fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(ONES) & !x & HIGH
}

/// A flag on each byte of `x` that equals `b` (as [`zero_bytes`]: exact for "any" and "first").
#[inline(always)]
pub fn bytes_equal(x: u64, b: u8) -> u64 {
    zero_bytes(x ^ (ONES * b as u64))
}

/// A flag on each byte of `x` that is strictly between `m` and `n` (ASCII bytes only; `m < 128`, `n <= 128`): no
/// carry or borrow crosses a byte, so every byte is tested exactly and the flags can be counted (the "has between"
/// bit hack).
#[inline(always)]
pub fn bytes_between(x: u64, m: u8, n: u8) -> u64 {
    let low7 = x & (ONES * 127);
    ((ONES * (127 + n as u64)).wrapping_sub(low7) & !x & low7.wrapping_add(ONES * (127 - m as u64))) & HIGH
}

/// The bytes of `bytes` (at most eight; more is a programming error), little-endian, zero past its end: a short tail
/// read as one word (a zero byte is none of the bytes these tests look for, so its flags need no mask).
#[inline(always)]
pub fn load_tail(bytes: &[u8]) -> u64 {
    // two overlapping loads of fixed size (a copy of variable length is a call to `memcpy`): the bytes both read
    // are the same, so or-ing them is exact
    let n = bytes.len();
    let at = |k: usize| u64::from(bytes[k]);
    if n >= 4 {
        let four = |k: usize| u64::from(u32::from_le_bytes([bytes[k], bytes[k + 1], bytes[k + 2], bytes[k + 3]]));
        four(0) | four(n - 4) << (8 * (n - 4))
    } else if n > 0 {
        at(0) | at(n / 2) << (8 * (n / 2)) | at(n - 1) << (8 * (n - 1))
    } else {
        0
    }
}

/// The first eight bytes of `bytes`, little-endian; fewer when it is shorter, zero past its end ([`load_tail`]).
#[inline(always)]
pub fn load_first(bytes: &[u8]) -> u64 {
    match bytes.get(..8) {
        Some(eight) => load(eight),
        None => load_tail(bytes),
    }
}

/// How many bytes `flags` flags (exact for [`bytes_between`]'s flags): each flag moved to its byte's lowest bit and
/// all eight summed into the top byte by one multiplication (no `popcnt` in the baseline x86-64 the wheels target).
#[inline(always)]
pub fn count_flags(flags: u64) -> usize {
    ((flags >> 7).wrapping_mul(ONES) >> 56) as usize
}

/// A flag on each byte of `x` that Python's `str.isspace` holds for: `\t` to `\r`, `\x1c` to `\x1f` and the space
/// (exact, as [`bytes_between`]: ASCII bytes only).
#[inline(always)]
pub fn py_space_bytes(x: u64) -> u64 {
    bytes_between(x, b'\t' - 1, b'\r' + 1) | bytes_between(x, 0x1b, b' ' + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_match_a_byte_at_a_time() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            // bytes drawn from a small alphabet (zero, space, quote, digits, letters, the edges of the whitespace
            // ranges) so equal bytes are common
            let bytes: Vec<u8> = (0..8)
                .map(|k| b"\0 \"09az\x7f\t\r\x0b\x1c\x1f\x08\x0e\x1b!"[((seed >> (k * 8)) % 16) as usize])
                .collect();
            let x = load(&bytes);
            let first = |flags: u64| (flags.trailing_zeros() / 8) as usize;
            assert_eq!(
                first(bytes_equal(x, b' ')),
                bytes.iter().position(|&c| c == b' ').unwrap_or(8)
            );
            assert_eq!(first(zero_bytes(x)), bytes.iter().position(|&c| c == 0).unwrap_or(8));
            let digits = bytes_between(x, b'0' - 1, b'9' + 1);
            assert_eq!(
                digits.count_ones() as usize,
                bytes.iter().filter(|c| c.is_ascii_digit()).count()
            );
            assert_eq!(count_flags(digits), digits.count_ones() as usize);
            let spaces = py_space_bytes(x);
            for (k, &c) in bytes.iter().enumerate() {
                let want = matches!(c, b'\t'..=b'\r' | 0x1c..=0x1f | b' ');
                assert_eq!(spaces >> (k * 8 + 7) & 1 == 1, want, "{c:#x}");
            }
            let n = (seed >> 60) as usize % 9;
            assert_eq!(
                load_tail(&bytes[..n]),
                load(&bytes) & (u64::MAX.checked_shr(64 - 8 * n as u32).unwrap_or(0))
            );
            assert_eq!(load_first(&bytes[..n]), load_tail(&bytes[..n]));
            assert_eq!(load_first(&[&bytes[..], b"xyz"].concat()), load(&bytes));
        }
    }
}
