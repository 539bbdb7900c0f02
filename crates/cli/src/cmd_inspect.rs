//! `rill inspect`.
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::files;
use crate::summary::Summary;

#[derive(clap::Args)]
pub struct Args {
    /// A .rill model.
    pub model: PathBuf,
    /// Print as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: Args) -> Result<()> {
    let bytes = files::read_model(&a.model)?;
    let summary = Summary::of(bytes.as_slice())
        .with_context(|| format!("cannot read '{}'", a.model.display()))?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&summary.to_json())?);
    } else {
        print!("{}", summary.text());
    }
    Ok(())
}
