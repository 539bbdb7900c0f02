//! Gather along an axis, for any element type: data viewed as `[outer, axis_len, inner]`,
//! `y[o, j, i] = data[o, indices[j], i]`, y `[outer, n_indices, inner]`. A negative index counts from
//! the end (`-1` is `axis_len - 1`).
//!
//! Lengths, exactly: data `outer*axis_len*inner`, indices `n_indices`, y `outer*n_indices*inner`.
//! Errors: an index outside `-axis_len..axis_len` (`IndexOutOfRange`, with the index as given; every
//! index is checked before anything is written, even when y is empty), overflow, lengths.
use crate::util::{exact, product, us};
use crate::KernelError;
use rill_format::GatherParams;

#[cfg(test)]
mod tests;

/// See the [module docs](self).
pub fn gather<T: Copy>(
    p: &GatherParams,
    data: &[T],
    indices: &[i32],
    y: &mut [T],
) -> Result<(), KernelError> {
    let (outer, axis, inner, n) = (us(p.outer), us(p.axis_len), us(p.inner), us(p.n_indices));
    exact(
        "gather data",
        product(&[outer, axis, inner], "gather data")?,
        data.len(),
    )?;
    exact("gather indices", n, indices.len())?;
    exact(
        "gather y",
        product(&[outer, n, inner], "gather y")?,
        y.len(),
    )?;
    for &i in indices {
        resolve(i, axis)?;
    }
    if y.is_empty() {
        return Ok(());
    }
    let mut rows = y.chunks_exact_mut(inner);
    for src in data.chunks_exact(axis * inner) {
        for &i in indices {
            let k = resolve(i, axis)?;
            if let Some(dst) = rows.next() {
                dst.copy_from_slice(&src[k * inner..][..inner]);
            }
        }
    }
    Ok(())
}

fn resolve(i: i32, len: usize) -> Result<usize, KernelError> {
    let len64 = len as i64;
    let k = if i < 0 { i as i64 + len64 } else { i as i64 };
    if (0..len64).contains(&k) {
        Ok(k as usize)
    } else {
        Err(KernelError::IndexOutOfRange {
            index: i as isize,
            len,
        })
    }
}
