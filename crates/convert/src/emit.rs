//! Writes the planned graph as a `.rill` file.
use rill_format::writer::{FileBuilder, GraphSpec, QuantSpec, TensorData, TensorSpec, WriteError};

use crate::ir::{Data, Graph, TId};
use crate::plan::Plan;

pub struct Source<'a> {
    pub name: &'a str,
    pub producer: &'a str,
    pub opset: i64,
}

struct Emitter<'g> {
    g: &'g Graph,
    plan: &'g Plan,
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
            _ => TensorData::Arena {
                offset: self.plan.offsets[t].ok_or(WriteError::BadTensor {
                    name: x.name.clone(),
                    reason: "has no planned offset",
                })?,
            },
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

/// The file bytes, and each IR tensor's index in the file (tensors the file does not use: `None`).
pub fn emit(
    g: &Graph,
    plan: &Plan,
    src: &Source,
) -> Result<(Vec<u8>, Vec<Option<u32>>), WriteError> {
    let mut e = Emitter {
        g,
        plan,
        b: FileBuilder::new(),
        index: vec![None; g.tensors.len()],
    };
    for &t in g.inputs.iter().chain(&g.outputs) {
        e.tensor(t)?;
    }
    for node in &g.nodes {
        let ins = node
            .inputs
            .iter()
            .map(|t| t.map(|t| e.tensor(t)).transpose())
            .collect::<Result<Vec<_>, _>>()?;
        let outs = node
            .outputs
            .iter()
            .map(|t| t.map(|t| e.tensor(t)).transpose())
            .collect::<Result<Vec<_>, _>>()?;
        let scratch = node.scratch.map(|t| e.tensor(t)).transpose()?;
        e.b.add_op(&node.op, &ins, &outs, scratch, &node.name)?;
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
        state_bytes: 0,
        live_bound_bytes: plan.live_bound_bytes,
        producer: format!("rill-convert {}", env!("CARGO_PKG_VERSION")),
        source: src.name.to_owned(),
    })?;
    e.b.add_meta("onnx.opset", &src.opset.to_string())?;
    if !src.producer.is_empty() {
        e.b.add_meta("onnx.producer", src.producer)?;
    }
    let index = e.index;
    Ok((e.b.finish()?, index))
}
