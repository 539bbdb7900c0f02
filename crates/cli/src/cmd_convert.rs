//! `rill convert`.
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use rill_convert::calibrate::Method;
use rill_convert::tensor::{self, HostData, HostTensor};
use rill_convert::ConvertOptions;

use crate::files;
use crate::summary::Summary;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Precision {
    F32,
    Int8,
    Int16,
    Auto,
}

impl From<Precision> for rill_convert::Precision {
    fn from(p: Precision) -> rill_convert::Precision {
        match p {
            Precision::F32 => rill_convert::Precision::F32,
            Precision::Int8 => rill_convert::Precision::Int8,
            Precision::Int16 => rill_convert::Precision::Int16,
            Precision::Auto => rill_convert::Precision::Auto,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum CalibrationMethod {
    /// The full observed range.
    Minmax,
    /// Clip the tails: keep --percentile of the values.
    Percentile,
    /// The clipping range with the smallest quantization error.
    Mse,
}

#[derive(clap::Args)]
pub struct Args {
    /// ONNX model (PyTorch or tf2onnx export, opset 13-20).
    pub model: PathBuf,
    /// Where to write the .rill file.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Numeric precision of the converted model.
    #[arg(long, value_enum, default_value = "f32")]
    pub precision: Precision,
    /// Representative inputs for int8/int16/auto: .npy with a leading sample axis (.npz keyed by
    /// input name when the model has several inputs).
    #[arg(long, value_name = "FILE")]
    pub calibration: Option<PathBuf>,
    /// How observed activation values become quantization ranges (with --calibration; default
    /// minmax).
    #[arg(long, value_enum)]
    pub calibration_method: Option<CalibrationMethod>,
    /// Percentage of values kept by --calibration-method percentile (default 99.99).
    #[arg(long, value_name = "PCT")]
    pub percentile: Option<f64>,
    /// --precision auto: the largest relative RMS error of the outputs against float (on the
    /// calibration data) that int8 or int16 may have (default 0.01).
    #[arg(long, value_name = "E")]
    pub max_error: Option<f64>,

    /// Bits of Dense, Conv and recurrent weights in int16 models (and auto's int16 layers): 16 (most
    /// accurate, the default) or 8 (half the weight flash, "16x8"). int8 models always use 8.
    #[arg(long, value_parser = ["8", "16"])]
    pub weight_bits: Option<String>,

    /// Fixed point: remove each Conv/Dense layer's mean output error on the calibration data from
    /// its bias (raises the SQNR of deep conv stacks; needs a calibration set that represents the data).
    #[arg(long)]
    pub bias_correction: bool,
    /// int8 and auto: quantize an input normalisation (Add/Sub/Mul/Div by constants on the raw input)
    /// in int8 too, so the model takes int8 input codes. By default it runs at 16 bits and the
    /// model takes int16 codes: raw features in one int8 scale lose their narrow channels.
    #[arg(long)]
    pub int8_input: bool,
    /// The time axis of the inputs (for the step program), when the converter cannot tell it from
    /// a recurrent layer's sequence axis, a conv's length axis or an embedding's index axis.
    #[arg(long, value_name = "AXIS")]
    pub time_axis: Option<usize>,
    /// Store float Dense and Conv weights as f16: half their bytes, read back as f32 (f32 models).
    #[arg(long)]
    pub f16_weights: bool,
    /// Fix a symbolic input dimension: NAME=D0,D1,... (repeatable).
    #[arg(long = "input-shape", value_name = "NAME=DIMS")]
    pub input_shapes: Vec<String>,
    /// The MFCC front end the model was trained on (`frontend.json`, as models/kws_dscnn/frontend.json):
    /// validated and stored in the file, so `rill detect` can compute the model's input from audio.
    #[arg(long, value_name = "FRONTEND.json")]
    pub frontend: Option<PathBuf>,
    /// Class names in output order (a JSON array, as classes.json), stored in the file for
    /// `inspect` and `detect`.
    #[arg(long, value_name = "CLASSES.json")]
    pub labels: Option<PathBuf>,
    /// Replace an existing output file even if it is not a .rill file.
    #[arg(long)]
    pub force: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

fn parse_shape(s: &str) -> Result<(String, Vec<usize>)> {
    let (name, dims) = s
        .rsplit_once('=')
        .with_context(|| format!("--input-shape '{s}': expected NAME=D0,D1,..."))?;
    let dims = dims
        .split(',')
        .map(|d| {
            d.trim()
                .parse::<usize>()
                .with_context(|| format!("--input-shape '{s}': '{d}' is not a dimension"))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((name.to_owned(), dims))
}

/// `--percentile` when not given.
const DEFAULT_PERCENTILE: f64 = 99.99;

/// Refuses every flag that would have no effect with the other options given, and values out of
/// range, all at once. A flag that is silently ignored lets the user believe its setting is in the
/// file when it is not, so each one names itself and what it needs.
fn check_args(a: &Args) -> Result<()> {
    let p = a.precision;
    let calibrated = a.calibration.is_some();
    let mut wrong: Vec<String> = Vec::new();
    let mut needs = |given: bool, applies: bool, why: &str| {
        if given && !applies {
            wrong.push(why.to_owned());
        }
    };
    needs(
        calibrated,
        !matches!(p, Precision::F32),
        "--calibration applies to --precision int8, int16 or auto only",
    );
    needs(
        a.calibration_method.is_some(),
        calibrated,
        "--calibration-method applies to calibrated conversions only (--calibration with --precision int8, int16 or auto)",
    );
    needs(
        a.percentile.is_some(),
        matches!(a.calibration_method, Some(CalibrationMethod::Percentile)),
        "--percentile applies to --calibration-method percentile only",
    );
    needs(
        a.max_error.is_some(),
        matches!(p, Precision::Auto),
        "--max-error applies to --precision auto only",
    );
    needs(
        a.weight_bits.is_some(),
        matches!(p, Precision::Int16 | Precision::Auto),
        "--weight-bits applies to --precision int16 or auto only (int8 models always use 8-bit weights)",
    );
    needs(
        a.bias_correction,
        calibrated,
        "--bias-correction applies to calibrated conversions only (--calibration with --precision int8, int16 or auto)",
    );
    needs(
        a.int8_input,
        matches!(p, Precision::Int8 | Precision::Auto),
        "--int8-input applies to --precision int8 or auto only",
    );
    needs(
        a.f16_weights,
        matches!(p, Precision::F32 | Precision::Auto),
        "--f16-weights applies to --precision f32 or auto only (fixed-point layers have no float weights)",
    );
    if let Some(pct) = a.percentile.filter(|v| !(*v > 0.0 && *v <= 100.0)) {
        wrong.push(format!("--percentile {pct} is not in (0, 100]"));
    }
    if let Some(e) = a.max_error.filter(|v| !(v.is_finite() && *v >= 0.0)) {
        wrong.push(format!("--max-error {e} is not a non-negative number"));
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        bail!("{}", wrong.join("; "))
    }
}

pub fn run(a: Args) -> Result<()> {
    check_args(&a)?;
    // The output is checked before any work, so a conversion that takes minutes is not thrown away
    // at the end; `write_atomic` checks again against a file that appeared meanwhile.
    let mut protected = vec![a.model.as_path()];
    protected.extend(a.calibration.as_deref());
    protected.extend(a.frontend.as_deref());
    protected.extend(a.labels.as_deref());
    files::check_writable(&a.output, &protected)?;
    files::check_replaceable(&a.output, Some(a.force), "is not a .rill file", |head| {
        head.starts_with(&rill_format::MAGIC)
    })?;
    let mut metadata = Vec::new();
    let mut n_mfcc = None;
    if let Some(path) = &a.frontend {
        let spec = crate::audio::FrontendSpec::read(path)?;
        n_mfcc = Some(spec.config.n_mfcc);
        metadata.push((
            crate::audio::FRONTEND_KEY.to_owned(),
            spec.to_json().to_string(),
        ));
    }
    let labels = match &a.labels {
        Some(path) => {
            let labels = crate::audio::read_labels(path)?;
            metadata.push((
                crate::audio::LABELS_KEY.to_owned(),
                serde_json::to_string(&labels)?,
            ));
            Some((path, labels.len()))
        }
        None => None,
    };
    let (calibration, calibration_warnings) = match &a.calibration {
        Some(path) => load_calibration(&a.model, path)?,
        None => (vec![], vec![]),
    };
    for w in &calibration_warnings {
        eprintln!("warning: {w}");
    }
    let max_error = a.max_error.unwrap_or(ConvertOptions::default().max_error);
    let opts = ConvertOptions {
        metadata,
        input_shapes: a
            .input_shapes
            .iter()
            .map(|s| parse_shape(s))
            .collect::<Result<_>>()?,
        precision: a.precision.into(),
        calibration,
        calibration_method: match a.calibration_method.unwrap_or(CalibrationMethod::Minmax) {
            CalibrationMethod::Minmax => Method::MinMax,
            CalibrationMethod::Percentile => {
                Method::Percentile(a.percentile.unwrap_or(DEFAULT_PERCENTILE) / 100.0)
            }
            CalibrationMethod::Mse => Method::Mse,
        },
        max_error,
        // None leaves the converter's default (16).
        weight_bits: a
            .weight_bits
            .as_deref()
            .map(|b| if b == "8" { 8 } else { 16 }),
        bias_correction: a.bias_correction,
        int8_input: a.int8_input,
        time_axis: a.time_axis,
        f16_weights: a.f16_weights,
        ..ConvertOptions::default()
    };
    let converted = rill_convert::convert_path(&a.model, &opts)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("cannot convert '{}'", a.model.display()))?;
    let aligned = rill_format::writer::AlignedBytes::from_slice(&converted.bytes);
    let summary = Summary::of(aligned.as_slice())?;
    if let Some((path, n)) = labels {
        let classes = summary
            .outputs
            .first()
            .map_or(0, |o| o.2.iter().map(|&d| d as usize).product::<usize>());
        if n != classes {
            bail!(
                "'{}' names {n} classes, but the model's first output has {classes} values",
                path.display()
            );
        }
    }
    // A model may take more than the front end's frames (a feature stack, extra inputs), so a
    // mismatch is worth a warning here; `detect` is the one that refuses it.
    let mut frontend_warning = None;
    if let Some(n) = n_mfcc {
        let fits = summary.inputs.len() == 1
            && summary.inputs[0].2.len() >= 2
            && summary.inputs[0].2.last() == Some(&(n as u32))
            && summary.inputs[0].2[..summary.inputs[0].2.len() - 2]
                .iter()
                .all(|&d| d == 1);
        if !fits {
            frontend_warning = Some(format!(
                "the front end gives frames of {n} MFCCs but the model's inputs are {}: rill detect will refuse this model",
                summary
                    .inputs
                    .iter()
                    .map(|i| format!("'{}' {:?}", i.0, i.2))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    files::write_atomic(&a.output, &converted.bytes, &protected)?;
    let r = &converted.report;
    if a.json {
        let v = serde_json::json!({
            "output": a.output,
            "onnx_nodes": r.ops_before,
            "ops": r.ops_after,
            "folded": r.folded,
            "warnings": r.warnings.iter().chain(&frontend_warning).chain(&calibration_warnings).collect::<Vec<_>>(),
            "precision": r.precision.name(),
            "errors": r.errors.iter().map(|(p, e)| serde_json::json!({"precision": p.name(), "relative_rms": e})).collect::<Vec<_>>(),
            "int16_input_normalisation": r.input_normalisation,
            "int16_layers": r.promoted.iter().map(|(n, d)| serde_json::json!({"node": n, "int8_sqnr_drop_db": d})).collect::<Vec<_>>(),
            "rejected_layers": r.rejected_layers.iter().map(|(p, l)| serde_json::json!({"precision": p.name(), "worst_layers": l})).collect::<Vec<_>>(),
            "summary": summary.to_json(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "converted '{}' -> '{}' ({})",
            a.model.display(),
            a.output.display(),
            r.precision.name()
        );
        for (p, e) in &r.errors {
            println!(
                "  {}: output error {:.4} (relative RMS vs float on the calibration data){}",
                p.name(),
                e,
                if *e <= max_error {
                    ""
                } else {
                    " > --max-error"
                }
            );
        }
        if !r.input_normalisation.is_empty() {
            println!(
                "  input normalisation at 16 bits (the input takes int16 codes; --int8-input for int8): {}",
                r.input_normalisation.join(", ")
            );
        }
        if !r.promoted.is_empty() {
            println!("  int16 layers (the rest int8), by the SQNR their int8 form loses:");
            for (node, drop) in &r.promoted {
                println!("    {drop:>6.1} dB  {node}");
            }
        }
        for (p, layers) in &r.rejected_layers {
            println!("  {} rejected; its worst layers (SQNR vs float):", p.name());
            for l in layers {
                println!("    {:>6.1} dB  {:<8} {}", l.sqnr_db, l.op, l.node);
            }
        }
        println!("  {} ONNX nodes -> {} ops", r.ops_before, r.ops_after);
        for line in &r.folded {
            println!("  {line}");
        }
        for w in r.warnings.iter().chain(&frontend_warning) {
            println!("  warning: {w}");
        }
        for line in summary.audio_text().lines() {
            println!("  {line}");
        }
        print!("{}", summary.totals_text());
    }
    Ok(())
}

/// Calibration arrays in graph-input order: the .npy for a one-input model, or the .npz entries by
/// input name (read from the ONNX graph); with a warning for each input that is zero throughout.
fn load_calibration(
    model: &std::path::Path,
    path: &std::path::Path,
) -> Result<(Vec<HostTensor>, Vec<String>)> {
    let names = rill_convert::input_names(model).map_err(|e| anyhow::anyhow!("{e}"))?;
    let err = |e: tensor::TensorError| anyhow::anyhow!("calibration data: {e}");
    let tensors = if path.extension().is_some_and(|e| e == "npz") {
        let mut named = tensor::read_npz(path).map_err(err)?;
        names
            .iter()
            .map(|n| {
                let pos = named.iter().position(|(k, _)| k == n).with_context(|| {
                    format!(
                        "'{}' has no array named '{n}' (one per model input)",
                        path.display()
                    )
                })?;
                Ok(named.swap_remove(pos).1)
            })
            .collect::<Result<Vec<_>>>()?
    } else {
        if names.len() != 1 {
            bail!(
                "the model has {} inputs ({}): give calibration data as an .npz keyed by input name",
                names.len(),
                names.join(", ")
            );
        }
        vec![tensor::read_npy(path).map_err(err)?]
    };
    let warnings = names
        .iter()
        .zip(&tensors)
        .filter(|(_, t)| all_zero(t))
        .map(|(n, _)| {
            format!(
                "calibration data '{}': input '{n}' is 0 in every sample and element: its range is degenerate (0 to 0), so it quantizes to a zero range (give calibration data that exercises this input)",
                path.display()
            )
        })
        .collect();
    Ok((tensors, warnings))
}

/// Whether float calibration data holds only zeros. Such data is legal (an input a test set never
/// drives) but gives the input a zero quantization range, which the user must hear about. Integer
/// inputs (embedding indices) are not quantized, so zeros there are just index 0.
fn all_zero(t: &HostTensor) -> bool {
    match &t.data {
        HostData::F32(v) => !v.is_empty() && v.iter().all(|&x| x == 0.0),
        HostData::I64(_) => false,
    }
}
