//! ONNX to `.rill`: import (constant folding, shape ops resolved), graph passes (BatchNorm and bias
//! folding, activation fusion, dead code removal), static memory planning, and writing the file.
//!
//! `tensor` holds the `.npy`/`.npz` I/O of the command line, `reference` the tract-onnx float
//! reference that `rill verify` and the tests compare against.
pub mod calibrate;
mod consts;
mod emit;
pub mod exec;
pub mod exec_stream;
mod import;
mod ir;
mod passes;
mod plan;
mod proto;
pub mod quantize;
pub mod reference;
pub mod stream;
pub mod tensor;
pub mod verify;

use std::path::Path;

use tract_onnx::prelude::Framework;

pub use quantize::Precision;

/// What `convert` may change about the model.
#[derive(Clone, Debug)]
pub struct ConvertOptions {
    /// Static shapes for inputs with symbolic dimensions, by input name.
    pub input_shapes: Vec<(String, Vec<usize>)>,
    /// Fold BatchNormalization and per-channel affines into the conv/dense before them.
    pub fold_batchnorm: bool,
    /// Fuse activations into the conv/dense before them.
    pub fuse: bool,
    pub precision: Precision,
    /// Representative inputs for fixed point: one array per graph input, `[N, ...input shape]`.
    pub calibration: Vec<tensor::HostTensor>,
    pub calibration_method: calibrate::Method,
    /// `auto`: the largest relative RMS output error (vs float, on the calibration data) allowed.
    pub max_error: f64,
    /// Dense, Conv and recurrent weight bits in int16 models: 16 (default; their noise would otherwise
    /// cap the output SQNR near 40 dB) or 8 (half the flash, TFLite's "16x8"). int8 models always use 8.
    pub weight_bits: Option<u8>,
    /// Fixed point: take each Conv/Dense layer's mean output error on the calibration data out of
    /// its bias (`quantize::bias`). Off by default: it raises the SQNR of conv stacks by 0.5-1.5 dB
    /// but can fit a small calibration set rather than the data.
    pub bias_correction: bool,
    /// The time axis of every graph input, when the converter should not find it itself (from a
    /// recurrent layer's sequence axis, a conv's length axis or an embedding's index axis).
    pub time_axis: Option<usize>,
    /// Store the weights of float Dense and Conv layers as f16 (half the bytes; read back as f32).
    pub f16_weights: bool,
    /// `(key, value)` meta entries stored in the file as given (the CLI's `frontend` and `labels`);
    /// the runtime ignores them, tools read them back with `ModelFile::meta`.
    pub metadata: Vec<(String, String)>,
    /// int8 models: quantize an input normalisation in int8 too, so the model takes int8 input
    /// codes (by default it runs at 16 bits: `quantize::input_normalisation`).
    pub int8_input: bool,
}

impl Default for ConvertOptions {
    fn default() -> ConvertOptions {
        ConvertOptions {
            input_shapes: vec![],
            fold_batchnorm: true,
            fuse: true,
            precision: Precision::F32,
            calibration: Vec::new(),
            calibration_method: calibrate::Method::MinMax,
            max_error: 0.01,
            weight_bits: None,
            bias_correction: false,
            time_axis: None,
            f16_weights: false,
            metadata: Vec::new(),
            int8_input: false,
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
    /// The precision the file holds (`auto` resolved).
    pub precision: Precision,
    /// Relative RMS error of the outputs against the float graph on the calibration data, per
    /// precision tried (fixed point only).
    pub errors: Vec<(Precision, f64)>,
    /// `auto`: for each precision rejected, its five worst layers (SQNR against float on the
    /// calibration data), so the user sees which layers cost the budget.
    pub rejected_layers: Vec<(Precision, Vec<verify::LayerError>)>,
    /// Whether the model runs step by step: its state bytes, or what prevents it.
    pub stream: StreamStatus,
    /// `auto` chose int8 with these layers in int16: (node, its SQNR drop in int8, dB), worst first.
    pub promoted: Vec<(String, f64)>,
    /// int8 and auto: the input normalisation nodes run at 16 bits (`quantize::input_normalisation`).
    pub input_normalisation: Vec<String>,
}

/// The converter's verdict on streaming.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamStatus {
    Streams {
        state_bytes: usize,
    },
    Blocked {
        /// The ONNX node that prevents it, if one does.
        node: Option<String>,
        reason: String,
    },
}

impl Default for StreamStatus {
    fn default() -> StreamStatus {
        StreamStatus::Streams { state_bytes: 0 }
    }
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
    if opts.f16_weights && matches!(opts.precision, Precision::Int8 | Precision::Int16) {
        return Err(ConvertError::Input(format!(
            "--f16-weights stores float layers' weights; --precision {} has none: use f32 (or auto)",
            opts.precision.name()
        )));
    }
    let imported = import::import(&model, opts)?;
    let mut g = imported.graph;
    let mut folded = Vec::new();
    passes::fuse_gelu(&mut g, &mut folded);
    passes::trim_conv_tails(&mut g, &mut folded);
    if opts.fold_batchnorm {
        passes::fold_affine(&mut g, &mut folded);
    }
    if opts.fuse {
        passes::fuse_activations(&mut g, &mut folded, opts.precision != Precision::F32);
    }
    passes::merge_copies(&mut g, &mut folded);
    passes::remove_unused(&mut g);
    let FixedPoint {
        graph: mut g,
        precision,
        errors,
        rejected: rejected_layers,
        promoted,
        input_normalisation,
    } = fixed_point(g, opts)?;
    if opts.f16_weights {
        if precision != Precision::F32 {
            return Err(ConvertError::Input(format!(
                "--f16-weights stores float layers' weights; the model was converted to {}: use --precision f32 (or auto, when it keeps float)",
                precision.name()
            )));
        }
        passes::f16_weights(&mut g);
    }
    if let Some(a) = opts.time_axis {
        for &x in &g.inputs {
            let t = &g.tensors[x];
            if a >= t.shape.len() {
                return Err(ConvertError::Input(format!(
                    "--time-axis {a}: input '{}' has {} axes ({:?})",
                    t.name,
                    t.shape.len(),
                    t.shape
                )));
            }
        }
    }
    let axes = vec![opts.time_axis; g.inputs.len()];
    let derived = stream::derive(&mut g, &axes);
    let plan = plan::plan_with_stream(&g, derived.as_ref().ok());
    let src = emit::Source {
        name: source,
        producer: &imported.producer,
        opset: imported.opset,
        metadata: &opts.metadata,
    };
    let (bytes, _) = emit::emit(&g, &plan, &src, Some(&derived))?;
    let stream = match &derived {
        Ok(_) => StreamStatus::Streams {
            state_bytes: plan.state_bytes,
        },
        Err(b) => StreamStatus::Blocked {
            node: b.node.map(|i| g.nodes[i].name.clone()),
            reason: match b.block {
                rill_format::StreamBlock::NonCausal => {
                    format!("{} ({} future steps)", b.block, b.detail)
                }
                other => other.to_string(),
            },
        },
    };
    Ok(Converted {
        bytes,
        report: ConvertReport {
            ops_before: imported.onnx_nodes,
            ops_after: g.nodes.len(),
            folded,
            arena_bytes: plan.arena_bytes,
            live_bound_bytes: plan.live_bound_bytes,
            warnings: imported.warnings,
            precision,
            errors,
            rejected_layers,
            stream,
            promoted,
            input_normalisation,
        },
    })
}

/// A graph in its chosen precision, with the error of every precision tried.
struct FixedPoint {
    graph: ir::Graph,
    precision: Precision,
    errors: Vec<(Precision, f64)>,
    rejected: Vec<(Precision, Vec<verify::LayerError>)>,
    promoted: Vec<(String, f64)>,
    input_normalisation: Vec<String>,
}

/// The float graph `g` in the requested precision: calibrated and quantized, or (auto) the
/// narrowest arithmetic whose outputs stay within the error budget on the calibration data: int8;
/// else int8 with the layers that lose the most in int8 promoted to int16 (1, 2, 4, ... of them);
/// else int16; else f32. int8 candidates run an input normalisation at 16 bits unless
/// `opts.int8_input`.
fn fixed_point(g: ir::Graph, opts: &ConvertOptions) -> Result<FixedPoint, ConvertError> {
    use quantize::Mode;
    let normalisation = match opts.precision {
        Precision::Int8 | Precision::Auto if !opts.int8_input => quantize::input_normalisation(&g),
        _ => vec![],
    };
    let names: Vec<String> = normalisation
        .iter()
        .map(|&i| g.nodes[i].name.clone())
        .collect();
    // `norm`: the graph holds the input normalisation at 16 bits.
    let done = |graph, precision, errors, rejected, promoted, norm: bool| FixedPoint {
        graph,
        precision,
        errors,
        rejected,
        promoted,
        input_normalisation: if norm { names.clone() } else { vec![] },
    };
    if opts.precision == Precision::F32 {
        return Ok(done(g, Precision::F32, vec![], vec![], vec![], false));
    }
    if opts.calibration.is_empty() {
        return Err(ConvertError::Input(format!(
            "--precision {} needs calibration data (--calibration calib.npy: representative inputs with a leading sample axis)",
            opts.precision.name()
        )));
    }
    let wide = opts.weight_bits.unwrap_or(16) == 16;
    let observe =
        |levels| quantize::observe(&g, &opts.calibration, opts.calibration_method, levels);
    let finish = |mut q: ir::Graph| -> Result<ir::Graph, ConvertError> {
        if opts.bias_correction {
            quantize::bias::correct(&g, &mut q, &opts.calibration)?;
        }
        Ok(q)
    };
    let single = |mode: Mode, ranges: &quantize::Ranges| -> Result<ir::Graph, ConvertError> {
        let q = quantize::quantize(&g, ranges, mode, wide && mode == Mode::I16)
            .map_err(ConvertError::Nodes)?;
        finish(q)
    };
    // int8 with the input normalisation and the nodes of `extra` at 16 bits.
    let int8 = |extra: &[usize], r8: &quantize::Ranges, r16: Option<&quantize::Ranges>| {
        let Some(r16) = r16.filter(|_| !(normalisation.is_empty() && extra.is_empty())) else {
            return single(Mode::I8, r8);
        };
        let mut modes = vec![Mode::I8; g.nodes.len()];
        for &i in normalisation.iter().chain(extra) {
            modes[i] = Mode::I16;
        }
        let q = quantize::quantize_mixed(&g, r8, r16, &modes, wide).map_err(ConvertError::Nodes)?;
        finish(q)
    };
    match opts.precision {
        Precision::Int8 => {
            let r16 = (!normalisation.is_empty())
                .then(|| observe(65536))
                .transpose()?;
            let q = int8(&[], &observe(256)?, r16.as_ref())?;
            return Ok(done(q, Precision::Int8, vec![], vec![], vec![], true));
        }
        Precision::Int16 => {
            let q = single(Mode::I16, &observe(65536)?)?;
            return Ok(done(q, Precision::Int16, vec![], vec![], vec![], false));
        }
        _ => {}
    }
    let reference = quantize::run_graph(&g, &opts.calibration)?;
    let error_of = |q: &ir::Graph| -> Result<f64, ConvertError> {
        Ok(quantize::relative_rms(
            &quantize::run_graph(q, &opts.calibration)?,
            &reference,
        ))
    };
    let (r8, r16) = (observe(256)?, observe(65536)?);
    let mut errors = Vec::new();
    let mut rejected = Vec::new();

    let q8 = int8(&[], &r8, Some(&r16))?;
    let e8 = error_of(&q8)?;
    errors.push((Precision::Int8, e8));
    if e8 <= opts.max_error {
        return Ok(done(q8, Precision::Int8, errors, rejected, vec![], true));
    }
    let layers = quantize::layer_errors(&g, &q8, &opts.calibration)?;
    let mut order = promotion_order(&g, &layers);
    order.retain(|(i, _)| !normalisation.contains(i));
    let mut n = 1;
    while n < order.len() {
        let extra: Vec<usize> = order[..n].iter().map(|&(i, _)| i).collect();
        let q = int8(&extra, &r8, Some(&r16))?;
        let e = error_of(&q)?;
        errors.push((Precision::Mixed, e));
        if e <= opts.max_error {
            let promoted = order[..n]
                .iter()
                .map(|&(i, drop)| (g.nodes[i].name.clone(), drop))
                .collect();
            return Ok(done(q, Precision::Mixed, errors, rejected, promoted, true));
        }
        n *= 2;
    }
    let mut worst = layers;
    worst.truncate(5);
    rejected.push((Precision::Int8, worst));

    let q16 = single(Mode::I16, &r16)?;
    let e16 = error_of(&q16)?;
    errors.push((Precision::Int16, e16));
    if e16 <= opts.max_error {
        return Ok(done(q16, Precision::Int16, errors, rejected, vec![], false));
    }
    let mut worst = quantize::layer_errors(&g, &q16, &opts.calibration)?;
    worst.truncate(5);
    rejected.push((Precision::Int16, worst));
    Ok(done(g, Precision::F32, errors, rejected, vec![], false))
}

/// Nodes of `g` ordered by how much SQNR their int8 form loses (`layers`: the int8 graph's
/// per-layer SQNR against float): a layer's SQNR minus the lowest SQNR among the layers feeding
/// it, largest drop first. Layers whose output is compared only.
fn promotion_order(g: &ir::Graph, layers: &[verify::LayerError]) -> Vec<(usize, f64)> {
    use std::collections::HashMap;
    let sqnr: HashMap<&str, f64> = layers
        .iter()
        .map(|l| (l.node.as_str(), l.sqnr_db))
        .collect();
    let producer: HashMap<ir::TId, usize> = g
        .nodes
        .iter()
        .enumerate()
        .flat_map(|(i, n)| n.outputs.iter().flatten().map(move |&t| (t, i)))
        .collect();
    let mut order: Vec<(usize, f64)> = g
        .nodes
        .iter()
        .enumerate()
        .filter_map(|(i, n)| {
            let own = *sqnr.get(n.name.as_str())?;
            let before = n
                .inputs
                .iter()
                .flatten()
                .filter_map(|&t| producer.get(&g.root(t)))
                .filter_map(|&p| sqnr.get(g.nodes[p].name.as_str()).copied())
                .fold(f64::INFINITY, f64::min);
            // A first layer is judged against the quantized input's own SQNR, which int8 keeps
            // near 48 dB for a full-range input.
            let before = if before.is_finite() { before } else { 48.0 };
            Some((i, (before - own).max(0.0)))
        })
        .collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1));
    order
}

/// The names of an ONNX model's graph inputs (initializers listed as inputs excluded), in order.
pub fn input_names(path: &Path) -> Result<Vec<String>, ConvertError> {
    let bytes = std::fs::read(path).map_err(|source| ConvertError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let model = tract_onnx::onnx()
        .proto_model_for_read(&mut &bytes[..])
        .map_err(|e| ConvertError::Parse(format!("{e:#}")))?;
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| ConvertError::Model("the file holds no graph".into()))?;
    let inits: std::collections::HashSet<&str> =
        graph.initializer.iter().map(|i| i.name.as_str()).collect();
    Ok(graph
        .input
        .iter()
        .filter(|i| !inits.contains(i.name.as_str()))
        .map(|i| i.name.clone())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_stored_as_meta_entries() {
        let onnx = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/kws_gru/model.onnx");
        let opts = ConvertOptions {
            metadata: vec![
                ("frontend".into(), "{\"hop\":320}".into()),
                ("labels".into(), "[\"yes\"]".into()),
            ],
            ..ConvertOptions::default()
        };
        let c = convert_path(&onnx, &opts).unwrap();
        let bytes = rill_format::writer::AlignedBytes::from_slice(&c.bytes);
        let file = rill_format::ModelFile::parse(bytes.as_slice()).unwrap();
        assert_eq!(file.meta("frontend"), Some("{\"hop\":320}"));
        assert_eq!(file.meta("labels"), Some("[\"yes\"]"));
        assert_eq!(file.meta("onnx.opset"), Some("18"));
        assert_eq!(file.meta("missing"), None);
    }
}
