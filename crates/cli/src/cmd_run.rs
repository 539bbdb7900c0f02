//! `rill run`: feed `.npy`/`.npz` inputs through a model on the host.
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use rill_convert::exec;
use rill_convert::tensor::{self, HostData, HostTensor};
use rill_runtime::Model;

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
    /// Also write the first sample's raw input bytes (as fed to the session: codes for a fixed-point
    /// model) to PREFIX.input.bin and its raw output bytes to PREFIX.output.bin, for firmware tests;
    /// for a model that streams, also every step's raw output bytes (the same input fed step by
    /// step) to PREFIX.stream.bin.
    #[arg(long, value_name = "PREFIX")]
    pub dump_raw: Option<PathBuf>,
    /// Feed the time axis one step at a time through the model's step program (its recurrent
    /// states and conv windows kept between steps) and stack the per-step outputs on their time
    /// axis; an output without one (a many-to-one model) gets a new axis: its value after each step.
    #[arg(long)]
    pub stream: bool,
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

pub fn run(a: Args) -> Result<()> {
    let bytes = files::read_model(&a.model)?;
    let model =
        Model::from_bytes(bytes.as_slice()).map_err(|e| anyhow!("'{}': {e}", a.model.display()))?;
    let (inputs, samples) = exec::load_inputs(&model, &a.input)?;
    let to_npz = a.output.extension().is_some_and(|e| e == "npz");
    if !to_npz && model.output_count() != 1 {
        bail!(
            "the model has {} outputs: write them to an .npz",
            model.output_count()
        );
    }
    let stream = if a.stream {
        Some(model.stream().map_err(|e| {
            anyhow!(
                "'{}': {}",
                a.model.display(),
                rill_convert::exec_stream::describe(&model, e)
            )
        })?)
    } else {
        None
    };
    let outputs = match stream {
        Some(_) => rill_convert::exec_stream::run_stream_samples(&model, &inputs, samples)?,
        None => exec::run_samples(&model, &inputs, samples)?,
    };
    if let Some(prefix) = &a.dump_raw {
        let (fed, produced) = exec::raw_io(&model, &inputs, 0)?;
        let mut dumps = vec![("input", fed), ("output", produced)];
        if model.stream().is_ok() {
            dumps.push((
                "stream",
                rill_convert::exec_stream::raw_stream(&model, &inputs, 0)?,
            ));
        }
        for (what, bytes) in dumps {
            let mut path = prefix.clone().into_os_string();
            path.push(format!(".{what}.bin"));
            std::fs::write(&path, bytes)
                .with_context(|| format!("cannot write '{}'", PathBuf::from(&path).display()))?;
        }
    }
    let mut named = Vec::new();
    for (i, data) in outputs.into_iter().enumerate() {
        let info = model.output(i).map_err(|e| anyhow!("{e}"))?;
        let mut shape: Vec<usize> = info.shape.iter().map(|&d| d as usize).collect();
        if let Some(s) = &stream {
            if s.output_axes[i].is_none() {
                shape.insert(0, s.window_len);
            }
        }
        if samples > 1
            || inputs
                .first()
                .is_some_and(|t| t.shape.len() > model.input(0).map(|x| x.shape.len()).unwrap_or(0))
        {
            shape.insert(0, samples);
        }
        named.push((
            info.name().to_owned(),
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
