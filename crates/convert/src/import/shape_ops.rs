//! Ops that only move or relabel data: resolved at convert time. On constants they are evaluated; on
//! activations they become aliases (same bytes, new shape) or one strided Copy (Transpose, Slice,
//! Expand), and Gather becomes the Gather op. Shape arithmetic on constants is folded here too.
use rill_format::{CopyParams, DType, GatherParams, Op, MAX_RANK};

use super::{invalid, unsupported, Ctx, Fail, Importer, NodeResult, PadView, Val};
use crate::consts::{self, axis, broadcast, CType, HConst};
use crate::ir::{Data, TId};
use crate::proto;

pub(crate) fn copy_params(
    out_shape: &[usize],
    strides: &[isize],
    offset: usize,
) -> Result<CopyParams, String> {
    if out_shape.len() > MAX_RANK {
        return Err(format!("rank {} is above 6", out_shape.len()));
    }
    let mut p = CopyParams {
        rank: out_shape.len() as u32,
        out_shape: [0; MAX_RANK],
        in_strides: [0; MAX_RANK],
        offset: 0,
    };
    for (i, (&d, &s)) in out_shape.iter().zip(strides).enumerate() {
        p.out_shape[i] = u32::try_from(d).map_err(|_| "dimension too large".to_string())?;
        p.in_strides[i] = i32::try_from(s).map_err(|_| "stride too large".to_string())?;
    }
    p.offset = u32::try_from(offset).map_err(|_| "offset too large".to_string())?;
    Ok(p)
}

/// Output `k` as a view of input `v` under `shape`: a constant reshaped, or an activation aliased.
fn view(im: &mut Importer, cx: &Ctx, v: &Val, shape: Vec<usize>) -> NodeResult {
    match v {
        Val::Const(c) => Ok(vec![Val::Const(c.reshaped(shape)?)]),
        Val::Act(t) => {
            if consts::numel(&shape) != im.g.tensors[*t].numel() {
                return invalid(format!(
                    "cannot view {:?} as {:?}",
                    im.g.tensors[*t].shape, shape
                ));
            }
            Ok(vec![Val::Act(im.alias(cx, 0, *t, shape))])
        }
        Val::Unknown => invalid("unknown input"),
    }
}

/// Output 0 reads `v` through strides: a constant is evaluated, an activation gets a Copy op.
fn strided(
    im: &mut Importer,
    cx: &Ctx,
    v: &Val,
    out: Vec<usize>,
    strides: Vec<isize>,
    offset: usize,
) -> NodeResult {
    match v {
        Val::Const(c) => Ok(vec![Val::Const(c.strided(&out, &strides, offset))]),
        Val::Act(t) => {
            let p = copy_params(&out, &strides, offset)?;
            let dtype = im.g.tensors[*t].dtype;
            let y = im.out(cx, 0, out, dtype);
            im.push(cx, Op::Copy(p), vec![Some(*t)], vec![Some(y)], None);
            Ok(vec![Val::Act(y)])
        }
        Val::Unknown => invalid("unknown input"),
    }
}

/// Axes from the attribute (older opsets) or input 1 (newer).
fn axes_of(cx: &Ctx, input: usize) -> Result<Option<Vec<i64>>, Fail> {
    if let Some(a) = cx.attrs().ints("axes") {
        return Ok(Some(a.to_vec()));
    }
    Ok(cx.opt_const_input(input, "axes")?.map(|c| c.ints()))
}

fn reshape_target(cx: &Ctx, shape: &[usize], spec: &[i64]) -> Result<Vec<usize>, Fail> {
    let allowzero = cx.attrs().int("allowzero", 0) != 0;
    let mut out = Vec::with_capacity(spec.len());
    let mut infer = None;
    for (i, &d) in spec.iter().enumerate() {
        match d {
            -1 if infer.is_none() => {
                infer = Some(i);
                out.push(1);
            }
            0 if !allowzero => out.push(*shape.get(i).ok_or_else(|| {
                Fail::Invalid(format!(
                    "shape entry {i} is 0 but the input has rank {}",
                    shape.len()
                ))
            })?),
            d if d >= 0 => out.push(d as usize),
            _ => return invalid(format!("shape {spec:?} is not valid")),
        }
    }
    let total = consts::numel(shape);
    if let Some(i) = infer {
        let rest: usize = out.iter().product();
        if rest == 0 || !total.is_multiple_of(rest) {
            return invalid(format!("cannot reshape {shape:?} to {spec:?}"));
        }
        out[i] = total / rest;
    }
    if consts::numel(&out) != total {
        return invalid(format!("cannot reshape {shape:?} to {spec:?}"));
    }
    Ok(out)
}

fn ctype_of(to: i64) -> Result<CType, Fail> {
    match to as i32 {
        proto::elem::FLOAT | proto::elem::DOUBLE | proto::elem::FLOAT16 => Ok(CType::F32),
        proto::elem::BOOL => Ok(CType::Bool),
        proto::elem::INT64
        | proto::elem::INT32
        | proto::elem::INT16
        | proto::elem::INT8
        | proto::elem::UINT8
        | proto::elem::UINT16
        | proto::elem::UINT32
        | proto::elem::UINT64 => Ok(CType::I64),
        other => unsupported(format!("Cast to {}", proto::elem::name(other))),
    }
}

/// Folds elementwise arithmetic whose inputs are all constants.
fn fold_elementwise(cx: &Ctx) -> Option<NodeResult> {
    let c = |k: usize| match cx.inputs.get(k) {
        Some(Some(Val::Const(c))) => Some(c),
        _ => None,
    };
    let a = c(0)?;
    let bin = |f: fn(f64, f64) -> f64, ty: Option<CType>| -> Option<NodeResult> {
        let b = c(1)?;
        Some(
            a.zip(b, ty.unwrap_or(a.ty), f)
                .map(|r| vec![Val::Const(r)])
                .map_err(Fail::Invalid),
        )
    };
    let int_div = |x: f64, y: f64| if y == 0.0 { 0.0 } else { (x / y).trunc() };
    let un = |f: fn(f64) -> f64| Some(Ok(vec![Val::Const(a.map(f))]));
    match cx.op {
        "Add" => bin(|x, y| x + y, None),
        "Sub" => bin(|x, y| x - y, None),
        "Mul" => bin(|x, y| x * y, None),
        "Div" if a.ty == CType::F32 => bin(|x, y| x / y, None),
        "Div" => {
            let b = c(1)?;
            Some(
                a.zip(b, a.ty, int_div)
                    .map(|r| vec![Val::Const(r)])
                    .map_err(Fail::Invalid),
            )
        }
        "Mod" => bin(
            |x, y| {
                if y == 0.0 {
                    0.0
                } else {
                    x - (x / y).floor() * y
                }
            },
            None,
        ),
        "Pow" => bin(f64::powf, None),
        "Max" if cx.inputs.len() == 2 => bin(f64::max, None),
        "Min" if cx.inputs.len() == 2 => bin(f64::min, None),
        "Equal" => bin(|x, y| f64::from(u8::from(x == y)), Some(CType::Bool)),
        "Less" => bin(|x, y| f64::from(u8::from(x < y)), Some(CType::Bool)),
        "Greater" => bin(|x, y| f64::from(u8::from(x > y)), Some(CType::Bool)),
        "And" => bin(
            |x, y| f64::from(u8::from(x != 0.0 && y != 0.0)),
            Some(CType::Bool),
        ),
        "Or" => bin(
            |x, y| f64::from(u8::from(x != 0.0 || y != 0.0)),
            Some(CType::Bool),
        ),
        "ReduceProd" | "ReduceSum" | "ReduceMax" | "ReduceMin" | "ReduceMean" => {
            Some(fold_reduce(cx, a))
        }
        "ReduceSumSquare" => Some(fold_reduce(cx, &a.map(|x| x * x))),
        "Not" => un(|x| f64::from(u8::from(x == 0.0))),
        "Neg" => un(|x| -x),
        "Abs" => un(f64::abs),
        "Sqrt" => un(f64::sqrt),
        "Reciprocal" => un(|x| 1.0 / x),
        "Exp" => un(f64::exp),
        "Log" => un(f64::ln),
        "Floor" => un(f64::floor),
        "Ceil" => un(f64::ceil),
        "Relu" => un(|x| x.max(0.0)),
        "Tanh" => un(f64::tanh),
        "Sigmoid" => un(|x| 1.0 / (1.0 + (-x).exp())),
        "Where" => {
            let (x, y) = (c(1)?, c(2)?);
            let out = broadcast(&a.shape, &x.shape).and_then(|s| broadcast(&s, &y.shape));
            Some(out.map_err(Fail::Invalid).map(|out| {
                let (sc, sx, sy) = (
                    consts::broadcast_strides(&a.shape, &out),
                    consts::broadcast_strides(&x.shape, &out),
                    consts::broadcast_strides(&y.shape, &out),
                );
                let data = consts::index_walk(&out, &[&sc, &sx, &sy])
                    .map(|ix| {
                        if a.data[ix[0]] != 0.0 {
                            x.data[ix[1]]
                        } else {
                            y.data[ix[2]]
                        }
                    })
                    .collect();
                vec![Val::Const(HConst::new(out, x.ty, data))]
            }))
        }
        _ => None,
    }
}

/// A Reduce node's axes for an input of `shape` (the attribute in older opsets, input 1 in newer;
/// none given: every axis, or none with `noop_with_empty_axes`) and its output shape.
pub(crate) fn reduce_axes(cx: &Ctx, shape: &[usize]) -> Result<(Vec<usize>, Vec<usize>), Fail> {
    let rank = shape.len();
    let axes: Vec<usize> = match axes_of(cx, 1)? {
        Some(v) if !v.is_empty() => v
            .iter()
            .map(|&x| axis(x, rank.max(1)))
            .collect::<Result<_, _>>()?,
        _ if cx.attrs().int("noop_with_empty_axes", 0) != 0 => vec![],
        _ => (0..rank).collect(),
    };
    let keep = cx.attrs().int("keepdims", 1) != 0;
    let out = (0..rank)
        .filter_map(|i| {
            if axes.contains(&i) {
                keep.then_some(1)
            } else {
                Some(shape[i])
            }
        })
        .collect();
    Ok((axes, out))
}

/// A reduction of a constant (shape arithmetic: Keras' MultiHeadAttention multiplies a Shape's
/// dimensions with ReduceProd).
fn fold_reduce(cx: &Ctx, a: &HConst) -> NodeResult {
    let rank = a.shape.len();
    let (axes, out) = reduce_axes(cx, &a.shape)?;
    if axes.is_empty() {
        return Ok(vec![Val::Const(a.clone())]);
    }
    let reduced: Vec<usize> = (0..rank)
        .map(|i| if axes.contains(&i) { 1 } else { a.shape[i] })
        .collect();
    let (init, f): (f64, fn(f64, f64) -> f64) = match cx.op {
        "ReduceProd" => (1.0, |x, y| x * y),
        "ReduceMax" => (f64::NEG_INFINITY, f64::max),
        "ReduceMin" => (f64::INFINITY, f64::min),
        _ => (0.0, |x, y| x + y),
    };
    let mut acc = vec![init; consts::numel(&reduced)];
    let (ist, ost) = (consts::strides(&a.shape), consts::strides(&reduced));
    for (i, &v) in a.data.iter().enumerate() {
        let o: usize = (0..rank)
            .filter(|d| !axes.contains(d))
            .map(|d| (i / ist[d] % a.shape[d]) * ost[d])
            .sum();
        acc[o] = f(acc[o], v);
    }
    if cx.op == "ReduceMean" {
        let n = (consts::numel(&a.shape) / consts::numel(&reduced).max(1)).max(1) as f64;
        acc.iter_mut().for_each(|v| *v /= n);
    }
    Ok(vec![Val::Const(HConst::new(out, a.ty, acc))])
}

pub(crate) fn convert(im: &mut Importer, cx: &Ctx) -> Option<NodeResult> {
    if cx.all_const() && !cx.inputs.is_empty() {
        if let Some(r) = fold_elementwise(cx) {
            return Some(r);
        }
    }
    Some(match cx.op {
        "Constant" => constant(cx),
        "Identity" => cx.input(0).cloned().map(|v| vec![v]),
        "Dropout" => dropout(cx),
        "Cast" | "CastLike" => cast(im, cx),
        "Shape" => shape(im, cx),
        "Size" => cx.input(0).and_then(|v| im.shape(v)).map(|s| {
            vec![Val::Const(HConst::scalar(
                CType::I64,
                consts::numel(&s) as f64,
            ))]
        }),
        "Reshape" => reshape(im, cx),
        "Flatten" => flatten(im, cx),
        "Squeeze" => squeeze(im, cx),
        "Unsqueeze" => unsqueeze(im, cx),
        "Transpose" => transpose(im, cx),
        "Slice" => slice(im, cx),
        "Expand" => expand(im, cx),
        "Concat" => concat(im, cx),
        "Gather" => gather(im, cx),
        "ConstantOfShape" => constant_of_shape(cx),
        "Range" => range(cx),
        "Pad" => pad(im, cx),
        _ => return None,
    })
}

fn constant(cx: &Ctx) -> NodeResult {
    let a = cx.attrs();
    let c = if let Some(t) = a.tensor("value") {
        proto::tensor_value(t)?
    } else if a.has("value_float") {
        HConst::scalar(CType::F32, a.float("value_float", 0.0) as f64)
    } else if let Some(f) = a.floats("value_floats") {
        HConst::new(
            vec![f.len()],
            CType::F32,
            f.iter().map(|&v| v as f64).collect(),
        )
    } else if a.has("value_int") {
        HConst::scalar(CType::I64, a.int("value_int", 0) as f64)
    } else if let Some(i) = a.ints("value_ints") {
        HConst::new(
            vec![i.len()],
            CType::I64,
            i.iter().map(|&v| v as f64).collect(),
        )
    } else {
        return unsupported("only tensor, float and int constants are supported");
    };
    Ok(vec![Val::Const(c)])
}

fn dropout(cx: &Ctx) -> NodeResult {
    if !cx.output_name(1).is_empty() {
        return unsupported("its mask output is used");
    }
    Ok(vec![cx.input(0)?.clone()])
}

fn cast(im: &mut Importer, cx: &Ctx) -> NodeResult {
    let v = cx.input(0)?;
    let to = if cx.op == "CastLike" {
        match cx.input(1)? {
            Val::Const(c) => c.ty,
            other => {
                if im.dtype(other) == DType::F32 {
                    CType::F32
                } else {
                    CType::I64
                }
            }
        }
    } else {
        ctype_of(cx.attrs().int("to", 1))?
    };
    match v {
        Val::Const(c) => Ok(vec![Val::Const(c.cast(to))]),
        Val::Act(t) => {
            let from = im.g.tensors[*t].dtype;
            let same = matches!(
                (from, to),
                (DType::F32, CType::F32) | (DType::I32, CType::I64)
            );
            if !same {
                return unsupported(format!("Cast of a {from} activation to {to:?} at run time"));
            }
            let shape = im.g.tensors[*t].shape.clone();
            Ok(vec![Val::Act(im.alias(cx, 0, *t, shape))])
        }
        Val::Unknown => invalid("unknown input"),
    }
}

fn shape(im: &mut Importer, cx: &Ctx) -> NodeResult {
    let s = im.shape(cx.input(0)?)?;
    let r = s.len() as i64;
    let clampi = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
    let start = clampi(cx.attrs().int("start", 0));
    let end = clampi(cx.attrs().int("end", r));
    let dims: Vec<f64> = s
        .get(start..end.max(start))
        .unwrap_or(&[])
        .iter()
        .map(|&d| d as f64)
        .collect();
    Ok(vec![Val::Const(HConst::new(
        vec![dims.len()],
        CType::I64,
        dims,
    ))])
}

fn reshape(im: &mut Importer, cx: &Ctx) -> NodeResult {
    let v = cx.input(0)?.clone();
    let s = im.shape(&v)?;
    let spec = match cx.opt_input(1) {
        Some(_) => cx.const_input(1, "target shape")?.ints(),
        None => cx
            .attrs()
            .ints("shape")
            .map(|s| s.to_vec())
            .ok_or_else(|| Fail::Invalid("no target shape".into()))?,
    };
    let out = reshape_target(cx, &s, &spec)?;
    view(im, cx, &v, out)
}

fn flatten(im: &mut Importer, cx: &Ctx) -> NodeResult {
    let v = cx.input(0)?.clone();
    let s = im.shape(&v)?;
    let r = s.len() as i64;
    let a = cx.attrs().int("axis", 1);
    let a = if a < 0 { a + r } else { a };
    if !(0..=r).contains(&a) {
        return invalid(format!("axis {a} out of range for rank {r}"));
    }
    let a = a as usize;
    view(
        im,
        cx,
        &v,
        vec![s[..a].iter().product(), s[a..].iter().product()],
    )
}

fn squeeze(im: &mut Importer, cx: &Ctx) -> NodeResult {
    let v = cx.input(0)?.clone();
    let s = im.shape(&v)?;
    let axes = match axes_of(cx, 1)? {
        Some(a) => a
            .iter()
            .map(|&x| axis(x, s.len()))
            .collect::<Result<Vec<_>, _>>()?,
        None => (0..s.len()).filter(|&i| s[i] == 1).collect(),
    };
    for &a in &axes {
        if s[a] != 1 {
            return invalid(format!("cannot squeeze axis {a} of shape {s:?}"));
        }
    }
    let out = s
        .iter()
        .enumerate()
        .filter(|(i, _)| !axes.contains(i))
        .map(|(_, &d)| d)
        .collect();
    view(im, cx, &v, out)
}

fn unsqueeze(im: &mut Importer, cx: &Ctx) -> NodeResult {
    let v = cx.input(0)?.clone();
    let s = im.shape(&v)?;
    let axes = axes_of(cx, 1)?.ok_or_else(|| Fail::Invalid("no axes".into()))?;
    let rank = s.len() + axes.len();
    let mut axes = axes
        .iter()
        .map(|&a| axis(a, rank))
        .collect::<Result<Vec<_>, _>>()?;
    axes.sort_unstable();
    let mut out = Vec::with_capacity(rank);
    let mut it = s.iter();
    for i in 0..rank {
        if axes.contains(&i) {
            out.push(1);
        } else {
            out.push(
                *it.next()
                    .ok_or_else(|| Fail::Invalid("repeated axes".into()))?,
            );
        }
    }
    view(im, cx, &v, out)
}

fn transpose(im: &mut Importer, cx: &Ctx) -> NodeResult {
    let v = cx.input(0)?.clone();
    let s = im.shape(&v)?;
    let perm: Vec<usize> = match cx.attrs().ints("perm") {
        Some(p) => p
            .iter()
            .map(|&a| axis(a, s.len()))
            .collect::<Result<_, _>>()?,
        None => (0..s.len()).rev().collect(),
    };
    let mut seen = perm.clone();
    seen.sort_unstable();
    if seen != (0..s.len()).collect::<Vec<_>>() {
        return invalid(format!(
            "perm {perm:?} is not a permutation of rank {}",
            s.len()
        ));
    }
    let Val::Act(t) = v else {
        let (out, st) = consts::transpose_view(&s, &perm);
        return strided(im, cx, &v, out, st, 0);
    };
    if let Some(p) = im.padded.get(&t).cloned() {
        return transpose_padded(im, cx, &p, &perm);
    }
    let out = perm.iter().map(|&a| s[a]).collect();
    let y = im.out(cx, 0, out, im.g.tensors[t].dtype);
    permute_into(im, cx, t, &perm, y)?;
    Ok(vec![Val::Act(y)])
}

/// Activation `t` transposed by `perm` into `y` (of the permuted shape): a view when only size-1
/// axes move (the element order stays), else a Copy op.
fn permute_into(im: &mut Importer, cx: &Ctx, t: TId, perm: &[usize], y: TId) -> Result<(), Fail> {
    let s = im.g.tensors[t].shape.clone();
    let moved: Vec<usize> = perm.iter().copied().filter(|&a| s[a] != 1).collect();
    if moved.windows(2).all(|w| w[0] < w[1]) {
        im.g.tensors[y].data = Data::Alias(t);
    } else {
        let (out, st) = consts::transpose_view(&s, perm);
        let params = copy_params(&out, &st, 0)?;
        im.push(cx, Op::Copy(params), vec![Some(t)], vec![Some(y)], None);
    }
    Ok(())
}

/// Transpose of a zero-padded view (tf2onnx's channels-last 1-D conv: Pad, Unsqueeze, Transpose,
/// Conv): the source is transposed and the result is that, padded with the padding permuted the
/// same way, for the Conv to absorb.
fn transpose_padded(im: &mut Importer, cx: &Ctx, p: &PadView, perm: &[usize]) -> NodeResult {
    let s = im.g.tensors[p.src].shape.clone();
    let dtype = im.g.tensors[p.src].dtype;
    let src = im.temp(cx, "unpadded", perm.iter().map(|&a| s[a]).collect());
    im.g.tensors[src].dtype = dtype;
    permute_into(im, cx, p.src, perm, src)?;
    let view = PadView {
        src,
        begin: perm.iter().map(|&a| p.begin[a]).collect(),
        end: perm.iter().map(|&a| p.end[a]).collect(),
        node: p.node.clone(),
    };
    let padded: Vec<usize> = (0..perm.len())
        .map(|i| im.g.tensors[src].shape[i] + view.begin[i] + view.end[i])
        .collect();
    let y = im.out(cx, 0, padded, dtype);
    im.padded.insert(y, view);
    Ok(vec![Val::Act(y)])
}

fn slice(im: &mut Importer, cx: &Ctx) -> NodeResult {
    let v = cx.input(0)?.clone();
    let s = im.shape(&v)?;
    let (starts, ends, axes, steps) = if cx.opset < 10 {
        let a = cx.attrs();
        let starts = a.ints("starts").unwrap_or(&[]).to_vec();
        let ends = a.ints("ends").unwrap_or(&[]).to_vec();
        let axes = a.ints("axes").map(|x| x.to_vec());
        (starts, ends, axes, None)
    } else {
        let starts = cx.const_input(1, "starts")?.ints();
        let ends = cx.const_input(2, "ends")?.ints();
        let axes = cx.opt_const_input(3, "axes")?.map(|c| c.ints());
        let steps = cx.opt_const_input(4, "steps")?.map(|c| c.ints());
        (starts, ends, axes, steps)
    };
    let axes: Vec<usize> = match axes {
        Some(a) => a
            .iter()
            .map(|&x| axis(x, s.len()))
            .collect::<Result<_, _>>()?,
        None => (0..starts.len()).collect(),
    };
    if starts.len() != axes.len() || ends.len() != axes.len() {
        return invalid("starts, ends and axes differ in length");
    }
    let steps = steps.unwrap_or_else(|| vec![1; axes.len()]);
    let (out, st, off) = consts::slice_view(&s, &starts, &ends, &axes, &steps)?;
    if out == s && steps.iter().all(|&x| x == 1) {
        return view(im, cx, &v, out);
    }
    strided(im, cx, &v, out, st, off)
}

fn expand(im: &mut Importer, cx: &Ctx) -> NodeResult {
    let v = cx.input(0)?.clone();
    let s = im.shape(&v)?;
    let target: Vec<usize> = cx
        .const_input(1, "shape")?
        .ints()
        .iter()
        .map(|&d| d.max(0) as usize)
        .collect();
    let out = broadcast(&s, &target)?;
    if consts::numel(&out) == consts::numel(&s) {
        return view(im, cx, &v, out);
    }
    let st = consts::broadcast_strides(&s, &out)
        .iter()
        .map(|&x| x as isize)
        .collect();
    strided(im, cx, &v, out, st, 0)
}

fn concat(im: &mut Importer, cx: &Ctx) -> NodeResult {
    let vals: Vec<Val> = cx.inputs.iter().flatten().cloned().collect();
    if vals.is_empty() {
        return invalid("no inputs");
    }
    let shapes = vals
        .iter()
        .map(|v| im.shape(v))
        .collect::<Result<Vec<_>, _>>()?;
    let rank = shapes[0].len();
    let ax = axis(cx.attrs().int("axis", 0), rank.max(1))?;
    for s in &shapes {
        if s.len() != rank
            || s.iter()
                .enumerate()
                .any(|(i, &d)| i != ax && d != shapes[0][i])
        {
            return invalid(format!(
                "inputs of shapes {shapes:?} cannot be joined on axis {ax}"
            ));
        }
    }
    let mut out = shapes[0].clone();
    out[ax] = shapes.iter().map(|s| s[ax]).sum();
    let outer: usize = out[..ax].iter().product();
    let inner: usize = out[ax + 1..].iter().product();
    if vals.iter().all(|v| matches!(v, Val::Const(_))) {
        let cs: Vec<&HConst> = vals
            .iter()
            .filter_map(|v| if let Val::Const(c) = v { Some(c) } else { None })
            .collect();
        let ty = cs[0].ty;
        let mut data = Vec::with_capacity(consts::numel(&out));
        for o in 0..outer {
            for (c, s) in cs.iter().zip(&shapes) {
                let row = s[ax] * inner;
                data.extend_from_slice(&c.data[o * row..(o + 1) * row]);
            }
        }
        return Ok(vec![Val::Const(HConst::new(out, ty, data))]);
    }
    // Inputs with nothing in them add nothing; the kernel takes at most 8.
    let parts: Vec<(Val, Vec<usize>)> = vals
        .into_iter()
        .zip(shapes)
        .filter(|(_, s)| consts::numel(s) > 0)
        .collect();
    if parts.len() > 8 {
        return unsupported(format!("Concat of {} inputs (at most 8)", parts.len()));
    }
    let dtype = im.dtype(&parts[0].0);
    let mut ins = Vec::with_capacity(parts.len());
    for (k, (v, _)) in parts.iter().enumerate() {
        if im.dtype(v) != dtype {
            return invalid("inputs differ in element type");
        }
        ins.push(Some(im.tensor(v, &format!("{}/in{k}", cx.name))?));
    }
    let p = rill_format::ConcatParams {
        outer: outer as u32,
        inner: inner as u32,
    };
    let y = im.out(cx, 0, out, dtype);
    im.push(cx, Op::Concat(p), ins, vec![Some(y)], None);
    Ok(vec![Val::Act(y)])
}

fn gather(im: &mut Importer, cx: &Ctx) -> NodeResult {
    let data = cx.input(0)?.clone();
    let idx = cx.input(1)?.clone();
    let ds = im.shape(&data)?;
    let is = im.shape(&idx)?;
    let ax = axis(cx.attrs().int("axis", 0), ds.len())?;
    let mut out: Vec<usize> = ds[..ax].to_vec();
    out.extend_from_slice(&is);
    out.extend_from_slice(&ds[ax + 1..]);
    let outer: usize = ds[..ax].iter().product();
    let inner: usize = ds[ax + 1..].iter().product();
    let n = consts::numel(&is);
    if let (Val::Const(d), Val::Const(i)) = (&data, &idx) {
        let len = ds[ax] as i64;
        let mut v = Vec::with_capacity(consts::numel(&out));
        for o in 0..outer {
            for &k in &i.ints() {
                let k = if k < 0 { k + len } else { k };
                if !(0..len).contains(&k) {
                    return invalid(format!("index {k} out of range for axis of {len}"));
                }
                let base = (o * ds[ax] + k as usize) * inner;
                v.extend_from_slice(&d.data[base..base + inner]);
            }
        }
        return Ok(vec![Val::Const(HConst::new(out, d.ty, v))]);
    }
    if let Val::Const(i) = &idx {
        let len = ds[ax] as i64;
        if let Some(bad) = i.ints().iter().find(|&&k| k < -len || k >= len) {
            return invalid(format!(
                "index {bad} out of range for axis {ax} of length {len}"
            ));
        }
        // One index is a strided read of one slab, not a gather.
        if n == 1 {
            let k = i.ints()[0];
            let k = if k < 0 { k + len } else { k } as usize;
            let st = consts::strides(&ds);
            let mut out_st: Vec<isize> = st[..ax].iter().map(|&x| x as isize).collect();
            out_st.extend(std::iter::repeat_n(0, is.len()));
            out_st.extend(st[ax + 1..].iter().map(|&x| x as isize));
            return strided(im, cx, &data, out, out_st, k * st[ax]);
        }
    }
    if im.dtype(&idx) != DType::I32 {
        return invalid("indices must be integers");
    }
    let dt = im.tensor(&data, &format!("{}/data", cx.name))?;
    let it = im.tensor(&idx, &format!("{}/indices", cx.name))?;
    let p = GatherParams {
        outer: outer as u32,
        axis_len: ds[ax] as u32,
        inner: inner as u32,
        n_indices: n as u32,
    };
    let dtype = im.g.tensors[dt].dtype;
    let y = im.out(cx, 0, out, dtype);
    im.push(
        cx,
        Op::Gather(p),
        vec![Some(dt), Some(it)],
        vec![Some(y)],
        None,
    );
    Ok(vec![Val::Act(y)])
}

fn constant_of_shape(cx: &Ctx) -> NodeResult {
    let shape: Vec<usize> = cx
        .const_input(0, "shape")?
        .ints()
        .iter()
        .map(|&d| d.max(0) as usize)
        .collect();
    let fill = match cx.attrs().tensor("value") {
        Some(t) => proto::tensor_value(t)?,
        None => HConst::scalar(CType::F32, 0.0),
    };
    let v = fill.data.first().copied().unwrap_or(0.0);
    let n = consts::numel(&shape);
    Ok(vec![Val::Const(HConst::new(shape, fill.ty, vec![v; n]))])
}

fn range(cx: &Ctx) -> NodeResult {
    let s = cx.const_input(0, "start")?;
    let l = cx.const_input(1, "limit")?.data[0];
    let d = cx.const_input(2, "delta")?.data[0];
    let start = s.data[0];
    if d == 0.0 {
        return invalid("delta is 0");
    }
    let n = ((l - start) / d).ceil().max(0.0) as usize;
    Ok(vec![Val::Const(HConst::new(
        vec![n],
        s.ty,
        (0..n).map(|i| start + i as f64 * d).collect(),
    ))])
}

/// Zero padding of an activation becomes a view that the following Conv absorbs into its own padding;
/// padding of a constant is evaluated.
fn pad(im: &mut Importer, cx: &Ctx) -> NodeResult {
    let v = cx.input(0)?.clone();
    let s = im.shape(&v)?;
    let mode = cx
        .attrs()
        .string("mode")
        .unwrap_or_else(|| "constant".into());
    let (pads, value, axes) = if cx.opset < 11 {
        let p = cx.attrs().ints("pads").unwrap_or(&[]).to_vec();
        (p, cx.attrs().float("value", 0.0) as f64, None)
    } else {
        let p = cx.const_input(1, "pads")?.ints();
        let value = cx
            .opt_const_input(2, "constant value")?
            .and_then(|c| c.data.first().copied())
            .unwrap_or(0.0);
        let axes = cx.opt_const_input(3, "axes")?.map(|c| c.ints());
        (p, value, axes)
    };
    let axes: Vec<usize> = match axes {
        Some(a) => a
            .iter()
            .map(|&x| axis(x, s.len()))
            .collect::<Result<_, _>>()?,
        None => (0..s.len()).collect(),
    };
    if pads.len() != 2 * axes.len() {
        return invalid(format!("{} pads for {} axes", pads.len(), axes.len()));
    }
    if pads.iter().any(|&p| p < 0) {
        return unsupported("negative pads (cropping)");
    }
    let (mut begin, mut end) = (vec![0usize; s.len()], vec![0usize; s.len()]);
    for (k, &a) in axes.iter().enumerate() {
        begin[a] = pads[k] as usize;
        end[a] = pads[k + axes.len()] as usize;
    }
    let out: Vec<usize> = (0..s.len()).map(|i| s[i] + begin[i] + end[i]).collect();
    match &v {
        Val::Const(c) if mode == "constant" => {
            let mut data = vec![value; consts::numel(&out)];
            let ost = consts::strides(&out);
            let ist = consts::strides(&s);
            for i in 0..c.data.len() {
                // Row-major position of element i, shifted by the leading padding.
                let mut rem = i;
                let mut o = 0;
                for (d, st) in ist.iter().enumerate() {
                    o += (rem / st + begin[d]) * ost[d];
                    rem %= st;
                }
                data[o] = c.data[i];
            }
            Ok(vec![Val::Const(HConst::new(out, c.ty, data))])
        }
        Val::Act(t) if mode == "constant" && value == 0.0 => {
            let y = im.out(cx, 0, out, im.g.tensors[*t].dtype);
            im.padded.insert(
                y,
                PadView {
                    src: *t,
                    begin,
                    end,
                    node: cx.name.clone(),
                },
            );
            Ok(vec![Val::Act(y)])
        }
        Val::Act(_) if mode == "constant" => unsupported(format!(
            "padding an activation with {value} (only zero padding folds into a conv)"
        )),
        _ => unsupported(format!("mode '{mode}'")),
    }
}
