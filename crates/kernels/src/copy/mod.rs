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
    let len = x.len();
    let Some(plan) = Plan::new(p, len, y.len())? else {
        return Ok(());
    };
    for (row, yr) in y.chunks_exact_mut(plan.row_len()).enumerate() {
        let base = plan.base(row);
        for (j, yv) in yr.iter_mut().enumerate() {
            let pos = base + j as i64 * i64::from(plan.step);
            *yv = *usize::try_from(pos).ok().and_then(|i| x.get(i)).ok_or(
                KernelError::IndexOutOfRange {
                    index: sat_isize(pos),
                    len,
                },
            )?;
        }
    }
    Ok(())
}

/// A source position for an error, saturated to the `isize` range (a 32-bit target's).
fn sat_isize(pos: i64) -> isize {
    isize::try_from(pos).unwrap_or(if pos < 0 { isize::MIN } else { isize::MAX })
}

/// The checked shape of a copy, whatever the element type (so that it is compiled once).
struct Plan {
    shape: [usize; MAX_RANK],
    strides: [i32; MAX_RANK],
    /// 32-bit (widened where used): a 4-byte aligned plan moves with the word-aligned memcpy.
    offset: u32,
    /// The last axis.
    last: usize,
    step: i32,
}

impl Plan {
    /// `None` when `y` is empty (nothing to read).
    #[inline(never)]
    fn new(p: &CopyParams, len: usize, y_len: usize) -> Result<Option<Plan>, KernelError> {
        let r = rank(p.rank, MAX_RANK, "copy rank")?;
        let (shape, strides) = if r == 0 {
            ([1; MAX_RANK], [0; MAX_RANK])
        } else {
            (p.out_shape.map(us), p.in_strides)
        };
        let r = r.max(1);
        exact("copy y", product(&shape[..r], "copy y")?, y_len)?;
        if y_len == 0 {
            return Ok(None);
        }
        // Every position lies between the sums of the negative and of the positive axis spans;
        // with both ends in range, so is every partial sum below.
        let overflow = KernelError::Overflow {
            what: "copy source position",
        };
        let (mut lo, mut hi) = (i64::from(p.offset), i64::from(p.offset));
        for (&n, &s) in shape[..r].iter().zip(&strides[..r]) {
            let span = (n as i64 - 1).checked_mul(i64::from(s)).ok_or(overflow)?;
            if span < 0 {
                lo = lo.checked_add(span).ok_or(overflow)?;
            } else {
                hi = hi.checked_add(span).ok_or(overflow)?;
            }
        }
        for end in [lo, hi] {
            if end < 0 || end >= len as i64 {
                return Err(KernelError::IndexOutOfRange {
                    index: sat_isize(end),
                    len,
                });
            }
        }
        let last = r - 1;
        Ok(Some(Plan {
            shape,
            strides,
            offset: p.offset,
            last,
            step: strides[last],
        }))
    }

    /// Elements per row (the last axis; nonzero, y being nonempty).
    fn row_len(&self) -> usize {
        self.shape.get(self.last).map_or(1, |&n| n.max(1))
    }

    /// The source position of row `row`'s first element.
    #[inline(never)]
    fn base(&self, row: usize) -> i64 {
        let mut base = i64::from(self.offset);
        let mut rem = row;
        for (&n, &s) in self.shape.iter().zip(&self.strides).take(self.last).rev() {
            let n = n.max(1);
            base += (rem % n) as i64 * i64::from(s);
            rem /= n;
        }
        base
    }
}
