//! Integer logarithms of block-floating-point values `mant * 2^exp`.
//!
//! `log2` uses the bit-by-bit squaring method (normalise to [1, 2) in Q30, square, and each time the square
//! reaches 2 emit a 1 bit and halve): 16 u64 multiplies per value, no table, error below 2^-15 in log2.

/// Fractional bits of [`ln_q16`]'s result.
pub(crate) const LN_FRAC_BITS: u32 = 16;

/// `ln 2` in Q30.
const LN2_Q30: i64 = 744_261_118;

/// `floor(log2(m) * 2^16)` for `m > 0` (within 1 LSB); 0 for `m == 0`.
fn log2_q16(m: u64) -> i64 {
    if m == 0 {
        return 0;
    }
    let p = 63 - m.leading_zeros() as i32;
    // y in [2^30, 2^31): m / 2^p in Q30.
    let mut y = if p >= 30 {
        m >> (p - 30)
    } else {
        m << (30 - p)
    };
    let mut frac = 0i64;
    for bit in (0..LN_FRAC_BITS).rev() {
        y = (y * y) >> 30;
        if y >= 1 << 31 {
            y >>= 1;
            frac |= 1 << bit;
        }
    }
    ((p as i64) << LN_FRAC_BITS) | frac
}

/// Shifts a non-zero mantissa so its top set bit is bit 61 (leaving room to add two of them), adjusting
/// the exponent to keep the value.
fn normalise(m: u64, e: i32) -> (u64, i32) {
    let lz = m.leading_zeros() as i32;
    let sh = lz - 2;
    if sh >= 0 {
        (m << sh, e - sh)
    } else {
        (m >> -sh, e - sh)
    }
}

/// `ln(a_m * 2^a_e + b_m * 2^b_e)` in Q16, rounded to nearest. The sum is formed with the smaller term
/// aligned to the larger (a term `>= 2^62` times smaller vanishes, far below the result's precision).
/// Both zero gives `i32::MIN`; the front end never passes that (the log floor is positive).
pub(crate) fn ln_sum_q16(a_m: u64, a_e: i32, b_m: u64, b_e: i32) -> i32 {
    let (m, e) = match (a_m, b_m) {
        (0, 0) => return i32::MIN,
        (0, _) => (b_m, b_e),
        (_, 0) => (a_m, a_e),
        _ => {
            let (a_m, a_e) = normalise(a_m, a_e);
            let (b_m, b_e) = normalise(b_m, b_e);
            let ((hm, he), (lm, le)) = if a_e >= b_e {
                ((a_m, a_e), (b_m, b_e))
            } else {
                ((b_m, b_e), (a_m, a_e))
            };
            let d = (he as i64 - le as i64) as u64;
            let lm = if d >= 64 { 0 } else { lm >> d };
            (hm + lm, he)
        }
    };
    let log2 = log2_q16(m) + ((e as i64) << LN_FRAC_BITS);
    let ln = (log2 * LN2_Q30 + (1 << 29)) >> 30;
    ln.clamp(i32::MIN as i64 + 1, i32::MAX as i64) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ln(m: u64, e: i32) -> f64 {
        ln_sum_q16(m, e, 0, 0) as f64 / 65536.0
    }

    #[test]
    fn powers_of_two_and_hand_values() {
        assert_eq!(log2_q16(1), 0);
        assert_eq!(log2_q16(1 << 40), 40 << 16);
        // log2(3) = 1.5849625: floor(1.5849625 * 65536) = 103872.
        assert!((log2_q16(3) - 103872).abs() <= 1);
        // ln(2^-20) = -13.8629436
        assert!((ln(1, -20) + 13.862_943_6).abs() < 3e-5);
        // ln(10) = 2.302585093
        assert!((ln(10, 0) - core::f64::consts::LN_10).abs() < 3e-5);
        assert!((ln(u64::MAX, 0) - 44.361_419_555).abs() < 3e-5);
    }

    #[test]
    fn sums_align_exponents() {
        // 3 * 2^-2 + 1 * 2^-1 = 1.25 -> ln 1.25 = 0.223143551
        let v = ln_sum_q16(3, -2, 1, -1) as f64 / 65536.0;
        assert!((v - 0.223_143_551).abs() < 3e-5, "{v}");
        // A term 2^100 times smaller disappears.
        assert_eq!(ln_sum_q16(1, 0, 1, -100), ln_sum_q16(1, 0, 0, 0));
        assert_eq!(ln_sum_q16(0, 0, 0, 0), i32::MIN);
    }
}
