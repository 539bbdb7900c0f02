//! ONNX LSTM / GRU / RNN layers: one Rnn op each, weights in ONNX's own layout, ONNX's default
//! activations written out explicitly (the kernel uses exactly what the record says).
use rill_format::{ActKind, ActParams, CellKind, DType, Direction, Op, RnnParams};

use super::{invalid, unsupported, Ctx, Fail, Importer, NodeResult, Val};
use crate::consts::HConst;

pub(crate) fn convert(im: &mut Importer, cx: &Ctx) -> Option<NodeResult> {
    let cell = match cx.op {
        "LSTM" => CellKind::Lstm,
        "GRU" => CellKind::Gru,
        "RNN" => CellKind::Rnn,
        _ => return None,
    };
    Some(layer(im, cx, cell))
}

fn activation(name: &str, alpha: Option<f32>, beta: Option<f32>) -> Result<ActParams, Fail> {
    let p = |k, a: f32, b: f32| Ok(ActParams::new(k, alpha.unwrap_or(a), beta.unwrap_or(b)));
    match name.to_ascii_lowercase().as_str() {
        "sigmoid" => p(ActKind::Sigmoid, 0.0, 0.0),
        "tanh" => p(ActKind::Tanh, 0.0, 0.0),
        "relu" => p(ActKind::Relu, 0.0, 0.0),
        "leakyrelu" => p(ActKind::LeakyRelu, 0.01, 0.0),
        "hardsigmoid" => p(ActKind::HardSigmoid, 0.2, 0.5),
        "elu" => p(ActKind::Elu, 1.0, 0.0),
        "softsign" => p(ActKind::Softsign, 0.0, 0.0),
        "softplus" => p(ActKind::Softplus, 0.0, 0.0),
        other => unsupported(format!("recurrent activation '{other}'")),
    }
}

fn layer(im: &mut Importer, cx: &Ctx, cell: CellKind) -> NodeResult {
    let a = cx.attrs();
    let gates = match cell {
        CellKind::Lstm => 4,
        CellKind::Gru => 3,
        CellKind::Rnn => 1,
    };
    let Val::Act(x) = cx.input(0)?.clone() else {
        return unsupported("a constant sequence input");
    };
    let xs = im.g.tensors[x].shape.clone();
    if xs.len() != 3 {
        return invalid(format!("input X has shape {xs:?}, expected rank 3"));
    }
    let layout = a.int("layout", 0);
    if !(0..=1).contains(&layout) {
        return invalid(format!("layout {layout}"));
    }
    let (seq, batch, input) = if layout == 0 {
        (xs[0], xs[1], xs[2])
    } else {
        (xs[1], xs[0], xs[2])
    };
    let direction = match a.string("direction").as_deref() {
        None | Some("forward") => Direction::Forward,
        Some("reverse") => Direction::Reverse,
        Some("bidirectional") => Direction::Bidirectional,
        Some(d) => return invalid(format!("direction '{d}'")),
    };
    let dirs = if direction == Direction::Bidirectional {
        2
    } else {
        1
    };
    let w = cx.const_input(1, "W weights")?.clone();
    let r = cx.const_input(2, "R weights")?.clone();
    let hidden = match a.int("hidden_size", 0) {
        h if h > 0 => h as usize,
        _ => r.shape.last().copied().unwrap_or(0),
    };
    let gh = gates * hidden;
    if w.shape != [dirs, gh, input] {
        return invalid(format!(
            "W has shape {:?}, expected {:?}",
            w.shape,
            [dirs, gh, input]
        ));
    }
    if r.shape != [dirs, gh, hidden] {
        return invalid(format!(
            "R has shape {:?}, expected {:?}",
            r.shape,
            [dirs, gh, hidden]
        ));
    }
    let b = cx.opt_const_input(3, "B biases")?.cloned();
    if let Some(b) = &b {
        if b.shape != [dirs, 2 * gh] {
            return invalid(format!(
                "B has shape {:?}, expected {:?}",
                b.shape,
                [dirs, 2 * gh]
            ));
        }
    }
    if let Some(sl) = cx.opt_input(4) {
        match sl {
            Val::Const(c) if c.data.iter().all(|&v| v as usize == seq) => {}
            Val::Const(_) => {
                return unsupported("sequence_lens shorter than the sequence (padded batches)")
            }
            _ => return unsupported("sequence_lens computed at run time"),
        }
    }
    let state_shape = if layout == 0 {
        vec![dirs, batch, hidden]
    } else {
        vec![batch, dirs, hidden]
    };
    let state = |im: &mut Importer, k: usize, what: &str| -> Result<Option<usize>, Fail> {
        match cx.opt_input(k) {
            None => Ok(None),
            Some(v) => {
                if im.shape(v)? != state_shape {
                    return invalid(format!(
                        "{what} has shape {:?}, expected {state_shape:?}",
                        im.shape(v)?
                    ));
                }
                Ok(Some(im.tensor(v, &format!("{}/{what}", cx.name))?))
            }
        }
    };
    let initial_h = state(im, 5, "initial_h")?;
    let initial_c = if cell == CellKind::Lstm {
        state(im, 6, "initial_c")?
    } else {
        None
    };
    let peep = if cell == CellKind::Lstm {
        cx.opt_const_input(7, "peepholes")?.cloned()
    } else {
        None
    };
    if let Some(p) = &peep {
        if p.shape != [dirs, 3 * hidden] {
            return invalid(format!(
                "P has shape {:?}, expected {:?}",
                p.shape,
                [dirs, 3 * hidden]
            ));
        }
    }

    let names = a.strings("activations");
    let per_dir = match cell {
        CellKind::Lstm => 3,
        CellKind::Gru => 2,
        CellKind::Rnn => 1,
    };
    let defaults: &[&str] = match cell {
        CellKind::Lstm => &["Sigmoid", "Tanh", "Tanh"],
        CellKind::Gru => &["Sigmoid", "Tanh"],
        CellKind::Rnn => &["Tanh"],
    };
    if !names.is_empty() && names.len() != per_dir * dirs {
        return invalid(format!(
            "{} activations given, expected {}",
            names.len(),
            per_dir * dirs
        ));
    }
    let alphas = a.floats("activation_alpha").unwrap_or(&[]);
    let betas = a.floats("activation_beta").unwrap_or(&[]);
    let mut acts = [ActParams::IDENTITY; 6];
    for d in 0..dirs {
        for k in 0..per_dir {
            let i = d * per_dir + k;
            let name = names.get(i).map_or(defaults[k], |s| s.as_str());
            acts[3 * d + k] = activation(name, alphas.get(i).copied(), betas.get(i).copied())?;
        }
    }
    let clip = a.float("clip", 0.0);
    let p = RnnParams {
        cell: cell as u32,
        direction: direction as u32,
        seq_len: seq as u32,
        batch: batch as u32,
        input_size: input as u32,
        hidden: hidden as u32,
        layout: layout as u32,
        linear_before_reset: u32::from(a.int("linear_before_reset", 0) != 0),
        input_forget: u32::from(a.int("input_forget", 0) != 0),
        clip: if clip > 0.0 { clip } else { 0.0 },
        acts,
    };
    let y_shape = if layout == 0 {
        vec![seq, dirs, batch, hidden]
    } else {
        vec![batch, seq, dirs, hidden]
    };
    let konst = |im: &mut Importer, c: Option<HConst>, what: &str| -> Result<Option<usize>, Fail> {
        c.map(|c| im.tensor(&Val::Const(c), &format!("{}/{what}", cx.name)))
            .transpose()
    };
    let wt = konst(im, Some(w), "W")?;
    let rt = konst(im, Some(r), "R")?;
    let bt = konst(im, b, "B")?;
    let pt = konst(im, peep, "P")?;
    let n_out = if cell == CellKind::Lstm { 3 } else { 2 };
    let mut outs = Vec::with_capacity(n_out);
    let mut vals = Vec::with_capacity(n_out);
    for k in 0..n_out {
        if cx.output_name(k).is_empty() {
            outs.push(None);
            vals.push(Val::Unknown);
        } else {
            let shape = if k == 0 {
                y_shape.clone()
            } else {
                state_shape.clone()
            };
            let t = im.out(cx, k, shape, DType::F32);
            outs.push(Some(t));
            vals.push(Val::Act(t));
        }
    }
    let scratch_len = rill_kernels::rnn::scratch_len(&p)
        .ok_or_else(|| Fail::Invalid("layer too large".into()))?;
    let scratch = im.g.add(
        format!("{}/scratch", cx.name),
        vec![scratch_len],
        DType::F32,
        crate::ir::Data::Act,
    );
    let inputs = vec![Some(x), wt, rt, bt, initial_h, initial_c, pt];
    im.push(cx, Op::Rnn(p), inputs, outs, Some(scratch));
    Ok(vals)
}
