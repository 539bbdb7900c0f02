//! Reading models and writing results without ever losing what the user had: outputs are written to
//! a temporary file beside the target and renamed over it only when complete.
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use rill_format::writer::AlignedBytes;

/// Reads a `.rill` file into 16-byte aligned memory, as the runtime requires.
pub fn read_model(path: &Path) -> Result<AlignedBytes> {
    let bytes =
        fs::read(path).with_context(|| format!("cannot read model '{}'", path.display()))?;
    Ok(AlignedBytes::from_slice(&bytes))
}

/// Writes `bytes` to `path` atomically. Refuses to replace any of `protected` (the command's inputs).
pub fn write_atomic(path: &Path, bytes: &[u8], protected: &[&Path]) -> Result<()> {
    for p in protected {
        if same_file(path, p) {
            bail!(
                "refusing to write '{}': it is one of this command's inputs",
                path.display()
            );
        }
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .with_context(|| format!("'{}' is not a file path", path.display()))?;
    let mut tmp = PathBuf::from(dir);
    tmp.push(format!(
        ".{}.tmp{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| -> Result<()> {
        let mut f =
            fs::File::create(&tmp).with_context(|| format!("cannot create '{}'", tmp.display()))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path).with_context(|| format!("cannot write '{}'", path.display()))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
