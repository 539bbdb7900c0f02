//! `rill run`: feed `.npy`/`.npz` inputs through a model on the host.
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};
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
    /// Replace an existing output file even if it is not a .npy (or, for an .npz output, an .npz).
    #[arg(long)]
    pub force: bool,
}

/// Whether `head` (a file's first bytes) starts an `.npy` file.
fn is_npy(head: &[u8]) -> bool {
    head.starts_with(b"\x93NUMPY")
}

/// Whether `head` starts an `.npz` archive: a zip whose first entry is an `.npy`.
fn is_npz(head: &[u8]) -> bool {
    if !head.starts_with(b"PK\x03\x04") || head.len() < 30 {
        return false;
    }
    let len = u16::from_le_bytes([head[26], head[27]]) as usize;
    head.get(30..30 + len).is_some_and(|n| n.ends_with(b".npy"))
}

/// The first sample and element of `inputs` that is NaN or infinite, named: a fixed-point model
/// would quantize it to some code and answer with finite, meaningless values.
pub fn check_finite(model: &Model, inputs: &[HostTensor], path: &Path) -> Result<()> {
    for (i, t) in inputs.iter().enumerate() {
        let HostData::F32(v) = &t.data else { continue };
        if let Some(pos) = v.iter().position(|x| !x.is_finite()) {
            let info = model.input(i).map_err(|e| anyhow!("{e}"))?;
            let shape: Vec<usize> = info.shape.iter().map(|&d| d as usize).collect();
            let per = info.len().max(1);
            bail!(
                "'{}': input '{}' holds {} at sample {}, element {} {}: inputs must be finite",
                path.display(),
                info.name(),
                v[pos],
                pos / per,
                pos % per,
                coords(pos % per, &shape)
            );
        }
    }
    Ok(())
}

/// `flat` as an index into `shape` (C order), like `[0, 0, 3, 7]`.
fn coords(flat: usize, shape: &[usize]) -> String {
    let mut rest = flat;
    let mut c = vec![0; shape.len()];
    for (slot, &d) in c.iter_mut().zip(shape).rev() {
        let d = d.max(1);
        *slot = rest % d;
        rest /= d;
    }
    format!("{c:?}")
}

/// Reads the `--compare` reference (before anything is written, so no output can replace it first).
fn read_reference(path: &Path) -> Result<Vec<f32>> {
    let reference = tensor::read_npy(path).map_err(|e| anyhow!("{e}"))?;
    let HostData::F32(want) = reference.data else {
        bail!("'{}' is not float data", path.display())
    };
    Ok(want)
}

/// Prints how far `got` is from the reference `want` (read from `path`) and fails beyond the
/// tolerance.
fn compare(got: &[f32], want: &[f32], path: &Path, rtol: f32, atol: f32) -> Result<()> {
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

/// Why `--stream` is refused. The runtime words a block as what an op or "the model" does ("op #3
/// reduces over the time axis"); a missing time axis is nothing the model does, so that wording
/// comes out garbled, and the user needs to hear which input lacks the axis and how to give it.
fn cannot_stream(model: &Model, path: &Path, e: rill_runtime::Error) -> anyhow::Error {
    if let rill_runtime::Error::NotStreamable {
        block: rill_format::StreamBlock::NoTimeAxis,
        ..
    } = e
    {
        let inputs: Vec<String> = (0..model.input_count())
            .filter_map(|i| model.input(i).ok())
            .map(|t| format!("'{}' {:?}", t.name(), t.shape))
            .collect();
        // With several inputs the axis must also be one length in all of them.
        let (where_, inputs) = match inputs.len() {
            1 => ("in its input", inputs.concat()),
            _ => ("common to its inputs", inputs.join(", ")),
        };
        return anyhow!(
            "'{}' cannot stream because the converter found no time axis {where_} {inputs} (convert it again with --time-axis AXIS to name the axis to step along)",
            path.display()
        );
    }
    anyhow!(
        "'{}': {}",
        path.display(),
        rill_convert::exec_stream::describe(model, e)
    )
}

pub fn run(a: Args) -> Result<()> {
    let bytes = files::read_model(&a.model)?;
    let model =
        Model::from_bytes(bytes.as_slice()).map_err(|e| anyhow!("'{}': {e}", a.model.display()))?;
    let to_npz = a.output.extension().is_some_and(|e| e == "npz");
    if !to_npz && model.output_count() != 1 {
        bail!(
            "the model has {} outputs: write them to an .npz",
            model.output_count()
        );
    }
    // Every file this command writes, checked before any work: none is an input (the reference is
    // one too: writing over it would also make the comparison vacuous), no two are the same file, and
    // -o replaces only what run itself could have written.
    let mut protected = vec![a.model.as_path(), a.input.as_path()];
    protected.extend(a.compare.as_deref());
    let dumps: Vec<PathBuf> = match &a.dump_raw {
        None => vec![],
        Some(prefix) => {
            let mut whats = vec!["input", "output"];
            if model.stream().is_ok() {
                whats.push("stream");
            }
            whats
                .into_iter()
                .map(|what| {
                    let mut path = prefix.clone().into_os_string();
                    path.push(format!(".{what}.bin"));
                    PathBuf::from(path)
                })
                .collect()
        }
    };
    let mut outputs = vec![("-o", Some(a.output.as_path()))];
    outputs.extend(dumps.iter().map(|p| ("--dump-raw", Some(p.as_path()))));
    files::check_distinct(&outputs)?;
    for p in outputs.iter().filter_map(|(_, p)| *p) {
        files::check_writable(p, &protected)?;
    }
    if to_npz {
        files::check_replaceable(&a.output, Some(a.force), "is not an .npz file", is_npz)?;
    } else {
        files::check_replaceable(&a.output, Some(a.force), "is not a .npy file", is_npy)?;
    }
    let reference = match &a.compare {
        Some(path) => Some(read_reference(path)?),
        None => None,
    };
    let (inputs, samples) = exec::load_inputs(&model, &a.input)?;
    if samples == 0 {
        bail!("'{}' holds 0 samples: nothing to run", a.input.display());
    }
    check_finite(&model, &inputs, &a.input)?;
    let stream = if a.stream {
        Some(
            model
                .stream()
                .map_err(|e| cannot_stream(&model, &a.model, e))?,
        )
    } else {
        None
    };
    let outputs = match stream {
        Some(_) => rill_convert::exec_stream::run_stream_samples(&model, &inputs, samples)?,
        None => exec::run_samples(&model, &inputs, samples)?,
    };
    if !dumps.is_empty() {
        let (fed, produced) = exec::raw_io(&model, &inputs, 0)?;
        let mut raw = vec![fed, produced];
        if dumps.len() > 2 {
            raw.push(rill_convert::exec_stream::raw_stream(&model, &inputs, 0)?);
        }
        for (path, bytes) in dumps.iter().zip(raw) {
            files::write_atomic(path, &bytes, &protected)?;
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
    files::write_atomic(&a.output, &bytes, &protected)?;
    if let (Some(path), Some(want)) = (&a.compare, &reference) {
        if let Some((
            _,
            HostTensor {
                data: HostData::F32(y),
                ..
            },
        )) = named.first()
        {
            compare(y, want, path, a.rtol, a.atol)?;
        }
    }
    eprintln!("ran {} sample(s) -> '{}'", samples, a.output.display());
    Ok(())
}
