//! f32 activations. Lengths: `apply` needs `y.len() == x.len()`, `unary` needs both equal to `p.len`.
use core::f32::consts::{FRAC_1_SQRT_2, FRAC_2_SQRT_PI};

use libm::{erff, expf, expm1f, fabsf, log1pf, logf, sqrtf, tanhf};
use rill_format::{ActKind, ActParams, UnaryParams};

use crate::util::{exact, us};
use crate::KernelError;

/// `act(x)`. An unknown kind gives NaN: check it with [`super::check`] first.
pub fn scalar(act: &ActParams, x: f32) -> f32 {
    match ActKind::from_u32(act.kind) {
        Some(kind) => eval(kind, act.alpha, act.beta, x),
        None => f32::NAN,
    }
}

/// `y[i] = act(x[i])`.
pub fn apply(act: &ActParams, x: &[f32], y: &mut [f32]) -> Result<(), KernelError> {
    let act = Act::new(act)?;
    exact("y", x.len(), y.len())?;
    for (y, &x) in y.iter_mut().zip(x) {
        *y = act.eval(x);
    }
    Ok(())
}

/// `y[i] = act(y[i])`.
pub fn apply_in_place(act: &ActParams, y: &mut [f32]) -> Result<(), KernelError> {
    Act::new(act)?.apply(y);
    Ok(())
}

/// The `Unary` op: `y = act(x)` over `p.len` elements.
pub fn unary(p: &UnaryParams, x: &[f32], y: &mut [f32]) -> Result<(), KernelError> {
    exact("x", us(p.len), x.len())?;
    apply(&p.act, x, y)
}

/// A checked activation, for kernels that apply one per element.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Act {
    kind: ActKind,
    alpha: f32,
    beta: f32,
}

impl Act {
    pub(crate) const IDENTITY: Act = Act {
        kind: ActKind::Identity,
        alpha: 0.0,
        beta: 0.0,
    };

    pub(crate) fn new(p: &ActParams) -> Result<Act, KernelError> {
        Ok(Act {
            kind: super::kind(p)?,
            alpha: p.alpha,
            beta: p.beta,
        })
    }

    #[inline]
    pub(crate) fn eval(self, x: f32) -> f32 {
        eval(self.kind, self.alpha, self.beta, x)
    }

    pub(crate) fn apply(self, y: &mut [f32]) {
        if self.kind != ActKind::Identity {
            for v in y {
                *v = self.eval(*v);
            }
        }
    }
}

/// `min(max(x, lo), hi)` that keeps NaN and never panics (unlike `f32::clamp` when `lo > hi`).
#[inline]
pub(crate) fn clamp(x: f32, lo: f32, hi: f32) -> f32 {
    let x = if x < lo { lo } else { x };
    if x > hi {
        hi
    } else {
        x
    }
}

#[inline]
pub(crate) fn sigmoid(x: f32) -> f32 {
    // exp of a non-positive argument only: no overflow to inf/inf.
    if x >= 0.0 {
        1.0 / (1.0 + expf(-x))
    } else {
        let e = expf(x);
        e / (1.0 + e)
    }
}

#[inline]
fn eval(kind: ActKind, alpha: f32, beta: f32, x: f32) -> f32 {
    match kind {
        ActKind::Identity => x,
        ActKind::Relu => {
            if x < 0.0 {
                0.0
            } else {
                x
            }
        }
        ActKind::LeakyRelu => {
            if x < 0.0 {
                alpha * x
            } else {
                x
            }
        }
        ActKind::Sigmoid => sigmoid(x),
        ActKind::HardSigmoid => clamp(alpha * x + beta, 0.0, 1.0),
        ActKind::Tanh => tanhf(x),
        ActKind::Gelu => 0.5 * x * (1.0 + erff(x * FRAC_1_SQRT_2)),
        ActKind::GeluTanh => {
            // sqrt(2 / pi) = (2 / sqrt(pi)) / sqrt(2)
            const C: f32 = FRAC_2_SQRT_PI * FRAC_1_SQRT_2;
            0.5 * x * (1.0 + tanhf(C * (x + 0.044715 * x * x * x)))
        }
        ActKind::Sqrt => sqrtf(x),
        ActKind::Reciprocal => 1.0 / x,
        ActKind::Neg => -x,
        ActKind::Exp => expf(x),
        ActKind::Abs => fabsf(x),
        ActKind::Clip => clamp(x, alpha, beta),
        ActKind::Elu => {
            if x > 0.0 {
                x
            } else {
                alpha * expm1f(x)
            }
        }
        ActKind::Log => logf(x),
        // log(1 + e^x) = max(x, 0) + log1p(e^-|x|): no overflow for large x.
        ActKind::Softplus => {
            if x > 0.0 {
                x + log1pf(expf(-x))
            } else {
                log1pf(expf(x))
            }
        }
        ActKind::Softsign => x / (1.0 + fabsf(x)),
        ActKind::HardSwish => x * clamp(x * (1.0 / 6.0) + 0.5, 0.0, 1.0),
        ActKind::Erf => erff(x),
    }
}
