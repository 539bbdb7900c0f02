//! Fixed-point reductions: the reduced values free of the input zero point, rescaled once.
use rill_format::{ReduceKind, ReduceParams, MAX_RANK};

use crate::fixed::{requant_acc, OutQ, QAct, QMul};
use crate::util::{exact, offset, product, rank, us};
use crate::KernelError;

/// Sum and mean: `out(requant(sum (q - z_x), m))`, the mean's `1/count` folded into `m` by the
/// converter; max and min pick the extreme code first. `m = s_x / s_y` (over the count for mean).
/// Shapes and lengths as [`super::float::reduce`]; an empty reduction gives the output zero point.
pub fn reduce<T: QAct>(
    p: &ReduceParams,
    x: &[T],
    z_x: i32,
    m: QMul,
    out: OutQ,
    y: &mut [T],
) -> Result<(), KernelError> {
    let kind = super::kind(p.kind)?;
    let r = rank(p.rank, MAX_RANK, "reduce rank")?;
    if p.axes_mask.checked_shr(r as u32).unwrap_or(0) != 0 {
        return Err(KernelError::BadParam {
            what: "reduce axes_mask names an axis past the rank",
        });
    }
    let shape = if r == 0 {
        [1; MAX_RANK]
    } else {
        p.in_shape.map(us)
    };
    let r = r.max(1);
    let shape = &shape[..r];
    let reduced = |ax: usize| (p.axes_mask >> ax) & 1 == 1;
    let mut kept: usize = 1;
    for ax in (0..r).rev() {
        if !reduced(ax) {
            kept = kept
                .checked_mul(shape[ax])
                .ok_or(KernelError::Overflow { what: "reduce y" })?;
        }
    }
    exact("reduce x", product(shape, "reduce x")?, x.len())?;
    exact("reduce y", kept, y.len())?;
    if x.is_empty() {
        y.fill(out.apply(0));
        return Ok(());
    }
    // x's row-major strides, split into kept and reduced axes: each output walks its own inputs,
    // keeping one i64 accumulator (the codes' type is too narrow to accumulate in y).
    let mut x_strides = [0usize; MAX_RANK];
    let mut s = 1;
    for ax in (0..r).rev() {
        x_strides[ax] = s;
        s *= shape[ax];
    }
    let (mut kept_shape, mut kept_str, mut red_shape, mut red_str) =
        ([1; MAX_RANK], [0; MAX_RANK], [1; MAX_RANK], [0; MAX_RANK]);
    let (mut nk, mut nr) = (0, 0);
    for ax in 0..r {
        if reduced(ax) {
            red_shape[nr] = shape[ax];
            red_str[nr] = x_strides[ax];
            nr += 1;
        } else {
            kept_shape[nk] = shape[ax];
            kept_str[nk] = x_strides[ax];
            nk += 1;
        }
    }
    let count = x.len() / y.len();
    let z = z_x as i64;
    for (o, yv) in y.iter_mut().enumerate() {
        let base = offset(o, &kept_shape[..nk], &kept_str[..nk]);
        let mut acc: i64 = match kind {
            ReduceKind::Mean | ReduceKind::Sum => 0,
            ReduceKind::Max => i64::MIN,
            ReduceKind::Min => i64::MAX,
        };
        for i in 0..count {
            let v = x[base + offset(i, &red_shape[..nr], &red_str[..nr])].get() as i64 - z;
            acc = match kind {
                ReduceKind::Mean | ReduceKind::Sum => acc + v,
                ReduceKind::Max => acc.max(v),
                ReduceKind::Min => acc.min(v),
            };
        }
        *yv = out.apply(requant_acc::<T>(acc, m));
    }
    Ok(())
}
