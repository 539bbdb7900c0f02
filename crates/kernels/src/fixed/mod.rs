//! Fixed-point building blocks shared by every integer kernel: requantization (integer multiplier and
//! shift, one rounding, saturation) and the conversion of real scales into multipliers, which the
//! converter runs once at convert time. The numerics are specified in `docs/numerics.md`; the same code
//! runs on the host and the MCU, so results agree bit for bit.

pub mod requant;

#[cfg(test)]
mod tests;

pub use requant::{quantize_multiplier, requantize, requantize_i64, QMul};
