//! Arithmetic ops on activations: convolution, pooling, dense layers and matrix products, elementwise
//! functions, softmax and reductions.
use rill_format::{
    ActKind, ActParams, BinaryKind, BinaryParams, ConvParams, DType, DenseParams, MatMulParams, Op,
    PoolKind, PoolParams, ReduceKind, ReduceParams, SoftmaxParams, UnaryParams, MAX_RANK,
};

use super::{invalid, unsupported, Ctx, Fail, Importer, NodeResult, PadView, Val};
use crate::consts::{self, axis, broadcast, broadcast_strides, HConst};

pub(crate) fn convert(im: &mut Importer, cx: &Ctx) -> Option<NodeResult> {
    Some(match cx.op {
        "Conv" => conv(im, cx),
        "MaxPool" | "AveragePool" | "GlobalAveragePool" | "GlobalMaxPool" => pool(im, cx),
        "Gemm" => gemm(im, cx),
        "MatMul" => matmul(im, cx),
        "Add" | "Sub" | "Mul" | "Div" | "Pow" | "Max" | "Min" => binary(im, cx),
        "Sum" if cx.inputs.len() == 1 => cx.input(0).cloned().map(|v| vec![v]),
        "Softmax" | "LogSoftmax" => softmax(im, cx),
        "ReduceMean" | "ReduceSum" | "ReduceMax" | "ReduceMin" | "ReduceSumSquare" => {
            reduce(im, cx)
        }
        op => match unary_kind(cx, op) {
            Some(Ok(act)) => unary(im, cx, act),
            Some(Err(e)) => Err(e),
            None => return None,
        },
    })
}

/// The activation an elementwise ONNX op computes, with ONNX's default constants.
fn unary_kind(cx: &Ctx, op: &str) -> Option<Result<ActParams, Fail>> {
    let a = cx.attrs();
    let p = |k, alpha, beta| Some(Ok(ActParams::new(k, alpha, beta)));
    match op {
        "Relu" => p(ActKind::Relu, 0.0, 0.0),
        "LeakyRelu" => p(ActKind::LeakyRelu, a.float("alpha", 0.01), 0.0),
        "Sigmoid" => p(ActKind::Sigmoid, 0.0, 0.0),
        "HardSigmoid" => p(
            ActKind::HardSigmoid,
            a.float("alpha", 0.2),
            a.float("beta", 0.5),
        ),
        "HardSwish" => p(ActKind::HardSwish, 0.0, 0.0),
        "Tanh" => p(ActKind::Tanh, 0.0, 0.0),
        "Gelu" => match a.string("approximate").as_deref() {
            None | Some("none") => p(ActKind::Gelu, 0.0, 0.0),
            Some("tanh") => p(ActKind::GeluTanh, 0.0, 0.0),
            Some(other) => Some(invalid(format!("approximate = '{other}'"))),
        },
        "Sqrt" => p(ActKind::Sqrt, 0.0, 0.0),
        "Reciprocal" => p(ActKind::Reciprocal, 0.0, 0.0),
        "Neg" => p(ActKind::Neg, 0.0, 0.0),
        "Exp" => p(ActKind::Exp, 0.0, 0.0),
        "Abs" => p(ActKind::Abs, 0.0, 0.0),
        "Log" => p(ActKind::Log, 0.0, 0.0),
        "Elu" => p(ActKind::Elu, a.float("alpha", 1.0), 0.0),
        "Softplus" => p(ActKind::Softplus, 0.0, 0.0),
        "Softsign" => p(ActKind::Softsign, 0.0, 0.0),
        "Erf" => p(ActKind::Erf, 0.0, 0.0),
        "Clip" => Some(clip_params(cx)),
        _ => None,
    }
}

fn clip_params(cx: &Ctx) -> Result<ActParams, Fail> {
    let (lo, hi) = if cx.opset < 11 {
        (
            cx.attrs().float("min", f32::MIN),
            cx.attrs().float("max", f32::MAX),
        )
    } else {
        let bound = |k, d: f32| -> Result<f32, Fail> {
            Ok(cx
                .opt_const_input(k, if k == 1 { "min" } else { "max" })?
                .and_then(|c| c.f32s().first().copied())
                .unwrap_or(d))
        };
        (bound(1, f32::NEG_INFINITY)?, bound(2, f32::INFINITY)?)
    };
    if lo == 0.0 && hi == f32::INFINITY {
        return Ok(ActParams::new(ActKind::Relu, 0.0, 0.0));
    }
    Ok(ActParams::new(ActKind::Clip, lo, hi))
}

fn act_input(cx: &Ctx, k: usize) -> Result<usize, Fail> {
    match cx.input(k)? {
        Val::Act(t) => Ok(*t),
        _ => invalid(format!("input {k} is not an activation")),
    }
}

fn u32s(v: usize) -> Result<u32, Fail> {
    u32::try_from(v).map_err(|_| Fail::Invalid(format!("size {v} does not fit 32 bits")))
}

fn unary(im: &mut Importer, cx: &Ctx, act: ActParams) -> NodeResult {
    let x = act_input(cx, 0)?;
    if im.g.tensors[x].dtype != DType::F32 {
        return unsupported("integer input");
    }
    let shape = im.g.tensors[x].shape.clone();
    let p = UnaryParams {
        len: u32s(consts::numel(&shape))?,
        act,
    };
    let y = im.out(cx, 0, shape, DType::F32);
    im.push(cx, Op::Unary(p), vec![Some(x)], vec![Some(y)], None);
    Ok(vec![Val::Act(y)])
}

pub(crate) fn binary_kind(op: &str) -> Option<BinaryKind> {
    Some(match op {
        "Add" => BinaryKind::Add,
        "Sub" => BinaryKind::Sub,
        "Mul" => BinaryKind::Mul,
        "Div" => BinaryKind::Div,
        "Pow" => BinaryKind::Pow,
        "Max" => BinaryKind::Max,
        "Min" => BinaryKind::Min,
        _ => return None,
    })
}

/// Where an emitted op writes: output `k` of the node or a new intermediate.
pub(crate) enum Dest<'a> {
    Output(usize),
    Temp(&'a str),
}

/// Emits `y = a (kind) b` with broadcasting.
pub(crate) fn emit_binary(
    im: &mut Importer,
    cx: &Ctx,
    kind: BinaryKind,
    a: usize,
    b: usize,
    y: Dest,
) -> Result<usize, Fail> {
    let (sa, sb) = (im.g.tensors[a].shape.clone(), im.g.tensors[b].shape.clone());
    let out = broadcast(&sa, &sb)?;
    if out.len() > MAX_RANK {
        return unsupported("rank above 6");
    }
    let mut p = BinaryParams {
        kind: kind as u32,
        rank: out.len() as u32,
        out_shape: [0; MAX_RANK],
        a_strides: [0; MAX_RANK],
        b_strides: [0; MAX_RANK],
    };
    let (ta, tb) = (broadcast_strides(&sa, &out), broadcast_strides(&sb, &out));
    for i in 0..out.len() {
        p.out_shape[i] = u32s(out[i])?;
        p.a_strides[i] = u32s(ta[i])?;
        p.b_strides[i] = u32s(tb[i])?;
    }
    let y = match y {
        Dest::Output(k) => im.out(cx, k, out, DType::F32),
        Dest::Temp(what) => im.temp(cx, what, out),
    };
    im.push(
        cx,
        Op::Binary(p),
        vec![Some(a), Some(b)],
        vec![Some(y)],
        None,
    );
    Ok(y)
}

fn binary(im: &mut Importer, cx: &Ctx) -> NodeResult {
    if cx.inputs.len() != 2 {
        return unsupported(format!("{} with {} inputs", cx.op, cx.inputs.len()));
    }
    let kind = binary_kind(cx.op).ok_or(Fail::Unsupported(None))?;
    let (va, vb) = (cx.input(0)?.clone(), cx.input(1)?.clone());
    if im.dtype(&va) != DType::F32 || im.dtype(&vb) != DType::F32 {
        return unsupported("integer arithmetic at run time");
    }
    // x ** 2 is how exporters square; a product is exact and cheaper.
    if let (BinaryKind::Pow, Val::Act(x), Val::Const(e)) = (kind, &va, &vb) {
        if e.len() == 1 && e.data[0] == 2.0 && e.shape.len() <= im.g.tensors[*x].shape.len() {
            return Ok(vec![Val::Act(emit_binary(
                im,
                cx,
                BinaryKind::Mul,
                *x,
                *x,
                Dest::Output(0),
            )?)]);
        }
    }
    let a = im.tensor(&va, &format!("{}/a", cx.name))?;
    let b = im.tensor(&vb, &format!("{}/b", cx.name))?;
    Ok(vec![Val::Act(emit_binary(
        im,
        cx,
        kind,
        a,
        b,
        Dest::Output(0),
    )?)])
}

/// Spatial geometry of a conv or pool window along one axis.
#[derive(Clone, Copy)]
struct Axis {
    input: usize,
    k: usize,
    stride: usize,
    dil: usize,
    pad_begin: usize,
    out: usize,
}

/// Resolves auto_pad / pads / ceil_mode into per-axis geometry (1 or 2 spatial axes).
fn window(
    cx: &Ctx,
    spatial: &[usize],
    kernel: &[usize],
    ceil: bool,
    extra: Option<&PadView>,
) -> Result<Vec<Axis>, Fail> {
    let a = cx.attrs();
    let n = spatial.len();
    let get = |name: &str, d: usize| -> Result<Vec<usize>, Fail> {
        match a.ints(name) {
            None => Ok(vec![d; n]),
            Some(v) if v.len() == n && v.iter().all(|&x| x >= 0) => {
                Ok(v.iter().map(|&x| x as usize).collect())
            }
            Some(v) => invalid(format!("{name} {v:?} does not fit {n} spatial axes")),
        }
    };
    let strides = get("strides", 1)?;
    let dils = get("dilations", 1)?;
    if strides.contains(&0) || dils.contains(&0) || kernel.contains(&0) {
        return invalid("zero stride, dilation or kernel size");
    }
    let pads = match a.ints("pads") {
        None => vec![0; 2 * n],
        Some(v) if v.len() == 2 * n && v.iter().all(|&x| x >= 0) => {
            v.iter().map(|&x| x as usize).collect()
        }
        Some(v) => return invalid(format!("pads {v:?} do not fit {n} spatial axes")),
    };
    let auto = a.string("auto_pad").unwrap_or_else(|| "NOTSET".into());
    let mut axes = Vec::with_capacity(n);
    for i in 0..n {
        let span = (kernel[i] - 1) * dils[i] + 1;
        let (pb, pe) = match auto.as_str() {
            "NOTSET" => match extra {
                // The padded view's spatial axes start at 2 (N, C first).
                Some(p) => (pads[i] + p.begin[i + 2], pads[i + n] + p.end[i + 2]),
                None => (pads[i], pads[i + n]),
            },
            _ if extra.is_some() => return unsupported("a Pad before a conv with auto_pad"),
            "VALID" => (0, 0),
            "SAME_UPPER" | "SAME_LOWER" => {
                let out = spatial[i].div_ceil(strides[i]);
                let total = ((out - 1) * strides[i] + span).saturating_sub(spatial[i]);
                if auto == "SAME_UPPER" {
                    (total / 2, total - total / 2)
                } else {
                    (total - total / 2, total / 2)
                }
            }
            other => return invalid(format!("auto_pad '{other}'")),
        };
        let padded = spatial[i] + pb + pe;
        if padded < span {
            return invalid(format!(
                "window of {span} does not fit input {} with padding",
                spatial[i]
            ));
        }
        let mut out = if ceil {
            (padded - span).div_ceil(strides[i]) + 1
        } else {
            (padded - span) / strides[i] + 1
        };
        // A last window starting inside the end padding is dropped (ONNX / PyTorch ceil_mode rule).
        if ceil && (out - 1) * strides[i] >= spatial[i] + pb {
            out -= 1;
        }
        axes.push(Axis {
            input: spatial[i],
            k: kernel[i],
            stride: strides[i],
            dil: dils[i],
            pad_begin: pb,
            out,
        });
    }
    Ok(axes)
}

/// Pads 1-D geometry to the 2-D records (H = 1).
fn hw(axes: &[Axis]) -> (Axis, Axis) {
    let unit = Axis {
        input: 1,
        k: 1,
        stride: 1,
        dil: 1,
        pad_begin: 0,
        out: 1,
    };
    match axes {
        [h, w] => (*h, *w),
        [w, ..] => (unit, *w),
        [] => (unit, unit),
    }
}

fn conv(im: &mut Importer, cx: &Ctx) -> NodeResult {
    let padded = act_input(cx, 0)?;
    let pad = im.padded.get(&padded).cloned();
    let x = pad.as_ref().map_or(padded, |p| p.src);
    let xs = im.g.tensors[x].shape.clone();
    if let Some(p) = &pad {
        if p.begin.len() != xs.len() || p.begin[..2].iter().chain(&p.end[..2]).any(|&v| v != 0) {
            return unsupported(format!("Pad '{}' pads the batch or channel axis", p.node));
        }
    }
    if !(3..=4).contains(&xs.len()) {
        return unsupported(format!("Conv on rank {} (1-D and 2-D only)", xs.len()));
    }
    let w = cx.const_input(1, "weights")?.clone();
    let groups = cx.attrs().int("group", 1).max(1) as usize;
    let (c_in, c_out) = (xs[1], w.shape[0]);
    if w.shape.len() != xs.len() || w.shape[1] * groups != c_in || c_out % groups != 0 {
        return invalid(format!(
            "weights {:?} do not fit input {:?} with {groups} groups",
            w.shape, xs
        ));
    }
    let kernel = w.shape[2..].to_vec();
    if let Some(ks) = cx.attrs().ints("kernel_shape") {
        if ks.iter().map(|&k| k as usize).ne(kernel.iter().copied()) {
            return invalid(format!(
                "kernel_shape {ks:?} disagrees with weights {:?}",
                w.shape
            ));
        }
    }
    let axes = window(cx, &xs[2..], &kernel, false, pad.as_ref())?;
    let (h, wd) = hw(&axes);
    let p = ConvParams {
        batch: u32s(xs[0])?,
        c_in: u32s(c_in)?,
        in_h: u32s(h.input)?,
        in_w: u32s(wd.input)?,
        c_out: u32s(c_out)?,
        out_h: u32s(h.out)?,
        out_w: u32s(wd.out)?,
        k_h: u32s(h.k)?,
        k_w: u32s(wd.k)?,
        stride_h: u32s(h.stride)?,
        stride_w: u32s(wd.stride)?,
        dil_h: u32s(h.dil)?,
        dil_w: u32s(wd.dil)?,
        pad_top: u32s(h.pad_begin)?,
        pad_left: u32s(wd.pad_begin)?,
        groups: u32s(groups)?,
        act: ActParams::IDENTITY,
    };
    let wt = im.tensor(&Val::Const(w), &format!("{}/weights", cx.name))?;
    let bt = match cx.opt_input(2) {
        None => None,
        Some(Val::Const(b)) if b.len() == c_out => Some(im.tensor(
            &Val::Const(b.reshaped(vec![c_out])?),
            &format!("{}/bias", cx.name),
        )?),
        Some(Val::Const(b)) => {
            return invalid(format!("bias has {} values for {c_out} channels", b.len()))
        }
        Some(_) => return unsupported("a non-constant bias"),
    };
    let mut out = vec![xs[0], c_out];
    out.extend(axes.iter().map(|a| a.out));
    let y = im.out(cx, 0, out, DType::F32);
    im.push(
        cx,
        Op::Conv(p),
        vec![Some(x), Some(wt), bt],
        vec![Some(y)],
        None,
    );
    Ok(vec![Val::Act(y)])
}

fn pool(im: &mut Importer, cx: &Ctx) -> NodeResult {
    let x = act_input(cx, 0)?;
    let xs = im.g.tensors[x].shape.clone();
    if !(3..=4).contains(&xs.len()) {
        return unsupported(format!("{} on rank {} (1-D and 2-D only)", cx.op, xs.len()));
    }
    if !cx.output_name(1).is_empty() {
        return unsupported("the Indices output of MaxPool");
    }
    let global = cx.op.starts_with("Global");
    let kind = if cx.op.contains("Max") {
        PoolKind::Max
    } else {
        PoolKind::Avg
    };
    let spatial = &xs[2..];
    let axes = if global {
        spatial
            .iter()
            .map(|&d| Axis {
                input: d,
                k: d,
                stride: 1,
                dil: 1,
                pad_begin: 0,
                out: 1,
            })
            .collect()
    } else {
        let ks: Vec<usize> = cx
            .attrs()
            .ints("kernel_shape")
            .ok_or_else(|| Fail::Invalid("no kernel_shape".into()))?
            .iter()
            .map(|&k| k.max(0) as usize)
            .collect();
        if ks.len() != spatial.len() {
            return invalid(format!("kernel_shape {ks:?} does not fit input {xs:?}"));
        }
        if cx.attrs().int("storage_order", 0) != 0 {
            return unsupported("storage_order = 1");
        }
        window(cx, spatial, &ks, cx.attrs().int("ceil_mode", 0) != 0, None)?
    };
    let (h, w) = hw(&axes);
    let p = PoolParams {
        kind: kind as u32,
        batch: u32s(xs[0])?,
        channels: u32s(xs[1])?,
        in_h: u32s(h.input)?,
        in_w: u32s(w.input)?,
        out_h: u32s(h.out)?,
        out_w: u32s(w.out)?,
        k_h: u32s(h.k)?,
        k_w: u32s(w.k)?,
        stride_h: u32s(h.stride)?,
        stride_w: u32s(w.stride)?,
        dil_h: u32s(h.dil)?,
        dil_w: u32s(w.dil)?,
        pad_top: u32s(h.pad_begin)?,
        pad_left: u32s(w.pad_begin)?,
        count_include_pad: u32::from(cx.attrs().int("count_include_pad", 0) != 0),
        global: u32::from(global),
    };
    let mut out = vec![xs[0], xs[1]];
    out.extend(axes.iter().map(|a| a.out));
    let y = im.out(cx, 0, out, DType::F32);
    im.push(cx, Op::Pool(p), vec![Some(x)], vec![Some(y)], None);
    Ok(vec![Val::Act(y)])
}

/// Transposes a 2-D constant.
fn transpose2(c: &HConst) -> HConst {
    let (r, k) = (c.shape[0], c.shape[1]);
    let mut data = vec![0.0; r * k];
    for i in 0..r {
        for j in 0..k {
            data[j * r + i] = c.data[i * k + j];
        }
    }
    HConst::new(vec![k, r], c.ty, data)
}

/// `y[m, n] = x[m, k] w[n, k]^T + bias` as a Dense op; `x` may have leading axes.
pub(crate) fn emit_dense(
    im: &mut Importer,
    cx: &Ctx,
    x: usize,
    w_nk: &HConst,
    bias: Option<Vec<f32>>,
    out_shape: Vec<usize>,
) -> Result<usize, Fail> {
    let (n, k) = (w_nk.shape[0], w_nk.shape[1]);
    let m = im.g.tensors[x].numel() / k.max(1);
    let p = DenseParams {
        m: u32s(m)?,
        k: u32s(k)?,
        n: u32s(n)?,
        act: ActParams::IDENTITY,
    };
    let wt = im.tensor(&Val::Const(w_nk.clone()), &format!("{}/weights", cx.name))?;
    let bt = bias.map(|b| im.g.const_f32(format!("{}/bias", cx.name), vec![n], b));
    let y = im.out(cx, 0, out_shape, DType::F32);
    im.push(
        cx,
        Op::Dense(p),
        vec![Some(x), Some(wt), bt],
        vec![Some(y)],
        None,
    );
    Ok(y)
}

fn gemm(im: &mut Importer, cx: &Ctx) -> NodeResult {
    let a_ = cx.attrs();
    let (alpha, beta) = (a_.float("alpha", 1.0) as f64, a_.float("beta", 1.0) as f64);
    let (ta, tb) = (a_.int("transA", 0) != 0, a_.int("transB", 0) != 0);
    let va = cx.input(0)?.clone();
    let vb = cx.input(1)?.clone();
    let (sa, sb) = (im.shape(&va)?, im.shape(&vb)?);
    if sa.len() != 2 || sb.len() != 2 {
        return invalid(format!("Gemm takes 2-D operands, got {sa:?} and {sb:?}"));
    }
    let (m, k) = if ta { (sa[1], sa[0]) } else { (sa[0], sa[1]) };
    let (kb, n) = if tb { (sb[1], sb[0]) } else { (sb[0], sb[1]) };
    if k != kb {
        return invalid(format!(
            "inner sizes differ: A {sa:?} (transA {ta}), B {sb:?} (transB {tb})"
        ));
    }
    // op(A) as an activation.
    let x = match &va {
        Val::Act(t) if ta => {
            let (out, st) = consts::transpose_view(&sa, &[1, 0]);
            let p = super::shape_ops::copy_params(&out, &st, 0)?;
            let y = im.temp(cx, "a_t", out);
            im.push(cx, Op::Copy(p), vec![Some(*t)], vec![Some(y)], None);
            y
        }
        Val::Act(t) => *t,
        Val::Const(c) => {
            let c = if ta { transpose2(c) } else { c.clone() };
            im.tensor(&Val::Const(c), &format!("{}/a", cx.name))?
        }
        Val::Unknown => return invalid("unknown input"),
    };
    let (c, c_act) = match cx.opt_input(2) {
        None => (None, None),
        Some(Val::Const(c)) => (Some(c.clone()), None),
        Some(Val::Act(t)) => (None, Some(*t)),
        Some(Val::Unknown) => return invalid("unknown input"),
    };
    let Val::Const(bc) = vb else {
        // Two activations: a MatMul, then the scalings and C as elementwise ops.
        let Val::Act(bt) = vb else {
            return invalid("unknown input");
        };
        let b = if tb {
            let (out, st) = consts::transpose_view(&sb, &[1, 0]);
            let p = super::shape_ops::copy_params(&out, &st, 0)?;
            let y = im.temp(cx, "b_t", out);
            im.push(cx, Op::Copy(p), vec![Some(bt)], vec![Some(y)], None);
            y
        } else {
            bt
        };
        let mut y = emit_matmul(
            im,
            cx,
            x,
            b,
            vec![m, n],
            c.is_none() && c_act.is_none() && alpha == 1.0,
        )?;
        if alpha != 1.0 {
            let s =
                im.g.const_f32(format!("{}/alpha", cx.name), vec![], vec![alpha as f32]);
            let last = c.is_none() && c_act.is_none();
            y = emit_binary(
                im,
                cx,
                rill_format::BinaryKind::Mul,
                y,
                s,
                if last {
                    Dest::Output(0)
                } else {
                    Dest::Temp("alpha_ab")
                },
            )?;
        }
        return add_c(im, cx, y, c, c_act, beta);
    };
    let w = if tb { bc.clone() } else { transpose2(&bc) }.map(|v| v * alpha);
    // C folds into the bias when it is one value per output column.
    let per_col = c
        .as_ref()
        .is_some_and(|c| c.len() == 1 || (c.shape.last() == Some(&n) && c.len() == n));
    if let (true, Some(c)) = (per_col, &c) {
        let bias = (0..n)
            .map(|j| (beta * c.data[if c.len() == 1 { 0 } else { j }]) as f32)
            .collect();
        return Ok(vec![Val::Act(emit_dense(
            im,
            cx,
            x,
            &w,
            Some(bias),
            vec![m, n],
        )?)]);
    }
    let y = if c.is_none() && c_act.is_none() {
        return Ok(vec![Val::Act(emit_dense(im, cx, x, &w, None, vec![m, n])?)]);
    } else {
        let t = im.temp(cx, "ab", vec![m, n]);
        let (nn, kk) = (w.shape[0], w.shape[1]);
        let p = DenseParams {
            m: u32s(m)?,
            k: u32s(kk)?,
            n: u32s(nn)?,
            act: ActParams::IDENTITY,
        };
        let wt = im.tensor(&Val::Const(w), &format!("{}/weights", cx.name))?;
        im.push(
            cx,
            Op::Dense(p),
            vec![Some(x), Some(wt), None],
            vec![Some(t)],
            None,
        );
        t
    };
    add_c(im, cx, y, c, c_act, beta)
}

/// `y + beta * C` as the node's output.
fn add_c(
    im: &mut Importer,
    cx: &Ctx,
    y: usize,
    c: Option<HConst>,
    c_act: Option<usize>,
    beta: f64,
) -> NodeResult {
    let ct = match (c, c_act) {
        (_, Some(t)) if beta == 1.0 => t,
        (_, Some(t)) => {
            let s =
                im.g.const_f32(format!("{}/beta", cx.name), vec![], vec![beta as f32]);
            emit_binary(
                im,
                cx,
                rill_format::BinaryKind::Mul,
                t,
                s,
                Dest::Temp("beta_c"),
            )?
        }
        (Some(c), None) => {
            let c = c.map(|v| v * beta);
            im.tensor(&Val::Const(c), &format!("{}/c", cx.name))?
        }
        (None, None) => return Ok(vec![Val::Act(y)]),
    };
    Ok(vec![Val::Act(emit_binary(
        im,
        cx,
        rill_format::BinaryKind::Add,
        y,
        ct,
        Dest::Output(0),
    )?)])
}

/// A MatMul op over `[.., m, k] x [.., k, n]` with batch broadcasting.
fn emit_matmul(
    im: &mut Importer,
    cx: &Ctx,
    a: usize,
    b: usize,
    out_hint: Vec<usize>,
    is_output: bool,
) -> Result<usize, Fail> {
    let (sa, sb) = (im.g.tensors[a].shape.clone(), im.g.tensors[b].shape.clone());
    let (m, k) = (sa[sa.len() - 2], sa[sa.len() - 1]);
    let n = sb[sb.len() - 1];
    if sb[sb.len() - 2] != k {
        return invalid(format!("inner sizes differ: {sa:?} x {sb:?}"));
    }
    let batch = broadcast(&sa[..sa.len() - 2], &sb[..sb.len() - 2])?;
    if batch.len() > rill_kernels::dense::MAX_BATCH_RANK {
        return unsupported("more than 4 batch axes");
    }
    let bs = |s: &[usize], blk: usize| -> Vec<usize> {
        let lead = &s[..s.len() - 2];
        broadcast_strides(lead, &batch)
            .iter()
            .map(|&st| st * blk)
            .collect()
    };
    let (ast, bst) = (bs(&sa, m * k), bs(&sb, k * n));
    let mut p = MatMulParams {
        m: u32s(m)?,
        k: u32s(k)?,
        n: u32s(n)?,
        batch_rank: batch.len() as u32,
        batch: [1; 4],
        a_stride: [0; 4],
        b_stride: [0; 4],
    };
    for i in 0..batch.len() {
        p.batch[i] = u32s(batch[i])?;
        p.a_stride[i] = u32s(ast[i])?;
        p.b_stride[i] = u32s(bst[i])?;
    }
    let mut out = batch.clone();
    out.extend([m, n]);
    let y = if is_output && consts::numel(&out_hint) == consts::numel(&out) {
        im.out(cx, 0, out_hint, DType::F32)
    } else {
        im.temp(cx, "matmul", out)
    };
    im.push(
        cx,
        Op::MatMul(p),
        vec![Some(a), Some(b)],
        vec![Some(y)],
        None,
    );
    Ok(y)
}

fn matmul(im: &mut Importer, cx: &Ctx) -> NodeResult {
    let va = cx.input(0)?.clone();
    let vb = cx.input(1)?.clone();
    let (sa0, sb0) = (im.shape(&va)?, im.shape(&vb)?);
    if sa0.is_empty() || sb0.is_empty() {
        return invalid("MatMul of a scalar");
    }
    // numpy semantics: 1-D operands gain an axis that the result drops.
    let sa = if sa0.len() == 1 {
        vec![1, sa0[0]]
    } else {
        sa0.clone()
    };
    let sb = if sb0.len() == 1 {
        vec![sb0[0], 1]
    } else {
        sb0.clone()
    };
    let (m, k, n) = (sa[sa.len() - 2], sa[sa.len() - 1], sb[sb.len() - 1]);
    if sb[sb.len() - 2] != k {
        return invalid(format!("inner sizes differ: {sa0:?} x {sb0:?}"));
    }
    let batch = broadcast(&sa[..sa.len() - 2], &sb[..sb.len() - 2])?;
    let mut out: Vec<usize> = batch.clone();
    if sa0.len() > 1 {
        out.push(m);
    }
    if sb0.len() > 1 {
        out.push(n);
    }
    if let (Val::Act(x), Val::Const(w)) = (&va, &vb) {
        if sb.len() == 2 && batch == sa[..sa.len() - 2] {
            let w2 = w.reshaped(vec![k, n])?;
            return Ok(vec![Val::Act(emit_dense(
                im,
                cx,
                *x,
                &transpose2(&w2),
                None,
                out,
            )?)]);
        }
    }
    let a = im.tensor(&va, &format!("{}/a", cx.name))?;
    let b = im.tensor(&vb, &format!("{}/b", cx.name))?;
    let a = if sa0.len() == 1 {
        reshaped(im, a, sa.clone())
    } else {
        a
    };
    let b = if sb0.len() == 1 {
        reshaped(im, b, sb.clone())
    } else {
        b
    };
    let y = emit_matmul(im, cx, a, b, out.clone(), true)?;
    if im.g.tensors[y].shape != out {
        return Ok(vec![Val::Act(im.alias(cx, 0, y, out))]);
    }
    Ok(vec![Val::Act(y)])
}

fn reshaped(im: &mut Importer, t: usize, shape: Vec<usize>) -> usize {
    let name = format!("{}/view", im.g.tensors[t].name);
    let dtype = im.g.tensors[t].dtype;
    im.g.add(name, shape, dtype, crate::ir::Data::Alias(t))
}

fn softmax(im: &mut Importer, cx: &Ctx) -> NodeResult {
    let x = act_input(cx, 0)?;
    let s = im.g.tensors[x].shape.clone();
    let default = if cx.opset < 13 { 1 } else { -1 };
    let ax = axis(cx.attrs().int("axis", default), s.len().max(1))?;
    let (outer, len, inner) = if cx.opset < 13 {
        // Before opset 13 the input is flattened to 2-D at `axis`.
        (s[..ax].iter().product(), s[ax..].iter().product(), 1)
    } else {
        (
            s[..ax].iter().product(),
            s.get(ax).copied().unwrap_or(1),
            s[ax + 1..].iter().product::<usize>(),
        )
    };
    let p = SoftmaxParams {
        outer: u32s(outer)?,
        axis_len: u32s(len)?,
        inner: u32s(inner)?,
        log: u32::from(cx.op == "LogSoftmax"),
    };
    let y = im.out(cx, 0, s, DType::F32);
    im.push(cx, Op::Softmax(p), vec![Some(x)], vec![Some(y)], None);
    Ok(vec![Val::Act(y)])
}

/// Emits a reduction of `x` over `axes`; returns the output shape with kept (size-1) axes.
pub(crate) fn emit_reduce(
    im: &mut Importer,
    cx: &Ctx,
    kind: ReduceKind,
    x: usize,
    axes: &[usize],
    y: Option<usize>,
) -> Result<usize, Fail> {
    let s = im.g.tensors[x].shape.clone();
    if s.len() > MAX_RANK {
        return unsupported("rank above 6");
    }
    let mut p = ReduceParams {
        kind: kind as u32,
        rank: s.len() as u32,
        in_shape: [0; MAX_RANK],
        axes_mask: 0,
    };
    for (i, &d) in s.iter().enumerate() {
        p.in_shape[i] = u32s(d)?;
    }
    for &a in axes {
        p.axes_mask |= 1 << a;
    }
    let kept: Vec<usize> = s
        .iter()
        .enumerate()
        .map(|(i, &d)| if axes.contains(&i) { 1 } else { d })
        .collect();
    let y = match y {
        Some(y) => y,
        None => im.temp(cx, "reduce", kept),
    };
    im.push(cx, Op::Reduce(p), vec![Some(x)], vec![Some(y)], None);
    Ok(y)
}

fn reduce(im: &mut Importer, cx: &Ctx) -> NodeResult {
    let mut x = act_input(cx, 0)?;
    let s = im.g.tensors[x].shape.clone();
    if cx.op == "ReduceSumSquare" {
        x = emit_binary(im, cx, BinaryKind::Mul, x, x, Dest::Temp("squared"))?;
    }
    let kind = match cx.op {
        "ReduceMean" => ReduceKind::Mean,
        "ReduceSum" | "ReduceSumSquare" => ReduceKind::Sum,
        "ReduceMax" => ReduceKind::Max,
        _ => ReduceKind::Min,
    };
    let (axes, out) = super::shape_ops::reduce_axes(cx, &s)?;
    let y = im.out(cx, 0, out, DType::F32);
    emit_reduce(im, cx, kind, x, &axes, Some(y))?;
    Ok(vec![Val::Act(y)])
}
