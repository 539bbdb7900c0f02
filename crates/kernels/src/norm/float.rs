//! f32 layer normalization.
use libm::sqrtf;
use rill_format::LayerNormParams;

use crate::util::{exact, mul, us};
use crate::KernelError;

/// See the [module docs](super).
pub fn layer_norm(
    p: &LayerNormParams,
    x: &[f32],
    scale: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
) -> Result<(), KernelError> {
    let size = us(p.size);
    let len = mul(us(p.outer), size, "layer_norm x")?;
    exact("layer_norm x", len, x.len())?;
    exact("layer_norm scale", size, scale.len())?;
    if let Some(b) = bias {
        exact("layer_norm bias", size, b.len())?;
    }
    exact("layer_norm y", len, y.len())?;
    if y.is_empty() {
        return Ok(());
    }
    let n = size as f32;
    for (xr, yr) in x.chunks_exact(size).zip(y.chunks_exact_mut(size)) {
        let mean = xr.iter().sum::<f32>() / n;
        let var = xr.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
        let inv = 1.0 / sqrtf(var + p.epsilon);
        for (j, (yv, xv)) in yr.iter_mut().zip(xr).enumerate() {
            *yv = (xv - mean) * inv * scale[j] + bias.map_or(0.0, |b| b[j]);
        }
    }
    Ok(())
}
