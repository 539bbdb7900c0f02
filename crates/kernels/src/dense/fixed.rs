//! Fixed-point dense (constant i8 weights) and matmul of two activations, see `docs/numerics.md`.
use rill_format::{DenseParams, MatMulParams};

use super::MAX_BATCH_RANK;
use crate::dot::dot_rows;
#[cfg(not(feature = "small"))]
use crate::dot::sums;
#[cfg(not(feature = "small"))]
use crate::fixed::FastOut;
use crate::fixed::{requant_acc, FastRq, OutQ, QAct, QMul};
use crate::util::{at_least, exact, extent, mul, offset, product, rank, us};
use crate::KernelError;

/// `y[m, n] = out(requant(bias[n] + sum_k x[m, k] w[n, k], mul[n]))`, weights i8 (or i16 with i16
/// activations): the converter folds the input
/// zero point into `bias`, so the inner loop is a plain dot product of codes ([`dot_rows`]: four
/// weight rows per pass over `x`). Lengths, exactly: x
/// `m*k`, w `n*k`, bias and mul `n`, y `m*n`.
pub fn dense<T: QAct, W: QAct>(
    p: &DenseParams,
    x: &[T],
    w: &[W],
    bias: &[i32],
    muls: &[QMul],
    out: OutQ,
    y: &mut [T],
) -> Result<(), KernelError> {
    wide_weights::<T, W>()?;
    let (m, k, n) = (us(p.m), us(p.k), us(p.n));
    exact("dense x", mul(m, k, "dense x")?, x.len())?;
    exact("dense w", mul(n, k, "dense w")?, w.len())?;
    exact("dense bias", n, bias.len())?;
    exact("dense multipliers", n, muls.len())?;
    exact("dense y", mul(m, n, "dense y")?, y.len())?;
    if y.is_empty() {
        return Ok(());
    }
    // i8 codes: the multiply-accumulate form of the requantization where the multiplier has it.
    let fast = if T::WIDE { None } else { out.fast::<T>() };
    // y is nonempty, so n >= 1; x holds m rows of k (checked above).
    for (i, yr) in y.chunks_exact_mut(n.max(1)).enumerate() {
        let Some(xr) = x.get(i * k..).and_then(|r| r.get(..k)) else {
            break;
        };
        #[cfg(not(feature = "small"))]
        if let (Some(f), Ok(w8)) = (fast, bytemuck::try_cast_slice::<W, i8>(w)) {
            if !W::WIDE && blocks(xr, w8, bias, muls, out, f, yr) {
                continue;
            }
        }
        dot_rows(xr, w, n, |j, dot| {
            if let (Some(yv), Some(&b), Some(&m)) = (yr.get_mut(j), bias.get(j), muls.get(j)) {
                let acc = (b as i64).wrapping_add(dot);
                *yv = match fast {
                    Some(f) if FastRq::fits(m) => {
                        // The clamp of the exact sum; its i32 form where the dot fits i32 (every
                        // row of at most CHUNK codes).
                        let acc = match i32::try_from(dot) {
                            Ok(d) => b.saturating_add(d),
                            Err(_) => acc.clamp(i32::MIN as i64, i32::MAX as i64) as i32,
                        };
                        f.apply(FastRq::apply_with(m, acc))
                    }
                    _ => out.apply(requant_acc::<T>(acc, m)),
                };
            }
        });
    }
    Ok(())
}

/// One row of `dense` for i8 codes and weights, `k` a multiple of 8 up to `CHUNK`: the sums of
/// blocks of rows into a buffer by one `asm!` loop, then each block requantized in a loop of its
/// own; rows past the last whole quad, and rows whose multiplier lacks the fast form, the plain
/// way. `false` (nothing written) when `k` does not fit.
#[cfg(not(feature = "small"))]
#[inline(always)]
fn blocks<T: QAct>(
    x: &[T],
    w: &[i8],
    bias: &[i32],
    muls: &[QMul],
    out: OutQ,
    fast: FastOut,
    y: &mut [T],
) -> bool {
    let (k, n) = (x.len(), y.len());
    let quads = n - n % 4;
    let full = fast.full::<T>();
    sums(x, |s| {
        let mut buf = [0i32; 32];
        for (c, yb) in y[..quads].chunks_mut(buf.len()).enumerate() {
            let rows = c * buf.len();
            let acc = &mut buf[..yb.len()];
            s.rows(w.get(rows * k..).unwrap_or(&[]), acc);
            let rq = bias[rows..].iter().zip(&muls[rows..]);
            for ((yv, &a), (&b, &m)) in yb.iter_mut().zip(&*acc).zip(rq) {
                // Sums of at most CHUNK products are exact in i32; their clamp with the bias
                // is the saturating add.
                *yv = if FastRq::fits(m) && full {
                    fast.code_full(m, b, a)
                } else if FastRq::fits(m) {
                    fast.code(m, b, a)
                } else {
                    out.apply(requant_acc::<T>(b as i64 + a as i64, m))
                };
            }
        }
        for j in quads..n {
            let row = w.get(j * k..).and_then(|r| r.get(..k)).unwrap_or(&[]);
            let a = crate::dot::plain(x, row);
            y[j] = out.apply(requant_acc::<T>(bias[j] as i64 + a, muls[j]));
        }
    })
    .is_some()
}

/// i16 weights need i16 activations: an i8 model accumulates in i32, which their products could
/// overflow.
pub(crate) fn wide_weights<T: QAct, W: QAct>() -> Result<(), KernelError> {
    if W::WIDE && !T::WIDE {
        return Err(KernelError::BadParam {
            what: "i16 weights need i16 activations",
        });
    }
    Ok(())
}

/// Batched `y = a b` of two activations: `acc = sum (a - z_a)(b - z_b)`, one multiplier
/// `s_a s_b / s_y`. Shapes and strides as [`super::float::matmul`].
#[allow(clippy::too_many_arguments)]
pub fn matmul<T: QAct>(
    p: &MatMulParams,
    a: &[T],
    z_a: i32,
    b: &[T],
    z_b: i32,
    m_y: QMul,
    out: OutQ,
    y: &mut [T],
) -> Result<(), KernelError> {
    let br = rank(p.batch_rank, MAX_BATCH_RANK, "matmul batch_rank")?;
    let (m, k, n) = (us(p.m), us(p.k), us(p.n));
    let batch = p.batch.map(us);
    let (a_stride, b_stride) = (p.a_stride.map(us), p.b_stride.map(us));
    let (batch, a_stride, b_stride) = (&batch[..br], &a_stride[..br], &b_stride[..br]);
    let (mk, kn, mn) = (
        mul(m, k, "matmul a")?,
        mul(k, n, "matmul b")?,
        mul(m, n, "matmul y")?,
    );
    let nb = product(batch, "matmul batch")?;
    exact("matmul y", mul(nb, mn, "matmul y")?, y.len())?;
    at_least(
        "matmul a",
        extent(batch, a_stride, mk, "matmul a")?,
        a.len(),
    )?;
    at_least(
        "matmul b",
        extent(batch, b_stride, kn, "matmul b")?,
        b.len(),
    )?;
    if y.is_empty() {
        return Ok(());
    }
    let (za, zb) = (z_a as i64, z_b as i64);
    for (i, yb) in y.chunks_exact_mut(mn).enumerate() {
        let ab = &a[offset(i, batch, a_stride)..][..mk];
        let bb = &b[offset(i, batch, b_stride)..][..kn];
        for (r, yr) in yb.chunks_exact_mut(n).enumerate() {
            let ar = &ab[r * k..][..k];
            for (c, yv) in yr.iter_mut().enumerate() {
                let acc = ar
                    .iter()
                    .zip(bb[c..].iter().step_by(n))
                    .fold(0i64, |acc, (&x, &w)| {
                        acc + (x.get() as i64 - za) * (w.get() as i64 - zb)
                    });
                *yv = out.apply(requant_acc::<T>(acc, m_y));
            }
        }
    }
    Ok(())
}
