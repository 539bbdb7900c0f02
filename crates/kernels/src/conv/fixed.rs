//! Fixed-point convolution with i8 weights, see `docs/numerics.md`.
use rill_format::ConvParams;

use crate::fixed::{requant_acc, OutQ, QAct, QMul};
use crate::util::{exact, mul, nonzero, product, us, Taps};
use crate::KernelError;

/// `y = out(requant(bias[o] + sum q_x q_w, mul[o]))` per output channel. The converter folds
/// `-z_x * sum w[o]` into `bias[o]`, which is exact where every tap is inside the input; a padding
/// tap reads `z_x` (a real zero), so at the borders the missing `z_x * w` terms are added back.
/// Shapes and lengths as [`super::float::conv`], with `bias` and `muls` of length `c_out`.
#[allow(clippy::too_many_arguments)]
pub fn conv<T: QAct, W: QAct>(
    p: &ConvParams,
    x: &[T],
    z_x: i32,
    w: &[W],
    bias: &[i32],
    muls: &[QMul],
    out: OutQ,
    y: &mut [T],
) -> Result<(), KernelError> {
    crate::dense::fixed::wide_weights::<T, W>()?;
    nonzero(p.stride_h, "conv stride")?;
    nonzero(p.stride_w, "conv stride")?;
    nonzero(p.dil_h, "conv dilation")?;
    nonzero(p.dil_w, "conv dilation")?;
    let groups = nonzero(p.groups, "conv groups")?;
    let (c_in, c_out) = (us(p.c_in), us(p.c_out));
    if c_in % groups != 0 || c_out % groups != 0 {
        return Err(KernelError::BadParam {
            what: "conv groups must divide c_in and c_out",
        });
    }
    let (cin_g, cout_g) = (c_in / groups, c_out / groups);
    let (in_h, in_w, out_h, out_w) = (us(p.in_h), us(p.in_w), us(p.out_h), us(p.out_w));
    let (k_h, k_w) = (us(p.k_h), us(p.k_w));
    let batch = us(p.batch);
    exact(
        "conv x",
        product(&[batch, c_in, in_h, in_w], "conv x")?,
        x.len(),
    )?;
    exact(
        "conv w",
        product(&[c_out, cin_g, k_h, k_w], "conv w")?,
        w.len(),
    )?;
    exact("conv bias", c_out, bias.len())?;
    exact("conv multipliers", c_out, muls.len())?;
    exact(
        "conv y",
        product(&[batch, c_out, out_h, out_w], "conv y")?,
        y.len(),
    )?;
    if y.is_empty() {
        return Ok(());
    }
    let (in_plane, out_plane) = (mul(in_h, in_w, "conv x")?, out_h * out_w);
    let k_plane = mul(k_h, k_w, "conv w")?;
    let z = z_x as i64;
    for (bo, y_plane) in y.chunks_exact_mut(out_plane).enumerate() {
        let (b, o) = (bo / c_out, bo % c_out);
        let x_group = &x[(b * c_in + o / cout_g * cin_g) * in_plane..][..cin_g * in_plane];
        let w_out = &w[o * cin_g * k_plane..][..cin_g * k_plane];
        let w_sum: i64 = w_out.iter().map(|&v| v.get() as i64).sum();
        for oh in 0..out_h {
            let th = Taps::new(oh, p.stride_h, p.dil_h, p.pad_top, p.in_h, p.k_h);
            for ow in 0..out_w {
                let tw = Taps::new(ow, p.stride_w, p.dil_w, p.pad_left, p.in_w, p.k_w);
                let border = z != 0 && (th.count() < k_h || tw.count() < k_w);
                let mut acc = bias[o] as i64;
                let mut inside = 0i64;
                for c in 0..cin_g {
                    let xc = &x_group[c * in_plane..][..in_plane];
                    let wc = &w_out[c * k_plane..][..k_plane];
                    for kh in th.lo..th.hi {
                        let ih = th.first + (kh - th.lo) * us(p.dil_h);
                        let xr = &xc[ih * in_w..][..in_w];
                        let wr = &wc[kh * k_w..][..k_w];
                        for kw in tw.lo..tw.hi {
                            let iw = tw.first + (kw - tw.lo) * us(p.dil_w);
                            let wv = wr[kw].get() as i64;
                            acc += wv * xr[iw].get() as i64;
                            inside += wv;
                        }
                    }
                }
                if border {
                    acc += z * (w_sum - inside);
                }
                y_plane[oh * out_w + ow] = out.apply(requant_acc::<T>(acc, muls[o]));
            }
        }
    }
    Ok(())
}
