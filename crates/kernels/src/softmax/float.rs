//! f32 softmax.
use libm::{expf, logf};
use rill_format::SoftmaxParams;

use crate::util::{exact, flag, product, us};
use crate::KernelError;

/// See the [module docs](super).
pub fn softmax(p: &SoftmaxParams, x: &[f32], y: &mut [f32]) -> Result<(), KernelError> {
    softmax_modes::<true>(p, x, y)
}

/// [`softmax`], with the log-softmax form compiled in only when `LOG` (a log-softmax op is then
/// refused with [`KernelError::BadParam`]).
pub fn softmax_modes<const LOG: bool>(
    p: &SoftmaxParams,
    x: &[f32],
    y: &mut [f32],
) -> Result<(), KernelError> {
    let log = flag(p.log, "softmax log")?;
    if log && !LOG {
        return Err(KernelError::BadParam {
            what: "log-softmax is not compiled in",
        });
    }
    let (axis, inner) = (us(p.axis_len), us(p.inner));
    let len = product(&[us(p.outer), axis, inner], "softmax x")?;
    exact("softmax x", len, x.len())?;
    exact("softmax y", len, y.len())?;
    if y.is_empty() {
        return Ok(());
    }
    let block = axis * inner;
    for (xb, yb) in x.chunks_exact(block).zip(y.chunks_exact_mut(block)) {
        for i in 0..inner {
            let max = xb[i..]
                .iter()
                .step_by(inner)
                .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
            let mut sum = 0.0;
            for (yv, xv) in yb[i..]
                .iter_mut()
                .step_by(inner)
                .zip(xb[i..].iter().step_by(inner))
            {
                *yv = expf(xv - max);
                sum += *yv;
            }
            if LOG && log {
                // (x - max) first: adding log(sum) to a large max would round it away.
                let log_sum = logf(sum);
                for (yv, xv) in yb[i..]
                    .iter_mut()
                    .step_by(inner)
                    .zip(xb[i..].iter().step_by(inner))
                {
                    *yv = (xv - max) - log_sum;
                }
            } else {
                let inv = 1.0 / sum;
                for yv in yb[i..].iter_mut().step_by(inner) {
                    *yv *= inv;
                }
            }
        }
    }
    Ok(())
}
