//! Calibration: run the float graph on representative data through the runtime and observe the range
//! of every activation (two passes when the method needs a histogram).
use rill_format::writer::AlignedBytes;
use rill_runtime::Model;

use crate::calibrate::{Method, Observer};
use crate::exec;
use crate::ir::{Data, Graph, TId};
use crate::tensor::{HostData, HostTensor};
use crate::{emit, plan, ConvertError};

/// The calibrated real range of each tensor (by IR tensor id; roots only, `None` if never observed).
#[derive(Clone, Debug, Default)]
pub struct Ranges {
    pub range: Vec<Option<(f32, f32)>>,
    /// Per recurrent node: the range of its hidden state over every time step (and of its final
    /// cell state), observed even when the model does not output the whole sequence: the final
    /// state alone can miss the largest values the state takes on the way.
    pub hidden: std::collections::HashMap<usize, (f32, f32)>,
    pub cell: std::collections::HashMap<usize, (f32, f32)>,
}

/// `g` with every recurrent node's hidden sequence `y` (and LSTM's final cell state) made an
/// output, so calibration sees them; returns the graph and per node the (y, y_c) tensors.
fn with_rnn_states(g: &Graph) -> (Graph, Vec<(usize, TId, Option<TId>)>) {
    use rill_format::{CellKind, DType, Op};
    let mut g = g.clone();
    let mut added = Vec::new();
    for i in 0..g.nodes.len() {
        let Op::Rnn(p) = g.nodes[i].op else { continue };
        let dirs = if p.direction == 2 { 2 } else { 1 };
        let (seq, batch, h) = (p.seq_len as usize, p.batch as usize, p.hidden as usize);
        let (y_shape, c_shape) = if p.layout == 0 {
            (vec![seq, dirs, batch, h], vec![dirs, batch, h])
        } else {
            (vec![batch, seq, dirs, h], vec![batch, dirs, h])
        };
        let name = g.nodes[i].name.clone();
        if g.nodes[i].outputs.len() < 3 {
            g.nodes[i].outputs.resize(3, None);
        }
        let y = match g.nodes[i].outputs[0] {
            Some(t) => t,
            None => {
                let t = g.add(
                    format!("{name}.calibration_y"),
                    y_shape,
                    DType::F32,
                    Data::Act,
                );
                g.nodes[i].outputs[0] = Some(t);
                t
            }
        };
        let c = if p.cell == CellKind::Lstm as u32 {
            Some(match g.nodes[i].outputs[2] {
                Some(t) => t,
                None => {
                    let t = g.add(
                        format!("{name}.calibration_c"),
                        c_shape,
                        DType::F32,
                        Data::Act,
                    );
                    g.nodes[i].outputs[2] = Some(t);
                    t
                }
            })
        } else {
            None
        };
        added.push((i, y, c));
    }
    (g, added)
}

impl Ranges {
    pub fn of(&self, g: &Graph, t: TId) -> Option<(f32, f32)> {
        self.range.get(g.root(t)).copied().flatten()
    }
}

/// The largest |cell state| an LSTM node reaches at any step on input `x` (its float weights from
/// the graph; initial states constant, from `state(k)`, or zero). ONNX outputs only the final cell
/// state, but the fixed-point cell state must hold every intermediate one.
fn lstm_peak(
    g: &Graph,
    node: usize,
    x: &[f32],
    state: impl Fn(usize) -> Option<Vec<f32>>,
) -> Option<f32> {
    use rill_kernels::rnn::{float::lstm_step, CellWeights, RnnInputs};
    let rill_format::Op::Rnn(p) = g.nodes[node].op else {
        return None;
    };
    let input = |k: usize| g.nodes[node].inputs.get(k).copied().flatten();
    let constant = |k: usize| input(k).and_then(|t| g.const_f32_values(t).map(<[f32]>::to_vec));
    let value = |k: usize| constant(k).or_else(|| state(k));
    let (w, r) = (constant(1)?, constant(2)?);
    let (b, pp) = (constant(3), constant(6));
    let (h0, c0) = (value(4), value(5));
    let inputs = RnnInputs {
        x,
        w: &w,
        r: &r,
        b: b.as_deref(),
        initial_h: None,
        initial_c: None,
        p: pp.as_deref(),
    };
    let (seq, batch, n_in, hidden) = (
        p.seq_len as usize,
        p.batch as usize,
        p.input_size as usize,
        p.hidden as usize,
    );
    let dirs = if p.direction == 2 { 2 } else { 1 };
    let mut gates = vec![0f32; 4 * hidden];
    let mut peak = 0f32;
    for slot in 0..dirs {
        let wts = CellWeights::of(&p, &inputs, slot).ok()?;
        let reverse = p.direction == 1 || slot == 1;
        for row in 0..batch {
            // Initial states: [dirs, batch, H] (layout 0) or [batch, dirs, H] (layout 1).
            let at = if p.layout == 0 {
                slot * batch + row
            } else {
                row * dirs + slot
            } * hidden;
            let init = |v: &Option<Vec<f32>>| {
                v.as_ref()
                    .and_then(|v| v.get(at..at + hidden))
                    .map_or_else(|| vec![0f32; hidden], <[f32]>::to_vec)
            };
            let (mut h, mut c) = (init(&h0), init(&c0));
            for step in 0..seq {
                let t = if reverse { seq - 1 - step } else { step };
                let xi = if p.layout == 0 {
                    t * batch + row
                } else {
                    row * seq + t
                } * n_in;
                let xt = x.get(xi..xi + n_in)?;
                lstm_step(&p, slot, &wts, xt, &mut h, &mut c, &mut gates).ok()?;
                peak = c.iter().fold(peak, |m, v| m.max(v.abs()));
            }
        }
    }
    Some(peak)
}

fn bad(msg: String) -> ConvertError {
    ConvertError::Input(msg)
}

/// Checks calibration arrays against the graph inputs: one per input, `[N, ...input shape]` (or the
/// input shape for one sample), N > 0, finite. Returns N.
pub fn check_calibration(g: &Graph, inputs: &[HostTensor]) -> Result<usize, ConvertError> {
    if inputs.len() != g.inputs.len() {
        return Err(bad(format!(
            "calibration data has {} arrays; the model has {} inputs",
            inputs.len(),
            g.inputs.len()
        )));
    }
    let mut samples = None;
    for (&t, data) in g.inputs.iter().zip(inputs) {
        let info = &g.tensors[t];
        let n = if data.shape == info.shape {
            1
        } else if data.shape.len() == info.shape.len() + 1 && data.shape[1..] == info.shape[..] {
            data.shape[0]
        } else {
            return Err(bad(format!(
                "calibration data for input '{}' has shape {:?}; the model takes {:?} (or [N, ...] for N samples)",
                info.name, data.shape, info.shape
            )));
        };
        if n == 0 {
            return Err(bad(format!(
                "calibration data for input '{}' holds zero samples",
                info.name
            )));
        }
        if *samples.get_or_insert(n) != n {
            return Err(bad(format!(
                "calibration arrays disagree on the number of samples ({} for input '{}', {} before)",
                n,
                info.name,
                samples.unwrap_or(0)
            )));
        }
        if let HostData::F32(v) = &data.data {
            if let Some(pos) = v.iter().position(|x| !x.is_finite()) {
                let per = info.numel().max(1);
                return Err(bad(format!(
                    "calibration data for input '{}' holds {} at sample {}, element {}",
                    info.name,
                    v[pos],
                    pos / per,
                    pos % per
                )));
            }
        }
    }
    Ok(samples.unwrap_or(0))
}

/// Observes every activation of float graph `g` over the calibration samples.
pub fn observe(
    g: &Graph,
    inputs: &[HostTensor],
    method: Method,
    levels: u32,
) -> Result<Ranges, ConvertError> {
    let samples = check_calibration(g, inputs)?;
    let (g, states) = with_rnn_states(g);
    let g = &g;
    let plan = plan::plan(g);
    let src = emit::Source {
        name: "calibration",
        producer: "",
        opset: 0,
        metadata: &[],
    };
    let (bytes, index) = emit::emit(g, &plan, &src, None)?;
    let aligned = AlignedBytes::from_slice(&bytes);
    let model = Model::from_bytes(aligned.as_slice())
        .map_err(|e| ConvertError::Model(format!("calibration model: {e}")))?;
    let mut obs: Vec<Observer> = vec![Observer::default(); g.tensors.len()];
    let lstm_nodes: Vec<usize> = (0..g.nodes.len())
        .filter(|&i| {
            matches!(g.nodes[i].op, rill_format::Op::Rnn(p) if p.cell == rill_format::CellKind::Lstm as u32)
        })
        .collect();
    let cell_peak = std::cell::RefCell::new(std::collections::HashMap::<usize, f32>::new());
    let pass = |obs: &mut Vec<Observer>, hist: bool| -> Result<(), ConvertError> {
        let feed = |o: &mut Observer, v: &[f32]| {
            if hist {
                o.observe_histogram(v)
            } else {
                o.observe_range(v)
            }
        };
        for (&t, data) in g.inputs.iter().zip(inputs) {
            if let HostData::F32(v) = &data.data {
                feed(&mut obs[g.root(t)], v);
            }
        }
        exec::run_samples_observed(&model, inputs, samples, |_, op, session| {
            let node = &g.nodes[op];
            if !hist && lstm_nodes.contains(&op) {
                let read = |k: usize| {
                    let t = node.inputs.get(k).copied().flatten()?;
                    let i = index[t]?;
                    exec::tensor_values(session, i as usize).ok()
                };
                if let Some(x) = read(0) {
                    if let Some(peak) = lstm_peak(g, op, &x, read) {
                        let mut peaks = cell_peak.borrow_mut();
                        let m = peaks.entry(op).or_insert(0f32);
                        *m = m.max(peak);
                    }
                }
            }
            for &t in node.outputs.iter().flatten() {
                if let Some(i) = index[t] {
                    let v = exec::tensor_values(session, i as usize)?;
                    feed(&mut obs[g.root(t)], &v);
                }
            }
            Ok(())
        })
        .map_err(|e| ConvertError::Model(format!("calibration run: {e:#}")))?;
        Ok(())
    };
    pass(&mut obs, false)?;
    if method != Method::MinMax {
        for o in obs.iter_mut().filter(|o| o.min <= o.max) {
            o.start_histogram();
        }
        pass(&mut obs, true)?;
    }
    let range: Vec<Option<(f32, f32)>> = obs
        .iter()
        .map(|o| (o.min <= o.max).then(|| o.range(method, levels)))
        .collect();
    let mut hidden = std::collections::HashMap::new();
    let mut cell = std::collections::HashMap::new();
    for (node, y, c) in states {
        if let Some(r) = range[g.root(y)] {
            hidden.insert(node, r);
        }
        let final_c = c.and_then(|c| range[g.root(c)]);
        let every_step = cell_peak.borrow().get(&node).map(|&m| (-m, m));
        let merged = match (final_c, every_step) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (a, b) => a.or(b),
        };
        if let Some(r) = merged {
            cell.insert(node, r);
        }
    }
    Ok(Ranges {
        range,
        hidden,
        cell,
    })
}
