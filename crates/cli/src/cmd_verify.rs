//! `rill verify`: the converted model against its ONNX original (run by tract) on the same data.
//!
//! Per output: max abs error, SQNR, cosine similarity, top-1 agreement, and accuracy against labels.
//! A fixed-point model is also compared with Rill's float path (the ONNX model converted in f32 here),
//! output by output and layer by layer (SQNR of each op's output, worst first).
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use rill_convert::exec;
use rill_convert::reference::OnnxReference;
use rill_convert::tensor::{self, HostData, HostTensor};
use rill_convert::verify::{accuracy, agreement, Agreement};
use rill_runtime::Model;

use crate::files;

#[derive(clap::Args)]
pub struct Args {
    /// The converted model.
    pub model: PathBuf,
    /// The ONNX model it was converted from.
    #[arg(long)]
    pub onnx: PathBuf,
    /// Inputs with a leading sample axis (.npy, or .npz keyed by input name).
    #[arg(long)]
    pub data: PathBuf,
    /// Class labels, one int64 per sample (or per output row): accuracy. Float32 values shaped like
    /// the output instead are regression targets: RMSE.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Per-layer comparison of a fixed-point model: how many samples to run (0: skip it).
    #[arg(long, default_value_t = 100)]
    pub layer_samples: usize,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Draw output 0 over the samples as a PNG: the targets (float --labels), the ONNX float model,
    /// Rill's float path and this model, for time-series models. Never one of the inputs above; an
    /// existing file there is replaced only if it is a PNG.
    #[arg(long, value_name = "OUT.png")]
    pub plot: Option<PathBuf>,
}

#[derive(serde::Serialize)]
struct OutputReport {
    name: String,
    precision: String,
    vs_onnx: Agreement,
    accuracy: Option<f64>,
    onnx_accuracy: Option<f64>,
    /// Fixed-point models: Rill's float path against the ONNX model, and the fixed against it.
    float_vs_onnx: Option<Agreement>,
    vs_float: Option<Agreement>,
    float_accuracy: Option<f64>,
    /// Regression targets given: RMSE of this model, the ONNX model and Rill's float path.
    rmse: Option<f64>,
    onnx_rmse: Option<f64>,
    float_rmse: Option<f64>,
}

enum Truth {
    Classes(Vec<i64>),
    Targets(Vec<f32>),
}

fn rmse(ours: &[f32], truth: &[f32]) -> f64 {
    let n = ours.len().max(1) as f64;
    (ours
        .iter()
        .zip(truth)
        .map(|(&a, &b)| (a as f64 - b as f64).powi(2))
        .sum::<f64>()
        / n)
        .sqrt()
}

/// Refuses `--data` that verify cannot judge: no samples at all, or a float value that is not
/// finite (every agreement figure would come out NaN or meaningless).
fn check_data(model: &Model, inputs: &[HostTensor], samples: usize, path: &Path) -> Result<()> {
    if samples == 0 {
        bail!(
            "'{}' holds 0 samples: verify needs at least one",
            path.display()
        );
    }
    crate::cmd_run::check_finite(model, inputs, path)
}

/// Reads `--labels`: int64 values are class labels, float32 values regression targets (see
/// [`Args::labels`]). Checked against every output before anything runs: the count, class labels
/// in `[0, classes)` of an output that gives one score per class, targets finite.
fn read_truth(model: &Model, path: &Path, samples: usize) -> Result<Truth> {
    let file = path.display();
    let t = tensor::read_npy(path).map_err(|e| anyhow!("{e}"))?;
    let mut outputs = Vec::new();
    for k in 0..model.output_count() {
        let info = model.output(k).map_err(|e| anyhow!("{e}"))?;
        let row = info.shape.last().map_or(1, |&d| d as usize).max(1);
        outputs.push((info.name().to_owned(), info.len(), row));
    }
    match t.data {
        HostData::I64(v) => {
            for (name, len, row) in &outputs {
                if *row == 1 {
                    bail!(
                        "'{file}' holds int64 values, read as class labels, but output '{name}' gives one value per row: \
                         class labels need one score per class. For regression give float32 targets shaped like the output"
                    );
                }
                let per_sample = len / row;
                let rows = samples * per_sample;
                if v.len() != rows {
                    bail!(
                        "{} labels for {rows} predictions of output '{name}' ('{file}')",
                        v.len()
                    );
                }
                if let Some(i) = v.iter().position(|&l| l < 0 || l as u64 >= *row as u64) {
                    let at = if per_sample == 1 {
                        format!("sample {i}")
                    } else {
                        format!("sample {}, row {}", i / per_sample, i % per_sample)
                    };
                    bail!(
                        "'{file}': label {} at {at} is not a class of output '{name}': class labels lie in [0, {row})",
                        v[i]
                    );
                }
            }
            Ok(Truth::Classes(v))
        }
        HostData::F32(v) => {
            for (name, len, _) in &outputs {
                if v.len() != samples * len {
                    bail!(
                        "{} regression targets for {} values of output '{name}' ('{file}')",
                        v.len(),
                        samples * len
                    );
                }
            }
            if let Some(pos) = v.iter().position(|x| !x.is_finite()) {
                let per = (v.len() / samples.max(1)).max(1);
                bail!(
                    "'{file}': regression target {} at sample {}, element {} is not finite",
                    v[pos],
                    pos / per,
                    pos % per
                );
            }
            Ok(Truth::Targets(v))
        }
    }
}

pub fn run(a: Args) -> Result<()> {
    let bytes = files::read_model(&a.model)?;
    let model =
        Model::from_bytes(bytes.as_slice()).map_err(|e| anyhow!("'{}': {e}", a.model.display()))?;
    let (inputs, samples) = exec::load_inputs(&model, &a.data)?;
    check_data(&model, &inputs, samples, &a.data)?;
    let labels = match &a.labels {
        None => None,
        Some(p) => Some(read_truth(&model, p, samples)?),
    };

    eprintln!("running '{}' on {samples} sample(s)", a.model.display());
    let ours = exec::run_samples(&model, &inputs, samples)?;

    let fixed = (0..model.output_count()).any(|k| {
        model
            .output(k)
            .is_ok_and(|t| matches!(t.dtype, rill_runtime::DType::I8 | rill_runtime::DType::I16))
    });
    let float_bytes = if fixed {
        let opts = rill_convert::ConvertOptions {
            fuse: false,
            ..Default::default()
        };
        let c = rill_convert::convert_path(&a.onnx, &opts)
            .map_err(|e| anyhow!("converting '{}' in f32: {e}", a.onnx.display()))?;
        Some(rill_format::writer::AlignedBytes::from_slice(&c.bytes))
    } else {
        None
    };
    let float_model = match &float_bytes {
        Some(b) => Some(Model::from_bytes(b.as_slice()).map_err(|e| anyhow!("float model: {e}"))?),
        None => None,
    };
    let float_outputs = match &float_model {
        Some(m) => {
            eprintln!("running Rill's float path on {samples} sample(s)");
            Some(exec::run_samples(m, &inputs, samples)?)
        }
        None => None,
    };
    let layers = match &float_model {
        Some(m) if a.layer_samples > 0 => {
            let n = samples.min(a.layer_samples);
            eprintln!("comparing every layer with the float path on {n} sample(s)");
            rill_convert::verify::layer_errors(&model, m, &inputs, n)?
        }
        _ => vec![],
    };

    eprintln!("running the ONNX reference '{}'", a.onnx.display());
    let first: Vec<_> = (0..inputs.len())
        .map(|i| exec::sample_of(&model, i, &inputs[i], 0))
        .collect::<Result<_>>()?;
    let reference = OnnxReference::load(&a.onnx, &first)?;
    if reference.output_names().len() != model.output_count() {
        bail!(
            "the ONNX model has {} outputs, the .rill model {}: are they the same model?",
            reference.output_names().len(),
            model.output_count()
        );
    }
    let mut theirs: Vec<Vec<f32>> = vec![Vec::new(); model.output_count()];
    let bar = (samples > 1).then(|| indicatif::ProgressBar::new(samples as u64));
    for s in 0..samples {
        let x: Vec<_> = (0..inputs.len())
            .map(|i| exec::sample_of(&model, i, &inputs[i], s))
            .collect::<Result<_>>()?;
        for (k, y) in reference.run(&x)?.into_iter().enumerate() {
            match y.data {
                HostData::F32(v) => theirs[k].extend(v),
                HostData::I64(_) => {
                    bail!("ONNX output {k} is an integer tensor; verify compares float outputs")
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

    let mut reports = Vec::new();
    for k in 0..model.output_count() {
        let info = model.output(k).map_err(|e| anyhow!("{e}"))?;
        if ours[k].len() != theirs[k].len() {
            bail!(
                "output '{}': {} values from Rill, {} from the ONNX model: are they the same model?",
                info.name(),
                ours[k].len(),
                theirs[k].len()
            );
        }
        let row = info.shape.last().map_or(1, |&d| d as usize);
        let (acc, onnx_acc) = match &labels {
            Some(Truth::Targets(_)) | None => (None, None),
            Some(Truth::Classes(l)) => {
                let rows = ours[k].len() / row.max(1);
                if l.len() != rows {
                    bail!(
                        "{} labels for {rows} predictions of output '{}'",
                        l.len(),
                        info.name()
                    );
                }
                (
                    Some(accuracy(&ours[k], row, l)),
                    Some(accuracy(&theirs[k], row, l)),
                )
            }
        };
        let float = float_outputs.as_ref().map(|f| &f[k]);
        let targets = match &labels {
            Some(Truth::Targets(t)) => {
                if t.len() != ours[k].len() {
                    bail!(
                        "{} regression targets for {} values of output '{}'",
                        t.len(),
                        ours[k].len(),
                        info.name()
                    );
                }
                Some(t)
            }
            _ => None,
        };
        reports.push(OutputReport {
            name: info.name().to_owned(),
            precision: info.dtype.to_string(),
            vs_onnx: agreement(&ours[k], &theirs[k], row),
            accuracy: acc,
            onnx_accuracy: onnx_acc,
            float_vs_onnx: float.map(|f| agreement(f, &theirs[k], row)),
            vs_float: float.map(|f| agreement(&ours[k], f, row)),
            float_accuracy: match (float, &labels) {
                (Some(f), Some(Truth::Classes(l))) => Some(accuracy(f, row, l)),
                _ => None,
            },
            rmse: targets.map(|t| rmse(&ours[k], t)),
            onnx_rmse: targets.map(|t| rmse(&theirs[k], t)),
            float_rmse: targets.zip(float).map(|(t, f)| rmse(f, t)),
        });
    }

    if let Some(path) = &a.plot {
        if path
            .extension()
            .is_none_or(|e| !e.eq_ignore_ascii_case("png"))
        {
            bail!("--plot writes a PNG: give a path ending in .png");
        }
        let mut traces = Vec::new();
        if let Some(Truth::Targets(t)) = &labels {
            traces.push(crate::plot::Trace {
                label: "truth",
                values: t,
                color: plotters::style::RGBColor(0, 0, 0),
            });
        }
        traces.push(crate::plot::Trace {
            label: "ONNX float",
            values: &theirs[0],
            color: plotters::style::RGBColor(31, 119, 180),
        });
        if let Some(f) = &float_outputs {
            traces.push(crate::plot::Trace {
                label: "Rill float",
                values: &f[0],
                color: plotters::style::RGBColor(44, 160, 44),
            });
        }
        let precision = reports.first().map_or("", |r| r.precision.as_str());
        let ours_label = format!("Rill {precision}");
        traces.push(crate::plot::Trace {
            label: &ours_label,
            values: &ours[0],
            color: plotters::style::RGBColor(214, 39, 40),
        });
        let name = reports.first().map_or("", |r| r.name.as_str());
        let mut protected = vec![a.model.as_path(), a.onnx.as_path(), a.data.as_path()];
        protected.extend(a.labels.as_deref());
        crate::plot::write_png(
            path,
            &format!("output '{name}' on {samples} sample(s)"),
            &traces,
            &protected,
        )?;
        eprintln!("plot written to '{}'", path.display());
    }
    if a.json {
        let v = serde_json::json!({ "model": a.model, "onnx": a.onnx, "samples": samples, "outputs": reports, "layers": layers });
        println!("{}", serde_json::to_string_pretty(&v).context("JSON")?);
        return Ok(());
    }
    println!(
        "'{}' vs '{}' on {samples} sample(s)",
        a.model.display(),
        a.onnx.display()
    );
    for r in &reports {
        println!("output '{}' ({}):", r.name, r.precision);
        let print = |what: &str, g: &Agreement| {
            println!("  {what}");
            println!("    max |error|     {:.3e}", g.max_abs_err);
            println!("    SQNR            {:.1} dB", g.sqnr_db);
            println!("    cosine          {:.6}", g.cosine);
            println!(
                "    top-1 agreement {:.2}% of {} rows",
                100.0 * g.top1_agreement,
                g.rows
            );
            if g.top1_ties > 0.0 {
                println!(
                    "    top-1 ties      {:.2}% of rows: the reference's class shares the largest output code",
                    100.0 * g.top1_ties
                );
            }
        };
        print(&format!("{} vs ONNX float:", r.precision), &r.vs_onnx);
        if let Some(g) = &r.vs_float {
            print(&format!("{} vs Rill float:", r.precision), g);
        }
        if let Some(g) = &r.float_vs_onnx {
            print("Rill float vs ONNX float:", g);
        }
        if let (Some(ours), Some(theirs)) = (r.accuracy, r.onnx_accuracy) {
            let float = r
                .float_accuracy
                .map_or_else(String::new, |f| format!(", Rill float: {:.2}%", 100.0 * f));
            println!(
                "  accuracy          {:.2}% (ONNX float: {:.2}%{float})",
                100.0 * ours,
                100.0 * theirs
            );
        }
        if let (Some(ours), Some(theirs)) = (r.rmse, r.onnx_rmse) {
            let float = r
                .float_rmse
                .map_or_else(String::new, |f| format!(", Rill float: {f:.4e}"));
            println!("  RMSE vs targets  {ours:.4e} (ONNX float: {theirs:.4e}{float})");
        }
    }
    if !layers.is_empty() {
        println!("\nper layer, fixed vs float (worst first):");
        println!(
            "  {:>3}  {:<8} {:>9} {:>11}  node",
            "#", "op", "SQNR dB", "max |err|"
        );
        for l in &layers {
            println!(
                "  {:>3}  {:<8} {:>9.1} {:>11.3e}  {}",
                l.index, l.op, l.sqnr_db, l.max_abs_err, l.node
            );
        }
    }
    Ok(())
}
