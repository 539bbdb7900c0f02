//! Fixed-point building blocks shared by every integer kernel: requantization (integer multiplier and
//! shift, one rounding, saturation) and the conversion of real scales into multipliers, which the
//! converter runs once at convert time. The numerics are specified in `docs/numerics.md`; the same code
//! runs on the host and the MCU, so results agree bit for bit.

pub mod requant;

#[cfg(test)]
mod tests;

pub use requant::{quantize_multiplier, requantize, requantize_i64, QMul};

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

    #[inline(always)]
    pub fn apply<T: QAct>(&self, v: i32) -> T {
        T::sat(
            v.saturating_add(self.z)
                .clamp(self.lo, self.hi.max(self.lo)),
        )
    }
}
