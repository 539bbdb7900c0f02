//! f32 binary ops.
use libm::powf;
use rill_format::{BinaryKind, BinaryParams};

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
    super::rows(p, a.len(), b.len(), y, |yr, ao, bo, la, lb| {
        for (j, yv) in yr.iter_mut().enumerate() {
            *yv = binary_scalar_fn(kind, a[ao + j * la], b[bo + j * lb]);
        }
    })
}
