//! `rill convert`.
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
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
    /// Fix a symbolic input dimension: NAME=D0,D1,... (repeatable).
    #[arg(long = "input-shape", value_name = "NAME=DIMS")]
    pub input_shapes: Vec<String>,
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

pub fn run(a: Args) -> Result<()> {
    if !matches!(a.precision, Precision::F32) {
        // The spelling the user typed ("int8"), not the Rust variant name ("Int8").
        let name = a
            .precision
            .to_possible_value()
            .map_or_else(|| format!("{:?}", a.precision), |v| v.get_name().to_owned());
        bail!(
            "--precision {name} is not available in this build: fixed-point conversion needs calibration support, which is not implemented yet; use --precision f32"
        );
    }
    if a.output.exists() && !a.force {
        let head = std::fs::read(&a.output)
            .map(|b| b.get(..4).map(|m| m == rill_format::MAGIC))
            .ok()
            .flatten();
        if head != Some(true) {
            bail!(
                "'{}' exists and is not a .rill file; refusing to overwrite it (pass --force to replace it)",
                a.output.display()
            );
        }
    }
    let opts = ConvertOptions {
        input_shapes: a
            .input_shapes
            .iter()
            .map(|s| parse_shape(s))
            .collect::<Result<_>>()?,
        ..ConvertOptions::default()
    };
    let converted = rill_convert::convert_path(&a.model, &opts)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("cannot convert '{}'", a.model.display()))?;
    files::write_atomic(&a.output, &converted.bytes, &[&a.model])?;

    let aligned = rill_format::writer::AlignedBytes::from_slice(&converted.bytes);
    let summary = Summary::of(aligned.as_slice())?;
    let r = &converted.report;
    if a.json {
        let v = serde_json::json!({
            "output": a.output,
            "onnx_nodes": r.ops_before,
            "ops": r.ops_after,
            "folded": r.folded,
            "warnings": r.warnings,
            "summary": summary.to_json(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "converted '{}' -> '{}' (f32)",
            a.model.display(),
            a.output.display()
        );
        println!("  {} ONNX nodes -> {} ops", r.ops_before, r.ops_after);
        for line in &r.folded {
            println!("  {line}");
        }
        for w in &r.warnings {
            println!("  warning: {w}");
        }
        print!("{}", summary.totals_text());
    }
    Ok(())
}
