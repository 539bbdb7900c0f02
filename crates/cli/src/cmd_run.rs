//! `rill run`: feed `.npy`/`.npz` inputs through a model on the host.
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use rill_convert::tensor::{self, HostData, HostTensor};
use rill_format::DType;
use rill_runtime::{Model, Session};

use crate::files;

#[derive(clap::Args)]
pub struct Args {
    /// A .rill model.
    pub model: PathBuf,
    /// Input: .npy for a one-input model, .npz keyed by input name otherwise. A leading extra axis runs
    /// the model once per sample and stacks the outputs.
    #[arg(short, long)]
    pub input: PathBuf,
    /// Output: .npy (one-output models) or .npz keyed by output name.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Compare output 0 with a reference .npy (e.g. onnxruntime's) and fail if any element is off by
    /// more than `--atol + --rtol * |reference|`.
    #[arg(long, value_name = "REF.npy")]
    pub compare: Option<PathBuf>,
    #[arg(long, default_value_t = 1e-4, requires = "compare")]
    pub rtol: f32,
    #[arg(long, default_value_t = 1e-5, requires = "compare")]
    pub atol: f32,
}

/// Prints how far `got` is from the reference and fails beyond the tolerance.
fn compare(got: &[f32], path: &Path, rtol: f32, atol: f32) -> Result<()> {
    let reference = tensor::read_npy(path).map_err(|e| anyhow!("{e}"))?;
    let HostData::F32(want) = &reference.data else {
        bail!("'{}' is not float data", path.display())
    };
    if want.len() != got.len() {
        bail!(
            "'{}' holds {} elements, the output has {}",
            path.display(),
            want.len(),
            got.len()
        );
    }
    let (mut max_abs, mut max_rel, mut off) = (0f32, 0f32, 0usize);
    for (&g, &w) in got.iter().zip(want) {
        let d = (g - w).abs();
        max_abs = max_abs.max(d);
        max_rel = max_rel.max(d / w.abs().max(1e-6));
        // NaN compares false, so it counts as off.
        let close = d <= atol + rtol * w.abs();
        off += usize::from(!close);
    }
    println!(
        "vs '{}': max |diff| {max_abs:.3e}, max relative {max_rel:.3e} over {} elements",
        path.display(),
        got.len()
    );
    if off > 0 {
        bail!("{off} elements differ by more than atol {atol} + rtol {rtol} x |reference|");
    }
    Ok(())
}

/// Inputs in model order, each with the number of samples it holds.
fn load_inputs(model: &Model, path: &Path) -> Result<(Vec<HostTensor>, usize)> {
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

pub fn run(a: Args) -> Result<()> {
    let bytes = files::read_model(&a.model)?;
    let model =
        Model::from_bytes(bytes.as_slice()).map_err(|e| anyhow!("'{}': {e}", a.model.display()))?;
    let (inputs, samples) = load_inputs(&model, &a.input)?;
    let to_npz = a.output.extension().is_some_and(|e| e == "npz");
    if !to_npz && model.output_count() != 1 {
        bail!(
            "the model has {} outputs: write them to an .npz",
            model.output_count()
        );
    }
    let mut arena = vec![0u8; model.arena_bytes() + 16];
    let mut session = Session::new(&model, &mut arena).map_err(|e| anyhow!("{e}"))?;
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
    let mut named = Vec::new();
    for (i, data) in outputs.into_iter().enumerate() {
        let info = model.output(i).map_err(|e| anyhow!("{e}"))?;
        let mut shape: Vec<usize> = info.shape.iter().map(|&d| d as usize).collect();
        if samples > 1
            || inputs
                .first()
                .is_some_and(|t| t.shape.len() > model.input(0).map(|x| x.shape.len()).unwrap_or(0))
        {
            shape.insert(0, samples);
        }
        named.push((
            info.name.to_owned(),
            HostTensor {
                shape,
                data: HostData::F32(data),
            },
        ));
    }
    let bytes = if to_npz {
        tensor::npz_bytes(&named).map_err(|e| anyhow!("{e}"))?
    } else {
        tensor::npy_bytes(&named[0].1).map_err(|e| anyhow!("{e}"))?
    };
    // The reference is an input too: writing over it would also make the comparison vacuous.
    let mut protected = vec![a.model.as_path(), a.input.as_path()];
    protected.extend(a.compare.as_deref());
    files::write_atomic(&a.output, &bytes, &protected)?;
    if let Some(reference) = &a.compare {
        if let Some((
            _,
            HostTensor {
                data: HostData::F32(y),
                ..
            },
        )) = named.first()
        {
            compare(y, reference, a.rtol, a.atol)?;
        }
    }
    eprintln!("ran {} sample(s) -> '{}'", samples, a.output.display());
    Ok(())
}
