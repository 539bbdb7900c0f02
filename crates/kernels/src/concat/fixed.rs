//! Fixed-point concatenation: each input requantized to the output's scale and zero point.
use rill_format::ConcatParams;

use crate::fixed::{requantize, OutQ, QAct, QMul};
use crate::util::{add, exact, mul, us};
use crate::KernelError;

/// `y = out(requant(q - z_in, m_in))` for every element of every input `(codes, z_in, m_in)`, laid
/// out as [`super::concat`]; `m_in = s_in / s_y` (exactly 1 copies the codes when the zero points
/// agree).
pub fn concat<T: QAct>(
    p: &ConcatParams,
    inputs: &[(&[T], i32, QMul)],
    out: OutQ,
    y: &mut [T],
) -> Result<(), KernelError> {
    if inputs.is_empty() {
        return Err(KernelError::BadParam {
            what: "concat needs an input",
        });
    }
    let (outer, inner) = (us(p.outer), us(p.inner));
    let unit = mul(outer, inner, "concat outer*inner")?;
    let mut total = 0;
    for (x, _, _) in inputs {
        if unit == 0 {
            exact("concat input", 0, x.len())?;
        } else if x.len() % unit != 0 {
            return Err(KernelError::Length {
                what: "concat input (multiple of outer*inner)",
                expected: x.len() - x.len() % unit,
                actual: x.len(),
            });
        }
        total = add(total, x.len(), "concat y")?;
    }
    exact("concat y", total, y.len())?;
    if y.is_empty() {
        return Ok(());
    }
    let mut dst = 0;
    for o in 0..outer {
        for (x, z_in, m) in inputs {
            let block = x.len() / outer;
            for (yv, &v) in y[dst..][..block].iter_mut().zip(&x[o * block..][..block]) {
                *yv = out.apply(requantize(v.get() - z_in, *m));
            }
            dst += block;
        }
    }
    Ok(())
}
