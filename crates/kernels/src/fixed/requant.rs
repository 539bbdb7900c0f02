//! Requantization: `round(acc * M)` for a real multiplier `M = m0 * 2^(shift - 31)` held as a Q31
//! mantissa `m0` in `[2^30, 2^31)` and a shift, with a single rounding (half away from zero) and
//! saturation. A single rounding keeps the integer result within 0.5 LSB of the exact product.

/// A positive real multiplier as Q31 mantissa and power-of-two shift: `M = m0 * 2^(shift - 31)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub struct QMul {
    pub m0: i32,
    pub shift: i32,
}

/// Smallest and largest shifts a multiplier may have: the product `acc * m0` is shifted right by
/// `31 - shift`, which must stay within `1..=62` bits.
pub const MIN_SHIFT: i32 = -31;
pub const MAX_SHIFT: i32 = 30;

/// Represents `real` (finite, >= 0) as a [`QMul`]. Multipliers too small to matter become zero;
/// too large (>= 2^30) or not finite gives `None`. Host-side (convert time) only.
pub fn quantize_multiplier(real: f64) -> Option<QMul> {
    if !real.is_finite() || real < 0.0 {
        return None;
    }
    if real == 0.0 {
        return Some(QMul { m0: 0, shift: 0 });
    }
    let (mantissa, exp) = libm::frexp(real); // real = mantissa * 2^exp, mantissa in [0.5, 1)
    let mut m0 = libm::round(mantissa * (1u64 << 31) as f64) as i64;
    let mut shift = exp;
    if m0 == 1i64 << 31 {
        m0 /= 2;
        shift += 1;
    }
    if shift > MAX_SHIFT {
        return None;
    }
    if shift < MIN_SHIFT {
        // Below 2^-62 nothing survives the shift: the multiplier is zero for any i32 accumulator.
        return Some(QMul { m0: 0, shift: 0 });
    }
    Some(QMul {
        m0: m0 as i32,
        shift,
    })
}

/// `round_half_away_from_zero(v / 2^bits)` for `bits` in `1..=62`.
#[inline(always)]
fn rounding_shift(v: i64, bits: u32) -> i64 {
    // Branch-free: for v < 0, -((h - v) >> b) = -floor((h - v) / 2^b) = ceil((v - h) / 2^b)
    // = floor((v - h + 2^b - 1) / 2^b) = (v + h - 1) >> b, as 2^b - h = h. `v + h` cannot overflow
    // for |v| <= 2^62 (the largest product of an i32 accumulator and a Q31 mantissa).
    let half = 1i64 << (bits - 1);
    (v + half - (v < 0) as i64) >> bits
}

/// `acc * M`, rounded half away from zero and saturated to i32. One copy under `small` (a call per
/// output instead of the three forms inlined into every kernel).
#[cfg_attr(not(feature = "small"), inline(always))]
#[cfg_attr(feature = "small", inline(never))]
pub fn requantize(acc: i32, m: QMul) -> i32 {
    let shift = m.shift.clamp(MIN_SHIFT, MAX_SHIFT);
    let prod = acc as i64 * m.m0 as i64;
    let bits = (31 - shift) as u32;
    if bits >= 33 {
        // Multipliers below 1/4 (nearly every layer; this runs once per output): as below, with
        // the rounding constant 2^(bits - 1) entirely in the high word, so
        // (v >> 32) = ((prod - neg) >> 32) + 2^(bits - 33) exactly, the sum within i32; this
        // avoids building a 64-bit constant from a variable shift.
        let hi = ((prod - (prod < 0) as i64) >> 32) as i32;
        (hi + (1 << (bits - 33))) >> (bits - 32)
    } else if bits == 32 {
        // Multipliers below 1/2 (the usual case): as `rounding_shift`, split as
        // (v >> 32) >> (bits - 32), exact for an arithmetic shift; |v| <= 2^62 so the high word
        // is the result's whole range and no saturation is needed. On a 32-bit core this avoids
        // the 64-bit variable shift and the 64-bit clamp.
        let v = prod + (1i64 << (bits - 1)) - (prod < 0) as i64;
        ((v >> 32) as i32) >> (bits - 32)
    } else {
        // Multipliers of 1/2 and more (bits 1..=31; a recurrent gate's input part over raw
        // sensor values): as `rounding_shift` then saturation, on the product's two words, with
        // neither a 64-bit variable shift nor a 64-bit clamp. The result fits i32 exactly when
        // the bits of the high word from bit `bits - 1` up are all copies of the sign.
        let v = prod + (1u32 << (bits - 1)) as i64 - (prod < 0) as i64;
        let (lo, hi) = (v as u32, (v >> 32) as i32);
        match hi >> (bits - 1) {
            0 | -1 => ((lo >> bits) | ((hi as u32) << (32 - bits))) as i32,
            _ if hi < 0 => i32::MIN,
            _ => i32::MAX,
        }
    }
}

/// `acc * M` for 64-bit accumulators (16-bit activation kernels). The mantissa is reduced to Q15 so
/// the product fits 64 bits for `|acc| < 2^47`; larger accumulators saturate first.
#[inline(always)]
pub fn requantize_i64(acc: i64, m: QMul) -> i32 {
    const LIMIT: i64 = (1 << 47) - 1;
    let shift = m.shift.clamp(MIN_SHIFT, MAX_SHIFT);
    let m15 = ((m.m0 as i64) + (1 << 15)) >> 16; // Q15 mantissa, rounded
    let prod = acc.clamp(-LIMIT, LIMIT) * m15;
    let v = if shift < 15 {
        rounding_shift(prod, (15 - shift) as u32)
    } else {
        // M >= 2^14: a left shift, exact; anything past i32 saturates below.
        (prod as i128)
            .checked_shl((shift - 15) as u32)
            .unwrap_or(0)
            .clamp(i64::MIN as i128, i64::MAX as i128) as i64
    };
    v.clamp(i32::MIN as i64, i32::MAX as i64) as i32
}

/// [`requantize`] with the work that depends only on the multiplier done once, for kernels that
/// apply one multiplier to many accumulators. Bit for bit [`requantize`].
#[derive(Clone, Copy, Debug)]
pub struct Requant {
    m: QMul,
    m0: i64,
    half: i64,
    /// `bits - 32` where the shift is at least 32 bits.
    sh: u32,
    /// `bits >= 32` (multipliers below 1/2): the result is the high word of the rounded product
    /// shifted right, which always fits i32, so neither 64-bit shift nor saturation is needed.
    wide_shift: bool,
}

impl Requant {
    pub fn new(m: QMul) -> Requant {
        let bits = (31 - m.shift.clamp(MIN_SHIFT, MAX_SHIFT)) as u32;
        Requant {
            m,
            m0: m.m0 as i64,
            half: 1i64 << (bits - 1),
            sh: bits.saturating_sub(32),
            wide_shift: bits >= 32,
        }
    }

    #[inline(always)]
    pub fn apply(&self, acc: i32) -> i32 {
        if self.wide_shift {
            // As `rounding_shift`, split as (v >> 32) >> (bits - 32), exact for an arithmetic
            // shift; |v| <= 2^62 so v >> 32 fits i32.
            let prod = acc as i64 * self.m0;
            let v = prod + self.half - (prod < 0) as i64;
            ((v >> 32) as i32) >> self.sh
        } else {
            requantize(acc, self.m)
        }
    }
}

/// [`requantize`] for the multipliers every converted layer has, `m0 >= 0` and `M < 1/2`
/// (`MIN_SHIFT <= shift <= -1`: the product is shifted right by `32 + sh` bits, `sh` in
/// `0..=30`), in a multiply-accumulate and two shifts: the rounding constant
/// `2^(31 + sh) - (acc < 0)` is the accumulator's initial value (with `m0 >= 0` the product is
/// negative only where `acc` is; where it is zero, subtracting one changes nothing after the
/// shift), so `(acc m0 + 2^(31 + sh) - neg) >> 32 >> sh` is `requantize`'s value bit for bit.
#[derive(Clone, Copy, Debug)]
pub struct FastRq {
    m0: i32,
    /// `2^(31 + sh)` as a 64-bit constant.
    half: i64,
    sh: u32,
}

impl FastRq {
    /// `None` for multipliers outside the fast form (`m0 < 0`, or `shift` outside
    /// `MIN_SHIFT..=-1`): those take [`requantize`].
    #[inline(always)]
    pub fn new(m: QMul) -> Option<FastRq> {
        if !Self::fits(m) {
            return None;
        }
        let sh = (-1 - m.shift) as u32;
        Some(FastRq {
            m0: m.m0,
            half: 1i64 << (31 + sh),
            sh,
        })
    }

    /// Whether `m` has the fast form.
    #[inline(always)]
    pub fn fits(m: QMul) -> bool {
        m.m0 >= 0 && (MIN_SHIFT..=-1).contains(&m.shift)
    }

    /// Bit for bit `requantize(acc, m)`.
    #[inline(always)]
    pub fn apply(&self, acc: i32) -> i32 {
        // |acc m0| <= 2^62 and half <= 2^61: no overflow.
        let r = self.half + (acc >> 31) as i64;
        crate::arch::smlal_hi(r as u32, (r >> 32) as i32, acc, self.m0) >> self.sh
    }

    /// [`Self::apply`] for a multiplier known to have the fast form, computed in place (no
    /// precomputed constants: for rows that each have their own multiplier).
    #[inline(always)]
    pub fn apply_with(m: QMul, acc: i32) -> i32 {
        let sh = (-1 - m.shift) as u32 & 31;
        let lo = 0x8000_0000u32 << sh;
        let hi = (1u32 << sh) >> 1;
        // The 64-bit `2^(31 + sh) - neg` as words: `neg` borrows from the high word only where
        // the low one is zero (sh > 0).
        let n = acc >> 31;
        let (lo, borrow) = lo.overflowing_add(n as u32);
        let hi = hi as i32 + n + borrow as i32;
        crate::arch::smlal_hi(lo, hi, acc, m.m0) >> sh
    }
}
