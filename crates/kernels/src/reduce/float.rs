//! f32 reductions.
use rill_format::{ReduceKind, ReduceParams, MAX_RANK};

use crate::util::{exact, offset, product, rank, us};
use crate::KernelError;

/// See the [module docs](super).
pub fn reduce(p: &ReduceParams, x: &[f32], y: &mut [f32]) -> Result<(), KernelError> {
    let kind = super::kind(p.kind)?;
    let r = rank(p.rank, MAX_RANK, "reduce rank")?;
    if p.axes_mask.checked_shr(r as u32).unwrap_or(0) != 0 {
        return Err(KernelError::BadParam {
            what: "reduce axes_mask names an axis past the rank",
        });
    }
    // Rank 0 is one element: a single kept axis of 1.
    let shape = if r == 0 {
        [1; MAX_RANK]
    } else {
        p.in_shape.map(us)
    };
    let r = r.max(1);
    let shape = &shape[..r];
    let reduced = |ax: usize| (p.axes_mask >> ax) & 1 == 1;
    // y's row-major strides on kept axes, 0 on reduced ones
    let mut strides = [0; MAX_RANK];
    let mut kept: usize = 1;
    for ax in (0..r).rev() {
        if !reduced(ax) {
            strides[ax] = kept;
            kept = kept
                .checked_mul(shape[ax])
                .ok_or(KernelError::Overflow { what: "reduce y" })?;
        }
    }
    let strides = &strides[..r];
    exact("reduce x", product(shape, "reduce x")?, x.len())?;
    exact("reduce y", kept, y.len())?;
    y.fill(match kind {
        ReduceKind::Mean | ReduceKind::Sum => 0.0,
        ReduceKind::Max => f32::NEG_INFINITY,
        ReduceKind::Min => f32::INFINITY,
    });
    if x.is_empty() {
        if kind == ReduceKind::Mean {
            y.fill(f32::NAN);
        }
        return Ok(());
    }
    let last = r - 1;
    let step = strides[last];
    for (row, xr) in x.chunks_exact(shape[last]).enumerate() {
        let yo = offset(row, &shape[..last], &strides[..last]);
        for (j, &v) in xr.iter().enumerate() {
            let acc = &mut y[yo + j * step];
            *acc = match kind {
                ReduceKind::Mean | ReduceKind::Sum => *acc + v,
                ReduceKind::Max if v > *acc || v.is_nan() => v,
                ReduceKind::Min if v < *acc || v.is_nan() => v,
                ReduceKind::Max | ReduceKind::Min => *acc,
            };
        }
    }
    if kind == ReduceKind::Mean {
        let n = (x.len() / y.len()) as f32;
        for v in y {
            *v /= n;
        }
    }
    Ok(())
}
