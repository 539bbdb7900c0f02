//! Softmax and log-softmax over the middle axis of x viewed as `[outer, axis_len, inner]`,
//! numerically stable (the maximum is subtracted before exponentiating):
//! `y = exp(x - max) / sum exp(x - max)`, or with `log = 1`, `y = x - max - log(sum exp(x - max))`.
//!
//! Lengths, exactly: x and y `outer*axis_len*inner`. Errors: `log` not 0/1, overflow, lengths.
//! [`fixed::softmax`] is the integer form (i8 or i16 codes, parameters in one i32 table operand built
//! at convert time by [`fixed::build_softmax_table_i8`] / [`fixed::build_softmax_table_i16`]).
pub mod fixed;
pub mod float;

#[cfg(test)]
mod fixed_tests;
#[cfg(test)]
mod tests;
