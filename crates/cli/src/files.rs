//! Reading models and writing results without ever losing what the user had: outputs are written to
//! a temporary file beside the target and renamed over it only when complete.
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use rill_format::writer::AlignedBytes;

/// Reads a `.rill` file into 16-byte aligned memory, as the runtime requires.
pub fn read_model(path: &Path) -> Result<AlignedBytes> {
    let bytes =
        fs::read(path).with_context(|| format!("cannot read model '{}'", path.display()))?;
    Ok(AlignedBytes::from_slice(&bytes))
}

/// Refuses `path` as an output when it is one of `protected` (the command's inputs), through any
/// spelling of its path or a symbolic link.
pub fn check_not_input(path: &Path, protected: &[&Path]) -> Result<()> {
    for p in protected {
        if same_file(path, p) {
            bail!(
                "refusing to write '{}': it is one of this command's inputs",
                path.display()
            );
        }
    }
    Ok(())
}

/// Refuses two outputs of one command that are the same file (`flag`, path pairs; `None` entries are
/// outputs not asked for), before anything is written: the second would silently replace the first.
pub fn check_distinct(outputs: &[(&str, Option<&Path>)]) -> Result<()> {
    let given: Vec<(&str, &Path)> = outputs
        .iter()
        .filter_map(|&(flag, p)| p.map(|p| (flag, p)))
        .collect();
    for (i, &(flag_a, a)) in given.iter().enumerate() {
        for &(flag_b, b) in &given[i + 1..] {
            if a == b || resolved(a).is_some_and(|ra| resolved(b).is_some_and(|rb| ra == rb)) {
                bail!(
                    "{flag_a} '{}' and {flag_b} '{}' are the same file: give each output its own path",
                    a.display(),
                    b.display()
                );
            }
        }
    }
    Ok(())
}

/// Refuses to replace an existing file at `path` whose first bytes `is_ours` does not recognise as a
/// file of the kind the command writes (`what`, e.g. "is not a .npy file"). `force`: `Some(true)`
/// replaces it anyway, `Some(false)` refuses and names `--force`, `None` (no such flag) refuses. An
/// empty file holds nothing to lose and is replaced.
pub fn check_replaceable(
    path: &Path,
    force: Option<bool>,
    what: &str,
    is_ours: impl Fn(&[u8]) -> bool,
) -> Result<()> {
    if force == Some(true) || !path.exists() {
        return Ok(());
    }
    if path.is_dir() {
        bail!("cannot write '{}': it is a directory", path.display());
    }
    let mut head = Vec::new();
    let read = fs::File::open(path).and_then(|f| f.take(4096).read_to_end(&mut head));
    if read.is_ok() && (head.is_empty() || is_ours(&head)) {
        return Ok(());
    }
    let hint = if force.is_some() {
        "pass --force to replace it"
    } else {
        "remove it or choose another path"
    };
    bail!(
        "'{}' exists and {what}; refusing to overwrite it ({hint})",
        path.display()
    )
}

/// Whether `path` can be created: not one of `protected`, not a directory, and its directory exists.
/// Lets a command refuse a bad output path before it does any work.
pub fn check_writable(path: &Path, protected: &[&Path]) -> Result<()> {
    check_not_input(path, protected)?;
    if path.is_dir() {
        bail!("cannot write '{}': it is a directory", path.display());
    }
    if path.file_name().is_none() {
        bail!("cannot write '{}': it is not a file path", path.display());
    }
    let dir = parent_dir(path);
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => bail!(
            "cannot write '{}': '{}' is not a directory",
            path.display(),
            dir.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "cannot write '{}': directory '{}' does not exist",
            path.display(),
            dir.display()
        ),
        Err(e) => bail!("cannot write '{}': {}", path.display(), os_reason(&e)),
    }
}

/// Writes `bytes` to `path` atomically. Refuses to replace any of `protected` (the command's inputs).
pub fn write_atomic(path: &Path, bytes: &[u8], protected: &[&Path]) -> Result<()> {
    write_atomic_with(path, protected, |tmp| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(tmp)?;
        f.write_all(bytes)
    })
}

/// [`write_atomic`] for a writer that needs a path (an image encoder): `fill` writes the whole file to
/// the temporary path it is given (created empty beforehand), which is renamed over `path` only once
/// `fill` succeeded. An I/O error from `fill` is reported as a failure to write `path`.
pub fn write_atomic_with(
    path: &Path,
    protected: &[&Path],
    fill: impl FnOnce(&Path) -> std::io::Result<()>,
) -> Result<()> {
    check_writable(path, protected)?;
    let name = path
        .file_name()
        .with_context(|| format!("'{}' is not a file path", path.display()))?;
    // Same extension as `path`: an encoder may choose the format by it.
    let ext = path
        .extension()
        .map_or_else(String::new, |e| format!(".{}", e.to_string_lossy()));
    let mut tmp = PathBuf::from(parent_dir(path));
    tmp.push(format!(
        ".{}.tmp{}{ext}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| -> std::io::Result<()> {
        fs::File::create(&tmp)?;
        fill(&tmp)?;
        fs::OpenOptions::new().write(true).open(&tmp)?.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        bail!("cannot write '{}': {}", path.display(), os_reason(&e));
    }
    Ok(())
}

/// The directory `path` is created in (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// An I/O error as a user reads it: "permission denied", without Rust's "(os error 13)".
pub fn os_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    let s = match s.find(" (os error") {
        Some(i) => s[..i].to_owned(),
        None => s,
    };
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_lowercase().chain(c).collect(),
        None => s,
    }
}

/// `path` made absolute with symbolic links resolved, also for a file that does not exist yet (its
/// directory resolved, its name kept).
fn resolved(path: &Path) -> Option<PathBuf> {
    if let Ok(p) = fs::canonicalize(path) {
        return Some(p);
    }
    let name = path.file_name()?;
    fs::canonicalize(parent_dir(path))
        .ok()
        .map(|d| d.join(name))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
