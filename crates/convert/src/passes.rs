//! Graph rewrites after import: per-channel affines (BatchNormalization, bias adds, scalings) folded into
//! the conv or dense before them, activations fused into it, and unused work removed.
use rill_format::{ActKind, ActParams, BinaryKind, CopyParams, Op, UnaryParams};

use crate::ir::{Data, Graph, TId};

/// Lines for the convert report.
pub type Log = Vec<String>;

/// Per-channel values of constant `c` (shape `cs`) broadcast against an output of shape `out` whose
/// channels run over the axes `ax` (one axis, or several that together hold them, as a dense
/// layer's outputs reshaped into heads); `None` unless the constant varies along those axes only.
fn per_channel(
    cs: &[usize],
    c: &[f32],
    out: &[usize],
    ax: std::ops::RangeInclusive<usize>,
) -> Option<Vec<f32>> {
    if cs.len() > out.len() {
        return None;
    }
    let lead = out.len() - cs.len();
    for (i, &d) in cs.iter().enumerate() {
        let j = i + lead;
        if d != 1 && (!ax.contains(&j) || d != out[j]) {
            return None;
        }
    }
    let st = crate::consts::broadcast_strides(cs, out);
    let axes: Vec<usize> = ax.collect();
    let dims: Vec<usize> = axes.iter().map(|&j| out[j]).collect();
    let n: usize = dims.iter().product();
    Some(
        (0..n)
            .map(|ch| {
                // Channel `ch`'s index along each axis of `ax`, last fastest.
                let (mut rem, mut at) = (ch, 0);
                for (&j, &d) in axes.iter().zip(&dims).rev() {
                    at += (rem % d) * st[j];
                    rem /= d;
                }
                c[at]
            })
            .collect(),
    )
}

/// Whether `t` is read by node `user` only and is no graph output.
fn only_feeds(g: &Graph, t: TId, user: usize) -> bool {
    let (users, is_out) = g.consumers(t);
    !is_out
        && users == [user]
        && g.nodes[user]
            .inputs
            .iter()
            .flatten()
            .all(|&i| i == t || g.root(i) != g.root(t))
}

fn fresh_const(g: &mut Graph, name: String, shape: Vec<usize>, v: Vec<f32>) -> TId {
    g.const_f32(name, shape, v)
}

/// Folds `y = conv/dense/layer_norm(x) (*|/|+|-) c` with per-channel constant `c` into the layer's
/// weights (a layer norm's scale) and bias.
pub fn fold_affine(g: &mut Graph, log: &mut Log) {
    let mut i = 0;
    while i < g.nodes.len() {
        if let Some((p_idx, act)) = try_fold_affine(g, i) {
            let (p, b) = (&g.nodes[p_idx], &g.nodes[i]);
            let line = format!(
                "{} '{}' folded into {} '{}'",
                b.onnx_op, b.name, p.onnx_op, p.name
            );
            // A BatchNormalization is a multiply and an add: one line for both.
            if log.last() != Some(&line) {
                log.push(line);
            }
            let out = b.outputs[0];
            take_output(g, p_idx, act, out);
            g.nodes.remove(i);
        } else {
            i += 1;
        }
    }
}

/// The layer `p_idx` absorbed the node that read its output through `x` and wrote `out`: `out`
/// becomes the layer's output, or, where `x` was a view of it (tf2onnx's Conv1D: Conv, Squeeze,
/// then the bias Add or the Relu), that same view of the layer's output.
fn take_output(g: &mut Graph, p_idx: usize, x: TId, out: Option<TId>) {
    match out {
        Some(out) if g.root(x) != x => g.tensors[out].data = Data::Alias(g.root(x)),
        _ => g.nodes[p_idx].outputs[0] = out,
    }
}

/// The conv, dense or layer norm whose output `act` is (or a view of it), and the axes of `act`
/// that hold its output channels (a layer norm's normalized elements): together of their count,
/// with their stride.
fn channel_layer(g: &Graph, act: TId) -> Option<(usize, std::ops::RangeInclusive<usize>, usize)> {
    let y = g.root(act);
    let p_idx = g.producer(y)?;
    let ys = &g.tensors[y].shape;
    let (ax, rows) = match g.nodes[p_idx].op {
        Op::Conv(c) if c.act.kind == ActKind::Identity as u32 => (1, c.c_out as usize),
        Op::Dense(d) if d.act.kind == ActKind::Identity as u32 => {
            (ys.len().checked_sub(1)?, d.n as usize)
        }
        // Its scale and bias are per element of the normalized block: one axis of it (and unit
        // axes after), like a dense layer's outputs.
        Op::LayerNorm(p) => {
            let a = (0..ys.len()).rev().find(|&a| ys[a] != 1)?;
            (a, p.size as usize)
        }
        _ => return None,
    };
    let stride: usize = ys.get(ax + 1..)?.iter().product();
    let s = &g.tensors[act].shape;
    // The axes of `act` whose elements are the channels: as long together, with the same stride.
    let hi = (0..s.len())
        .rev()
        .find(|&h| (s[h] != 1 || rows == 1) && s[h + 1..].iter().product::<usize>() == stride)?;
    let mut lo = hi;
    let mut n = s[hi];
    while n < rows && lo > 0 {
        lo -= 1;
        n *= s[lo];
    }
    (n == rows).then_some((p_idx, lo..=hi, rows))
}

fn try_fold_affine(g: &mut Graph, i: usize) -> Option<(usize, TId)> {
    let Op::Binary(bp) = g.nodes[i].op else {
        return None;
    };
    let kind = BinaryKind::from_u32(bp.kind)?;
    let (a, b) = (g.nodes[i].inputs[0]?, g.nodes[i].inputs[1]?);
    let (act, konst, const_second) = match (
        g.const_f32_values(a).is_some(),
        g.const_f32_values(b).is_some(),
    ) {
        (false, true) => (a, b, true),
        (true, false) if matches!(kind, BinaryKind::Add | BinaryKind::Mul) => (b, a, false),
        _ => return None,
    };
    if !const_second && !matches!(kind, BinaryKind::Add | BinaryKind::Mul) {
        return None;
    }
    if !matches!(
        kind,
        BinaryKind::Add | BinaryKind::Sub | BinaryKind::Mul | BinaryKind::Div
    ) {
        return None;
    }
    let (p_idx, ax, rows) = channel_layer(g, act)?;
    if !only_feeds(g, act, i) {
        return None;
    }
    let out_shape = g.tensors[act].shape.clone();
    if g.tensors[g.nodes[i].outputs[0]?].shape != out_shape {
        return None;
    }
    let cvals = per_channel(
        &g.tensors[konst].shape,
        g.const_f32_values(konst)?,
        &out_shape,
        ax,
    )?;
    let w = g.nodes[p_idx].inputs[1]?;
    let wv = g.const_f32_values(w)?.to_vec();
    let bias = match g.nodes[p_idx].inputs.get(2).copied().flatten() {
        Some(t) => g.const_f32_values(t)?.to_vec(),
        None => vec![0.0; rows],
    };
    let per_row = wv.len() / rows;
    let (mut wv, mut bias) = (wv, bias);
    match kind {
        BinaryKind::Mul | BinaryKind::Div => {
            for r in 0..rows {
                let s = if kind == BinaryKind::Mul {
                    cvals[r]
                } else {
                    1.0 / cvals[r]
                };
                wv[r * per_row..(r + 1) * per_row]
                    .iter_mut()
                    .for_each(|v| *v *= s);
                bias[r] *= s;
            }
        }
        BinaryKind::Add => bias.iter_mut().zip(&cvals).for_each(|(b, c)| *b += c),
        _ => bias.iter_mut().zip(&cvals).for_each(|(b, c)| *b -= c),
    }
    if matches!(kind, BinaryKind::Mul | BinaryKind::Div) {
        let (name, shape) = (g.tensors[w].name.clone(), g.tensors[w].shape.clone());
        let nw = fresh_const(g, format!("{name}*"), shape, wv);
        g.nodes[p_idx].inputs[1] = Some(nw);
    }
    let bname = format!("{}/bias", g.nodes[p_idx].name);
    let nb = fresh_const(g, bname, vec![rows], bias);
    if g.nodes[p_idx].inputs.len() < 3 {
        g.nodes[p_idx].inputs.resize(3, None);
    }
    g.nodes[p_idx].inputs[2] = Some(nb);
    Some((p_idx, act))
}

/// Fuses a standalone activation into the conv or dense that feeds it; `clamps_only` (fixed point)
/// fuses just Relu and Clip, which integer kernels apply as an output clamp.
pub fn fuse_activations(g: &mut Graph, log: &mut Log, clamps_only: bool) {
    let mut i = 0;
    while i < g.nodes.len() {
        let fused = (|| {
            let Op::Unary(u) = g.nodes[i].op else {
                return None;
            };
            let kind = ActKind::from_u32(u.act.kind)?;
            if clamps_only && !matches!(kind, ActKind::Relu | ActKind::Clip) {
                return None;
            }
            let x = g.nodes[i].inputs[0]?;
            let p_idx = g.producer(x)?;
            if !only_feeds(g, x, i) {
                return None;
            }
            match &mut g.nodes[p_idx].op {
                Op::Conv(c) if c.act.kind == ActKind::Identity as u32 => c.act = u.act,
                Op::Dense(d) if d.act.kind == ActKind::Identity as u32 => d.act = u.act,
                _ => return None,
            }
            Some(p_idx)
        })();
        if let Some(p_idx) = fused {
            let (p, u) = (&g.nodes[p_idx], &g.nodes[i]);
            log.push(format!(
                "{} '{}' fused into {} '{}'",
                u.onnx_op, u.name, p.onnx_op, p.name
            ));
            if let Some(x) = u.inputs[0] {
                let out = u.outputs[0];
                take_output(g, p_idx, x, out);
            }
            g.nodes.remove(i);
        } else {
            i += 1;
        }
    }
}

/// Folds the exact GELU that exporters write out below opset 20, `x / sqrt(2)` (or `x * (1 /
/// sqrt(2))`), Erf, `+ 1`, then times `x` and times 0.5 (in either order), into one Gelu: one
/// table in fixed point instead of five ops and their rounding.
pub fn fuse_gelu(g: &mut Graph, log: &mut Log) {
    let mut i = 0;
    while i < g.nodes.len() {
        match gelu_at(g, i) {
            Some((x, y, chain)) => {
                log.push(format!(
                    "{} ops of the GELU at '{}' fused into one Gelu",
                    chain.len() + 1,
                    g.nodes[i].name
                ));
                let len = g.tensors[y].numel() as u32;
                let e = &mut g.nodes[i];
                e.op = Op::Unary(UnaryParams {
                    len,
                    act: ActParams::new(ActKind::Gelu, 0.0, 0.0),
                });
                e.onnx_op = "Gelu".into();
                e.inputs = vec![Some(x)];
                e.outputs = vec![Some(y)];
                let mut chain = chain;
                chain.sort_unstable();
                for &k in chain.iter().rev() {
                    g.nodes.remove(k);
                }
                i = 0;
            }
            None => i += 1,
        }
    }
}

/// For an Erf at node `i` in the GELU pattern: its `x`, the pattern's output, and the indices of
/// its other nodes.
fn gelu_at(g: &Graph, i: usize) -> Option<(TId, TId, Vec<usize>)> {
    let Op::Unary(u) = g.nodes[i].op else {
        return None;
    };
    if u.act.kind != ActKind::Erf as u32 {
        return None;
    }
    let close = |t: TId, v: f32| {
        g.const_f32_values(t)
            .is_some_and(|c| !c.is_empty() && c.iter().all(|&c| (c - v).abs() <= 1e-5 * v.abs()))
    };
    // The node reading `t` (alone), with `t` its input k and its other input.
    let only_reader = |t: TId| -> Option<(usize, Option<TId>)> {
        let (users, out) = g.consumers(t);
        let [n] = users[..] else { return None };
        if out {
            return None;
        }
        let ins = &g.nodes[n].inputs;
        let other = ins
            .iter()
            .flatten()
            .copied()
            .find(|&o| g.root(o) != g.root(t));
        Some((n, other))
    };
    let binary =
        |n: usize, k: BinaryKind| matches!(g.nodes[n].op, Op::Binary(p) if p.kind == k as u32);
    // x / sqrt 2 or x * (1 / sqrt 2)
    let d = g.nodes[i].inputs.first().copied()??;
    let d_node = g.producer(d)?;
    let (a, b) = (
        g.nodes[d_node].inputs.first().copied()??,
        g.nodes[d_node].inputs.get(1).copied()??,
    );
    let scaled_by_inv_sqrt2 = (binary(d_node, BinaryKind::Div)
        && close(b, std::f32::consts::SQRT_2))
        || (binary(d_node, BinaryKind::Mul) && close(b, std::f32::consts::FRAC_1_SQRT_2));
    let x = if scaled_by_inv_sqrt2 {
        a
    } else if binary(d_node, BinaryKind::Mul) && close(a, std::f32::consts::FRAC_1_SQRT_2) {
        b
    } else {
        return None;
    };
    if g.const_f32_values(x).is_some() || only_reader(d)?.0 != i {
        return None;
    }
    let e = g.nodes[i].outputs.first().copied()??;
    let (add, one) = only_reader(e)?;
    if !binary(add, BinaryKind::Add) || !close(one?, 1.0) {
        return None;
    }
    let a1 = g.nodes[add].outputs.first().copied()??;
    let (m1, other) = only_reader(a1)?;
    let m1_out = g.nodes[m1].outputs.first().copied()??;
    let (m2, other2) = only_reader(m1_out)?;
    if !binary(m1, BinaryKind::Mul) || !binary(m2, BinaryKind::Mul) {
        return None;
    }
    let (other, other2) = (other?, other2?);
    let same_x = |t: TId| g.root(t) == g.root(x);
    // (x * (1 + erf)) * 0.5, or x * (0.5 * (1 + erf))
    let ok = (same_x(other) && close(other2, 0.5)) || (close(other, 0.5) && same_x(other2));
    let y = g.nodes[m2].outputs.first().copied()??;
    (ok && g.tensors[y].shape == g.tensors[x].shape).then(|| (x, y, vec![d_node, add, m1, m2]))
}

/// Drops the last outputs of a convolution where a Slice right after it throws them away (the
/// "chomp" of PyTorch TCNs: `Conv1d(padding=(k - 1) d)` then `x[:, :, :-(k - 1) d]`, a causal conv
/// written as a symmetric one): the conv computes only the outputs kept, and the Slice goes.
/// With the end padding's outputs gone, the conv is causal, and streams.
pub fn trim_conv_tails(g: &mut Graph, log: &mut Log) {
    let mut i = 0;
    while i < g.nodes.len() {
        let trimmed = (|| {
            let (p, x, y) = copy_io(g, i)?;
            let conv_out = g.root(x);
            let c_idx = g.producer(conv_out)?;
            let Op::Conv(c) = g.nodes[c_idx].op else {
                return None;
            };
            if !only_feeds(g, x, i) || p.offset != 0 {
                return None;
            }
            // A prefix of the last axis (the conv's W), everything else whole.
            let xs = &g.tensors[x].shape;
            let rank = p.rank as usize;
            let last = xs.len().checked_sub(1)?;
            let natural = crate::consts::strides(xs);
            let keep = *p.out_shape.get(last)? as usize;
            let whole = rank == xs.len()
                && (0..rank).all(|a| {
                    p.in_strides[a] as usize == natural[a]
                        && (a == last || p.out_shape[a] as usize == xs[a])
                });
            if !whole || keep == 0 || keep >= xs[last] || xs[last] != c.out_w as usize {
                return None;
            }
            Some((c_idx, conv_out, y, keep))
        })();
        match trimmed {
            Some((c_idx, conv_out, y, keep)) => {
                log.push(format!(
                    "{} '{}' folded into {} '{}' (its last outputs not computed)",
                    g.nodes[i].onnx_op,
                    g.nodes[i].name,
                    g.nodes[c_idx].onnx_op,
                    g.nodes[c_idx].name
                ));
                if let Op::Conv(c) = &mut g.nodes[c_idx].op {
                    c.out_w = keep as u32;
                }
                if let Some(w) = g.tensors[conv_out].shape.last_mut() {
                    *w = keep;
                }
                g.tensors[y].data = Data::Alias(conv_out);
                g.nodes.remove(i);
            }
            None => i += 1,
        }
    }
}

/// Node `i`'s copy parameters, input and output, if it is a Copy with both.
fn copy_io(g: &Graph, i: usize) -> Option<(CopyParams, TId, TId)> {
    let n = &g.nodes[i];
    let Op::Copy(p) = n.op else {
        return None;
    };
    Some((p, n.inputs.first().copied()??, n.outputs.first().copied()??))
}

/// Merges copies of the same activation with the same strides (tf2onnx transposes a channels-last
/// input once for each conv that reads it): the later ones' outputs become views of the first's.
pub fn merge_copies(g: &mut Graph, log: &mut Log) {
    let mut i = 0;
    while i < g.nodes.len() {
        let twin = (|| {
            let (p, x, y) = copy_io(g, i)?;
            (0..i).find_map(|j| {
                let (q, x2, y2) = copy_io(g, j)?;
                let same = q == p
                    && g.root(x2) == g.root(x)
                    && g.tensors[y2].shape == g.tensors[y].shape
                    && g.tensors[y2].dtype == g.tensors[y].dtype;
                // Every tensor is written once, by one op: the input is the same at both copies.
                same.then_some((j, y2, y))
            })
        })();
        match twin {
            Some((j, first, y)) => {
                log.push(format!(
                    "{} '{}' merged with the same copy '{}'",
                    g.nodes[i].onnx_op, g.nodes[i].name, g.nodes[j].name
                ));
                g.tensors[y].data = Data::Alias(first);
                g.nodes.remove(i);
            }
            None => i += 1,
        }
    }
}

/// Drops nodes whose results nobody reads, and optional outputs nobody reads.
pub fn remove_unused(g: &mut Graph) {
    let mut used = vec![false; g.tensors.len()];
    for &o in &g.outputs {
        used[g.root(o)] = true;
    }
    let mut keep = vec![false; g.nodes.len()];
    for i in (0..g.nodes.len()).rev() {
        let rnn = matches!(g.nodes[i].op, Op::Rnn(_));
        let outs: Vec<Option<TId>> = g.nodes[i].outputs.clone();
        let live = outs.iter().flatten().any(|&t| used[g.root(t)]);
        if !live {
            continue;
        }
        keep[i] = true;
        if rnn {
            for o in g.nodes[i].outputs.iter_mut() {
                if let Some(t) = *o {
                    let mut r = t;
                    while let Data::Alias(b) = g.tensors[r].data {
                        r = b;
                    }
                    if !used[r] {
                        *o = None;
                    }
                }
            }
        }
        for t in g.nodes[i].inputs.iter().flatten() {
            used[g.root(*t)] = true;
        }
    }
    let mut k = keep.into_iter();
    g.nodes.retain(|_| k.next().unwrap_or(true));
}

/// Stores the weights of float Dense and Conv nodes (input 1) and of recurrent layers (W and R,
/// inputs 1 and 2) as f16 when nothing else reads them; returns how many tensors changed. f16 keeps
/// 11 significant bits: a relative error up to 2^-11 per weight. Biases stay f32.
pub fn f16_weights(g: &mut Graph) -> usize {
    fn weight_slot(op: &Op, k: usize) -> bool {
        match op {
            Op::Dense(_) | Op::Conv(_) => k == 1,
            Op::Rnn(_) => k == 1 || k == 2,
            _ => false,
        }
    }
    let mut changed = 0;
    for i in 0..g.nodes.len() {
        for slot in [1, 2] {
            if !weight_slot(&g.nodes[i].op, slot) {
                continue;
            }
            let Some(w) = g.nodes[i].inputs.get(slot).copied().flatten() else {
                continue;
            };
            let root = g.root(w);
            let (users, is_output) = g.consumers(root);
            let only_weights = users.iter().all(|&u| {
                g.nodes[u].inputs.iter().enumerate().all(|(k, t)| {
                    t.is_none_or(|t| g.root(t) != root) || weight_slot(&g.nodes[u].op, k)
                })
            });
            let Data::ConstF32(values) = &g.tensors[root].data else {
                continue;
            };
            if !only_weights || is_output {
                continue;
            }
            let bytes: Vec<u8> = values
                .iter()
                .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
                .collect();
            let t = &mut g.tensors[root];
            t.dtype = rill_format::DType::F16;
            t.data = Data::ConstBytes(bytes);
            changed += 1;
        }
    }
    // Aliases of a converted tensor carry its type.
    for t in 0..g.tensors.len() {
        if matches!(g.tensors[t].data, Data::Alias(_)) {
            g.tensors[t].dtype = g.tensors[g.root(t)].dtype;
        }
    }
    changed
}
