//! What a `.rill` file holds and costs: per op shapes, parameters, MACs and weight bytes; totals; the
//! receptive field of conv stacks. Computed from the file alone, so `inspect` works on any model.
use std::fmt::Write as _;

use anyhow::{anyhow, Result};
use rill_format::reader::OpView;
use rill_format::{DType, Op, RnnParams, Storage, NONE};
use rill_runtime::Model;

pub struct Layer {
    pub index: usize,
    pub kind: String,
    pub detail: String,
    pub name: String,
    pub inputs: Vec<Vec<u32>>,
    pub output: Vec<u32>,
    pub params: usize,
    pub macs: u64,
    pub weight_bytes: usize,
}

/// A graph input or output: name, element type, shape, (scale, zero point) of codes.
pub type IoTensor = (String, String, Vec<u32>, Option<(f32, i32)>);

pub struct Summary {
    pub layers: Vec<Layer>,
    pub file_bytes: usize,
    pub arena_bytes: usize,
    pub live_bound_bytes: usize,
    pub state_bytes: usize,
    pub weight_bytes: usize,
    pub macs: u64,
    pub inputs: Vec<IoTensor>,
    pub outputs: Vec<IoTensor>,
    pub producer: String,
    pub source: String,
    /// Receptive field over (h, w) of the first output, when every op on the way is local in space.
    pub receptive_field: ReceptiveField,
    pub stream: StreamSummary,
    /// The cargo features of `rill-runtime` a trimmed firmware build needs for the whole-window
    /// program, and for the step program on top of it.
    pub runtime_features: Vec<&'static str>,
    pub step_runtime_features: Vec<&'static str>,
    /// The `frontend` meta entry, parsed (or why it does not parse).
    pub frontend: Option<Result<crate::audio::FrontendSpec, String>>,
    /// The `labels` meta entry, parsed (or why it does not parse).
    pub labels: Option<Result<Vec<String>, String>>,
}

/// Whether and how the model runs one time step at a time.
pub enum StreamSummary {
    Streams {
        state_bytes: usize,
        step_arena_bytes: usize,
        latency: usize,
        window_len: usize,
        step_ops: usize,
        step_macs: u64,
        /// State each step op keeps: (op name, what it is, bytes), in op order.
        state_by_op: Vec<(String, &'static str, usize)>,
    },
    Blocked {
        node: Option<String>,
        reason: String,
    },
    /// The file has no stream section.
    Unknown,
}

/// The op reading the taps of step op `i` (a Window): the converter places it right after.
fn consumer(file: &rill_format::reader::ModelFile, v: &OpView, i: usize) -> Option<Op> {
    let taps = v.outputs.first()?;
    let n = file.op(i + 1)?;
    n.inputs.contains(taps).then_some(n.op)
}

fn stream_summary(model: &Model) -> Result<StreamSummary> {
    let file = model.file();
    Ok(match model.stream() {
        Ok(info) => {
            let mut step_macs = 0;
            for i in file.window_ops()..file.ops.len() {
                let v = file
                    .op(i)
                    .ok_or_else(|| anyhow!("op #{i} cannot be decoded"))?;
                step_macs += macs(&v.op);
            }
            let mut state_by_op = Vec::new();
            for i in file.window_ops()..file.ops.len() {
                let v = file
                    .op(i)
                    .ok_or_else(|| anyhow!("op #{i} cannot be decoded"))?;
                let bytes: usize = v
                    .outputs
                    .iter()
                    .filter_map(|&t| file.tensor(t as usize))
                    .filter(|t| t.storage == Storage::State)
                    .map(|t| t.size)
                    .sum();
                if bytes > 0 {
                    let what = match v.op {
                        Op::Window(_) => match consumer(file, &v, i) {
                            Some(Op::Pool(_)) => "pool window (ring of past frames)",
                            Some(Op::MatMul(_)) => "attention K/V window (ring of past steps)",
                            _ => "conv window (ring of past frames)",
                        },
                        Op::RnnStep(_) => "recurrent state",
                        _ => "state",
                    };
                    state_by_op.push((model.op_name(i).to_owned(), what, bytes));
                }
            }
            StreamSummary::Streams {
                state_bytes: info.state_bytes,
                step_arena_bytes: info.step_arena_bytes,
                latency: info.latency,
                window_len: info.window_len,
                step_ops: file.ops.len() - file.window_ops(),
                step_macs,
                state_by_op,
            }
        }
        Err(rill_runtime::Error::NotStreamable { op, block, detail }) => StreamSummary::Blocked {
            node: op.map(|o| model.op_name(o).to_owned()),
            reason: if block == rill_format::StreamBlock::NonCausal {
                format!("{block} (latency {detail} steps)")
            } else {
                block.to_string()
            },
        },
        Err(_) => StreamSummary::Unknown,
    })
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ReceptiveField {
    /// 1-D conv stack: steps of the time axis.
    Steps(u64),
    /// 2-D: rows x columns.
    Area(u64, u64),
    /// A recurrent layer or a global op sees the whole input.
    Whole(&'static str),
}

fn rnn_macs(p: &RnnParams) -> u64 {
    let gates = match p.cell {
        0 => 1,
        1 => 3,
        _ => 4,
    };
    let dirs = if p.direction == 2 { 2 } else { 1 };
    dirs * p.seq_len as u64
        * p.batch as u64
        * gates
        * p.hidden as u64
        * (p.input_size as u64 + p.hidden as u64)
}

fn macs(op: &Op) -> u64 {
    let m = |v: &[u32]| v.iter().map(|&x| x as u64).product::<u64>();
    match op {
        Op::Dense(p) => m(&[p.m, p.k, p.n]),
        Op::MatMul(p) => m(&p.batch[..p.batch_rank.min(4) as usize]) * m(&[p.m, p.k, p.n]),
        Op::Conv(p) => {
            m(&[p.batch, p.c_out, p.out_h, p.out_w, p.k_h, p.k_w])
                * (p.c_in / p.groups.max(1)) as u64
        }
        Op::Rnn(p) | Op::RnnStep(p) => rnn_macs(p),
        _ => 0,
    }
}

fn detail(op: &Op) -> String {
    match op {
        Op::Dense(p) => format!("{}x{} -> {}", p.m, p.k, p.n),
        Op::Conv(p) => {
            let dw = p.groups == p.c_in && p.groups > 1;
            format!(
                "{}{}x{} s{}x{} d{}x{}{}",
                if dw { "dw " } else { "" },
                p.k_h,
                p.k_w,
                p.stride_h,
                p.stride_w,
                p.dil_h,
                p.dil_w,
                if p.groups > 1 && !dw {
                    format!(" g{}", p.groups)
                } else {
                    String::new()
                }
            )
        }
        Op::Rnn(p) => {
            let cell = ["RNN", "GRU", "LSTM"]
                .get(p.cell as usize)
                .copied()
                .unwrap_or("?");
            let dir = ["fwd", "rev", "bidir"]
                .get(p.direction as usize)
                .copied()
                .unwrap_or("?");
            format!("{cell} {dir} h{} x{} steps", p.hidden, p.seq_len)
        }
        Op::Pool(p) => format!(
            "{} {}x{}{}",
            if p.kind == 0 { "max" } else { "avg" },
            p.k_h,
            p.k_w,
            if p.global != 0 { " global" } else { "" }
        ),
        Op::Unary(p) => act_name(p.act.kind).to_owned(),
        Op::Binary(p) => ["Add", "Sub", "Mul", "Div", "Pow", "Max", "Min"]
            .get(p.kind as usize)
            .copied()
            .unwrap_or("?")
            .to_owned(),
        Op::Softmax(p) => if p.log != 0 { "log" } else { "" }.to_owned(),
        _ => String::new(),
    }
}

fn act_name(kind: u32) -> &'static str {
    use rill_format::ActKind as A;
    // Exhaustive: a new kind does not compile until it has a name here.
    match A::from_u32(kind) {
        Some(A::Identity) => "identity",
        Some(A::Relu) => "relu",
        Some(A::LeakyRelu) => "leaky_relu",
        Some(A::Sigmoid) => "sigmoid",
        Some(A::HardSigmoid) => "hard_sigmoid",
        Some(A::Tanh) => "tanh",
        Some(A::Gelu) => "gelu",
        Some(A::GeluTanh) => "gelu_tanh",
        Some(A::Sqrt) => "sqrt",
        Some(A::Reciprocal) => "reciprocal",
        Some(A::Neg) => "neg",
        Some(A::Exp) => "exp",
        Some(A::Abs) => "abs",
        Some(A::Clip) => "clip",
        Some(A::Elu) => "elu",
        Some(A::Log) => "log",
        Some(A::Softplus) => "softplus",
        Some(A::Softsign) => "softsign",
        Some(A::HardSwish) => "hard_swish",
        Some(A::Erf) => "erf",
        None => "?",
    }
}

/// Receptive-field bookkeeping per tensor: (extent, jump) on the h and w axes.
#[derive(Clone, Copy)]
struct Rf {
    h: (u64, u64),
    w: (u64, u64),
    whole: Option<&'static str>,
}

fn grow(rf: (u64, u64), k: u32, dil: u32, stride: u32) -> (u64, u64) {
    let k_eff = (k.max(1) as u64 - 1) * dil.max(1) as u64 + 1;
    (rf.0 + (k_eff - 1) * rf.1, rf.1 * stride.max(1) as u64)
}

fn receptive_field(model: &Model) -> ReceptiveField {
    let file = model.file();
    let start = Rf {
        h: (1, 1),
        w: (1, 1),
        whole: None,
    };
    // Keyed by arena region, not tensor: an alias (Reshape, Squeeze, ...) is another tensor record on
    // the same bytes, and what an op reads is whatever was last written there.
    let region = |t: u32| {
        file.tensor(t as usize)
            .filter(|i| i.storage != rill_format::Storage::Const)
            .map(|i| (i.offset, i.size))
    };
    let mut rf: std::collections::HashMap<(usize, usize), Rf> = std::collections::HashMap::new();
    for &t in file.inputs() {
        if let Some(r) = region(t) {
            rf.insert(r, start);
        }
    }
    let mut any_2d = false;
    for i in 0..file.window_ops() {
        let Some(v) = file.op(i) else { continue };
        let ins: Vec<Rf> = v
            .inputs
            .iter()
            .filter(|&&t| t != NONE)
            .filter_map(|&t| region(t).and_then(|r| rf.get(&r).copied()))
            .collect();
        let Some(first) = ins.first().copied() else {
            continue;
        };
        let merged = ins.iter().fold(first, |a, b| Rf {
            h: (a.h.0.max(b.h.0), a.h.1.max(b.h.1)),
            w: (a.w.0.max(b.w.0), a.w.1.max(b.w.1)),
            whole: a.whole.or(b.whole),
        });
        let out = match v.op {
            Op::Conv(p) => {
                any_2d |= p.in_h > 1 || p.k_h > 1;
                Rf {
                    h: grow(merged.h, p.k_h, p.dil_h, p.stride_h),
                    w: grow(merged.w, p.k_w, p.dil_w, p.stride_w),
                    ..merged
                }
            }
            Op::Pool(p) if p.global == 0 => Rf {
                h: grow(merged.h, p.k_h, p.dil_h, p.stride_h),
                w: grow(merged.w, p.k_w, p.dil_w, p.stride_w),
                ..merged
            },
            Op::Pool(_) => Rf {
                whole: Some("global pooling"),
                ..merged
            },
            Op::Rnn(_) => Rf {
                whole: Some("recurrent layer"),
                ..merged
            },
            Op::Dense(_)
            | Op::MatMul(_)
            | Op::Reduce(_)
            | Op::Softmax(_)
            | Op::LayerNorm(_)
            | Op::Copy(_) => merged,
            _ => merged,
        };
        for &t in v.outputs {
            if let Some(r) = region(t) {
                rf.insert(r, out);
            }
        }
    }
    let out = file
        .outputs()
        .first()
        .and_then(|&t| region(t).and_then(|r| rf.get(&r).copied()))
        .unwrap_or(start);
    match out.whole {
        Some(why) => ReceptiveField::Whole(why),
        None if any_2d => ReceptiveField::Area(out.h.0, out.w.0),
        None => ReceptiveField::Steps(out.w.0),
    }
}

fn io_list(model: &Model, ids: &[u32]) -> Vec<IoTensor> {
    ids.iter()
        .filter_map(|&t| model.file().tensor(t as usize))
        .map(|t| {
            let quant =
                matches!(t.dtype, DType::I8 | DType::I16).then_some((t.scale, t.zero_point));
            (
                t.name().to_owned(),
                t.dtype.to_string(),
                t.shape.to_vec(),
                quant,
            )
        })
        .collect()
}

impl Summary {
    pub fn of(bytes: &[u8]) -> Result<Summary> {
        let model = Model::from_bytes(bytes).map_err(|e| anyhow!("{e}"))?;
        let file = *model.file();
        let shape = |t: u32| {
            file.tensor(t as usize)
                .map(|t| t.shape.to_vec())
                .unwrap_or_default()
        };
        let mut layers = Vec::new();
        for i in 0..file.window_ops() {
            let v: OpView = file
                .op(i)
                .ok_or_else(|| anyhow!("op #{i} cannot be decoded"))?;
            let consts: Vec<_> = v
                .inputs
                .iter()
                .filter_map(|&t| file.tensor(t as usize))
                .filter(|t| t.storage == Storage::Const)
                .collect();
            layers.push(Layer {
                index: i,
                kind: v.op.kind().name().to_owned(),
                detail: detail(&v.op),
                name: v.name().to_owned(),
                inputs: v
                    .inputs
                    .iter()
                    .filter(|&&t| t != NONE)
                    .filter(|&&t| {
                        file.tensor(t as usize)
                            .is_some_and(|t| t.storage != Storage::Const)
                    })
                    .map(|&t| shape(t))
                    .collect(),
                output: v
                    .outputs
                    .iter()
                    .find(|&&t| t != NONE)
                    .map(|&t| shape(t))
                    .unwrap_or_default(),
                params: consts.iter().map(|t| t.len()).sum(),
                macs: macs(&v.op),
                weight_bytes: consts.iter().map(|t| t.size).sum(),
            });
        }
        Ok(Summary {
            file_bytes: file.file_len(),
            arena_bytes: model.arena_bytes(),
            live_bound_bytes: file.graph.live_bound_bytes as usize,
            state_bytes: model.state_bytes(),
            weight_bytes: file.weights.len(),
            macs: layers.iter().map(|l| l.macs).sum(),
            inputs: io_list(&model, file.inputs()),
            outputs: io_list(&model, file.outputs()),
            producer: file.string(file.graph.producer).to_owned(),
            source: file.string(file.graph.source).to_owned(),
            receptive_field: receptive_field(&model),
            runtime_features: model.required_features(false).names().collect(),
            step_runtime_features: model
                .required_features(true)
                .without(model.required_features(false))
                .names()
                .collect(),
            stream: stream_summary(&model)?,
            frontend: file
                .meta(crate::audio::FRONTEND_KEY)
                .map(|t| crate::audio::FrontendSpec::parse(t).map_err(|e| format!("{e:#}"))),
            labels: file
                .meta(crate::audio::LABELS_KEY)
                .map(|t| crate::audio::parse_labels(t).map_err(|e| format!("{e:#}"))),
            layers,
        })
    }

    fn rf_text(&self) -> String {
        match self.receptive_field {
            ReceptiveField::Steps(n) => format!("{n} time steps"),
            ReceptiveField::Area(h, w) => format!("{h} x {w}"),
            ReceptiveField::Whole(why) => format!("whole input ({why})"),
        }
    }

    /// The front end and class labels stored by `convert --frontend/--labels`, if any.
    pub fn audio_text(&self) -> String {
        let mut s = String::new();
        match &self.frontend {
            Some(Ok(f)) => {
                let _ = writeln!(s, "front end: MFCC, {}", f.describe());
            }
            Some(Err(e)) => {
                let _ = writeln!(s, "front end: invalid metadata: {e}");
            }
            None => {}
        }
        match &self.labels {
            Some(Ok(l)) => {
                let _ = writeln!(s, "labels: {} classes: {}", l.len(), l.join(", "));
            }
            Some(Err(e)) => {
                let _ = writeln!(s, "labels: invalid metadata: {e}");
            }
            None => {}
        }
        s
    }

    pub fn totals_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "  file bytes:       {:>10}", self.file_bytes);
        let _ = writeln!(s, "  weight bytes:     {:>10}", self.weight_bytes);
        let _ = writeln!(
            s,
            "  arena bytes:      {:>10}  (liveness lower bound {})",
            self.arena_bytes, self.live_bound_bytes
        );
        let _ = writeln!(s, "  state bytes:      {:>10}", self.state_bytes);
        let _ = writeln!(s, "  MACs/inference:   {:>10}", self.macs);
        let _ = writeln!(s, "  receptive field:  {}", self.rf_text());
        let _ = writeln!(s, "  streaming:        {}", self.stream_text());
        if let StreamSummary::Streams { state_by_op, .. } = &self.stream {
            for (name, what, bytes) in state_by_op {
                let _ = writeln!(s, "    state {bytes:>8} B  {what}: {name}");
            }
        }
        let _ = write!(
            s,
            "  runtime features: {}",
            self.runtime_features.join(", ")
        );
        if !self.step_runtime_features.is_empty()
            && matches!(self.stream, StreamSummary::Streams { .. })
        {
            let _ = write!(
                s,
                " (streaming adds {})",
                self.step_runtime_features.join(", ")
            );
        }
        s.push('\n');
        s
    }

    fn stream_text(&self) -> String {
        match &self.stream {
            StreamSummary::Streams {
                state_bytes,
                step_arena_bytes,
                latency,
                window_len,
                step_ops,
                step_macs,
                ..
            } => format!(
                "yes: {step_ops} ops and {step_macs} MACs per step ({:.1}x less than a {window_len}-step window), {state_bytes} state bytes, {step_arena_bytes} arena bytes when only streaming, latency {latency} steps",
                self.macs as f64 / (*step_macs).max(1) as f64
            ),
            StreamSummary::Blocked { node, reason } => match node {
                Some(n) => format!("no: node '{n}' {reason}"),
                None => format!("no: {reason}"),
            },
            StreamSummary::Unknown => "unknown (the file has no stream section)".into(),
        }
    }

    pub fn text(&self) -> String {
        let dims = |d: &[u32]| {
            format!(
                "[{}]",
                d.iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            )
        };
        let mut s = String::new();
        let _ = writeln!(s, "model: {} (by {})", self.source, self.producer);
        let q = |quant: &Option<(f32, i32)>| {
            quant.map_or_else(String::new, |(sc, z)| {
                format!("  (real = {sc:e} x (q - {z}))")
            })
        };
        for (name, dt, shape, quant) in &self.inputs {
            let _ = writeln!(s, "input  {name}: {dt} {}{}", dims(shape), q(quant));
        }
        for (name, dt, shape, quant) in &self.outputs {
            let _ = writeln!(s, "output {name}: {dt} {}{}", dims(shape), q(quant));
        }
        s.push_str(&self.audio_text());
        let _ = writeln!(
            s,
            "\n{:>3}  {:<10} {:<24} {:<18} {:<16} {:>9} {:>11} {:>10}  name",
            "#", "op", "detail", "input", "output", "params", "MACs", "w bytes"
        );
        for l in &self.layers {
            let input = l.inputs.first().map(|d| dims(d)).unwrap_or_default();
            let _ = writeln!(
                s,
                "{:>3}  {:<10} {:<24} {:<18} {:<16} {:>9} {:>11} {:>10}  {}",
                l.index,
                l.kind,
                l.detail,
                input,
                dims(&l.output),
                l.params,
                l.macs,
                l.weight_bytes,
                l.name
            );
        }
        let _ = writeln!(s, "\ntotals ({} ops)", self.layers.len());
        s.push_str(&self.totals_text());
        s
    }

    pub fn to_json(&self) -> serde_json::Value {
        let io = |v: &[IoTensor]| {
            v.iter()
                .map(|(n, d, s, q)| {
                    let mut v = serde_json::json!({"name": n, "dtype": d, "shape": s});
                    if let Some((scale, z)) = q {
                        v["scale"] = serde_json::json!(scale);
                        v["zero_point"] = serde_json::json!(z);
                    }
                    v
                })
                .collect::<Vec<_>>()
        };
        serde_json::json!({
            "source": self.source,
            "producer": self.producer,
            "inputs": io(&self.inputs),
            "outputs": io(&self.outputs),
            "layers": self.layers.iter().map(|l| serde_json::json!({
                "index": l.index, "op": l.kind, "detail": l.detail, "name": l.name,
                "inputs": l.inputs, "output": l.output, "params": l.params, "macs": l.macs,
                "weight_bytes": l.weight_bytes,
            })).collect::<Vec<_>>(),
            "file_bytes": self.file_bytes,
            "weight_bytes": self.weight_bytes,
            "arena_bytes": self.arena_bytes,
            "live_bound_bytes": self.live_bound_bytes,
            "state_bytes": self.state_bytes,
            "macs": self.macs,
            "runtime_features": self.runtime_features,
            "step_runtime_features": self.step_runtime_features,
            "streaming": match &self.stream {
                StreamSummary::Streams { state_bytes, step_arena_bytes, latency, window_len, step_ops, step_macs, state_by_op } => serde_json::json!({
                    "streams": true, "state_bytes": state_bytes, "step_arena_bytes": step_arena_bytes, "latency_steps": latency,
                    "window_len": window_len, "step_ops": step_ops, "step_macs": step_macs,
                    "state_by_op": state_by_op.iter().map(|(n, w, b)| serde_json::json!({"op": n, "what": w, "bytes": b})).collect::<Vec<_>>(),
                }),
                StreamSummary::Blocked { node, reason } => serde_json::json!({
                    "streams": false, "node": node, "reason": reason,
                }),
                StreamSummary::Unknown => serde_json::json!({"streams": null}),
            },
            "frontend": match &self.frontend {
                Some(Ok(f)) => f.to_json(),
                Some(Err(e)) => serde_json::json!({"invalid": e}),
                None => serde_json::Value::Null,
            },
            "labels": match &self.labels {
                Some(Ok(l)) => serde_json::json!(l),
                Some(Err(e)) => serde_json::json!({"invalid": e}),
                None => serde_json::Value::Null,
            },
            "receptive_field": match self.receptive_field {
                ReceptiveField::Steps(n) => serde_json::json!({"steps": n}),
                ReceptiveField::Area(h, w) => serde_json::json!({"h": h, "w": w}),
                ReceptiveField::Whole(why) => serde_json::json!({"whole": why}),
            },
        })
    }
}
