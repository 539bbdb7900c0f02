//! Writes the planned graph as a `.rill` file.
use rill_format::writer::{FileBuilder, GraphSpec, QuantSpec, TensorData, TensorSpec, WriteError};

use std::collections::HashSet;

use rill_format::writer::StreamSpec;

use crate::ir::{Data, Graph, Node, TId};
use crate::plan::Plan;
use crate::stream::{Blocked, Stream};

pub struct Source<'a> {
    pub name: &'a str,
    pub producer: &'a str,
    pub opset: i64,
    /// Extra `(key, value)` meta entries, written after the ONNX ones in this order.
    pub metadata: &'a [(String, String)],
}

struct Emitter<'g> {
    g: &'g Graph,
    plan: &'g Plan,
    state: HashSet<TId>,
    b: FileBuilder,
    index: Vec<Option<u32>>,
}

impl Emitter<'_> {
    fn tensor(&mut self, t: TId) -> Result<u32, WriteError> {
        if let Some(i) = self.index[t] {
            return Ok(i);
        }
        let x = &self.g.tensors[t];
        let root = self.g.root(t);
        let bytes: Vec<u8>;
        let data = match &self.g.tensors[root].data {
            Data::ConstF32(v) => {
                bytes = bytemuck::cast_slice(v).to_vec();
                TensorData::Const(&bytes)
            }
            Data::ConstI32(v) => {
                bytes = bytemuck::cast_slice(v).to_vec();
                TensorData::Const(&bytes)
            }
            Data::ConstBytes(v) => TensorData::Const(v),
            _ => {
                let offset = self.plan.offsets[t].ok_or(WriteError::BadTensor {
                    name: x.name.clone(),
                    reason: "has no planned offset",
                })?;
                if self.state.contains(&root) {
                    TensorData::State { offset }
                } else {
                    TensorData::Arena { offset }
                }
            }
        };
        let i = self.b.add_tensor(&TensorSpec {
            name: &x.name,
            dtype: x.dtype,
            shape: &x.shape,
            data,
            quant: x.quant.as_ref().map(|q| QuantSpec {
                scale: q.scale,
                zero_point: q.zero_point,
                per_channel: q.per_channel.as_ref().map(|(ax, s)| (*ax, s.as_slice())),
            }),
        })?;
        self.index[t] = Some(i);
        Ok(i)
    }
}

impl Emitter<'_> {
    fn node(&mut self, node: &Node) -> Result<(), WriteError> {
        let ins = node
            .inputs
            .iter()
            .map(|t| t.map(|t| self.tensor(t)).transpose())
            .collect::<Result<Vec<_>, _>>()?;
        let outs = node
            .outputs
            .iter()
            .map(|t| t.map(|t| self.tensor(t)).transpose())
            .collect::<Result<Vec<_>, _>>()?;
        let scratch = node.scratch.map(|t| self.tensor(t)).transpose()?;
        self.b.add_op(&node.op, &ins, &outs, scratch, &node.name)?;
        Ok(())
    }

    fn tensors(&mut self, ts: &[TId]) -> Result<Vec<u32>, WriteError> {
        ts.iter().map(|&t| self.tensor(t)).collect()
    }
}

/// The file bytes, and each IR tensor's index in the file (tensors the file does not use: `None`).
/// `stream` is the step program, or why there is none.
pub fn emit(
    g: &Graph,
    plan: &Plan,
    src: &Source,
    stream: Option<&Result<Stream, Blocked>>,
) -> Result<(Vec<u8>, Vec<Option<u32>>), WriteError> {
    let state = match stream {
        Some(Ok(s)) => s.state.iter().copied().collect(),
        _ => HashSet::new(),
    };
    let mut e = Emitter {
        g,
        plan,
        state,
        b: FileBuilder::new(),
        index: vec![None; g.tensors.len()],
    };
    for &t in g.inputs.iter().chain(&g.outputs) {
        e.tensor(t)?;
    }
    for node in &g.nodes {
        e.node(node)?;
    }
    match stream {
        Some(Ok(s)) => {
            let (inputs, outputs, state) = (
                e.tensors(&s.inputs)?,
                e.tensors(&s.outputs)?,
                e.tensors(&s.state)?,
            );
            e.b.set_stream(&StreamSpec {
                window_ops: g.nodes.len(),
                inputs: &inputs,
                outputs: &outputs,
                state: &state,
                window_len: s.window_len,
                latency: 0,
                step_arena_bytes: plan.step_arena_bytes,
                input_axes: &s.input_axes,
                output_axes: &s.output_axes,
            })?;
            for node in &s.nodes {
                e.node(node)?;
            }
        }
        Some(Err(b)) => {
            e.b.set_stream_blocked(b.block, b.node, b.detail, b.detail)?
        }
        None => {}
    }
    let ins = g
        .inputs
        .iter()
        .map(|&t| e.tensor(t))
        .collect::<Result<Vec<_>, _>>()?;
    let outs = g
        .outputs
        .iter()
        .map(|&t| e.tensor(t))
        .collect::<Result<Vec<_>, _>>()?;
    e.b.set_io(&ins, &outs)?;
    e.b.set_graph(&GraphSpec {
        arena_bytes: plan.arena_bytes,
        state_bytes: plan.state_bytes,
        live_bound_bytes: plan.live_bound_bytes,
        producer: format!("rill-convert {}", env!("CARGO_PKG_VERSION")),
        source: src.name.to_owned(),
    })?;
    e.b.add_meta("onnx.opset", &src.opset.to_string())?;
    if !src.producer.is_empty() {
        e.b.add_meta("onnx.producer", src.producer)?;
    }
    for (key, value) in src.metadata {
        e.b.add_meta(key, value)?;
    }
    let index = e.index;
    Ok((e.b.finish()?, index))
}
