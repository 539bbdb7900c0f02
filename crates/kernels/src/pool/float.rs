//! f32 pooling.
use rill_format::{PoolKind, PoolParams};

use crate::util::{exact, flag, nonzero, product, us, Taps};
use crate::KernelError;

/// See the [module docs](super).
pub fn pool(p: &PoolParams, x: &[f32], y: &mut [f32]) -> Result<(), KernelError> {
    pool_step(p, x, None, y)
}

/// The step form: `valid` as in the [module docs](super).
pub fn pool_step(
    p: &PoolParams,
    x: &[f32],
    valid: Option<i32>,
    y: &mut [f32],
) -> Result<(), KernelError> {
    let step = super::step_taps(p, valid)?;
    let kind = super::kind(p.kind)?;
    nonzero(p.stride_h, "pool stride")?;
    nonzero(p.stride_w, "pool stride")?;
    nonzero(p.dil_h, "pool dilation")?;
    nonzero(p.dil_w, "pool dilation")?;
    nonzero(p.k_h, "pool window")?;
    nonzero(p.k_w, "pool window")?;
    let include_pad = flag(p.count_include_pad, "pool count_include_pad")?;
    flag(p.global, "pool global")?;
    let planes = product(&[us(p.batch), us(p.channels)], "pool planes")?;
    let (in_h, in_w, out_h, out_w) = (us(p.in_h), us(p.in_w), us(p.out_h), us(p.out_w));
    exact("pool x", product(&[planes, in_h, in_w], "pool x")?, x.len())?;
    exact(
        "pool y",
        product(&[planes, out_h, out_w], "pool y")?,
        y.len(),
    )?;
    if y.is_empty() {
        return Ok(());
    }
    let (in_plane, out_plane) = (in_h * in_w, out_h * out_w);
    let window = p.k_h as f32 * p.k_w as f32;
    for (c, y_plane) in y.chunks_exact_mut(out_plane).enumerate() {
        let xc = &x[c * in_plane..][..in_plane];
        for oh in 0..out_h {
            let th = Taps::new(oh, p.stride_h, p.dil_h, p.pad_top, p.in_h, p.k_h);
            let th = match step {
                Some(st) if !st.on_w => super::skip_taps(th, st.skip, p.dil_h),
                _ => th,
            };
            for ow in 0..out_w {
                let tw = Taps::new(ow, p.stride_w, p.dil_w, p.pad_left, p.in_w, p.k_w);
                let tw = match step {
                    Some(st) if st.on_w => super::skip_taps(tw, st.skip, p.dil_w),
                    _ => tw,
                };
                let taps = (th.lo..th.hi).flat_map(|kh| {
                    let row = (th.first + (kh - th.lo) * us(p.dil_h)) * in_w;
                    (tw.lo..tw.hi).map(move |kw| xc[row + tw.first + (kw - tw.lo) * us(p.dil_w)])
                });
                y_plane[oh * out_w + ow] = match kind {
                    // NaN propagates, as numpy's max does: once m is NaN no comparison replaces it.
                    PoolKind::Max => {
                        taps.fold(
                            f32::NEG_INFINITY,
                            |m, v| if v > m || v.is_nan() { v } else { m },
                        )
                    }
                    PoolKind::Avg => {
                        let sum: f32 = taps.fold(0.0, |s, v| s + v);
                        let n = th.count() * tw.count();
                        if include_pad {
                            sum / window
                        } else if n == 0 {
                            0.0
                        } else {
                            sum / n as f32
                        }
                    }
                };
            }
        }
    }
    Ok(())
}
