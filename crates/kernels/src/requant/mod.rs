//! Code conversion between fixed-point types (mixed precision: where an int8 layer feeds an int16
//! one or back): `y = clamp(z_y + round((x - z_x) * M), lo, hi)`, one rounding, the full Q31
//! multiplier (x - z_x fits 17 bits, so the 32-bit requantization is exact to half an LSB).
//!
//! Lengths: x and y exactly `len`. Errors: lengths.
use rill_format::RequantParams;

use crate::fixed::{requantize, OutQ, QAct, QMul};
use crate::util::{exact, us};
use crate::KernelError;

#[cfg(test)]
mod tests;

/// See the [module docs](self).
pub fn requant<X: QAct, Y: QAct>(
    p: &RequantParams,
    x: &[X],
    z_x: i32,
    m: QMul,
    out: OutQ,
    y: &mut [Y],
) -> Result<(), KernelError> {
    let n = us(p.len);
    exact("requant x", n, x.len())?;
    exact("requant y", n, y.len())?;
    for (y, &x) in y.iter_mut().zip(x) {
        *y = out.apply::<Y>(requantize(x.get() - z_x, m));
    }
    Ok(())
}
