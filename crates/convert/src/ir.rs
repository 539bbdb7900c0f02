//! The converter's graph: tensors with static shapes, and nodes that are already the ops of the file
//! format. Passes rewrite it; the planner gives every activation an arena offset; `emit` writes it.
use rill_format::{DType, Op};

pub type TId = usize;

/// Where a tensor's values come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    /// Computed at run time, in the arena.
    Act,
    /// Known at convert time; stored in the weights section.
    ConstF32(Vec<f32>),
    ConstI32(Vec<i32>),
    /// Fixed-point constants (i8/i16 codes, as the tensor's dtype says), little-endian bytes.
    ConstBytes(Vec<u8>),
    /// The same bytes as another tensor under another shape (Reshape, Flatten, Squeeze, ...).
    Alias(TId),
}

#[derive(Clone, Debug)]
pub struct Tensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub dtype: DType,
    pub data: Data,
    /// How codes map to reals (fixed-point tensors only).
    pub quant: Option<Quant>,
}

/// `real = scale * (q - zero_point)`; weights carry one scale per output channel instead.
#[derive(Clone, Debug, PartialEq)]
pub struct Quant {
    pub scale: f32,
    pub zero_point: i32,
    /// (axis, scales) of per-channel weights.
    pub per_channel: Option<(u8, Vec<f32>)>,
}

impl Quant {
    pub fn per_tensor(scale: f32, zero_point: i32) -> Quant {
        Quant {
            scale,
            zero_point,
            per_channel: None,
        }
    }
}

impl Tensor {
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn bytes(&self) -> usize {
        self.numel() * self.dtype.size()
    }
}

#[derive(Clone, Debug)]
pub struct Node {
    /// The ONNX node this op came from (for messages and the file's op names).
    pub name: String,
    /// Its ONNX op type.
    pub onnx_op: String,
    pub op: Op,
    pub inputs: Vec<Option<TId>>,
    pub outputs: Vec<Option<TId>>,
    /// f32 scratch tensor, if the kernel needs one.
    pub scratch: Option<TId>,
}

#[derive(Clone, Debug, Default)]
pub struct Graph {
    pub tensors: Vec<Tensor>,
    pub nodes: Vec<Node>,
    pub inputs: Vec<TId>,
    pub outputs: Vec<TId>,
}

impl Graph {
    pub fn add(
        &mut self,
        name: impl Into<String>,
        shape: Vec<usize>,
        dtype: DType,
        data: Data,
    ) -> TId {
        self.tensors.push(Tensor {
            name: name.into(),
            shape,
            dtype,
            data,
            quant: None,
        });
        self.tensors.len() - 1
    }

    pub fn act(&mut self, name: impl Into<String>, shape: Vec<usize>) -> TId {
        self.add(name, shape, DType::F32, Data::Act)
    }

    pub fn const_f32(
        &mut self,
        name: impl Into<String>,
        shape: Vec<usize>,
        values: Vec<f32>,
    ) -> TId {
        self.add(name, shape, DType::F32, Data::ConstF32(values))
    }

    /// The tensor that owns `t`'s bytes (follows aliases).
    pub fn root(&self, mut t: TId) -> TId {
        while let Data::Alias(base) = self.tensors[t].data {
            t = base;
        }
        t
    }

    pub fn const_f32_values(&self, t: TId) -> Option<&[f32]> {
        match &self.tensors[self.root(t)].data {
            Data::ConstF32(v) => Some(v),
            _ => None,
        }
    }

    /// The node writing `t`, or what `t` is a view of.
    pub fn producer(&self, t: TId) -> Option<usize> {
        let root = self.root(t);
        self.nodes
            .iter()
            .position(|n| n.outputs.contains(&Some(root)))
    }

    /// Nodes reading `t` or any alias of it, and whether a graph output is (an alias of) it.
    pub fn consumers(&self, t: TId) -> (Vec<usize>, bool) {
        let root = self.root(t);
        let users = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.inputs.iter().flatten().any(|&i| self.root(i) == root))
            .map(|(i, _)| i)
            .collect();
        (users, self.outputs.iter().any(|&o| self.root(o) == root))
    }
}
