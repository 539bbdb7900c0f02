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
//! Step form (streaming, after a `Window`): `valid` (the window's count of taps holding frames of
//! this window) makes the time axis' leading `k - valid` taps padding, as the whole-window causal
//! pool pads before the first step. The time axis is H when it is one whole window (`k_h > 1`,
//! `in_h == k_h`, `out_h == 1`, stride 1, no padding), else W, which must then be one. Without
//! `valid` the pool is the plain one above.
//!
//! Lengths, exactly: x `batch*channels*in_h*in_w`, y `batch*channels*out_h*out_w`. Errors: unknown
//! kind, zero stride, dilation or window size, flags other than 0/1, overflow, lengths, a `valid`
//! outside `1..=k` or a step form without a one-window time axis.
pub mod fixed;
use rill_format::{PoolKind, PoolParams};

use crate::util::Taps;
use crate::KernelError;

pub mod float;

#[cfg(test)]
mod fixed_tests;
#[cfg(test)]
mod step_tests;
#[cfg(test)]
mod tests;

/// Which axis a step-form pool's `valid` applies to, and how many leading taps it pads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StepTaps {
    pub on_w: bool,
    pub skip: usize,
}

fn one_window(k: u32, len: u32, out: u32, stride: u32, pad: u32) -> bool {
    k > 1 && len == k && out == 1 && stride == 1 && pad == 0
}

pub(crate) fn step_taps(
    p: &PoolParams,
    valid: Option<i32>,
) -> Result<Option<StepTaps>, KernelError> {
    let Some(v) = valid else { return Ok(None) };
    let on_w = if one_window(p.k_h, p.in_h, p.out_h, p.stride_h, p.pad_top) {
        false
    } else if one_window(p.k_w, p.in_w, p.out_w, p.stride_w, p.pad_left) {
        true
    } else {
        return Err(KernelError::BadParam {
            what: "a step pool's time axis must be one whole window",
        });
    };
    let k = if on_w { p.k_w } else { p.k_h } as usize;
    let v = usize::try_from(v)
        .ok()
        .filter(|v| (1..=k).contains(v))
        .ok_or(KernelError::BadParam {
            what: "a step pool's valid taps must be in 1..=k",
        })?;
    Ok(Some(StepTaps { on_w, skip: k - v }))
}

/// `t` with its first `skip` taps made padding (`dil` apart).
pub(crate) fn skip_taps(t: Taps, skip: usize, dil: u32) -> Taps {
    if skip <= t.lo {
        return t;
    }
    if skip >= t.hi {
        return Taps {
            lo: 0,
            hi: 0,
            first: 0,
        };
    }
    Taps {
        lo: skip,
        hi: t.hi,
        first: t.first + (skip - t.lo) * dil as usize,
    }
}

pub(crate) fn kind(v: u32) -> Result<PoolKind, KernelError> {
    match v {
        0 => Ok(PoolKind::Max),
        1 => Ok(PoolKind::Avg),
        _ => Err(KernelError::BadParam { what: "pool kind" }),
    }
}
