//! Elementwise activations: the `Unary` op, and the activation fused after Dense and Conv and used
//! inside RNN cells.
//!
//! `y = act(x)` per element, with the meanings given on [`ActKind`]. `alpha`/`beta` are used by
//! LeakyRelu (alpha), HardSigmoid (alpha, beta), Clip (min = alpha, max = beta) and Elu (alpha), and
//! ignored by every other kind (HardSwish has its fixed 1/6 and 0.5). The record holds the values to
//! use: the converter stores ONNX's defaults, kernels never substitute any.
//!
//! Errors: a `kind` that is not an [`ActKind`] value (`BadParam`); lengths: see [`float`]. Float
//! special values follow IEEE arithmetic (NaN in gives NaN out, `Reciprocal(0) = inf`), never an error.
//! Clip with `alpha > beta` gives `beta` everywhere, as `min(max(x, alpha), beta)` does.
pub mod fixed;
use rill_format::{ActKind, ActParams};

use crate::KernelError;

pub mod float;

#[cfg(test)]
mod fixed_tests;
#[cfg(test)]
mod tests;

/// Checks that `act.kind` is an [`ActKind`] value.
pub fn check(act: &ActParams) -> Result<(), KernelError> {
    kind(act).map(|_| ())
}

pub(crate) fn kind(act: &ActParams) -> Result<ActKind, KernelError> {
    ActKind::from_u32(act.kind).ok_or(KernelError::BadParam {
        what: "activation kind",
    })
}
