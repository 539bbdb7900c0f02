//! f32 convolution.
use rill_format::ConvParams;

use crate::act::float::Act;
use crate::util::{exact, mul, nonzero, product, us, Taps, Weight};
use crate::KernelError;

/// See the [module docs](super).
pub fn conv<W: Weight>(
    p: &ConvParams,
    x: &[f32],
    w: &[W],
    bias: Option<&[f32]>,
    y: &mut [f32],
) -> Result<(), KernelError> {
    let act = Act::new(&p.act)?;
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
    if let Some(b) = bias {
        exact("conv bias", c_out, b.len())?;
    }
    exact(
        "conv y",
        product(&[batch, c_out, out_h, out_w], "conv y")?,
        y.len(),
    )?;
    if y.is_empty() {
        return Ok(());
    }
    // x may be empty (c_in = 0) while y is not: in_plane is not covered by x's length check.
    let (in_plane, out_plane) = (mul(in_h, in_w, "conv x")?, out_h * out_w);
    let k_plane = mul(k_h, k_w, "conv w")?;
    for (bo, y_plane) in y.chunks_exact_mut(out_plane).enumerate() {
        let (b, o) = (bo / c_out, bo % c_out);
        let x_group = &x[(b * c_in + o / cout_g * cin_g) * in_plane..][..cin_g * in_plane];
        let w_out = &w[o * cin_g * k_plane..][..cin_g * k_plane];
        let b0 = bias.map_or(0.0, |b| b[o]);
        for oh in 0..out_h {
            let th = Taps::new(oh, p.stride_h, p.dil_h, p.pad_top, p.in_h, p.k_h);
            for ow in 0..out_w {
                let tw = Taps::new(ow, p.stride_w, p.dil_w, p.pad_left, p.in_w, p.k_w);
                let mut acc = b0;
                for c in 0..cin_g {
                    let xc = &x_group[c * in_plane..][..in_plane];
                    let wc = &w_out[c * k_plane..][..k_plane];
                    for kh in th.lo..th.hi {
                        let ih = th.first + (kh - th.lo) * us(p.dil_h);
                        for kw in tw.lo..tw.hi {
                            let iw = tw.first + (kw - tw.lo) * us(p.dil_w);
                            acc += wc[kh * k_w + kw].f32() * xc[ih * in_w + iw];
                        }
                    }
                }
                y_plane[oh * out_w + ow] = act.eval(acc);
            }
        }
    }
    Ok(())
}
