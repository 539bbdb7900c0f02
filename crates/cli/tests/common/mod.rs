//! What the `rill` binary's end-to-end tests share: temporary directories, running the binary and
//! judging its exit.
#![allow(dead_code)] // each test file uses its own subset

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

pub fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models")
}

/// A fresh directory under the system temp dir, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("rill-cli-test-{}-{n}-{tag}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Runs `rill` with `args`; returns its exit status, stdout and stderr.
pub fn rill<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_rill"))
        .args(args)
        .output()
        .expect("spawn the rill binary")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts success and returns stdout.
pub fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Asserts a clean failure (exit status 1, an `error:` line, no panic) and returns stderr.
pub fn fails(out: &Output, what: &str) -> String {
    let stderr = text(&out.stderr);
    assert!(
        !out.status.success(),
        "{what} should have failed:\nstdout: {}\nstderr: {stderr}",
        text(&out.stdout)
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{what}: exit status {}",
        out.status
    );
    assert!(!stderr.contains("panicked"), "{what} panicked: {stderr}");
    assert!(
        stderr.contains("error:"),
        "{what}: no error message: {stderr}"
    );
    stderr
}

/// `rill verify <model> --onnx <onnx> --data <data> <extra...>`.
pub fn verify_io(model: &Path, onnx: &Path, data: &Path, extra: &[&OsStr]) -> Output {
    let mut args = vec![
        OsStr::new("verify"),
        model.as_os_str(),
        OsStr::new("--onnx"),
        onnx.as_os_str(),
        OsStr::new("--data"),
        data.as_os_str(),
    ];
    args.extend(extra);
    rill(args)
}

/// An NPY v1.0 file: `descr` like "<f4", `shape` like [1, 49, 6], `payload` little-endian elements.
pub fn write_npy(path: &Path, descr: &str, shape: &[usize], payload: &[u8]) {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}").into_bytes();
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(payload);
    fs::write(path, out).unwrap();
}

pub fn write_f32(path: &Path, shape: &[usize], v: &[f32]) {
    assert_eq!(shape.iter().product::<usize>(), v.len());
    let payload: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    write_npy(path, "<f4", shape, &payload);
}

pub fn demo_wav() -> PathBuf {
    models().join("kws_dscnn/demo.wav")
}

/// A WAV file with the given header fields and `data` bytes.
pub fn wav(format: u16, channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
    let block = channels * bits / 8;
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&format.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * block as u32).to_le_bytes());
    b.extend_from_slice(&block.to_le_bytes());
    b.extend_from_slice(&bits.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&(data.len() as u32).to_le_bytes());
    b.extend_from_slice(data);
    b
}

pub fn frontend_json() -> PathBuf {
    models().join("kws_dscnn/frontend.json")
}

/// Converts `models/<name>` with the KWS front end and its labels.
pub fn convert_kws(dir: &TempDir, name: &str, precision: &str) -> PathBuf {
    let m = models().join(name);
    convert_model(
        dir,
        name,
        precision,
        &[
            "--frontend".into(),
            frontend_json(),
            "--labels".into(),
            m.join("classes.json"),
        ],
    )
}

/// Converts `models/<name>` to `<name>.<precision>.rill` in `dir`, calibrated on its calib.npy
/// unless f32, with `extra` arguments.
pub fn convert_model(dir: &TempDir, name: &str, precision: &str, extra: &[PathBuf]) -> PathBuf {
    let m = models().join(name);
    let out = dir.path(&format!("{name}.{precision}.rill"));
    let mut args: Vec<PathBuf> = vec![
        "convert".into(),
        m.join("model.onnx"),
        "-o".into(),
        out.clone(),
        "--precision".into(),
        precision.into(),
    ];
    args.extend_from_slice(extra);
    if precision != "f32" {
        args.push("--calibration".into());
        args.push(m.join("calib.npy"));
    }
    ok(&rill(&args), "convert");
    out
}
