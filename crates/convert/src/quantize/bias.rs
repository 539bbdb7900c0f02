//! Empirical bias correction: rounding weights to integers shifts each output channel's mean a little,
//! and the shifts add up through a deep stack of convolutions. For each Conv/Dense in order, the mean
//! error of its fixed-point output against the float graph on the calibration data, per channel, is
//! taken out of its integer bias (the layers before it already corrected, so errors do not compound).
use rill_format::{ActKind, Op};
use rill_runtime::Model;

use super::calib::check_calibration;
use crate::ir::{Data, Graph};
use crate::tensor::HostTensor;
use crate::{emit, exec, plan, ConvertError};

/// Output 0 of each node in `nodes`, as reals, for every sample: `[node][sample][value]`.
fn outputs_of(
    g: &Graph,
    inputs: &[HostTensor],
    samples: usize,
    nodes: &[usize],
) -> Result<Vec<Vec<Vec<f32>>>, ConvertError> {
    let src = emit::Source {
        name: "bias correction",
        producer: "",
        opset: 0,
        metadata: &[],
    };
    let (bytes, index) = emit::emit(g, &plan::plan(g), &src, None)?;
    let aligned = rill_format::writer::AlignedBytes::from_slice(&bytes);
    let model = Model::from_bytes(aligned.as_slice())
        .map_err(|e| ConvertError::Model(format!("bias correction model: {e}")))?;
    let mut out = vec![vec![Vec::new(); samples]; nodes.len()];
    exec::run_samples_observed(&model, inputs, samples, |s, op, session| {
        if let Some(k) = nodes.iter().position(|&n| n == op) {
            if let Some(i) = g.nodes[op]
                .outputs
                .first()
                .copied()
                .flatten()
                .and_then(|t| index[t])
            {
                out[k][s] = exec::tensor_values(session, i as usize)?;
            }
        }
        Ok(())
    })
    .map_err(|e| ConvertError::Model(format!("bias correction run: {e:#}")))?;
    Ok(out)
}

/// Whether a float output value lies where the fused activation is the identity.
fn linear(act: &rill_format::ActParams, v: f32) -> bool {
    match ActKind::from_u32(act.kind) {
        Some(ActKind::Relu) => v > 0.0,
        Some(ActKind::Clip) => v > act.alpha && v < act.beta,
        _ => true,
    }
}

/// Corrects the i32 biases of the Conv and Dense nodes of `q` (the fixed-point form of `g`).
pub fn correct(g: &Graph, q: &mut Graph, inputs: &[HostTensor]) -> Result<(), ConvertError> {
    let samples = check_calibration(g, inputs)?;
    // (node of q, the same layer in g): by name, as mixed precision inserts Requant nodes.
    let weighted = |op: &Op| matches!(op, Op::Conv(_) | Op::Dense(_));
    let (layers, sources): (Vec<usize>, Vec<usize>) = (0..q.nodes.len())
        .filter(|&i| weighted(&q.nodes[i].op))
        .filter_map(|i| {
            let j = g
                .nodes
                .iter()
                .position(|n| n.name == q.nodes[i].name && weighted(&n.op))?;
            Some((i, j))
        })
        .unzip();
    if layers.is_empty() {
        return Ok(());
    }
    let float = outputs_of(g, inputs, samples, &sources)?;
    for (k, &i) in layers.iter().enumerate() {
        let (channels, plane, act) = match q.nodes[i].op {
            Op::Conv(p) => (p.c_out as usize, (p.out_h * p.out_w) as usize, p.act),
            Op::Dense(p) => (p.n as usize, 1, p.act),
            _ => continue,
        };
        let node = &q.nodes[i];
        let (Some(x), Some(w), Some(b)) = (
            node.inputs.first().copied().flatten(),
            node.inputs.get(1).copied().flatten(),
            node.inputs.get(2).copied().flatten(),
        ) else {
            continue;
        };
        let s_x = q.tensors[q.root(x)]
            .quant
            .as_ref()
            .map_or(0.0, |qx| qx.scale as f64);
        let s_w: Vec<f64> = match &q.tensors[q.root(w)].quant {
            Some(qw) => match &qw.per_channel {
                Some((_, s)) => s.iter().map(|&v| v as f64).collect(),
                None => vec![qw.scale as f64; channels],
            },
            None => continue,
        };
        if s_x <= 0.0 || s_w.len() != channels || channels == 0 {
            continue;
        }
        let fixed = outputs_of(q, inputs, samples, &[i])?;
        let (mut sum, mut count) = (vec![0f64; channels], vec![0u64; channels]);
        for (f, r) in fixed[0].iter().zip(&float[k]) {
            for (idx, (&a, &e)) in f.iter().zip(r).enumerate() {
                if linear(&act, e) {
                    let c = (idx / plane) % channels;
                    sum[c] += a as f64 - e as f64;
                    count[c] += 1;
                }
            }
        }
        let root = q.root(b);
        if let Data::ConstI32(bias) = &mut q.tensors[root].data {
            for c in 0..channels.min(bias.len()) {
                if count[c] > 0 {
                    let shift = (sum[c] / count[c] as f64 / (s_x * s_w[c])).round();
                    bias[c] =
                        (bias[c] as f64 - shift).clamp(i32::MIN as f64, i32::MAX as f64) as i32;
                }
            }
        }
    }
    Ok(())
}
