//! Fixed-point binary ops with broadcasting, see `docs/numerics.md` (Add / Sub / Mul).
use rill_format::{BinaryKind, BinaryParams};

use crate::fixed::{requant_acc, requantize, OutQ, QAct, QMul};
use crate::KernelError;

/// The integer parameters of one binary op. Add, Sub, Max and Min bring both operands to a common
/// scale first: `a' = requant((q_a - z_a) << left_shift, m_a)` (likewise `b'`), combine, then
/// `out(requant(a' op b', m_y))`. Mul: `out(requant((q_a - z_a)(q_b - z_b), m_y))`. Div of two
/// activations: `out(requant(round(((q_a - z_a) << left_shift) / (q_b - z_b)), m_y))` with
/// `m_y = s_a / (s_b s_y 2^left_shift)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BinaryQ {
    pub z_a: i32,
    pub z_b: i32,
    pub m_a: QMul,
    pub m_b: QMul,
    pub m_y: QMul,
    pub left_shift: u32,
    pub out: OutQ,
}

/// Shapes, strides and lengths as [`super::float::binary`]. `b` may have a wider code type than
/// `a` and `y` for Mul (an i16 constant multiplier in an int8 model keeps its precision); for the
/// other kinds both types must agree. Errors also for `Div` and `Pow` (the converter turns division
/// by a constant into multiplication) and `left_shift > 20` (`> 15` for i16 codes).
pub fn binary<T: QAct, U: QAct>(
    p: &BinaryParams,
    a: &[T],
    b: &[U],
    q: &BinaryQ,
    y: &mut [T],
) -> Result<(), KernelError> {
    let kind = BinaryKind::from_u32(p.kind).ok_or(KernelError::BadParam {
        what: "binary kind",
    })?;
    if kind == BinaryKind::Pow {
        return Err(KernelError::BadParam {
            what: "binary Pow has no fixed-point kernel",
        });
    }
    if U::WIDE != T::WIDE && kind != BinaryKind::Mul {
        return Err(KernelError::BadParam {
            what: "binary operands of different code types (only Mul allows it)",
        });
    }
    // (2^16 - 1) << 20 would not fit the i32 requantization (Div shifts in i64).
    let adds = !matches!(kind, BinaryKind::Mul | BinaryKind::Div);
    if q.left_shift > 20 || (adds && T::WIDE && q.left_shift > 15) {
        return Err(KernelError::BadParam {
            what: "binary left_shift too large for the code type",
        });
    }
    let op = |x: T, w: U| -> T {
        let (va, vb) = (x.get() - q.z_a, w.get() - q.z_b);
        let v = match kind {
            // A mixed product (i8 x i16) stays below 2^24: i8 models keep the exact i32 form.
            BinaryKind::Mul => requant_acc::<T>(va as i64 * vb as i64, q.m_y),
            // The quotient with `left_shift` fraction bits; dividing by a real zero saturates
            // towards the numerator's sign, as the float quotient would be infinite.
            BinaryKind::Div if vb == 0 => match va.signum() {
                1 => i32::MAX / 2,
                -1 => i32::MIN / 2,
                _ => 0,
            },
            BinaryKind::Div => {
                let ratio = crate::fixed::div_round((va as i64) << q.left_shift, vb as i64);
                crate::fixed::requantize_i64(ratio, q.m_y)
            }
            _ => {
                let a2 = requantize(va << q.left_shift, q.m_a);
                let b2 = requantize(vb << q.left_shift, q.m_b);
                let c = match kind {
                    BinaryKind::Add => a2 as i64 + b2 as i64,
                    BinaryKind::Sub => a2 as i64 - b2 as i64,
                    BinaryKind::Max => a2.max(b2) as i64,
                    _ => a2.min(b2) as i64,
                };
                requant_acc::<T>(c, q.m_y)
            }
        };
        q.out.apply(v)
    };
    super::rows(p, a.len(), b.len(), y, |yr, ao, bo, la, lb| {
        for (j, yv) in yr.iter_mut().enumerate() {
            *yv = op(a[ao + j * la], b[bo + j * lb]);
        }
    })
}
