//! Normalizations: LayerNormalization (one LayerNorm op; its optional Mean and InvStdDev outputs are
//! computed by a reduction chain only when used) and BatchNormalization (an affine per channel, which
//! the folding pass merges into the conv or dense before it; or, with its input's own statistics
//! computed in the graph, as tf2onnx writes Keras' LayerNormalization, a LayerNorm).
use rill_format::{
    ActKind, ActParams, BinaryKind, DType, LayerNormParams, Op, ReduceKind, UnaryParams,
};

use super::compute::{emit_binary, emit_reduce, Dest};
use super::{invalid, unsupported, Ctx, Fail, Importer, NodeResult, Val};
use crate::consts::{axis, HConst};
use crate::ir::{Node, TId};

pub(crate) fn convert(im: &mut Importer, cx: &Ctx) -> Option<NodeResult> {
    Some(match cx.op {
        "LayerNormalization" => layer_norm(im, cx),
        "BatchNormalization" => batch_norm(im, cx),
        _ => return None,
    })
}

/// `c` broadcast (numpy rules) to exactly `shape`, as f32 values.
fn expand_to(c: &HConst, shape: &[usize]) -> Result<Vec<f32>, Fail> {
    let out = crate::consts::broadcast(&c.shape, shape)?;
    if out != shape {
        return invalid(format!("{:?} does not broadcast to {shape:?}", c.shape));
    }
    let st = crate::consts::broadcast_strides(&c.shape, shape);
    Ok(crate::consts::index_walk(shape, &[&st])
        .map(|ix| c.data[ix[0]] as f32)
        .collect())
}

fn layer_norm(im: &mut Importer, cx: &Ctx) -> NodeResult {
    let Val::Act(x) = cx.input(0)?.clone() else {
        return unsupported("a constant input");
    };
    let s = im.g.tensors[x].shape.clone();
    let ax = axis(cx.attrs().int("axis", -1), s.len())?;
    let eps = cx.attrs().float("epsilon", 1e-5);
    let norm_shape = s[ax..].to_vec();
    let (outer, size): (usize, usize) = (s[..ax].iter().product(), norm_shape.iter().product());
    let scale = cx.const_input(1, "scale")?;
    let scale = expand_to(scale, &norm_shape)?;
    let bias = match cx.opt_const_input(2, "bias")? {
        Some(b) => Some(expand_to(b, &norm_shape)?),
        None => None,
    };
    let st =
        im.g.const_f32(format!("{}/scale", cx.name), vec![size], scale);
    let bt = bias.map(|b| im.g.const_f32(format!("{}/bias", cx.name), vec![size], b));
    let p = LayerNormParams {
        outer: outer as u32,
        size: size as u32,
        epsilon: eps,
    };
    let y = im.out(cx, 0, s.clone(), DType::F32);
    im.push(
        cx,
        Op::LayerNorm(p),
        vec![Some(x), Some(st), bt],
        vec![Some(y)],
        None,
    );
    let mut outs = vec![Val::Act(y)];
    let want_mean = !cx.output_name(1).is_empty();
    let want_inv = !cx.output_name(2).is_empty();
    if want_mean || want_inv {
        let axes: Vec<usize> = (ax..s.len()).collect();
        let kept: Vec<usize> = s
            .iter()
            .enumerate()
            .map(|(i, &d)| if i >= ax { 1 } else { d })
            .collect();
        let mean = im.out(cx, 1, kept.clone(), DType::F32);
        emit_reduce(im, cx, ReduceKind::Mean, x, &axes, Some(mean))?;
        outs.push(Val::Act(mean));
        if want_inv {
            let d = emit_binary(im, cx, BinaryKind::Sub, x, mean, Dest::Temp("centered"))?;
            let d2 = emit_binary(im, cx, BinaryKind::Mul, d, d, Dest::Temp("squared"))?;
            let var = emit_reduce(im, cx, ReduceKind::Mean, d2, &axes, None)?;
            let e =
                im.g.const_f32(format!("{}/epsilon", cx.name), vec![], vec![eps]);
            let ve = emit_binary(im, cx, BinaryKind::Add, var, e, Dest::Temp("var_eps"))?;
            let sd = im.temp(cx, "std", kept.clone());
            let n = kept.iter().product::<usize>() as u32;
            im.push(
                cx,
                Op::Unary(UnaryParams {
                    len: n,
                    act: ActParams::new(ActKind::Sqrt, 0.0, 0.0),
                }),
                vec![Some(ve)],
                vec![Some(sd)],
                None,
            );
            let inv = im.out(cx, 2, kept, DType::F32);
            im.push(
                cx,
                Op::Unary(UnaryParams {
                    len: n,
                    act: ActParams::new(ActKind::Reciprocal, 0.0, 0.0),
                }),
                vec![Some(sd)],
                vec![Some(inv)],
                None,
            );
            outs.push(Val::Act(inv));
        }
    }
    Ok(outs)
}

fn batch_norm(im: &mut Importer, cx: &Ctx) -> NodeResult {
    if cx.attrs().int("training_mode", 0) != 0 || !cx.output_name(1).is_empty() {
        return unsupported("training mode (running statistics outputs)");
    }
    let Val::Act(x) = cx.input(0)?.clone() else {
        return unsupported("a constant input");
    };
    let s = im.g.tensors[x].shape.clone();
    if s.len() < 2 {
        return invalid(format!("input of shape {s:?} has no channel axis"));
    }
    let c = s[1];
    let eps = cx.attrs().float("epsilon", 1e-5) as f64;
    if let (Ok(Val::Act(mean)), Ok(Val::Act(var))) = (cx.input(3), cx.input(4)) {
        return own_statistics(im, cx, x, (*mean, *var), eps);
    }
    let get = |k: usize, what: &str| per_channel(cx, k, what, c).map(|v| v.data.clone());
    let (scale, bias, mean, var) = (
        get(1, "scale")?,
        get(2, "bias")?,
        get(3, "mean")?,
        get(4, "variance")?,
    );
    let mul: Vec<f32> = (0..c)
        .map(|i| (scale[i] / (var[i] + eps).sqrt()) as f32)
        .collect();
    let add: Vec<f32> = (0..c)
        .map(|i| (bias[i] - mean[i] * scale[i] / (var[i] + eps).sqrt()) as f32)
        .collect();
    scale_shift(im, cx, x, mul, add)
}

/// Constant input `k` of a BatchNormalization, one value per channel of `c`.
fn per_channel<'c>(cx: &'c Ctx, k: usize, what: &str, c: usize) -> Result<&'c HConst, Fail> {
    let v = cx.const_input(k, what)?;
    if v.len() != c {
        return invalid(format!("{what} has {} values for {c} channels", v.len()));
    }
    Ok(v)
}

/// Output 0 as `x * mul[ch] + add[ch]` per channel (axis 1): two ops the folding pass merges into
/// the layer before, when there is one.
fn scale_shift(im: &mut Importer, cx: &Ctx, x: TId, mul: Vec<f32>, add: Vec<f32>) -> NodeResult {
    let rank = im.g.tensors[x].shape.len();
    let mut cshape = vec![mul.len()];
    cshape.extend(std::iter::repeat_n(1, rank.saturating_sub(2)));
    let mt =
        im.g.const_f32(format!("{}/scale", cx.name), cshape.clone(), mul);
    let at = im.g.const_f32(format!("{}/shift", cx.name), cshape, add);
    let scaled = emit_binary(im, cx, BinaryKind::Mul, x, mt, Dest::Temp("scaled"))?;
    let y = emit_binary(im, cx, BinaryKind::Add, scaled, at, Dest::Output(0))?;
    Ok(vec![Val::Act(y)])
}

/// A BatchNormalization whose mean and variance are its own input's, computed in the graph over
/// every axis but the channels: tf2onnx's form of Keras' LayerNormalization (the rows reshaped
/// into channels). With one sample each channel's values are contiguous, so it is a LayerNorm
/// over them, then the per-channel scale and shift. Any other run-time statistics are refused.
fn own_statistics(
    im: &mut Importer,
    cx: &Ctx,
    x: TId,
    (mean, var): (TId, TId),
    eps: f64,
) -> NodeResult {
    let s = im.g.tensors[x].shape.clone();
    let c = s[1];
    let size: usize = s[2..].iter().product();
    let mask = ((1u32 << s.len()) - 1) & !0b10;
    if !(is_mean_of(im, mean, x, mask) && is_variance_of(im, var, x, mask, size * s[0])) {
        return unsupported(
            "mean and variance computed at run time other than its input's own over every \
             axis but the channels",
        );
    }
    if s[0] != 1 {
        return unsupported("statistics over a batch of more than one sample");
    }
    let (scale, bias) = (
        per_channel(cx, 1, "scale", c)?.f32s(),
        per_channel(cx, 2, "bias", c)?.f32s(),
    );
    let ones =
        im.g.const_f32(format!("{}/ones", cx.name), vec![size], vec![1.0; size]);
    let trivial = scale.iter().all(|&v| v == 1.0) && bias.iter().all(|&v| v == 0.0);
    let normed = if trivial {
        im.out(cx, 0, s.clone(), DType::F32)
    } else {
        im.temp(cx, "normalized", s.clone())
    };
    let p = LayerNormParams {
        outer: c as u32,
        size: size as u32,
        epsilon: eps as f32,
    };
    im.push(
        cx,
        Op::LayerNorm(p),
        vec![Some(x), Some(ones), None],
        vec![Some(normed)],
        None,
    );
    if trivial {
        return Ok(vec![Val::Act(normed)]);
    }
    scale_shift(im, cx, normed, scale, bias)
}

/// The node that writes `t` (or what `t` is a view of).
fn producer(im: &Importer, t: TId) -> Option<&Node> {
    im.g.producer(t).map(|i| &im.g.nodes[i])
}

/// `a` is `b`'s data under `b`'s shape (the axes of a reduction mean the same).
fn same(im: &Importer, a: Option<TId>, b: TId) -> bool {
    a.is_some_and(|a| {
        im.g.root(a) == im.g.root(b) && im.g.tensors[a].shape == im.g.tensors[b].shape
    })
}

/// `t` is `x` reduced by `kind` over the axes of `mask`.
fn is_reduce_of(im: &Importer, t: TId, x: TId, mask: u32, kind: ReduceKind) -> bool {
    producer(im, t).is_some_and(|n| {
        matches!(n.op, Op::Reduce(p) if p.kind == kind as u32 && p.axes_mask == mask)
            && same(im, n.inputs.first().copied().flatten(), x)
    })
}

fn is_mean_of(im: &Importer, t: TId, x: TId, mask: u32) -> bool {
    is_reduce_of(im, t, x, mask, ReduceKind::Mean)
}

/// `t` is `(x - mean(x))^2` (one Sub, then a Mul of it by itself).
fn is_squared_deviation(im: &Importer, t: TId, x: TId, mask: u32) -> bool {
    let Some(sq) = producer(im, t) else {
        return false;
    };
    let (Op::Binary(b), [Some(d), Some(d2)]) = (sq.op, sq.inputs.as_slice()) else {
        return false;
    };
    if b.kind != BinaryKind::Mul as u32 || im.g.root(*d) != im.g.root(*d2) {
        return false;
    }
    producer(im, *d).is_some_and(|sub| {
        matches!(sub.op, Op::Binary(p) if p.kind == BinaryKind::Sub as u32)
            && same(im, sub.inputs.first().copied().flatten(), x)
            && sub
                .inputs
                .get(1)
                .copied()
                .flatten()
                .is_some_and(|m| is_mean_of(im, m, x, mask))
    })
}

/// `t` is the variance of `x` over the axes of `mask` (`count` values each): the mean of the
/// squared deviations, or their sum divided by `count`.
fn is_variance_of(im: &Importer, t: TId, x: TId, mask: u32, count: usize) -> bool {
    let Some(n) = producer(im, t) else {
        return false;
    };
    let squared_reduced = |t: TId, kind: ReduceKind| {
        producer(im, t).is_some_and(|r| {
            matches!(r.op, Op::Reduce(p) if p.kind == kind as u32 && p.axes_mask == mask)
                && r.inputs
                    .first()
                    .copied()
                    .flatten()
                    .is_some_and(|sq| is_squared_deviation(im, sq, x, mask))
        })
    };
    match (n.op, n.inputs.as_slice()) {
        (Op::Reduce(_), _) => squared_reduced(t, ReduceKind::Mean),
        (Op::Binary(b), [Some(sum), Some(k)]) if b.kind == BinaryKind::Div as u32 => {
            im.g.const_f32_values(*k)
                .is_some_and(|v| !v.is_empty() && v.iter().all(|&v| v == count as f32))
                && squared_reduced(*sum, ReduceKind::Sum)
        }
        _ => false,
    }
}
