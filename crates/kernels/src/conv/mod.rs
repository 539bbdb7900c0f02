//! 2-D convolution, NCHW (1-D is `in_h = out_h = k_h = 1`), with groups (depthwise when
//! `groups = c_in`), stride, dilation and zero padding:
//!
//! `y[b, o, oh, ow] = act(bias[o] + sum_{c, kh, kw} w[o, c, kh, kw] * x[b, g*cg + c, ih, iw])` with
//! `g = o / (c_out / groups)`, `cg = c_in / groups`, `ih = oh*stride_h + kh*dil_h - pad_top` and
//! `iw = ow*stride_w + kw*dil_w - pad_left`; taps outside the input read zero. The padding below and
//! to the right is whatever `out_h`/`out_w` imply: any output size is accepted, positions past the
//! input are padding.
//!
//! Lengths, exactly: x `batch*c_in*in_h*in_w`, w `c_out*(c_in/groups)*k_h*k_w`, bias `c_out`,
//! y `batch*c_out*out_h*out_w`. Errors: zero stride, dilation or groups, groups not dividing `c_in`
//! and `c_out`, an unknown activation kind, overflow, lengths.
pub mod fixed;
pub mod float;

#[cfg(test)]
mod fixed_tests;
#[cfg(test)]
mod tests;
