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
            // bytes drawn from a small alphabet (zero, space, quote, digits, letters) so equal bytes are common
            let bytes: Vec<u8> = (0..8)
                .map(|k| b"\0 \"09az\x7f"[((seed >> (k * 8)) % 8) as usize])
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
        }
    }
}
