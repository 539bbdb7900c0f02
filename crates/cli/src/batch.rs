//! Running a model over every sample of an input file (a leading sample axis), shared by `run` and
//! `verify`.
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use rill_convert::tensor::{self, HostData, HostTensor};
use rill_runtime::{DType, Model, Session};

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
                .position(|(n, _)| n == info.name)
                .with_context(|| {
                    let have: Vec<_> = named.iter().map(|(n, _)| n.as_str()).collect();
                    format!(
                        "'{}' has no array named '{}' (it has {:?})",
                        path.display(),
                        info.name,
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
                info.name,
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

/// Runs every sample; returns each output's values over all samples, concatenated.
pub fn run_samples(model: &Model, inputs: &[HostTensor], samples: usize) -> Result<Vec<Vec<f32>>> {
    let mut arena = vec![0u8; model.arena_bytes() + 16];
    let mut session = Session::new(model, &mut arena).map_err(|e| anyhow!("{e}"))?;
    let mut outputs: Vec<Vec<f32>> = vec![Vec::new(); model.output_count()];
    let bar = (samples > 1).then(|| indicatif::ProgressBar::new(samples as u64));
    for s in 0..samples {
        for (i, t) in inputs.iter().enumerate() {
            let name = model.input(i).map(|t| t.name).unwrap_or("");
            set_input(&mut session, i, t, s, name)?;
        }
        session.invoke().map_err(|e| match e {
            rill_runtime::Error::Op { op, .. } => anyhow!("{e} (node '{}')", model.op_name(op)),
            e => anyhow!("{e}"),
        })?;
        for (i, out) in outputs.iter_mut().enumerate() {
            out.extend_from_slice(session.output_f32(i).map_err(|e| anyhow!("{e}"))?);
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
