//! Integer layer normalization (`docs/numerics.md`, LayerNorm).
//!
//! Per row of `n` codes, with `d = q - z_x`: `S = sum d`, `Q = sum d^2`, and
//! `D = n Q - S^2 + E` (`n^2` times the variance plus epsilon, in code units squared: the converter
//! gives `E = round(n^2 epsilon / s_x^2)`), all exact in i128. The normalized value
//! `(n d - S) / sqrt(D)` is formed in Q15 through one reciprocal per row (`D` is scaled to about 62
//! bits so that its exact integer root has about 31 significant bits), then `acc = norm * gamma[j] + beta[j]` (gamma as i16 codes of one scale `s_g`,
//! beta as i32 in units of `2^-15 s_g`) is requantized by `M = 2^-15 s_g / s_y`.
use rill_format::LayerNormParams;

use crate::fixed::{requantize_i64, OutQ, QAct, QMul};
use crate::util::{exact, mul, us};
use crate::KernelError;

/// What the integer kernel needs besides codes and parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerNormQ {
    pub z_x: i32,
    /// `round(n^2 epsilon / s_x^2)`, at least 0.
    pub eps: i64,
    /// `2^-15 s_g / s_y`.
    pub mul: QMul,
    pub out: OutQ,
}

/// Floor of the square root.
fn isqrt(v: u128) -> u128 {
    if v < 2 {
        return v;
    }
    // Newton from above: converges monotonically to floor(sqrt(v)).
    let mut x = 1u128 << (128 - v.leading_zeros()).div_ceil(2);
    loop {
        let y = (x + v / x) / 2;
        if y >= x {
            return x;
        }
        x = y;
    }
}

/// `round(v / 2^bits)`, half away from zero.
fn round_shift(v: i128, bits: u32) -> i128 {
    let half = 1i128 << (bits - 1);
    if v >= 0 {
        (v + half) >> bits
    } else {
        -((half - v) >> bits)
    }
}

/// See the [module docs](self).
pub fn layer_norm<T: QAct>(
    p: &LayerNormParams,
    x: &[T],
    gamma: &[i16],
    beta: Option<&[i32]>,
    q: &LayerNormQ,
    y: &mut [T],
) -> Result<(), KernelError> {
    let size = us(p.size);
    let len = mul(us(p.outer), size, "layer_norm x")?;
    exact("layer_norm x", len, x.len())?;
    exact("layer_norm scale", size, gamma.len())?;
    if let Some(b) = beta {
        exact("layer_norm bias", size, b.len())?;
    }
    exact("layer_norm y", len, y.len())?;
    if q.eps < 0 {
        return Err(KernelError::BadParam {
            what: "layer_norm epsilon is negative",
        });
    }
    if y.is_empty() {
        return Ok(());
    }
    let n = size as i128;
    for (xr, yr) in x.chunks_exact(size).zip(y.chunks_exact_mut(size)) {
        let (mut s, mut sq) = (0i128, 0i128);
        for v in xr {
            let d = (v.get() - q.z_x) as i128;
            s += d;
            sq += d * d;
        }
        let var = ((n * sq - s * s).max(0) + q.eps as i128).max(1) as u128;
        // Scale the variance to about 62 bits first so its root carries about 31 significant bits.
        let sh = 62u32.saturating_sub(128 - var.leading_zeros()) / 2;
        let root = isqrt(var << (2 * sh)).max(1) as i128;
        let recip = (1i128 << 62) / root;
        for (j, (yv, v)) in yr.iter_mut().zip(xr).enumerate() {
            let centred = n * (v.get() - q.z_x) as i128 - s;
            let norm = round_shift(centred * recip, 47 - sh); // Q15
            let b = beta.map_or(0, |b| b[j]) as i128;
            let acc = (norm * gamma[j] as i128 + b).clamp(i64::MIN as i128, i64::MAX as i128);
            *yv = q.out.apply(requantize_i64(acc as i64, q.mul));
        }
    }
    Ok(())
}
