//! f32 binary ops.
use libm::powf;
use rill_format::{BinaryKind, BinaryParams, MAX_RANK};

use crate::util::{at_least, exact, extent, offset, product, rank, us};
use crate::KernelError;

/// `a (kind) b` for one pair of scalars; the converter folds constants with it.
#[inline(always)]
pub fn binary_scalar_fn(kind: BinaryKind, a: f32, b: f32) -> f32 {
    match kind {
        BinaryKind::Add => a + b,
        BinaryKind::Sub => a - b,
        BinaryKind::Mul => a * b,
        BinaryKind::Div => a / b,
        BinaryKind::Pow => powf(a, b),
        BinaryKind::Max => {
            if a.is_nan() || b.is_nan() {
                f32::NAN
            } else if a > b {
                a
            } else {
                b
            }
        }
        BinaryKind::Min => {
            if a.is_nan() || b.is_nan() {
                f32::NAN
            } else if a < b {
                a
            } else {
                b
            }
        }
    }
}

/// See the [module docs](super).
pub fn binary(p: &BinaryParams, a: &[f32], b: &[f32], y: &mut [f32]) -> Result<(), KernelError> {
    let kind = BinaryKind::from_u32(p.kind).ok_or(KernelError::BadParam {
        what: "binary kind",
    })?;
    let r = rank(p.rank, MAX_RANK, "binary rank")?;
    // Rank 0 is one element: a single axis of 1.
    let (shape, sa, sb) = if r == 0 {
        ([1; MAX_RANK], [0; MAX_RANK], [0; MAX_RANK])
    } else {
        (
            p.out_shape.map(us),
            p.a_strides.map(us),
            p.b_strides.map(us),
        )
    };
    let r = r.max(1);
    let (shape, sa, sb) = (&shape[..r], &sa[..r], &sb[..r]);
    exact("binary y", product(shape, "binary y")?, y.len())?;
    at_least("binary a", extent(shape, sa, 1, "binary a")?, a.len())?;
    at_least("binary b", extent(shape, sb, 1, "binary b")?, b.len())?;
    if y.is_empty() {
        return Ok(());
    }
    let (last, outer) = (r - 1, &shape[..r - 1]);
    let (la, lb) = (sa[last], sb[last]);
    for (row, yr) in y.chunks_exact_mut(shape[last]).enumerate() {
        let (ao, bo) = (
            offset(row, outer, &sa[..last]),
            offset(row, outer, &sb[..last]),
        );
        for (j, yv) in yr.iter_mut().enumerate() {
            *yv = binary_scalar_fn(kind, a[ao + j * la], b[bo + j * lb]);
        }
    }
    Ok(())
}
