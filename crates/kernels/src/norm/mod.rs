//! Layer normalization over the last `size` elements of rows of x viewed as `[outer, size]`:
//! `y = (x - mean) / sqrt(var + epsilon) * scale + bias`, with the row's mean and (biased) variance
//! computed in two passes. [`fixed::layer_norm`] is the integer form (exact i128 statistics).
//!
//! Lengths, exactly: x and y `outer*size`, scale and bias `size`. Errors: overflow, lengths. A
//! negative epsilon on a constant row gives NaN (IEEE), not an error.
pub mod fixed;
pub mod float;

#[cfg(test)]
mod fixed_tests;
#[cfg(test)]
mod tests;
