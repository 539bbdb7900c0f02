//! Float graph to fixed-point graph (`docs/numerics.md`): calibration on representative data, a
//! scale and zero point for every activation, and each op rewritten into its integer form (codes,
//! i8 weights per output channel, folded i32 bias, and the aux operand of `rill_format::qaux` with
//! its multipliers, clamps and tables).
pub mod bias;
mod calib;
mod ops;
mod rnn;

use rill_format::DType;
use rill_kernels::fixed::{quantize_multiplier, QMul};

pub use calib::{observe, Ranges};

use crate::calibrate::{int16_scale, int8_params};
use crate::ir::{Data, Graph, Quant, TId};
use crate::NodeIssue;

/// Arithmetic of the converted model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Precision {
    #[default]
    F32,
    /// i8 activations (asymmetric per tensor), i8 weights (symmetric per channel), i32 bias.
    Int8,
    /// i16 activations (symmetric), i8 weights: "16x8".
    Int16,
    /// The narrowest of int8, int8 with some layers in int16, int16 and f32 whose error on the
    /// calibration data meets the budget.
    Auto,
    /// int8 with the layers named in the report in int16 (what `Auto` may choose).
    Mixed,
}

impl Precision {
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Int8 => "int8",
            Precision::Int16 => "int16",
            Precision::Auto => "auto",
            Precision::Mixed => "int8+int16",
        }
    }
}

/// The code type of a fixed-point mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    I8,
    I16,
}

impl Mode {
    pub fn dtype(self) -> DType {
        match self {
            Mode::I8 => DType::I8,
            Mode::I16 => DType::I16,
        }
    }

    pub fn range(self) -> (i32, i32) {
        match self {
            Mode::I8 => (i8::MIN as i32, i8::MAX as i32),
            Mode::I16 => (i16::MIN as i32, i16::MAX as i32),
        }
    }

    /// Activation parameters for an observed range.
    pub fn params(self, (lo, hi): (f32, f32)) -> Quant {
        match self {
            Mode::I8 => {
                let (s, z) = int8_params(lo, hi);
                Quant::per_tensor(s, z)
            }
            Mode::I16 => Quant::per_tensor(int16_scale(lo, hi), 0),
        }
    }
}

/// A node that cannot be quantized, as the report's issue.
pub(crate) fn issue(g: &Graph, node: usize, reason: impl Into<String>) -> NodeIssue {
    let n = &g.nodes[node];
    NodeIssue {
        node: n.name.clone(),
        op: n.onnx_op.clone(),
        opset: 0,
        reason: Some(reason.into()),
    }
}

/// `real` as an integer multiplier, or why not.
pub(crate) fn qmul(real: f64, what: &str) -> Result<QMul, String> {
    quantize_multiplier(real).ok_or_else(|| {
        format!(
            "{what}: the rescaling factor {real:e} cannot be represented (a scale is degenerate)"
        )
    })
}

pub(crate) fn push_mul(aux: &mut Vec<i32>, m: QMul) {
    aux.push(m.m0);
    aux.push(m.shift);
}

/// Quantizes `values` symmetrically per row of `row_len` (i8 in [-127, 127]); returns codes and
/// scales. An all-zero row gets scale 1 and zero codes.
/// Symmetric i16 codes per row of `row_len` values, the row's scale at least `min_scale[row]`.
pub(crate) fn quantize_rows_i16(
    values: &[f32],
    row_len: usize,
    min_scale: &[f64],
) -> (Vec<i16>, Vec<f32>) {
    let mut codes = Vec::with_capacity(values.len());
    let mut scales = Vec::new();
    for (r, row) in values.chunks(row_len.max(1)).enumerate() {
        let m = row.iter().fold(0f32, |m, v| m.max(v.abs()));
        let s = if m > 0.0 && m.is_finite() {
            m as f64 / 32767.0
        } else {
            1.0
        };
        let s = s.max(min_scale.get(r).copied().unwrap_or(0.0)) as f32;
        scales.push(s);
        codes.extend(
            row.iter()
                .map(|&v| (v as f64 / s as f64).round().clamp(-32767.0, 32767.0) as i16),
        );
    }
    (codes, scales)
}

pub(crate) fn quantize_rows(values: &[f32], row_len: usize) -> (Vec<i8>, Vec<f32>) {
    let mut codes = Vec::with_capacity(values.len());
    let mut scales = Vec::new();
    for row in values.chunks(row_len.max(1)) {
        let m = row.iter().fold(0f32, |m, v| m.max(v.abs()));
        let s = if m > 0.0 && m.is_finite() {
            m / 127.0
        } else {
            1.0
        };
        scales.push(s);
        codes.extend(
            row.iter()
                .map(|&v| (v as f64 / s as f64).round().clamp(-127.0, 127.0) as i8),
        );
    }
    (codes, scales)
}

/// Codes of `values` under `q` in `mode`'s type, little-endian.
pub(crate) fn encode(values: &[f32], q: &Quant, mode: Mode) -> Vec<u8> {
    let (lo, hi) = mode.range();
    let code = |v: f32| {
        ((v as f64 / q.scale as f64).round() + q.zero_point as f64).clamp(lo as f64, hi as f64)
            as i32
    };
    match mode {
        Mode::I8 => values.iter().map(|&v| code(v) as i8 as u8).collect(),
        Mode::I16 => values
            .iter()
            .flat_map(|&v| (code(v) as i16).to_le_bytes())
            .collect(),
    }
}

/// A constant i32 tensor (bias, aux) added to `g`.
pub(crate) fn const_i32(g: &mut Graph, name: String, values: Vec<i32>) -> TId {
    let len = values.len();
    g.add(name, vec![len], DType::I32, Data::ConstI32(values))
}

/// The nodes that normalise a graph input before any weighted layer: Add, Sub, Mul or Div with a
/// constant operand, applied to a graph input or to such a node's output (`(x - mean) * inv_std`
/// per feature). int8 models run them at 16 bits, their input included: a per-tensor int8 code of
/// raw features spends its 256 levels on the widest feature, and the normalisation then scales
/// the narrow features' rounding error up (kws_dscnn's MFCCs: 23.9 dB after the normalisation
/// with the input in int8, 36 dB with it in int16, rounded to int8 for the first conv).
pub fn input_normalisation(g: &Graph) -> Vec<usize> {
    use rill_format::{BinaryKind, Op};
    let mut normalised: Vec<TId> = g.inputs.iter().map(|&t| g.root(t)).collect();
    let mut nodes = Vec::new();
    for (i, node) in g.nodes.iter().enumerate() {
        let Op::Binary(p) = node.op else { continue };
        let elementwise = matches!(
            BinaryKind::from_u32(p.kind),
            Some(BinaryKind::Add | BinaryKind::Sub | BinaryKind::Mul | BinaryKind::Div)
        );
        let (Some(Some(a)), Some(Some(b))) = (node.inputs.first(), node.inputs.get(1)) else {
            continue;
        };
        let on_input = |t: TId| normalised.contains(&g.root(t));
        let constant = |t: TId| g.const_f32_values(t).is_some();
        if elementwise && ((on_input(*a) && constant(*b)) || (constant(*a) && on_input(*b))) {
            if let Some(Some(y)) = node.outputs.first() {
                normalised.push(g.root(*y));
                nodes.push(i);
            }
        }
    }
    nodes
}

/// Rewrites the float graph `g` into fixed point in `mode`, with activation ranges from calibration.
/// `wide_weights`: Dense and Conv weights as i16 (int16 mode only).
pub fn quantize(
    g: &Graph,
    ranges: &Ranges,
    mode: Mode,
    wide_weights: bool,
) -> Result<Graph, Vec<NodeIssue>> {
    let mut q = ops::Quantizer::new(g, ranges, mode);
    q.wide_weights = wide_weights && mode == Mode::I16;
    q.run()
}

/// Rewrites `g` into fixed point with a mode per node (mixed precision): Requant ops convert
/// activations where an int8 node meets an int16 one. `wide_weights`: i16 weights in int16 nodes.
pub fn quantize_mixed(
    g: &Graph,
    ranges_i8: &Ranges,
    ranges_i16: &Ranges,
    modes: &[Mode],
    wide_weights: bool,
) -> Result<Graph, Vec<NodeIssue>> {
    let mut q = ops::Quantizer::new(g, ranges_i8, Mode::I8);
    q.modes = modes.to_vec();
    q.ranges_i8 = ranges_i8;
    q.ranges_i16 = ranges_i16;
    q.wide_when_i16 = wide_weights;
    q.run()
}

/// The per-layer errors of fixed-point graph `q` against its float source `g` on (up to 32 of) the
/// calibration samples, worst first.
pub fn layer_errors(
    g: &Graph,
    q: &Graph,
    inputs: &[crate::tensor::HostTensor],
) -> Result<Vec<crate::verify::LayerError>, crate::ConvertError> {
    let samples = calib::check_calibration(g, inputs)?.min(32);
    let src = crate::emit::Source {
        name: "candidate",
        producer: "",
        opset: 0,
        metadata: &[],
    };
    let (fb, _) = crate::emit::emit(g, &crate::plan::plan(g), &src, None)?;
    let (qb, _) = crate::emit::emit(q, &crate::plan::plan(q), &src, None)?;
    let (fa, qa) = (
        rill_format::writer::AlignedBytes::from_slice(&fb),
        rill_format::writer::AlignedBytes::from_slice(&qb),
    );
    fn load(
        b: &rill_format::writer::AlignedBytes,
    ) -> Result<rill_runtime::Model<'_>, crate::ConvertError> {
        rill_runtime::Model::from_bytes(b.as_slice())
            .map_err(|e| crate::ConvertError::Model(format!("candidate model: {e}")))
    }
    let (float, fixed) = (load(&fa)?, load(&qa)?);
    crate::verify::layer_errors(&fixed, &float, inputs, samples)
        .map_err(|e| crate::ConvertError::Model(format!("per-layer errors: {e:#}")))
}

/// Runs graph `g` (through the runtime) on every sample; outputs as reals, concatenated.
pub fn run_graph(
    g: &Graph,
    inputs: &[crate::tensor::HostTensor],
) -> Result<Vec<Vec<f32>>, crate::ConvertError> {
    let samples = calib::check_calibration(g, inputs)?;
    let plan = crate::plan::plan(g);
    let src = crate::emit::Source {
        name: "candidate",
        producer: "",
        opset: 0,
        metadata: &[],
    };
    let (bytes, _) = crate::emit::emit(g, &plan, &src, None)?;
    let aligned = rill_format::writer::AlignedBytes::from_slice(&bytes);
    let model = rill_runtime::Model::from_bytes(aligned.as_slice())
        .map_err(|e| crate::ConvertError::Model(format!("candidate model: {e}")))?;
    crate::exec::run_samples(&model, inputs, samples)
        .map_err(|e| crate::ConvertError::Model(format!("candidate run: {e:#}")))
}

/// The worst over outputs of `rms(ours - reference) / rms(reference)`.
pub fn relative_rms(ours: &[Vec<f32>], reference: &[Vec<f32>]) -> f64 {
    ours.iter()
        .zip(reference)
        .map(|(a, b)| {
            let (mut num, mut den) = (0f64, 0f64);
            for (&x, &y) in a.iter().zip(b) {
                num += (x as f64 - y as f64).powi(2);
                den += (y as f64).powi(2);
            }
            if den > 0.0 {
                (num / den).sqrt()
            } else {
                num.sqrt()
            }
        })
        .fold(0.0, f64::max)
}
