//! f32 dense and matmul.
use rill_format::{DenseParams, MatMulParams};

use super::MAX_BATCH_RANK;
use crate::act::float::Act;
use crate::util::{at_least, dot, exact, extent, mul, offset, product, rank, us, Weight};
use crate::KernelError;

/// `y = act(x w^T + bias)`, see the [module docs](super).
pub fn dense<W: Weight>(
    p: &DenseParams,
    x: &[f32],
    w: &[W],
    bias: Option<&[f32]>,
    y: &mut [f32],
) -> Result<(), KernelError> {
    let act = Act::new(&p.act)?;
    let (m, k, n) = (us(p.m), us(p.k), us(p.n));
    exact("dense x", mul(m, k, "dense x")?, x.len())?;
    exact("dense w", mul(n, k, "dense w")?, w.len())?;
    if let Some(b) = bias {
        exact("dense bias", n, b.len())?;
    }
    exact("dense y", mul(m, n, "dense y")?, y.len())?;
    if y.is_empty() {
        return Ok(());
    }
    for i in 0..m {
        let xr = &x[i * k..][..k];
        let yr = &mut y[i * n..][..n];
        for (j, yv) in yr.iter_mut().enumerate() {
            let b = bias.map_or(0.0, |b| b[j]);
            *yv = act.eval(dot(xr, &w[j * k..][..k]) + b);
        }
    }
    Ok(())
}

/// Batched `y = a b` with broadcasting batch strides, see the [module docs](super).
pub fn matmul(p: &MatMulParams, a: &[f32], b: &[f32], y: &mut [f32]) -> Result<(), KernelError> {
    let br = rank(p.batch_rank, MAX_BATCH_RANK, "matmul batch_rank")?;
    let (m, k, n) = (us(p.m), us(p.k), us(p.n));
    let batch = p.batch.map(us);
    let (a_stride, b_stride) = (p.a_stride.map(us), p.b_stride.map(us));
    let (batch, a_stride, b_stride) = (&batch[..br], &a_stride[..br], &b_stride[..br]);
    let (mk, kn, mn) = (
        mul(m, k, "matmul a")?,
        mul(k, n, "matmul b")?,
        mul(m, n, "matmul y")?,
    );
    let nb = product(batch, "matmul batch")?;
    exact("matmul y", mul(nb, mn, "matmul y")?, y.len())?;
    at_least(
        "matmul a",
        extent(batch, a_stride, mk, "matmul a")?,
        a.len(),
    )?;
    at_least(
        "matmul b",
        extent(batch, b_stride, kn, "matmul b")?,
        b.len(),
    )?;
    if k == 0 {
        y.fill(0.0);
        return Ok(());
    }
    for (i, yb) in y.chunks_exact_mut(mn.max(1)).enumerate() {
        let ab = &a[offset(i, batch, a_stride)..][..mk];
        let bb = &b[offset(i, batch, b_stride)..][..kn];
        for (r, yr) in yb.chunks_exact_mut(n).enumerate() {
            let ar = &ab[r * k..][..k];
            for (c, yv) in yr.iter_mut().enumerate() {
                *yv = ar
                    .iter()
                    .zip(bb[c..].iter().step_by(n))
                    .fold(0.0, |acc, (x, y)| acc + x * y);
            }
        }
    }
    Ok(())
}
