//! Reductions (mean, sum, max, min) over the axes set in `axes_mask` (bit `i` = axis `i`) of x with
//! shape `in_shape[..rank]`; y holds the kept axes in order. Reducing nothing copies x.
//!
//! Empty reductions (a reduced axis of size 0): Sum gives 0, Mean NaN (0/0), Max `-inf`, Min `+inf`.
//! Max and Min propagate NaN.
//!
//! Lengths, exactly: x `prod(in_shape)`, y the product of the kept axes. Errors: unknown kind,
//! `rank > 6`, mask bits at or above `rank`, overflow, lengths.
pub mod fixed;
use rill_format::ReduceKind;

use crate::KernelError;

pub mod float;

#[cfg(test)]
mod fixed_tests;
#[cfg(test)]
mod tests;

/// The reduction a record's `kind` names.
pub fn kind(v: u32) -> Result<ReduceKind, KernelError> {
    match v {
        0 => Ok(ReduceKind::Mean),
        1 => Ok(ReduceKind::Sum),
        2 => Ok(ReduceKind::Max),
        3 => Ok(ReduceKind::Min),
        _ => Err(KernelError::BadParam {
            what: "reduce kind",
        }),
    }
}
