//! Elementwise binary ops with broadcasting: `y = a (op) b` over `out_shape[..rank]` (row-major), where
//! output index `i` reads `a[sum_j i_j * a_strides[j]]` and `b[sum_j i_j * b_strides[j]]` (stride 0 on
//! broadcast axes). Rank 0 is a single element.
//!
//! Ops ([`BinaryKind`](rill_format::BinaryKind)): Add, Sub, Mul, Div (IEEE: `x / 0` is inf or NaN),
//! Pow (`powf`), Max and Min (NaN if either operand is NaN, as numpy's maximum/minimum).
//!
//! Lengths: y exactly `prod(out_shape)`; a and b at least one past the furthest element read,
//! `1 + sum_j (out_shape[j] - 1) * strides[j]` (nothing when y is empty). Errors: unknown kind,
//! `rank > 6`, overflow, lengths.
use rill_format::{BinaryParams, MAX_RANK};

use crate::util::{at_least, exact, extent, offset, product, rank, us};
use crate::KernelError;

pub mod fixed;
pub mod float;

#[cfg(test)]
mod fixed_tests;
#[cfg(test)]
mod tests;

/// The walk both kernels take: checks the shape, strides and lengths, then calls
/// `f(y_row, a_at, b_at, a_step, b_step)` for each row of the last axis, `y_row[j]` reading
/// `a[a_at + j a_step]` and `b[b_at + j b_step]`. Operands laid out as the output (a residual
/// Add, a gate product) make one row of every element, with no offset arithmetic per row, which a
/// streamed step's rows of one element would pay each.
#[inline(always)]
pub(crate) fn rows<T>(
    p: &BinaryParams,
    a_len: usize,
    b_len: usize,
    y: &mut [T],
    mut f: impl FnMut(&mut [T], usize, usize, usize, usize),
) -> Result<(), KernelError> {
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
    at_least("binary a", extent(shape, sa, 1, "binary a")?, a_len)?;
    at_least("binary b", extent(shape, sb, 1, "binary b")?, b_len)?;
    if y.is_empty() {
        return Ok(());
    }
    let flat = [y.len()];
    let (shape, sa, sb) = if dense(shape, sa) && dense(shape, sb) {
        (&flat[..], &[1][..], &[1][..])
    } else {
        (shape, sa, sb)
    };
    let (last, outer) = (shape.len() - 1, &shape[..shape.len() - 1]);
    for (row, yr) in y.chunks_exact_mut(shape[last]).enumerate() {
        let (ao, bo) = (
            offset(row, outer, &sa[..last]),
            offset(row, outer, &sb[..last]),
        );
        f(yr, ao, bo, sa[last], sb[last]);
    }
    Ok(())
}

/// Whether `strides` are the row-major strides of `shape` (the operand is laid out as the output).
fn dense(shape: &[usize], strides: &[usize]) -> bool {
    let mut want = 1usize;
    for (&n, &st) in shape.iter().zip(strides).rev() {
        if n > 1 && st != want {
            return false;
        }
        want = want.saturating_mul(n);
    }
    true
}
