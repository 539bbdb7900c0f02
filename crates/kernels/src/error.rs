//! The one error type of every kernel.
use core::fmt;

/// Why a kernel refused to run. Kernels check everything before they write, so an output is left
/// untouched when they fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelError {
    /// Slice `what` has `actual` elements where the parameters imply `expected` (exactly, or at least
    /// for inputs read through strides and for scratch).
    Length {
        what: &'static str,
        expected: usize,
        actual: usize,
    },
    /// A size computed from the parameters does not fit in `usize`.
    Overflow { what: &'static str },
    /// A parameter is invalid: an unknown enum value, a zero stride, dilation or group count, a rank
    /// above the maximum, a flag other than 0 or 1, ...
    BadParam { what: &'static str },
    /// An index (gather index, ring head, or strided-copy source position) lies outside `0..len`.
    /// `isize` rather than `i64` keeps every kernel `Result` 4-byte aligned on a 32-bit MCU; a
    /// copy position beyond the `isize` range (on a 32-bit target only) is saturated to it.
    IndexOutOfRange { index: isize, len: usize },
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            KernelError::Length {
                what,
                expected,
                actual,
            } => {
                write!(
                    f,
                    "{what} has {actual} elements, the parameters imply {expected}"
                )
            }
            KernelError::Overflow { what } => write!(f, "{what}: size overflows"),
            KernelError::BadParam { what } => write!(f, "invalid parameter: {what}"),
            KernelError::IndexOutOfRange { index, len } => {
                write!(f, "index {index} out of range 0..{len}")
            }
        }
    }
}

impl core::error::Error for KernelError {}
