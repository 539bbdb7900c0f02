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
pub mod fixed;
pub mod float;

#[cfg(test)]
mod fixed_tests;
#[cfg(test)]
mod tests;
