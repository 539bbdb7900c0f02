//! Dense (fully connected: ONNX Gemm, MatMul against constant weights) and MatMul of two activations.
//!
//! [`float::dense`]: `y[m, n] = act(sum_k x[m, k] * w[n, k] + bias[n])`, w holding one row per output
//! (Gemm's `transB` layout; the converter transposes constant weights into it). Lengths, exactly:
//! x `m*k`, w `n*k`, bias `n`, y `m*n`. `k = 0` gives `act(bias)`.
//!
//! [`float::matmul`]: `y[i, m, n] = sum_k a[i, m, k] * b[i, k, n]` for every batch index `i` of
//! `batch[..batch_rank]` (row-major). Batch index `i` starts a's `m*k` block at
//! `sum_j i_j * a_stride[j]` (b's `k*n` block likewise); a zero stride broadcasts. Lengths: y exactly
//! `prod(batch) * m * n`; a at least `m*k + sum_j (batch[j] - 1) * a_stride[j]` (b likewise with
//! `k*n`), nothing when the product is empty. Errors: `batch_rank > 4`, overflow, lengths.
pub mod fixed;
pub mod float;

#[cfg(test)]
mod fixed_tests;
#[cfg(test)]
mod tests;

/// Most batch axes a MatMul record holds.
pub const MAX_BATCH_RANK: usize = 4;
