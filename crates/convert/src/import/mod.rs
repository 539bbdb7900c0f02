//! ONNX to the converter's graph. Nodes are read in the file's (topological) order; every value is
//! either a constant known now (folded on the host, never reaching the device) or an activation with a
//! static shape. Every node that cannot be converted is recorded, so the user sees them all at once.
mod compute;
mod norm;
mod rnn;
mod shape_ops;

use std::collections::HashMap;

use rill_format::{DType, Op};
use tract_onnx::pb::{ModelProto, NodeProto};

use crate::consts::{CType, HConst};
use crate::ir::{Data, Graph, Node, TId};
use crate::proto::{self, elem, Attrs};
use crate::{ConvertOptions, NodeIssue};

/// A value flowing between ONNX nodes.
#[derive(Clone, Debug)]
pub(crate) enum Val {
    Const(HConst),
    Act(TId),
    /// Produced by a node that could not be converted (already reported).
    Unknown,
}

/// What a node handler reports when it cannot convert its node.
pub(crate) enum Fail {
    /// The op type (or this use of it) has no Rill equivalent.
    Unsupported(Option<String>),
    /// The node is malformed or inconsistent.
    Invalid(String),
}

pub(crate) type NodeResult = Result<Vec<Val>, Fail>;

pub(crate) fn invalid<T>(msg: impl Into<String>) -> Result<T, Fail> {
    Err(Fail::Invalid(msg.into()))
}

pub(crate) fn unsupported<T>(why: impl Into<String>) -> Result<T, Fail> {
    Err(Fail::Unsupported(Some(why.into())))
}

impl From<String> for Fail {
    fn from(s: String) -> Fail {
        Fail::Invalid(s)
    }
}

/// One node being converted: its proto, inputs (absent optional inputs are `None`) and names.
pub(crate) struct Ctx<'a> {
    pub proto: &'a NodeProto,
    pub name: String,
    pub op: &'a str,
    pub inputs: Vec<Option<Val>>,
    pub opset: i64,
}

impl<'a> Ctx<'a> {
    pub fn attrs(&self) -> Attrs<'a> {
        Attrs(self.proto)
    }

    pub fn input(&self, k: usize) -> Result<&Val, Fail> {
        self.inputs
            .get(k)
            .and_then(|v| v.as_ref())
            .ok_or_else(|| Fail::Invalid(format!("input {k} is missing")))
    }

    pub fn opt_input(&self, k: usize) -> Option<&Val> {
        self.inputs.get(k).and_then(|v| v.as_ref())
    }

    /// A constant input (shapes, axes, weights).
    pub fn const_input(&self, k: usize, what: &str) -> Result<&HConst, Fail> {
        match self.input(k)? {
            Val::Const(c) => Ok(c),
            _ => unsupported(format!(
                "its {what} (input {k}) must be a constant known at convert time"
            )),
        }
    }

    pub fn opt_const_input(&self, k: usize, what: &str) -> Result<Option<&HConst>, Fail> {
        match self.opt_input(k) {
            None => Ok(None),
            Some(Val::Const(c)) => Ok(Some(c)),
            Some(_) => unsupported(format!(
                "its {what} (input {k}) must be a constant known at convert time"
            )),
        }
    }

    /// Name of output `k` (empty when the node leaves it out).
    pub fn output_name(&self, k: usize) -> &str {
        self.proto.output.get(k).map_or("", |s| s.as_str())
    }

    pub fn all_const(&self) -> bool {
        self.inputs
            .iter()
            .flatten()
            .all(|v| matches!(v, Val::Const(_)))
    }
}

/// The import's product, plus what the report says about it.
pub(crate) struct Imported {
    pub graph: Graph,
    pub onnx_nodes: usize,
    pub opset: i64,
    pub producer: String,
    pub warnings: Vec<String>,
}

pub(crate) struct Importer {
    pub g: Graph,
    vals: HashMap<String, Val>,
    /// IR constants made from named ONNX values, so a weight used twice is stored once.
    const_ids: HashMap<String, TId>,
    /// Zero-padded views of activations, never materialized: the conv reading one absorbs the padding.
    pub padded: HashMap<TId, PadView>,
    pub warnings: Vec<String>,
}

/// An activation `src` zero-padded by `begin`/`end` elements per axis (the output of a Pad node).
#[derive(Clone, Debug)]
pub(crate) struct PadView {
    pub src: TId,
    pub begin: Vec<usize>,
    pub end: Vec<usize>,
    pub node: String,
}

impl Importer {
    /// The IR tensor holding `v` (a constant becomes a weights tensor).
    pub fn tensor(&mut self, v: &Val, name: &str) -> Result<TId, Fail> {
        match v {
            Val::Act(t) => Ok(*t),
            Val::Unknown => invalid("input comes from a node that failed"),
            Val::Const(c) => {
                let key = format!("{name}#{:?}", c.shape);
                if let Some(&t) = self.const_ids.get(&key) {
                    if self.const_matches(t, c) {
                        return Ok(t);
                    }
                }
                let t = self.const_tensor(name, c);
                self.const_ids.insert(key, t);
                Ok(t)
            }
        }
    }

    fn const_matches(&self, t: TId, c: &HConst) -> bool {
        match &self.g.tensors[t].data {
            Data::ConstF32(v) => {
                c.ty == CType::F32 && v.iter().zip(&c.data).all(|(&a, &b)| a == b as f32)
            }
            Data::ConstI32(v) => {
                c.ty != CType::F32 && v.iter().zip(&c.data).all(|(&a, &b)| a as f64 == b)
            }
            _ => false,
        }
    }

    pub fn const_tensor(&mut self, name: &str, c: &HConst) -> TId {
        match c.ty {
            CType::F32 => self.g.const_f32(name, c.shape.clone(), c.f32s()),
            _ => self.g.add(
                name,
                c.shape.clone(),
                DType::I32,
                Data::ConstI32(c.data.iter().map(|&v| v as i32).collect()),
            ),
        }
    }

    pub fn shape(&self, v: &Val) -> Result<Vec<usize>, Fail> {
        match v {
            Val::Act(t) => Ok(self.g.tensors[*t].shape.clone()),
            Val::Const(c) => Ok(c.shape.clone()),
            Val::Unknown => invalid("input comes from a node that failed"),
        }
    }

    pub fn dtype(&self, v: &Val) -> DType {
        match v {
            Val::Act(t) => self.g.tensors[*t].dtype,
            Val::Const(c) if c.ty == CType::F32 => DType::F32,
            _ => DType::I32,
        }
    }

    /// A new activation named after output `k` of the node.
    pub fn out(&mut self, cx: &Ctx, k: usize, shape: Vec<usize>, dtype: DType) -> TId {
        let name = match cx.output_name(k) {
            "" => format!("{}:{k}", cx.name),
            n => n.to_owned(),
        };
        self.g.add(name, shape, dtype, Data::Act)
    }

    /// A new intermediate activation owned by the node (decompositions).
    pub fn temp(&mut self, cx: &Ctx, what: &str, shape: Vec<usize>) -> TId {
        self.g.act(format!("{}/{what}", cx.name), shape)
    }

    /// Output `k` as a view of `src` under another shape. A view of a zero-padded activation that
    /// only adds or removes unit axes (the Unsqueeze between a Pad and a Conv in tf2onnx's 1-D
    /// convs) stays a padded view, of the source viewed likewise, so the Conv still absorbs it.
    pub fn alias(&mut self, cx: &Ctx, k: usize, src: TId, shape: Vec<usize>) -> TId {
        if let Some(p) = self.padded.get(&src).cloned() {
            if let Some(view) = self.pad_view_through(&p, src, &shape) {
                let dtype = self.g.tensors[src].dtype;
                let t = self.out(cx, k, shape, dtype);
                self.padded.insert(t, view);
                return t;
            }
        }
        let dtype = self.g.tensors[src].dtype;
        let t = self.out(cx, k, shape, dtype);
        self.g.tensors[t].data = Data::Alias(src);
        t
    }

    /// The padded view `p` (of tensor `padded`) seen under `shape`, when that only adds or removes
    /// unit axes: its padded axes keep their order and lengths, so the padding moves with them.
    fn pad_view_through(&mut self, p: &PadView, padded: TId, shape: &[usize]) -> Option<PadView> {
        let from = self.g.tensors[padded].shape.clone();
        let long = |s: &[usize]| -> Vec<usize> { (0..s.len()).filter(|&i| s[i] != 1).collect() };
        let (a, b) = (long(&from), long(shape));
        if a.len() != b.len() || a.iter().zip(&b).any(|(&i, &j)| from[i] != shape[j]) {
            return None;
        }
        // A padded axis is longer than 1, so every unit axis here carries no padding.
        let mut src_shape = shape.to_vec();
        let (mut begin, mut end) = (vec![0; shape.len()], vec![0; shape.len()]);
        for (&i, &j) in a.iter().zip(&b) {
            src_shape[j] = from[i] - p.begin[i] - p.end[i];
            begin[j] = p.begin[i];
            end[j] = p.end[i];
        }
        let name = format!("{}/view", self.g.tensors[p.src].name);
        let dtype = self.g.tensors[p.src].dtype;
        let src = self.g.add(name, src_shape, dtype, Data::Alias(p.src));
        Some(PadView {
            src,
            begin,
            end,
            node: p.node.clone(),
        })
    }

    pub fn push(
        &mut self,
        cx: &Ctx,
        op: Op,
        inputs: Vec<Option<TId>>,
        outputs: Vec<Option<TId>>,
        scratch: Option<TId>,
    ) {
        self.g.nodes.push(Node {
            name: cx.name.clone(),
            onnx_op: cx.op.to_owned(),
            op,
            inputs,
            outputs,
            scratch,
        });
    }
}

fn input_dtype(code: i32, name: &str) -> Result<DType, String> {
    match code {
        elem::FLOAT => Ok(DType::F32),
        elem::INT64 | elem::INT32 => Ok(DType::I32),
        other => Err(format!(
            "graph input '{name}' is {}; Rill takes float32 inputs, or int64/int32 token ids",
            elem::name(other)
        )),
    }
}

/// Resolves the static shape of graph input `name` from the file and `--input-shape`.
fn input_shape(
    name: &str,
    dims: &[Result<usize, String>],
    opts: &ConvertOptions,
    warnings: &mut Vec<String>,
) -> Result<Vec<usize>, String> {
    if let Some((_, given)) = opts.input_shapes.iter().find(|(n, _)| n == name) {
        if given.len() != dims.len() {
            return Err(format!(
                "--input-shape {name}: {} dimensions given, the model's input has {}",
                given.len(),
                dims.len()
            ));
        }
        for (i, (g, d)) in given.iter().zip(dims).enumerate() {
            if let Ok(d) = d {
                if d != g {
                    return Err(format!("--input-shape {name}: dimension {i} is fixed to {d} in the model, {g} given"));
                }
            }
        }
        return Ok(given.clone());
    }
    let mut shape = Vec::with_capacity(dims.len());
    for (i, d) in dims.iter().enumerate() {
        match d {
            Ok(v) => shape.push(*v),
            Err(sym) if i == 0 => {
                warnings.push(format!("input '{name}': symbolic batch dimension '{sym}' set to 1"));
                shape.push(1);
            }
            Err(sym) => {
                return Err(format!(
                    "input '{name}': dimension {i} is symbolic ('{sym}'); fix it with --input-shape {name}=D0,D1,..."
                ))
            }
        }
    }
    Ok(shape)
}

pub(crate) fn import(
    model: &ModelProto,
    opts: &ConvertOptions,
) -> Result<Imported, crate::ConvertError> {
    use crate::ConvertError as E;
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| E::Model("the file holds no graph".into()))?;
    let opset = model
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map_or(1, |o| o.version);
    let mut im = Importer {
        g: Graph::default(),
        vals: HashMap::new(),
        const_ids: HashMap::new(),
        padded: HashMap::new(),
        warnings: vec![],
    };
    for init in &graph.initializer {
        let c = proto::tensor_value(init).map_err(E::Model)?;
        im.vals.insert(init.name.clone(), Val::Const(c));
    }
    for (name, _) in &opts.input_shapes {
        if !graph.input.iter().any(|i| &i.name == name) {
            return Err(E::Input(format!(
                "--input-shape names '{name}', but the model's inputs are: {}",
                graph
                    .input
                    .iter()
                    .map(|i| i.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    for input in &graph.input {
        if im.vals.contains_key(&input.name) {
            continue; // an initializer listed as input (IR < 4): a constant
        }
        let (code, dims) = proto::value_type(input).ok_or_else(|| {
            E::Input(format!(
                "graph input '{}' has no tensor type or shape",
                input.name
            ))
        })?;
        let dtype = input_dtype(code, &input.name).map_err(E::Input)?;
        let shape = input_shape(&input.name, &dims, opts, &mut im.warnings).map_err(E::Input)?;
        if shape.len() > rill_format::MAX_RANK {
            return Err(E::Input(format!(
                "graph input '{}' has rank {}, above 6",
                input.name,
                shape.len()
            )));
        }
        let t = im.g.add(input.name.clone(), shape, dtype, Data::Act);
        im.g.inputs.push(t);
        im.vals.insert(input.name.clone(), Val::Act(t));
    }
    if im.g.inputs.is_empty() {
        return Err(E::Input(
            "the model has no runtime inputs (every input is a constant)".into(),
        ));
    }

    let mut issues = Vec::new();
    for (i, node) in graph.node.iter().enumerate() {
        let name = if node.name.is_empty() {
            node.output
                .first()
                .filter(|s| !s.is_empty())
                .cloned()
                .unwrap_or_else(|| format!("#{i}"))
        } else {
            node.name.clone()
        };
        let issue = |reason: Option<String>| NodeIssue {
            node: name.clone(),
            op: node.op_type.clone(),
            opset,
            reason,
        };
        let mut inputs = Vec::with_capacity(node.input.len());
        let mut missing = None;
        for n in &node.input {
            if n.is_empty() {
                inputs.push(None);
            } else {
                match im.vals.get(n) {
                    Some(v) => inputs.push(Some(v.clone())),
                    None => missing = Some(n.clone()),
                }
            }
        }
        let unknown_input = inputs.iter().flatten().any(|v| matches!(v, Val::Unknown));
        let result = if let Some(n) = missing {
            Err(Fail::Invalid(format!(
                "input '{n}' is produced by no earlier node (graph not in topological order?)"
            )))
        } else if !(node.domain.is_empty() || node.domain == "ai.onnx") {
            Err(Fail::Unsupported(Some(format!(
                "domain '{}' is not supported",
                node.domain
            ))))
        } else if unknown_input {
            Ok(vec![Val::Unknown; node.output.len()])
        } else {
            let cx = Ctx {
                proto: node,
                name: name.clone(),
                op: &node.op_type,
                inputs,
                opset,
            };
            convert_node(&mut im, &cx)
        };
        let outs = match result {
            Ok(v) => v,
            Err(Fail::Unsupported(why)) => {
                issues.push(issue(why));
                vec![Val::Unknown; node.output.len()]
            }
            Err(Fail::Invalid(msg)) => {
                issues.push(issue(Some(msg)));
                vec![Val::Unknown; node.output.len()]
            }
        };
        for (k, out) in node.output.iter().enumerate() {
            if !out.is_empty() {
                im.vals
                    .insert(out.clone(), outs.get(k).cloned().unwrap_or(Val::Unknown));
            }
        }
    }
    // A padded view is never computed (a Conv reads its source): a node reading it, directly or
    // through a reshape the padding cannot follow, would read a buffer nobody writes.
    for node in &im.g.nodes {
        for &t in node.inputs.iter().flatten() {
            let root = im.g.root(t);
            if let Some(p) = im.padded.get(&root) {
                let how = if root == t {
                    ""
                } else {
                    " through a reshape that moves its padded axes"
                };
                issues.push(NodeIssue {
                    node: p.node.clone(),
                    op: "Pad".into(),
                    opset,
                    reason: Some(format!(
                        "it feeds {} '{}'{how}; Rill folds a zero Pad only into the Conv that reads it",
                        node.onnx_op, node.name
                    )),
                });
            }
        }
    }
    for &t in &im.g.outputs {
        if let Some(p) = im.padded.get(&im.g.root(t)) {
            issues.push(NodeIssue {
                node: p.node.clone(),
                op: "Pad".into(),
                opset,
                reason: Some("its result is a graph output".into()),
            });
        }
    }
    if !issues.is_empty() {
        return Err(E::Nodes(issues));
    }
    for out in &graph.output {
        let v = im.vals.get(&out.name).cloned().ok_or_else(|| {
            E::Model(format!(
                "graph output '{}' is produced by no node",
                out.name
            ))
        })?;
        let t = match v {
            Val::Act(t) => t,
            Val::Const(c) => {
                // A constant output still has to be written to the arena by an op.
                let src = im.const_tensor(&format!("{}/value", out.name), &c);
                let dtype = im.g.tensors[src].dtype;
                let dst =
                    im.g.add(out.name.clone(), c.shape.clone(), dtype, Data::Act);
                let cp = shape_ops::copy_params(
                    &c.shape,
                    &crate::consts::strides(&c.shape)
                        .iter()
                        .map(|&s| s as isize)
                        .collect::<Vec<_>>(),
                    0,
                )
                .map_err(E::Model)?;
                im.g.nodes.push(Node {
                    name: out.name.clone(),
                    onnx_op: "Constant".into(),
                    op: Op::Copy(cp),
                    inputs: vec![Some(src)],
                    outputs: vec![Some(dst)],
                    scratch: None,
                });
                dst
            }
            Val::Unknown => {
                return Err(E::Model(format!(
                    "graph output '{}' could not be computed",
                    out.name
                )))
            }
        };
        im.g.outputs.push(t);
    }
    Ok(Imported {
        graph: im.g,
        onnx_nodes: graph.node.len(),
        opset,
        producer: format!("{} {}", model.producer_name, model.producer_version)
            .trim()
            .to_owned(),
        warnings: im.warnings,
    })
}

fn convert_node(im: &mut Importer, cx: &Ctx) -> NodeResult {
    if let Some(r) = shape_ops::convert(im, cx) {
        return r;
    }
    if let Some(r) = compute::convert(im, cx) {
        return r;
    }
    if let Some(r) = norm::convert(im, cx) {
        return r;
    }
    if let Some(r) = rnn::convert(im, cx) {
        return r;
    }
    Err(Fail::Unsupported(match cx.op {
        // What tf2onnx writes for a recurrent layer it cannot map to an ONNX LSTM/GRU node.
        "Loop" | "Scan" => Some(
            "Rill runs no ONNX loops; tf2onnx writes Keras 3's LSTM/GRU, SimpleRNN and \
             GRU(reset_after=False) as one: export Keras 2 (tf_keras) LSTM, or GRU with the \
             default reset_after=True, which become ONNX LSTM/GRU nodes"
                .into(),
        ),
        _ => None,
    }))
}
