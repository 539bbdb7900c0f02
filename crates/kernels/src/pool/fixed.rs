//! Fixed-point pooling on codes: input and output share scale and zero point.
use rill_format::{PoolKind, PoolParams};

use crate::fixed::{div_round, QAct};
use crate::util::{exact, flag, nonzero, product, us, Taps};
use crate::KernelError;

/// Max pooling compares codes (the mapping is monotonic); average pooling sums codes and divides
/// with rounding half away from zero, padding taps counting as `z` (a real zero) when
/// `count_include_pad = 1`. A window without an in-bounds tap gives `T::MIN` (max) or `z` (average).
/// Shapes and lengths as [`super::float::pool`].
pub fn pool<T: QAct>(p: &PoolParams, x: &[T], z: i32, y: &mut [T]) -> Result<(), KernelError> {
    pool_step(p, x, z, None, y)
}

/// The step form: `valid` as in the [module docs](super); skipped taps are padding like any other.
pub fn pool_step<T: QAct>(
    p: &PoolParams,
    x: &[T],
    z: i32,
    valid: Option<i32>,
    y: &mut [T],
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
    // The padded taps of an average add `(window - n) z` to a sum of at most `window` codes: both
    // stay below 2^62 in magnitude for windows up to 2^47 taps (codes and zero points < 2^15).
    let window = p.k_h as u64 * p.k_w as u64;
    if window > 1 << 47 {
        return Err(KernelError::BadParam {
            what: "pool window above 2^47 taps",
        });
    }
    let window = window as i64;
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
                    (tw.lo..tw.hi)
                        .map(move |kw| xc[row + tw.first + (kw - tw.lo) * us(p.dil_w)].get())
                });
                let n = (th.count() * tw.count()) as i64;
                let v = match kind {
                    PoolKind::Max => taps.max().unwrap_or(T::MIN),
                    PoolKind::Avg => {
                        let sum: i64 = taps.map(i64::from).sum();
                        if include_pad {
                            div_round(sum + (window - n) * z as i64, window) as i32
                        } else if n == 0 {
                            z
                        } else {
                            div_round(sum, n) as i32
                        }
                    }
                };
                y_plane[oh * out_w + ow] = T::sat(v);
            }
        }
    }
    Ok(())
}
