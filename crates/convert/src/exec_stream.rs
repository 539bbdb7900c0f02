//! Running a `.rill` model step by step on the host (`rill run --stream`, the streaming tests):
//! each sample's time axis is fed one step at a time through the step program.
use anyhow::{anyhow, bail, Result};
use rill_runtime::{DType, Model, Session};

use crate::exec::{quantize_value, tensor_values};
use crate::tensor::{HostData, HostTensor};

/// The elements of step `t` of one sample (`values`, shape `shape`) along `axis`, row-major.
fn slice_step<T: Copy>(values: &[T], shape: &[usize], axis: usize, t: usize) -> Vec<T> {
    let inner: usize = shape[axis + 1..].iter().product();
    let outer: usize = shape[..axis].iter().product();
    let len = shape[axis];
    let mut out = Vec::with_capacity(outer * inner);
    for o in 0..outer {
        let start = (o * len + t) * inner;
        out.extend_from_slice(&values[start..start + inner]);
    }
    out
}

/// Writes `step` (one step's elements of input `i`) into the step input, quantized for a
/// fixed-point model.
fn set_step(session: &mut Session, i: usize, step: &HostData) -> Result<()> {
    let info = session.model().step_input(i).map_err(|e| anyhow!("{e}"))?;
    let r = match (step, info.dtype) {
        (HostData::F32(v), DType::F32) => session.set_step_input_f32(i, v),
        (HostData::F32(v), DType::I8) => {
            let c: Vec<i8> = v
                .iter()
                .map(|&x| quantize_value(x, info.scale, info.zero_point, info.dtype) as i8)
                .collect();
            session.set_step_input_i8(i, &c)
        }
        (HostData::F32(v), DType::I16) => {
            let c: Vec<i16> = v
                .iter()
                .map(|&x| quantize_value(x, info.scale, info.zero_point, info.dtype) as i16)
                .collect();
            session.set_step_input_i16(i, &c)
        }
        (HostData::I64(v), DType::I32) => {
            let ids = v
                .iter()
                .map(|&x| i32::try_from(x).map_err(|_| anyhow!("value {x} does not fit i32")))
                .collect::<Result<Vec<_>>>()?;
            session.set_step_input_i32(i, &ids)
        }
        (_, other) => bail!("input #{i}: cannot feed this data to a {other} step input"),
    };
    r.map_err(|e| anyhow!("input '{}': {e}", info.name()))
}

/// Per output: its stream over every sample. An output with a time axis comes back in the
/// whole-window layout (step t's values at position t of that axis), so it compares directly
/// with a whole-window run; an output without one comes back as `[T, ...]`, its value after each
/// step. Each sample starts from a reset state.
pub fn run_stream_samples(
    model: &Model,
    inputs: &[HostTensor],
    samples: usize,
) -> Result<Vec<Vec<f32>>> {
    let info = model.stream().map_err(|e| describe(model, e))?;
    let t_len = info.window_len;
    let mut arena = vec![0u8; model.arena_bytes() + 16];
    let mut session = Session::new(model, &mut arena).map_err(|e| anyhow!("{e}"))?;
    let mut outputs: Vec<Vec<f32>> = vec![Vec::new(); model.output_count()];
    let bar = (samples * t_len > 10_000).then(|| indicatif::ProgressBar::new(samples as u64));
    for s in 0..samples {
        session.reset().map_err(|e| anyhow!("{e}"))?;
        let mut steps: Vec<Vec<Vec<f32>>> = vec![Vec::new(); model.output_count()];
        for t in 0..t_len {
            for (i, x) in inputs.iter().enumerate() {
                let data = step_of(model, &info, i, x, s, t)?;
                set_step(&mut session, i, &data)?;
            }
            session.invoke_step().map_err(|e| describe(model, e))?;
            for (o, acc) in steps.iter_mut().enumerate() {
                let idx = model.file().step_outputs()[o] as usize;
                acc.push(tensor_values(&session, idx)?);
            }
        }
        for (o, per_step) in steps.into_iter().enumerate() {
            match info.output_axes[o] {
                None => outputs[o].extend(per_step.into_iter().flatten()),
                Some(axis) => {
                    let win = model.output(o).map_err(|e| anyhow!("{e}"))?;
                    let shape: Vec<usize> = win.shape.iter().map(|&d| d as usize).collect();
                    let inner: usize = shape[axis + 1..].iter().product();
                    let outer: usize = shape[..axis].iter().product();
                    for ou in 0..outer {
                        for step in &per_step {
                            outputs[o].extend_from_slice(&step[ou * inner..(ou + 1) * inner]);
                        }
                    }
                }
            }
        }
        if let Some(b) = &bar {
            b.inc(1);
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(outputs)
}

/// Sample `sample` streamed as the device streams it: every step's outputs as raw bytes (codes, for
/// a fixed-point model), all outputs of step 0 in order, then step 1's, ... Firmware fed the same
/// input step by step must produce exactly these bytes.
pub fn raw_stream(model: &Model, inputs: &[HostTensor], sample: usize) -> Result<Vec<u8>> {
    let info = model.stream().map_err(|e| describe(model, e))?;
    let mut arena = vec![0u8; model.arena_bytes() + 16];
    let mut session = Session::new(model, &mut arena).map_err(|e| anyhow!("{e}"))?;
    let mut bytes = Vec::new();
    for t in 0..info.window_len {
        for (i, x) in inputs.iter().enumerate() {
            let data = step_of(model, &info, i, x, sample, t)?;
            set_step(&mut session, i, &data)?;
        }
        session.invoke_step().map_err(|e| describe(model, e))?;
        for &o in model.file().step_outputs() {
            bytes.extend_from_slice(
                session
                    .tensor_bytes(o as usize)
                    .map_err(|e| anyhow!("{e}"))?,
            );
        }
    }
    Ok(bytes)
}

/// Step `t` of sample `sample` of input `i`.
fn step_of(
    model: &Model,
    info: &rill_runtime::StreamInfo,
    i: usize,
    x: &HostTensor,
    sample: usize,
    t: usize,
) -> Result<HostData> {
    let win = model.input(i).map_err(|e| anyhow!("{e}"))?;
    let shape: Vec<usize> = win.shape.iter().map(|&d| d as usize).collect();
    let n = win.len();
    let axis = info.input_axes[i].ok_or_else(|| anyhow!("input #{i} has no time axis"))?;
    let range = sample * n..(sample + 1) * n;
    let values = |len: usize| -> Result<()> {
        if range.end > len {
            bail!("input #{i} holds no sample {sample}");
        }
        Ok(())
    };
    Ok(match &x.data {
        HostData::F32(v) => {
            values(v.len())?;
            HostData::F32(slice_step(&v[range], &shape, axis, t))
        }
        HostData::I64(v) => {
            values(v.len())?;
            HostData::I64(slice_step(&v[range], &shape, axis, t))
        }
    })
}

/// A runtime error with the op's source node named.
pub fn describe(model: &Model, e: rill_runtime::Error) -> anyhow::Error {
    match e {
        rill_runtime::Error::NotStreamable { op: Some(op), .. }
        | rill_runtime::Error::Op { op, .. } => {
            anyhow!("{e} (node '{}')", model.op_name(op))
        }
        e => anyhow!("{e}"),
    }
}
