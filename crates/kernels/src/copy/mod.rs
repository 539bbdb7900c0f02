//! Strided copy (Transpose, Slice, Expand of activations), for any element type:
//! `y[i_0, .., i_{rank-1}] = x[offset + sum_j i_j * in_strides[j]]` over `out_shape[..rank]` row-major.
//! Strides may be negative (reversed slices) or 0 (expand). Rank 0 copies `x[offset]`.
//!
//! Lengths: y exactly `prod(out_shape)`; every source position must lie in `0..x.len()` — the
//! smallest and largest positions reached are checked before copying (`IndexOutOfRange` with the
//! offending position). Nothing is read when y is empty. Errors: `rank > 6`, overflow, lengths.
use rill_format::{CopyParams, MAX_RANK};

use crate::util::{exact, product, rank, us};
use crate::KernelError;

#[cfg(test)]
mod tests;

/// See the [module docs](self).
pub fn strided_copy<T: Copy>(p: &CopyParams, x: &[T], y: &mut [T]) -> Result<(), KernelError> {
    let r = rank(p.rank, MAX_RANK, "copy rank")?;
    let (shape, strides) = if r == 0 {
        ([1; MAX_RANK], [0; MAX_RANK])
    } else {
        (p.out_shape.map(us), p.in_strides)
    };
    let r = r.max(1);
    let (shape, strides) = (&shape[..r], &strides[..r]);
    exact("copy y", product(shape, "copy y")?, y.len())?;
    if y.is_empty() {
        return Ok(());
    }
    // Every position lies between the sums of the negative and of the positive axis spans; with both
    // ends in range, so is every partial sum below.
    let overflow = KernelError::Overflow {
        what: "copy source position",
    };
    let (mut lo, mut hi) = (i64::from(p.offset), i64::from(p.offset));
    for (&n, &s) in shape.iter().zip(strides) {
        let span = (n as i64 - 1).checked_mul(i64::from(s)).ok_or(overflow)?;
        if span < 0 {
            lo = lo.checked_add(span).ok_or(overflow)?;
        } else {
            hi = hi.checked_add(span).ok_or(overflow)?;
        }
    }
    let len = x.len();
    for end in [lo, hi] {
        if end < 0 || end >= len as i64 {
            return Err(KernelError::IndexOutOfRange { index: end, len });
        }
    }
    let last = r - 1;
    let step = i64::from(strides[last]);
    for (row, yr) in y.chunks_exact_mut(shape[last]).enumerate() {
        let mut base = i64::from(p.offset);
        let mut rem = row;
        for ax in (0..last).rev() {
            base += (rem % shape[ax]) as i64 * i64::from(strides[ax]);
            rem /= shape[ax];
        }
        for (j, yv) in yr.iter_mut().enumerate() {
            let pos = base + j as i64 * step;
            *yv = *usize::try_from(pos)
                .ok()
                .and_then(|i| x.get(i))
                .ok_or(KernelError::IndexOutOfRange { index: pos, len })?;
        }
    }
    Ok(())
}
