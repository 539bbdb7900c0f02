//! 2-D max and average pooling, NCHW (1-D is `in_h = out_h = k_h = 1`), with stride, dilation and
//! padding:
//!
//! `y[b, c, oh, ow]` pools the taps `x[b, c, oh*stride_h + kh*dil_h - pad_top, ow*stride_w +
//! kw*dil_w - pad_left]` for `kh < k_h`, `kw < k_w`. Taps outside the input are padding: max pooling
//! ignores them; average pooling sums the in-bounds taps and divides by `k_h * k_w` when
//! `count_include_pad = 1`, by the number of in-bounds taps when it is 0. As in conv, padding below and
//! to the right is what `out_h`/`out_w` imply, and all of it counts for `count_include_pad` (ONNX's
//! `ceil_mode` windows that run past the explicit padding count it too here). A window with no
//! in-bounds tap gives `-inf` (max) or 0 (average). `global` is informational (the converter sets the
//! window to the input size); it must be 0 or 1.
//!
//! Lengths, exactly: x `batch*channels*in_h*in_w`, y `batch*channels*out_h*out_w`. Errors: unknown
//! kind, zero stride, dilation or window size, flags other than 0/1, overflow, lengths.
pub mod fixed;
use rill_format::PoolKind;

use crate::KernelError;

pub mod float;

#[cfg(test)]
mod fixed_tests;
#[cfg(test)]
mod tests;

pub(crate) fn kind(v: u32) -> Result<PoolKind, KernelError> {
    match v {
        0 => Ok(PoolKind::Max),
        1 => Ok(PoolKind::Avg),
        _ => Err(KernelError::BadParam { what: "pool kind" }),
    }
}
