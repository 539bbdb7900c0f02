//! Compute kernels, one module per op family: the f32 reference kernels, and the generic data movers
//! (gather, concat, strided copy) for any element type.
//!
//! Every kernel takes its op's parameter record from `rill-format` plus slices, and returns
//! `Result<(), KernelError>`. Records come from an untrusted file, so a kernel first checks the record
//! (enum values, zero strides, sizes computed with overflow checks) and every slice length against it,
//! and only then touches memory: no parameter value or slice length makes a kernel panic, and the work
//! a kernel does is bounded by the lengths of the slices it is given.
//!
//! Length rules: outputs must have exactly the length their parameters imply; inputs too, except those
//! read through strides (MatMul and Binary operands, the source of a strided copy), which must be at
//! least as long as the furthest element read; RNN scratch must be at least [`rnn::scratch_len`].
#![no_std]
// `deny`, not `forbid`: `arch` (the Cortex-M DSP instructions) is the only module allowed `unsafe`.
#![deny(unsafe_code)]

#[cfg(test)]
extern crate std;

pub mod act;
#[allow(unsafe_code)]
mod arch;
pub mod concat;
pub mod conv;
pub mod copy;
pub mod dense;
mod dot;
pub mod elementwise;
pub mod error;
pub mod fixed;
pub mod gather;
pub mod norm;
pub mod pool;
pub mod reduce;
pub mod requant;
pub mod rnn;
pub mod softmax;
pub mod window;

mod util;

#[cfg(test)]
mod testutil;

pub use error::KernelError;
pub use util::Weight;
