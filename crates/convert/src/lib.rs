//! ONNX to `.rill`: import (constant folding, shape ops resolved), graph passes (BatchNorm and bias
//! folding, activation fusion, dead code removal), static memory planning, and writing the file.
//!
//! `tensor` holds the `.npy`/`.npz` I/O of the command line, `reference` the tract-onnx float
//! reference that `rill verify` and the tests compare against.
pub mod calibrate;
mod consts;
mod emit;
mod import;
mod ir;
mod passes;
mod plan;
mod proto;
pub mod reference;
pub mod tensor;
pub mod verify;

use std::path::Path;

use tract_onnx::prelude::Framework;

/// What `convert` may change about the model.
#[derive(Clone, Debug)]
pub struct ConvertOptions {
    /// Static shapes for inputs with symbolic dimensions, by input name.
    pub input_shapes: Vec<(String, Vec<usize>)>,
    /// Fold BatchNormalization and per-channel affines into the conv/dense before them.
    pub fold_batchnorm: bool,
    /// Fuse activations into the conv/dense before them.
    pub fuse: bool,
}

impl Default for ConvertOptions {
    fn default() -> ConvertOptions {
        ConvertOptions {
            input_shapes: vec![],
            fold_batchnorm: true,
            fuse: true,
        }
    }
}

/// What the conversion did, for the user.
#[derive(Clone, Debug, Default)]
pub struct ConvertReport {
    pub ops_before: usize,
    pub ops_after: usize,
    /// One line per fold or fusion.
    pub folded: Vec<String>,
    pub arena_bytes: usize,
    pub live_bound_bytes: usize,
    pub warnings: Vec<String>,
}

/// A converted model: the file bytes and the report.
#[derive(Clone, Debug)]
pub struct Converted {
    pub bytes: Vec<u8>,
    pub report: ConvertReport,
}

/// One ONNX node that cannot be converted.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeIssue {
    pub node: String,
    pub op: String,
    pub opset: i64,
    /// `None`: the op type is not supported at all.
    pub reason: Option<String>,
}

impl std::fmt::Display for NodeIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.reason {
            None => write!(
                f,
                "unsupported op '{}' at node '{}' (opset {})",
                self.op, self.node, self.opset
            ),
            Some(r) => write!(
                f,
                "{} at node '{}' (opset {}): {r}",
                self.op, self.node, self.opset
            ),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("cannot read '{path}': {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("not a valid ONNX model: {0}")]
    Parse(String),
    #[error("{0}")]
    Model(String),
    #[error("{0}")]
    Input(String),
    #[error("{}", nodes_message(.0))]
    Nodes(Vec<NodeIssue>),
    #[error("cannot write the .rill file: {0}")]
    Write(#[from] rill_format::writer::WriteError),
}

fn nodes_message(issues: &[NodeIssue]) -> String {
    match issues {
        [one] => one.to_string(),
        many => {
            let mut s = format!("{} nodes cannot be converted:", many.len());
            for i in many {
                s.push_str("\n  ");
                s.push_str(&i.to_string());
            }
            s
        }
    }
}

pub fn convert_path(path: &Path, opts: &ConvertOptions) -> Result<Converted, ConvertError> {
    let bytes = std::fs::read(path).map_err(|source| ConvertError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    convert_named(&bytes, &name, opts)
}

pub fn convert_bytes(bytes: &[u8], opts: &ConvertOptions) -> Result<Converted, ConvertError> {
    convert_named(bytes, "", opts)
}

fn convert_named(
    bytes: &[u8],
    source: &str,
    opts: &ConvertOptions,
) -> Result<Converted, ConvertError> {
    let model = tract_onnx::onnx()
        .proto_model_for_read(&mut &bytes[..])
        .map_err(|e| ConvertError::Parse(format!("{e:#}")))?;
    let imported = import::import(&model, opts)?;
    let mut g = imported.graph;
    let mut folded = Vec::new();
    if opts.fold_batchnorm {
        passes::fold_affine(&mut g, &mut folded);
    }
    if opts.fuse {
        passes::fuse_activations(&mut g, &mut folded);
    }
    passes::remove_unused(&mut g);
    let plan = plan::plan(&g);
    let src = emit::Source {
        name: source,
        producer: &imported.producer,
        opset: imported.opset,
    };
    let bytes = emit::emit(&g, &plan, &src)?;
    Ok(Converted {
        bytes,
        report: ConvertReport {
            ops_before: imported.onnx_nodes,
            ops_after: g.nodes.len(),
            folded,
            arena_bytes: plan.arena_bytes,
            live_bound_bytes: plan.live_bound_bytes,
            warnings: imported.warnings,
        },
    })
}
