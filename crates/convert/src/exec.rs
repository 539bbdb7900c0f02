//! Running a `.rill` model on the host over every sample of an input file (a leading sample axis):
//! used by `rill run`, `rill verify` and calibration. Fixed-point models take and give real values
//! here: inputs are quantized with the input tensor's scale and zero point (rounding half away from
//! zero, saturating), outputs dequantized.
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use rill_runtime::{DType, Model, Session};

use crate::tensor::{self, HostData, HostTensor};

/// `round(x / scale) + zero_point`, half away from zero, saturated to the code type's range.
pub fn quantize_value(x: f32, scale: f32, zero_point: i32, dtype: DType) -> i32 {
    let (lo, hi) = match dtype {
        DType::I8 => (i8::MIN as f64, i8::MAX as f64),
        _ => (i16::MIN as f64, i16::MAX as f64),
    };
    let q = (x as f64 / scale as f64).round() + zero_point as f64;
    if q.is_nan() {
        zero_point.clamp(lo as i32, hi as i32)
    } else {
        q.clamp(lo, hi) as i32
    }
}

/// Tensor `t`'s current values in the session as reals (dequantized when it holds codes).
pub fn tensor_values(session: &Session, t: usize) -> Result<Vec<f32>> {
    let info = session
        .model()
        .file()
        .tensor(t)
        .with_context(|| format!("no tensor {t}"))?;
    let bytes = session.tensor_bytes(t).map_err(|e| anyhow!("{e}"))?;
    let (s, z) = (info.scale, info.zero_point);
    Ok(match info.dtype {
        DType::F32 => bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        DType::I8 => bytes
            .iter()
            .map(|&b| s * (b as i8 as i32 - z) as f32)
            .collect(),
        DType::I16 => bytes
            .chunks_exact(2)
            .map(|c| s * (i16::from_le_bytes([c[0], c[1]]) as i32 - z) as f32)
            .collect(),
        DType::I32 => bytes
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32)
            .collect(),
        other => bail!("tensor {t} has type {other}, which has no real values"),
    })
}

/// Inputs in model order, each with the number of samples it holds.
pub fn load_inputs(model: &Model, path: &Path) -> Result<(Vec<HostTensor>, usize)> {
    let is_npz = path.extension().is_some_and(|e| e == "npz");
    let mut named = if is_npz {
        tensor::read_npz(path).map_err(|e| anyhow!("{e}"))?
    } else {
        vec![(
            String::new(),
            tensor::read_npy(path).map_err(|e| anyhow!("{e}"))?,
        )]
    };
    if !is_npz && model.input_count() != 1 {
        bail!(
            "the model has {} inputs: give them as an .npz keyed by input name",
            model.input_count()
        );
    }
    let mut inputs = Vec::new();
    let mut samples = None;
    for i in 0..model.input_count() {
        let info = model.input(i).map_err(|e| anyhow!("{e}"))?;
        let pos = if is_npz {
            named
                .iter()
                .position(|(n, _)| n == info.name())
                .with_context(|| {
                    let have: Vec<_> = named.iter().map(|(n, _)| n.as_str()).collect();
                    format!(
                        "'{}' has no array named '{}' (it has {:?})",
                        path.display(),
                        info.name(),
                        have
                    )
                })?
        } else {
            0
        };
        let t = named.swap_remove(pos).1;
        let want: Vec<usize> = info.shape.iter().map(|&d| d as usize).collect();
        let n = if t.shape == want {
            1
        } else if t.shape.len() == want.len() + 1 && t.shape[1..] == want[..] {
            t.shape[0]
        } else {
            bail!(
                "input '{}' has shape {:?}; the model takes {:?} (or [N, ...] for N samples)",
                info.name(),
                t.shape,
                want
            );
        };
        if *samples.get_or_insert(n) != n {
            bail!("inputs disagree on the number of samples");
        }
        inputs.push(t);
    }
    Ok((inputs, samples.unwrap_or(1)))
}

fn set_input(
    session: &mut Session,
    i: usize,
    t: &HostTensor,
    sample: usize,
    name: &str,
) -> Result<()> {
    let info = session.model().input(i).map_err(|e| anyhow!("{e}"))?;
    let n = info.len();
    let range = sample * n..(sample + 1) * n;
    match (&t.data, info.dtype) {
        (HostData::F32(v), DType::F32) => session.set_input_f32(i, &v[range]),
        (HostData::F32(v), DType::I8 | DType::I16) => {
            let codes: Vec<i32> = v[range]
                .iter()
                .map(|&x| quantize_value(x, info.scale, info.zero_point, info.dtype))
                .collect();
            if info.dtype == DType::I8 {
                let c: Vec<i8> = codes.iter().map(|&q| q as i8).collect();
                session.set_input_i8(i, &c)
            } else {
                let c: Vec<i16> = codes.iter().map(|&q| q as i16).collect();
                session.set_input_i16(i, &c)
            }
        }
        (HostData::I64(v), DType::I32) => {
            let ids = v[range]
                .iter()
                .map(|&x| {
                    i32::try_from(x)
                        .map_err(|_| anyhow!("input '{name}': value {x} does not fit i32"))
                })
                .collect::<Result<Vec<_>>>()?;
            session.set_input_i32(i, &ids)
        }
        (HostData::F32(_), DType::I32) => {
            bail!("input '{name}' takes integer ids (int64 .npy), got float")
        }
        (HostData::I64(_), _) => bail!("input '{name}' takes float32, got int64"),
        (_, other) => bail!("input '{name}' has unsupported type {other}"),
    }
    .map_err(|e| anyhow!("input '{name}': {e}"))
}

/// One sample of input `t` (which holds `samples` of them) in the model's input shape.
pub fn sample_of(model: &Model, i: usize, t: &HostTensor, sample: usize) -> Result<HostTensor> {
    let info = model.input(i).map_err(|e| anyhow!("{e}"))?;
    let shape: Vec<usize> = info.shape.iter().map(|&d| d as usize).collect();
    let n = info.len();
    let range = sample * n..(sample + 1) * n;
    let data = match &t.data {
        HostData::F32(v) => HostData::F32(v.get(range).context("sample out of range")?.to_vec()),
        HostData::I64(v) => HostData::I64(v.get(range).context("sample out of range")?.to_vec()),
    };
    Ok(HostTensor { shape, data })
}

/// Sets every graph input of `session` to sample `sample` of `inputs` (quantized to the input's codes
/// for a fixed-point model).
pub fn feed(session: &mut Session, inputs: &[HostTensor], sample: usize) -> Result<()> {
    for (i, t) in inputs.iter().enumerate() {
        let name = session.model().input(i).map(|t| t.name()).unwrap_or("");
        set_input(session, i, t, sample, name)?;
    }
    Ok(())
}

/// Sample `sample` as the device sees it: the bytes of every graph input as set (codes, for a
/// fixed-point model) and of every output after one invoke, each concatenated in order, little
/// endian. Firmware fed these inputs must produce exactly these output bytes.
pub fn raw_io(model: &Model, inputs: &[HostTensor], sample: usize) -> Result<(Vec<u8>, Vec<u8>)> {
    let mut arena = vec![0u8; model.arena_bytes() + 16];
    let mut session = Session::new(model, &mut arena).map_err(|e| anyhow!("{e}"))?;
    let mut fed = Vec::new();
    for (i, t) in inputs.iter().enumerate() {
        let name = model.input(i).map(|t| t.name()).unwrap_or("");
        set_input(&mut session, i, t, sample, name)?;
        let index = model.file().inputs()[i] as usize;
        fed.extend_from_slice(session.tensor_bytes(index).map_err(|e| anyhow!("{e}"))?);
    }
    session.invoke().map_err(|e| anyhow!("{e}"))?;
    let mut produced = Vec::new();
    for &t in model.file().outputs() {
        produced.extend_from_slice(
            session
                .tensor_bytes(t as usize)
                .map_err(|e| anyhow!("{e}"))?,
        );
    }
    Ok((fed, produced))
}

/// Runs every sample; returns each output's values over all samples, concatenated.
pub fn run_samples(model: &Model, inputs: &[HostTensor], samples: usize) -> Result<Vec<Vec<f32>>> {
    run_samples_observed(model, inputs, samples, |_, _, _| Ok(()))
}

/// [`run_samples`], calling `observe(sample, op, session)` after every op of every sample.
pub fn run_samples_observed(
    model: &Model,
    inputs: &[HostTensor],
    samples: usize,
    mut observe: impl FnMut(usize, usize, &Session) -> Result<()>,
) -> Result<Vec<Vec<f32>>> {
    let mut arena = vec![0u8; model.arena_bytes() + 16];
    let mut session = Session::new(model, &mut arena).map_err(|e| anyhow!("{e}"))?;
    let mut outputs: Vec<Vec<f32>> = vec![Vec::new(); model.output_count()];
    let bar = (samples > 1).then(|| indicatif::ProgressBar::new(samples as u64));
    for s in 0..samples {
        for (i, t) in inputs.iter().enumerate() {
            let name = model.input(i).map(|t| t.name()).unwrap_or("");
            set_input(&mut session, i, t, s, name)?;
        }
        let mut failed = None;
        session
            .invoke_observed(|op, sess| {
                if failed.is_none() {
                    failed = observe(s, op, sess).err();
                }
            })
            .map_err(|e| match e {
                rill_runtime::Error::Op { op, .. } => anyhow!("{e} (node '{}')", model.op_name(op)),
                e => anyhow!("{e}"),
            })?;
        if let Some(e) = failed {
            return Err(e);
        }
        for (i, out) in outputs.iter_mut().enumerate() {
            let t = model.file().outputs()[i] as usize;
            out.extend(tensor_values(&session, t)?);
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
