//! Concatenation along an axis, for any element type: every input viewed as `[outer, len_i, inner]`
//! with `len_i = input.len() / (outer*inner)`, y as `[outer, sum len_i, inner]`.
//!
//! Lengths: at least one input; each input a multiple of `outer*inner` (when that is 0, every input
//! and y must be empty); y exactly the sum of the inputs. Errors: no input, overflow, lengths.
pub mod fixed;
use rill_format::ConcatParams;

use crate::util::{add, exact, mul, us};
use crate::KernelError;

#[cfg(test)]
mod fixed_tests;
#[cfg(test)]
mod tests;

/// See the [module docs](self).
pub fn concat<T: Copy>(p: &ConcatParams, inputs: &[&[T]], y: &mut [T]) -> Result<(), KernelError> {
    if inputs.is_empty() {
        return Err(KernelError::BadParam {
            what: "concat needs an input",
        });
    }
    let (outer, inner) = (us(p.outer), us(p.inner));
    let unit = mul(outer, inner, "concat outer*inner")?;
    let mut total = 0;
    for x in inputs {
        if unit == 0 {
            exact("concat input", 0, x.len())?;
        } else if x.len() % unit != 0 {
            let expected = x.len() - x.len() % unit;
            return Err(KernelError::Length {
                what: "concat input (multiple of outer*inner)",
                expected,
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
        for x in inputs {
            let block = x.len() / outer;
            y[dst..][..block].copy_from_slice(&x[o * block..][..block]);
            dst += block;
        }
    }
    Ok(())
}
