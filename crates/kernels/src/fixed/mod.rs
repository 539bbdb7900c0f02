//! Fixed-point building blocks shared by every integer kernel: requantization (integer multiplier and
//! shift, one rounding, saturation) and the conversion of real scales into multipliers, which the
//! converter runs once at convert time. The numerics are specified in `docs/numerics.md`; the same code
//! runs on the host and the MCU, so results agree bit for bit.

pub mod requant;
pub mod tables;

#[cfg(test)]
mod tests;

pub use requant::{quantize_multiplier, requantize, requantize_i64, FastRq, QMul, Requant};

/// Activation code types of the fixed-point kernels: `i8` (int8 mode, asymmetric) and `i16` (int16
/// mode, symmetric). Kernels are generic over it; `WIDE` selects 64-bit accumulation.
pub trait QAct: Copy + Default + PartialOrd + bytemuck::Pod + 'static {
    const MIN: i32;
    const MAX: i32;
    /// `true` for i16: products of 16-bit activations and 8-bit weights are accumulated in i64 and
    /// requantized with [`requantize_i64`].
    const WIDE: bool;
    fn get(self) -> i32;
    /// `v` saturated to the type's range.
    fn sat(v: i32) -> Self;
}

impl QAct for i8 {
    const MIN: i32 = i8::MIN as i32;
    const MAX: i32 = i8::MAX as i32;
    const WIDE: bool = false;
    #[inline(always)]
    fn get(self) -> i32 {
        self as i32
    }
    #[inline(always)]
    fn sat(v: i32) -> i8 {
        v.clamp(i8::MIN as i32, i8::MAX as i32) as i8
    }
}

impl QAct for i16 {
    const MIN: i32 = i16::MIN as i32;
    const MAX: i32 = i16::MAX as i32;
    const WIDE: bool = true;
    #[inline(always)]
    fn get(self) -> i32 {
        self as i32
    }
    #[inline(always)]
    fn sat(v: i32) -> i16 {
        v.clamp(i16::MIN as i32, i16::MAX as i32) as i16
    }
}

/// The output stage of an op: `y = clamp(z + v, lo, hi)` for a requantized value `v`, where
/// `[lo, hi]` is the code type's range intersected with a fused activation's (Relu: `lo = z`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutQ {
    pub z: i32,
    pub lo: i32,
    pub hi: i32,
}

impl OutQ {
    /// No fused activation: the whole range of `T`.
    pub const fn plain<T: QAct>(z: i32) -> OutQ {
        OutQ {
            z,
            lo: T::MIN,
            hi: T::MAX,
        }
    }

    /// The output stage for requantized values of at most `2^30` in magnitude (those of
    /// [`FastRq`]), when `|z| < 2^30`: no saturating add, one clamp.
    #[inline(always)]
    pub fn fast<T: QAct>(&self) -> Option<FastOut> {
        const LIM: i32 = 1 << 30;
        if !(1 - LIM..LIM).contains(&self.z) {
            return None;
        }
        // clamp(clamp(w, lo, max(hi, lo)), T::MIN, T::MAX) = clamp(w, lo', hi') with both bounds
        // clamped into the type's range (clamps are monotone and lo' <= hi').
        let hi = self.hi.max(self.lo);
        Some(FastOut {
            z: self.z,
            lo: self.lo.clamp(T::MIN, T::MAX),
            hi: hi.clamp(T::MIN, T::MAX),
        })
    }

    #[inline(always)]
    pub fn apply<T: QAct>(&self, v: i32) -> T {
        T::sat(
            v.saturating_add(self.z)
                .clamp(self.lo, self.hi.max(self.lo)),
        )
    }
}

/// [`OutQ::apply`] precomputed for values `|v| <= 2^30` (see [`OutQ::fast`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FastOut {
    z: i32,
    lo: i32,
    hi: i32,
}

impl FastOut {
    /// Bit for bit `OutQ::apply::<T>(v)` for `|v| <= 2^30`.
    #[inline(always)]
    pub fn apply<T: QAct>(&self, v: i32) -> T {
        T::sat((v + self.z).max(self.lo).min(self.hi))
    }

    /// No fused activation narrower than `T`'s range: [`Self::apply_full`] applies.
    #[inline(always)]
    pub fn full<T: QAct>(&self) -> bool {
        (self.lo, self.hi) == (T::MIN, T::MAX)
    }

    /// [`Self::apply`] where [`Self::full`]: the saturation to `T` alone (one SSAT).
    #[inline(always)]
    pub fn apply_full<T: QAct>(&self, v: i32) -> T {
        T::sat(v + self.z)
    }

    /// [`Self::code`] where [`Self::full`].
    #[inline(always)]
    pub fn code_full<T: QAct>(&self, m: QMul, bias: i32, dot: i32) -> T {
        self.apply_full(FastRq::apply_with(m, bias.saturating_add(dot)))
    }

    /// The code of `bias + dot` (saturating, as the i8 kernels' clamp of their exact sum)
    /// requantized by `m`, for `m` of the fast form ([`FastRq::fits`]).
    #[inline(always)]
    pub fn code<T: QAct>(&self, m: QMul, bias: i32, dot: i32) -> T {
        self.apply(FastRq::apply_with(m, bias.saturating_add(dot)))
    }
}

/// `acc * M` for an accumulator of a kernel over code type `T`: 32-bit requantization for i8 codes
/// (whose sums of products fit i32 for any realistic layer; larger ones saturate), the 64-bit form
/// for i16 codes.
#[inline(always)]
pub fn requant_acc<T: QAct>(acc: i64, m: QMul) -> i32 {
    if T::WIDE {
        requantize_i64(acc, m)
    } else {
        requantize(acc.clamp(i32::MIN as i64, i32::MAX as i64) as i32, m)
    }
}

/// [`requant_acc`] for one multiplier applied to many accumulators (see [`Requant`]).
#[derive(Clone, Copy, Debug)]
pub struct RequantAcc {
    m: QMul,
    r: Requant,
}

impl RequantAcc {
    pub fn new(m: QMul) -> RequantAcc {
        RequantAcc {
            m,
            r: Requant::new(m),
        }
    }

    /// Bit for bit `requant_acc::<T>(acc, m)`.
    #[inline(always)]
    pub fn apply<T: QAct>(&self, acc: i64) -> i32 {
        if T::WIDE {
            requantize_i64(acc, self.m)
        } else {
            self.r
                .apply(acc.clamp(i32::MIN as i64, i32::MAX as i64) as i32)
        }
    }

    /// [`Self::apply`] of `bias + dot`, both i32: saturating in i32 for i8 codes (the clamp of
    /// their exact sum), so the inner loops need no 64-bit sums.
    #[inline(always)]
    pub fn apply_sum<T: QAct>(&self, bias: i32, dot: i32) -> i32 {
        if T::WIDE {
            requantize_i64(bias as i64 + dot as i64, self.m)
        } else {
            self.r.apply(bias.saturating_add(dot))
        }
    }
}

/// `round_half_away_from_zero(v / 2^bits)` for `bits` in `1..=62`.
#[inline(always)]
pub fn rshift_round(v: i64, bits: u32) -> i64 {
    let half = 1i64 << (bits - 1);
    if v >= 0 {
        (v + half) >> bits
    } else {
        -((half - v) >> bits)
    }
}

/// `round_half_away_from_zero(num / den)` for `den != 0` (0 for `den = 0`).
#[inline(always)]
pub fn div_round(num: i64, den: i64) -> i64 {
    let (num, den) = if den < 0 {
        (num.saturating_neg(), den.saturating_neg())
    } else {
        (num, den)
    };
    if den == 0 {
        0
    } else if num >= 0 {
        (num + den / 2) / den
    } else {
        -((-num + den / 2) / den)
    }
}
