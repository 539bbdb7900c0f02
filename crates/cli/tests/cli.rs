//! The `rill` binary end to end: convert, inspect and run on the shipped models, and every way a user
//! can get it wrong. Outputs are checked against onnxruntime's reference files shipped with the
//! models, read by a small NPY parser written here (independent of the crate that writes them).
mod common;

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{convert_model, fails, models, ok, rill, verify_io, write_f32, write_npy, TempDir};

fn lstm(file: &str) -> PathBuf {
    models().join("lstm_classifier").join(file)
}

fn char_rnn(file: &str) -> PathBuf {
    models().join("char_rnn").join(file)
}

/// Converts `onnx` to `out`, asserting success.
fn convert(onnx: &Path, out: &Path) {
    let o = rill([
        OsStr::new("convert"),
        onnx.as_os_str(),
        OsStr::new("-o"),
        out.as_os_str(),
    ]);
    ok(&o, &format!("convert {}", onnx.display()));
}

// ---- NPY, by hand (format v1/v2/v3, little-endian, C order) ----

#[derive(Debug, PartialEq)]
struct Npy {
    descr: String,
    shape: Vec<usize>,
    data: Vec<u8>,
}

fn header_value<'a>(header: &'a str, key: &str) -> &'a str {
    let k = format!("'{key}':");
    let at = header
        .find(&k)
        .unwrap_or_else(|| panic!("npy header lacks {key}: {header}"));
    header[at + k.len()..].trim_start()
}

fn parse_npy(bytes: &[u8]) -> Npy {
    assert!(bytes.len() >= 10, "npy too short");
    assert_eq!(&bytes[..6], b"\x93NUMPY", "npy magic");
    let (hlen, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => panic!("npy version {v}"),
    };
    let header = std::str::from_utf8(&bytes[start..start + hlen]).expect("npy header is text");
    let descr = header_value(header, "descr");
    let descr = descr[1..].split('\'').next().unwrap().to_owned();
    assert!(
        header_value(header, "fortran_order").starts_with("False"),
        "C order expected: {header}"
    );
    let shape = header_value(header, "shape");
    let shape = &shape[1..shape.find(')').unwrap()];
    let shape: Vec<usize> = shape
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    Npy {
        descr,
        shape,
        data: bytes[start + hlen..].to_vec(),
    }
}

fn read_f32(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let npy = parse_npy(&fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())));
    assert_eq!(npy.descr, "<f4", "{}", path.display());
    let n: usize = npy.shape.iter().product();
    assert_eq!(npy.data.len(), n * 4, "{}: payload size", path.display());
    let v = npy
        .data
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    (npy.shape, v)
}

/// Every element within `1e-4 * |want| + 1e-5` (the CLI's default --compare tolerance).
fn assert_matches(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: element count");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-4 * w.abs() + 1e-5,
            "{what}: element {i}: got {g}, reference {w}"
        );
    }
}

// ---- the happy path ----

#[test]
fn convert_inspect_run_matches_the_onnxruntime_reference() {
    let dir = TempDir::new("pipeline");
    let model = dir.path("m.rill");
    let out = rill([
        OsStr::new("convert"),
        lstm("model.onnx").as_os_str(),
        OsStr::new("-o"),
        model.as_os_str(),
    ]);
    let stdout = ok(&out, "convert");
    assert!(stdout.contains("arena bytes"), "{stdout}");
    assert_eq!(&fs::read(&model).unwrap()[..4], b"RILL");

    let stdout = ok(&rill([OsStr::new("inspect"), model.as_os_str()]), "inspect");
    // Shapes from the model's README: input x [1, 50, 6], output linear [1, 4].
    assert!(stdout.contains("input  x: f32 [1,50,6]"), "{stdout}");
    assert!(stdout.contains("output linear: f32 [1,4]"), "{stdout}");
    assert!(stdout.contains("LSTM"), "{stdout}");

    let y = dir.path("y.npy");
    let out = rill([
        OsStr::new("run"),
        model.as_os_str(),
        OsStr::new("--input"),
        lstm("input.npy").as_os_str(),
        OsStr::new("--output"),
        y.as_os_str(),
        OsStr::new("--compare"),
        lstm("reference_output.npy").as_os_str(),
    ]);
    let stdout = ok(&out, "run --compare");
    assert!(stdout.contains("max |diff|"), "{stdout}");
    let (shape, got) = read_f32(&y);
    let (ref_shape, want) = read_f32(&lstm("reference_output.npy"));
    assert_eq!(shape, vec![1, 4]);
    assert_eq!(shape, ref_shape);
    assert_matches(&got, &want, "lstm_classifier output");
}

#[test]
fn compare_fails_when_the_reference_disagrees() {
    let dir = TempDir::new("compare");
    let model = dir.path("m.rill");
    convert(&lstm("model.onnx"), &model);
    let (shape, want) = read_f32(&lstm("reference_output.npy"));
    let off: Vec<f32> = want.iter().map(|w| w + 0.5).collect();
    let bad_ref = dir.path("bad_ref.npy");
    write_f32(&bad_ref, &shape, &off);
    let out = rill([
        OsStr::new("run"),
        model.as_os_str(),
        OsStr::new("-i"),
        lstm("input.npy").as_os_str(),
        OsStr::new("-o"),
        dir.path("y.npy").as_os_str(),
        OsStr::new("--compare"),
        bad_ref.as_os_str(),
    ]);
    let stderr = fails(&out, "run --compare with a reference off by 0.5");
    assert!(stderr.contains("4 elements differ"), "{stderr}");
}

#[test]
fn json_reports_are_valid_json_with_the_arena_size() {
    let dir = TempDir::new("json");
    let model = dir.path("m.rill");
    let out = rill([
        OsStr::new("convert"),
        lstm("model.onnx").as_os_str(),
        OsStr::new("-o"),
        model.as_os_str(),
        OsStr::new("--json"),
    ]);
    let stdout = ok(&out, "convert --json");
    let conv: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("convert --json is not JSON ({e}): {stdout}"));
    let arena = conv["summary"]["arena_bytes"]
        .as_u64()
        .unwrap_or_else(|| panic!("no summary.arena_bytes: {conv}"));

    // The arena size the file itself records, read with the runtime.
    let bytes = rill_format::writer::AlignedBytes::from_slice(&fs::read(&model).unwrap());
    let file_arena = rill_runtime::Model::from_bytes(bytes.as_slice())
        .unwrap()
        .arena_bytes() as u64;
    assert!(file_arena > 0);
    assert_eq!(arena, file_arena);
    assert_eq!(
        conv["summary"]["file_bytes"].as_u64(),
        Some(bytes.as_slice().len() as u64)
    );

    let stdout = ok(
        &rill([
            OsStr::new("inspect"),
            model.as_os_str(),
            OsStr::new("--json"),
        ]),
        "inspect --json",
    );
    let insp: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("inspect --json is not JSON ({e}): {stdout}"));
    assert_eq!(insp["arena_bytes"].as_u64(), Some(file_arena), "{insp}");
    assert_eq!(insp["inputs"][0]["name"], "x");
    assert_eq!(insp["inputs"][0]["shape"], serde_json::json!([1, 50, 6]));
    assert_eq!(insp["outputs"][0]["shape"], serde_json::json!([1, 4]));
}

// ---- convert: what it refuses ----

#[test]
fn convert_refuses_to_overwrite_a_file_that_is_not_rill() {
    let dir = TempDir::new("overwrite");
    // A text file, and one named .rill whose contents are not: the check is on contents.
    for name in ["notes.txt", "fake.rill"] {
        let target = dir.path(name);
        let precious = b"precious user data\n".to_vec();
        fs::write(&target, &precious).unwrap();
        let out = rill([
            OsStr::new("convert"),
            lstm("model.onnx").as_os_str(),
            OsStr::new("-o"),
            target.as_os_str(),
        ]);
        let stderr = fails(&out, &format!("convert over {name}"));
        assert!(
            stderr.contains(&target.display().to_string()),
            "stderr must name {}: {stderr}",
            target.display()
        );
        assert!(stderr.contains("--force"), "{stderr}");
        assert_eq!(fs::read(&target).unwrap(), precious, "{name} was modified");
    }

    // --force replaces it.
    let target = dir.path("notes.txt");
    let out = rill([
        OsStr::new("convert"),
        lstm("model.onnx").as_os_str(),
        OsStr::new("-o"),
        target.as_os_str(),
        OsStr::new("--force"),
    ]);
    ok(&out, "convert --force");
    assert_eq!(&fs::read(&target).unwrap()[..4], b"RILL");
}

#[test]
fn convert_replaces_outputs_by_the_rule_run_and_codegen_use() {
    let dir = TempDir::new("replace-rule");
    let convert_to = |target: &Path| {
        rill([
            OsStr::new("convert"),
            lstm("model.onnx").as_os_str(),
            OsStr::new("-o"),
            target.as_os_str(),
        ])
    };
    // An empty file holds nothing to lose: run and codegen replace it, so convert does too.
    let empty = dir.path("empty.bin");
    fs::write(&empty, b"").unwrap();
    ok(&convert_to(&empty), "convert over an empty file");
    assert_eq!(&fs::read(&empty).unwrap()[..4], b"RILL");
    // A directory is named as one (not as "not a .rill file"), before any work.
    let sub = dir.path("sub");
    fs::create_dir(&sub).unwrap();
    let stderr = fails(&convert_to(&sub), "convert -o a directory");
    assert!(
        stderr.contains(&format!(
            "cannot write '{}': it is a directory",
            sub.display()
        )),
        "{stderr}"
    );
    // A foreign file: the shared message, naming the file and --force.
    let notes = dir.path("notes.txt");
    fs::write(&notes, b"keep me\n").unwrap();
    let stderr = fails(&convert_to(&notes), "convert over notes.txt");
    assert!(
        stderr.contains(&format!(
            "'{}' exists and is not a .rill file; refusing to overwrite it (pass --force to replace it)",
            notes.display()
        )),
        "{stderr}"
    );
    assert_eq!(fs::read(&notes).unwrap(), b"keep me\n");
}

#[test]
fn convert_overwrites_an_existing_rill_file() {
    let dir = TempDir::new("rerun");
    let target = dir.path("m.rill");
    // First char_rnn, then lstm_classifier over it.
    convert(&char_rnn("model.onnx"), &target);
    let before = fs::read(&target).unwrap();
    convert(&lstm("model.onnx"), &target);
    let after = fs::read(&target).unwrap();
    assert_ne!(before, after);
    let stdout = ok(
        &rill([OsStr::new("inspect"), target.as_os_str()]),
        "inspect",
    );
    assert!(stdout.contains("input  x: f32 [1,50,6]"), "{stdout}");
    // No temporary file is left beside it.
    let names: Vec<_> = fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![OsStr::new("m.rill").to_owned()]);
}

#[test]
fn convert_of_a_missing_file_names_it_and_writes_nothing() {
    let dir = TempDir::new("missing");
    let missing = dir.path("no_such_model.onnx");
    let target = dir.path("out.rill");
    let out = rill([
        OsStr::new("convert"),
        missing.as_os_str(),
        OsStr::new("-o"),
        target.as_os_str(),
    ]);
    let stderr = fails(&out, "convert of a missing file");
    assert!(
        stderr.contains(&missing.display().to_string()),
        "stderr must name the missing path: {stderr}"
    );
    assert!(!target.exists(), "an output was created");
    assert_eq!(fs::read_dir(&dir.0).unwrap().count(), 0);
}

#[test]
fn convert_of_a_file_that_is_not_onnx_says_so_and_writes_nothing() {
    let dir = TempDir::new("notonnx");
    let bogus = dir.path("bogus.onnx");
    fs::write(&bogus, b"this is not a protobuf").unwrap();
    let target = dir.path("out.rill");
    let out = rill([
        OsStr::new("convert"),
        bogus.as_os_str(),
        OsStr::new("-o"),
        target.as_os_str(),
    ]);
    let stderr = fails(&out, "convert of a text file");
    assert!(stderr.contains(&bogus.display().to_string()), "{stderr}");
    assert!(stderr.contains("not a valid ONNX model"), "{stderr}");
    assert!(!target.exists(), "an output was created");
}

#[test]
fn fixed_point_without_calibration_is_refused_by_name() {
    let dir = TempDir::new("precision");
    let target = dir.path("out.rill");
    for p in ["int8", "int16", "auto"] {
        let out = rill([
            OsStr::new("convert"),
            lstm("model.onnx").as_os_str(),
            OsStr::new("-o"),
            target.as_os_str(),
            OsStr::new("--precision"),
            OsStr::new(p),
        ]);
        let stderr = fails(&out, &format!("--precision {p}"));
        // The flag as the user typed it, so the message can be pasted back.
        assert!(
            stderr.contains(&format!("--precision {p} needs calibration data")),
            "{stderr}"
        );
        assert!(!target.exists(), "--precision {p} created an output");
    }
}

#[test]
fn int8_input_is_refused_outside_int8_and_named_in_the_report() {
    let dir = TempDir::new("int8-input");
    let target = dir.path("out.rill");
    let onnx = airline("model.onnx");
    let calib = airline("calib.npy");
    for p in ["f32", "int16"] {
        let mut args = vec![
            OsStr::new("convert"),
            onnx.as_os_str(),
            OsStr::new("-o"),
            target.as_os_str(),
            OsStr::new("--precision"),
            OsStr::new(p),
            OsStr::new("--int8-input"),
        ];
        if p != "f32" {
            args.extend([OsStr::new("--calibration"), calib.as_os_str()]);
        }
        let stderr = fails(&rill(args), &format!("--int8-input with --precision {p}"));
        assert!(
            stderr.contains("--int8-input applies to --precision int8 or auto only"),
            "{stderr}"
        );
        assert!(
            !target.exists(),
            "--precision {p} --int8-input created an output"
        );
    }
    // airline_lstm scales its raw passenger counts before the LSTM: the report names those nodes.
    for (flag, wide) in [(None, true), (Some("--int8-input"), false)] {
        let mut args = vec![
            OsStr::new("convert"),
            onnx.as_os_str(),
            OsStr::new("-o"),
            target.as_os_str(),
            OsStr::new("--force"),
            OsStr::new("--precision"),
            OsStr::new("int8"),
            OsStr::new("--calibration"),
            calib.as_os_str(),
            OsStr::new("--json"),
        ];
        args.extend(flag.map(OsStr::new));
        let out = rill(args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let nodes = v["int16_input_normalisation"].as_array().unwrap();
        assert_eq!(!nodes.is_empty(), wide, "{flag:?}: {nodes:?}");
        let input = &v["summary"]["inputs"][0]["dtype"];
        assert_eq!(input, if wide { "i16" } else { "i8" }, "{flag:?}");
    }
}

/// `rill convert` with `extra` after `lstm_classifier/model.onnx -o target`.
fn convert_with(target: &Path, extra: &[&OsStr]) -> std::process::Output {
    let onnx = lstm("model.onnx");
    let mut args = vec![
        OsStr::new("convert"),
        onnx.as_os_str(),
        OsStr::new("-o"),
        target.as_os_str(),
    ];
    args.extend_from_slice(extra);
    rill(args)
}

#[test]
fn convert_refuses_flags_that_do_not_apply_naming_the_flag_and_what_it_needs() {
    let dir = TempDir::new("flags");
    let target = dir.path("out.rill");
    let calib = lstm("calib.npy");
    let c = calib.as_os_str();
    let s = OsStr::new;
    let cases: Vec<(Vec<&OsStr>, &str)> = vec![
        (
            vec![s("--max-error"), s("0.05")],
            "--max-error applies to --precision auto only",
        ),
        (
            vec![
                s("--precision"),
                s("int8"),
                s("--calibration"),
                c,
                s("--max-error"),
                s("0.05"),
            ],
            "--max-error applies to --precision auto only",
        ),
        (
            vec![s("--weight-bits"), s("8")],
            "--weight-bits applies to --precision int16 or auto only",
        ),
        (
            vec![
                s("--precision"),
                s("int8"),
                s("--calibration"),
                c,
                s("--weight-bits"),
                s("16"),
            ],
            "--weight-bits applies to --precision int16 or auto only",
        ),
        (
            vec![s("--calibration-method"), s("mse")],
            "--calibration-method applies to calibrated conversions only",
        ),
        (
            vec![
                s("--precision"),
                s("int16"),
                s("--calibration-method"),
                s("minmax"),
            ],
            "--calibration-method applies to calibrated conversions only",
        ),
        (
            vec![s("--percentile"), s("99.9")],
            "--percentile applies to --calibration-method percentile only",
        ),
        (
            vec![
                s("--precision"),
                s("int8"),
                s("--calibration"),
                c,
                s("--calibration-method"),
                s("mse"),
                s("--percentile"),
                s("99.9"),
            ],
            "--percentile applies to --calibration-method percentile only",
        ),
        (
            vec![s("--bias-correction")],
            "--bias-correction applies to calibrated conversions only",
        ),
        (
            vec![
                s("--precision"),
                s("int16"),
                s("--calibration"),
                c,
                s("--f16-weights"),
            ],
            "--f16-weights applies to --precision f32 or auto only",
        ),
        (
            vec![s("--calibration"), c],
            "--calibration applies to --precision int8, int16 or auto only",
        ),
    ];
    for (extra, want) in &cases {
        let what = format!("convert {extra:?}");
        let stderr = fails(&convert_with(&target, extra), &what);
        assert!(stderr.contains(want), "{what}: {stderr}");
        assert!(!target.exists(), "{what} wrote an output");
    }
    // Every flag that does not apply is named at once.
    let stderr = fails(
        &convert_with(
            &target,
            &[s("--max-error"), s("0.05"), s("--weight-bits"), s("8")],
        ),
        "two flags for f32",
    );
    assert!(
        stderr.contains("--max-error applies") && stderr.contains("--weight-bits applies"),
        "{stderr}"
    );
    // The same flags where they apply still convert.
    ok(
        &convert_with(
            &target,
            &[
                s("--precision"),
                s("int16"),
                s("--calibration"),
                c,
                s("--weight-bits"),
                s("8"),
                s("--calibration-method"),
                s("percentile"),
                s("--percentile"),
                s("99.9"),
                s("--bias-correction"),
            ],
        ),
        "int16 with its calibration flags",
    );
    ok(
        &convert_with(
            &target,
            &[
                s("--precision"),
                s("auto"),
                s("--calibration"),
                c,
                s("--max-error"),
                s("0.05"),
            ],
        ),
        "auto --max-error",
    );
}

/// A failure under `--json`: the clean failure `fails` checks, plus stdout holding exactly one JSON
/// object whose `error` is the message stderr shows. Returns that message.
fn fails_json(out: &std::process::Output, what: &str) -> String {
    let stderr = fails(out, what);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{what}: stdout is not one JSON value ({e}): {stdout:?}"));
    let message = v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: no \"error\" string in {v}"));
    assert_eq!(v.as_object().map(|o| o.len()), Some(1), "{what}: {v}");
    assert!(
        stderr.contains(&format!("error: {message}")),
        "{what}: stderr and JSON differ:\n{stderr}\n{message}"
    );
    message.to_owned()
}

#[test]
fn failures_under_json_also_print_an_error_object_on_stdout() {
    let dir = TempDir::new("json-errors");
    let missing = dir.path("absent.rill");
    let s = OsStr::new;

    let e = fails_json(
        &rill([s("inspect"), missing.as_os_str(), s("--json")]),
        "inspect --json",
    );
    assert!(e.contains("absent.rill"), "{e}");
    // Without --json stdout stays empty: the object is only for those who asked for JSON.
    let out = rill([s("inspect"), missing.as_os_str()]);
    fails(&out, "inspect");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let target = dir.path("out.rill");
    let e = fails_json(
        &convert_with(&target, &[s("--json"), s("--max-error"), s("0.05")]),
        "convert --json",
    );
    assert!(
        e.contains("--max-error applies to --precision auto only"),
        "{e}"
    );

    let model = dir.path("m.rill");
    convert(&lstm("model.onnx"), &model);
    let no_data = dir.path("no_data.npy");
    let onnx = lstm("model.onnx");
    let e = fails_json(
        &rill([
            s("verify"),
            model.as_os_str(),
            s("--onnx"),
            onnx.as_os_str(),
            s("--data"),
            no_data.as_os_str(),
            s("--json"),
        ]),
        "verify --json",
    );
    assert!(e.contains("no_data.npy"), "{e}");

    let no_wav = dir.path("no.wav");
    let e = fails_json(
        &rill([
            s("detect"),
            model.as_os_str(),
            no_wav.as_os_str(),
            s("--json"),
        ]),
        "detect --json",
    );
    assert!(e.contains("m.rill") || e.contains("no.wav"), "{e}");

    // A usage error, found before the command runs: clap's exit status, and still the object.
    let out = rill([s("inspect"), s("--json")]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "usage error: stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    let e = v["error"].as_str().unwrap_or_default();
    assert!(e.contains("<MODEL>"), "{v}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("<MODEL>"));
}

fn airline(file: &str) -> PathBuf {
    models().join("airline_lstm").join(file)
}

#[test]
fn verify_of_an_int8_forecaster_reports_rmse_json_and_draws_a_png() {
    let dir = TempDir::new("verify");
    let model = convert_model(&dir, "airline_lstm", "int8", &[]);
    let png = dir.path("trace.png");
    let onnx = airline("model.onnx");
    let (data, labels) = (airline("test.npy"), airline("labels.npy"));
    let out = verify_io(
        &model,
        &onnx,
        &data,
        &[
            OsStr::new("--labels"),
            labels.as_os_str(),
            OsStr::new("--json"),
            OsStr::new("--plot"),
            png.as_os_str(),
        ],
    );
    let report: serde_json::Value = serde_json::from_str(&ok(&out, "verify --json")).unwrap();
    let o = &report["outputs"][0];
    assert_eq!(o["precision"], "i8");
    // RMSE against the true passenger counts: int8 within 5% of the float model's.
    let (q, f) = (
        o["rmse"].as_f64().unwrap(),
        o["float_rmse"].as_f64().unwrap(),
    );
    assert!(
        q > 0.0 && f > 0.0 && q <= 1.05 * f,
        "int8 RMSE {q}, float {f}"
    );
    assert!(!report["layers"].as_array().unwrap().is_empty());
    let bytes = fs::read(&png).expect("the PNG");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert!(
        bytes.len() > 10_000,
        "a {}-byte PNG has no plot in it",
        bytes.len()
    );
    let bad = dir.path("trace.txt");
    let out = verify_io(
        &model,
        &onnx,
        &data,
        &[OsStr::new("--plot"), bad.as_os_str()],
    );
    assert!(fails(&out, "--plot .txt").contains("PNG"));
    assert!(!bad.exists());
}

// ---- run: inputs it refuses, files it protects ----

#[test]
fn run_with_the_wrong_input_shape_names_both_shapes() {
    let dir = TempDir::new("shape");
    let model = dir.path("m.rill");
    convert(&lstm("model.onnx"), &model);
    let input = dir.path("short.npy");
    write_f32(&input, &[1, 49, 6], &vec![0.25; 49 * 6]);
    let y = dir.path("y.npy");
    let out = rill([
        OsStr::new("run"),
        model.as_os_str(),
        OsStr::new("-i"),
        input.as_os_str(),
        OsStr::new("-o"),
        y.as_os_str(),
    ]);
    let stderr = fails(&out, "run with a [1, 49, 6] input");
    assert!(
        stderr.contains("[1, 49, 6]"),
        "given shape missing: {stderr}"
    );
    assert!(
        stderr.contains("[1, 50, 6]"),
        "expected shape missing: {stderr}"
    );
    assert!(!y.exists());
}

#[test]
fn run_refuses_float64_input_by_name() {
    let dir = TempDir::new("f64");
    let model = dir.path("m.rill");
    convert(&lstm("model.onnx"), &model);
    let input = dir.path("x64.npy");
    let payload: Vec<u8> = (0..300)
        .flat_map(|i| (i as f64 * 0.01).to_le_bytes())
        .collect();
    write_npy(&input, "<f8", &[1, 50, 6], &payload);
    let y = dir.path("y.npy");
    let out = rill([
        OsStr::new("run"),
        model.as_os_str(),
        OsStr::new("-i"),
        input.as_os_str(),
        OsStr::new("-o"),
        y.as_os_str(),
    ]);
    let stderr = fails(&out, "run with float64 input");
    assert!(stderr.contains("float64"), "{stderr}");
    assert!(stderr.contains("x64.npy"), "{stderr}");
    assert!(!y.exists());
}

#[test]
fn run_never_writes_over_its_own_inputs() {
    let dir = TempDir::new("protect");
    let model = dir.path("m.rill");
    convert(&lstm("model.onnx"), &model);
    let input = dir.path("x.npy");
    fs::copy(lstm("input.npy"), &input).unwrap();
    let input_bytes = fs::read(&input).unwrap();

    // --output is the --input file.
    let out = rill([
        OsStr::new("run"),
        model.as_os_str(),
        OsStr::new("-i"),
        input.as_os_str(),
        OsStr::new("-o"),
        input.as_os_str(),
    ]);
    let stderr = fails(&out, "run -o <input>");
    assert!(stderr.contains("refusing"), "{stderr}");
    assert!(stderr.contains("x.npy"), "{stderr}");
    assert_eq!(
        fs::read(&input).unwrap(),
        input_bytes,
        "the input was overwritten"
    );

    // --output is the same file through another spelling of its path.
    let other_spelling = dir.0.join(".").join("x.npy");
    let out = rill([
        OsStr::new("run"),
        model.as_os_str(),
        OsStr::new("-i"),
        input.as_os_str(),
        OsStr::new("-o"),
        other_spelling.as_os_str(),
    ]);
    fails(&out, "run -o ./<input>");
    assert_eq!(
        fs::read(&input).unwrap(),
        input_bytes,
        "the input was overwritten"
    );

    // --output is the --compare reference: overwriting it would also make the comparison pass
    // trivially. The reference here is deliberately wrong (the batch reference, 128 elements).
    let reference = dir.path("ref.npy");
    fs::copy(lstm("test_reference.npy"), &reference).unwrap();
    let ref_bytes = fs::read(&reference).unwrap();
    let out = rill([
        OsStr::new("run"),
        model.as_os_str(),
        OsStr::new("-i"),
        input.as_os_str(),
        OsStr::new("-o"),
        reference.as_os_str(),
        OsStr::new("--compare"),
        reference.as_os_str(),
    ]);
    let stderr = fails(&out, "run -o <reference> --compare <reference>");
    assert!(stderr.contains("refusing"), "{stderr}");
    assert_eq!(
        fs::read(&reference).unwrap(),
        ref_bytes,
        "the reference was overwritten"
    );

    // --output is the model.
    let model_bytes = fs::read(&model).unwrap();
    let out = rill([
        OsStr::new("run"),
        model.as_os_str(),
        OsStr::new("-i"),
        input.as_os_str(),
        OsStr::new("-o"),
        model.as_os_str(),
    ]);
    fails(&out, "run -o <model>");
    assert_eq!(
        fs::read(&model).unwrap(),
        model_bytes,
        "the model was overwritten"
    );
}

#[test]
fn run_on_a_batch_stacks_every_sample_and_matches_the_reference() {
    let dir = TempDir::new("batch");
    let model = dir.path("m.rill");
    convert(&lstm("model.onnx"), &model);
    let y = dir.path("y.npy");
    let out = rill([
        OsStr::new("run"),
        model.as_os_str(),
        OsStr::new("-i"),
        lstm("test.npy").as_os_str(),
        OsStr::new("-o"),
        y.as_os_str(),
    ]);
    ok(&out, "run on test.npy");
    let (shape, got) = read_f32(&y);
    let (ref_shape, want) = read_f32(&lstm("test_reference.npy"));
    assert_eq!(
        ref_shape,
        vec![256, 1, 4],
        "README: test_reference is [256, 1, 4]"
    );
    assert_eq!(shape, ref_shape);
    assert_matches(&got, &want, "lstm_classifier batch");
    // Not 256 copies of one sample.
    assert_ne!(got[..4], got[4..8]);
}

#[test]
fn char_rnn_takes_int64_token_ids_single_and_batched() {
    let dir = TempDir::new("charrnn");
    let model = dir.path("c.rill");
    convert(&char_rnn("model.onnx"), &model);

    let y = dir.path("y.npy");
    let out = rill([
        OsStr::new("run"),
        model.as_os_str(),
        OsStr::new("-i"),
        char_rnn("input.npy").as_os_str(),
        OsStr::new("-o"),
        y.as_os_str(),
        OsStr::new("--compare"),
        char_rnn("reference_output.npy").as_os_str(),
    ]);
    ok(&out, "char_rnn run --compare");
    let (shape, got) = read_f32(&y);
    let (_, want) = read_f32(&char_rnn("reference_output.npy"));
    assert_eq!(shape, vec![1, 32, 65]);
    assert_matches(&got, &want, "char_rnn output");

    let yb = dir.path("yb.npy");
    ok(
        &rill([
            OsStr::new("run"),
            model.as_os_str(),
            OsStr::new("-i"),
            char_rnn("test.npy").as_os_str(),
            OsStr::new("-o"),
            yb.as_os_str(),
        ]),
        "char_rnn batch",
    );
    let (shape, got) = read_f32(&yb);
    let (ref_shape, want) = read_f32(&char_rnn("test_reference.npy"));
    assert_eq!(ref_shape, vec![64, 1, 32, 65]);
    assert_eq!(shape, ref_shape);
    assert_matches(&got, &want, "char_rnn batch");

    // Float data for an id input is refused, not cast.
    let floats = dir.path("floats.npy");
    write_f32(&floats, &[1, 32], &[1.0; 32]);
    let out = rill([
        OsStr::new("run"),
        model.as_os_str(),
        OsStr::new("-i"),
        floats.as_os_str(),
        OsStr::new("-o"),
        dir.path("z.npy").as_os_str(),
    ]);
    let stderr = fails(&out, "char_rnn with float ids");
    assert!(stderr.contains("integer ids"), "{stderr}");
}

// ---- broken model files ----

#[test]
fn inspect_and_run_of_a_truncated_file_say_it_is_truncated() {
    let dir = TempDir::new("trunc");
    let model = dir.path("m.rill");
    convert(&lstm("model.onnx"), &model);
    let full = fs::read(&model).unwrap();
    for len in [0, 10, 31, 32, 100, full.len() / 2, full.len() - 1] {
        let cut = dir.path(&format!("cut{len}.rill"));
        fs::write(&cut, &full[..len]).unwrap();
        let stderr = fails(
            &rill([OsStr::new("inspect"), cut.as_os_str()]),
            &format!("inspect of the first {len} bytes"),
        );
        assert!(stderr.contains("truncated"), "{len} bytes: {stderr}");
        assert!(
            stderr.contains(&format!("got {len}")),
            "{len} bytes: {stderr}"
        );
        assert!(stderr.contains(&format!("cut{len}.rill")), "{stderr}");

        let stderr = fails(
            &rill([
                OsStr::new("run"),
                cut.as_os_str(),
                OsStr::new("-i"),
                lstm("input.npy").as_os_str(),
                OsStr::new("-o"),
                dir.path("y.npy").as_os_str(),
            ]),
            &format!("run of the first {len} bytes"),
        );
        assert!(stderr.contains("truncated"), "{len} bytes: {stderr}");
    }
    assert!(!dir.path("y.npy").exists());
}

#[test]
fn inspect_of_a_corrupt_or_foreign_file_names_the_problem() {
    let dir = TempDir::new("corrupt");
    let model = dir.path("m.rill");
    convert(&lstm("model.onnx"), &model);
    let mut bytes = fs::read(&model).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    let flipped = dir.path("flipped.rill");
    fs::write(&flipped, &bytes).unwrap();
    let stderr = fails(
        &rill([OsStr::new("inspect"), flipped.as_os_str()]),
        "inspect",
    );
    assert!(stderr.contains("checksum mismatch"), "{stderr}");

    let stderr = fails(
        &rill([OsStr::new("inspect"), lstm("model.onnx").as_os_str()]),
        "inspect of an ONNX file",
    );
    assert!(stderr.contains("not a .rill file"), "{stderr}");

    let missing = dir.path("absent.rill");
    let stderr = fails(
        &rill([OsStr::new("inspect"), missing.as_os_str()]),
        "inspect",
    );
    assert!(stderr.contains("absent.rill"), "{stderr}");
}

#[test]
fn npy_helpers_read_what_they_write() {
    // The hand-written parser and writer above are the tests' reference: check them on a known file.
    let dir = TempDir::new("npy");
    let p = dir.path("t.npy");
    write_f32(&p, &[2, 3], &[1.0, -2.0, 3.5, 0.0, 5.0, 6.25]);
    assert_eq!(
        read_f32(&p),
        (vec![2, 3], vec![1.0, -2.0, 3.5, 0.0, 5.0, 6.25])
    );
    // And agree with the shipped reference files' stated shapes (README: [1, 4]).
    assert_eq!(read_f32(&lstm("reference_output.npy")).0, vec![1, 4]);
}

fn motion(file: &str) -> PathBuf {
    models().join("motion_lstm").join(file)
}

#[test]
fn verify_reports_agreement_and_accuracy_against_the_onnx_model() {
    let dir = TempDir::new("verify");
    let m = dir.path("m.rill");
    convert(&motion("model.onnx"), &m);
    let labels = motion("labels.npy");
    let verify = |json: &[&OsStr]| {
        let mut extra = vec![OsStr::new("--labels"), labels.as_os_str()];
        extra.extend(json);
        verify_io(&m, &motion("model.onnx"), &motion("test.npy"), &extra)
    };
    let out = ok(&verify(&[]), "verify");
    assert!(
        out.contains("SQNR") && out.contains("top-1 agreement 100.00%"),
        "{out}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&ok(&verify(&[OsStr::new("--json")]), "verify --json")).unwrap();
    let o = &v["outputs"][0];
    // The float path against tract: far below anything quantization would cost.
    assert!(o["vs_onnx"]["sqnr_db"].as_f64().unwrap() > 80.0, "{o}");
    assert_eq!(o["vs_onnx"]["top1_agreement"].as_f64(), Some(1.0));
    let (acc, onnx_acc) = (
        o["accuracy"].as_f64().unwrap(),
        o["onnx_accuracy"].as_f64().unwrap(),
    );
    assert_eq!(acc, onnx_acc);
    assert_eq!(v["samples"].as_u64(), Some(40));
}

/// A 65-way int8 next-character model: near ties of the float scores become equal int8 codes;
/// verify says how often, in text and JSON. The float path against tract never ties.
#[test]
fn verify_reports_ties_of_the_int8_output_codes() {
    let dir = TempDir::new("verify-ties");
    let m = convert_model(&dir, "char_rnn", "int8", &[]);
    let verify = |extra: &[&OsStr]| {
        verify_io(
            &m,
            &char_rnn("model.onnx"),
            &char_rnn("test.npy"),
            &[&[OsStr::new("--layer-samples"), OsStr::new("0")], extra].concat(),
        )
    };
    let out = ok(&verify(&[]), "verify");
    assert!(out.contains("top-1 ties"), "{out}");
    let v: serde_json::Value =
        serde_json::from_str(&ok(&verify(&[OsStr::new("--json")]), "verify --json")).unwrap();
    let o = &v["outputs"][0];
    let (agree, ties) = (
        o["vs_float"]["top1_agreement"].as_f64().unwrap(),
        o["vs_float"]["top1_ties"].as_f64().unwrap(),
    );
    assert!(ties > 0.0 && agree < 1.0, "{o}");
    assert_eq!(o["float_vs_onnx"]["top1_ties"].as_f64(), Some(0.0), "{o}");
}

#[test]
fn verify_names_mismatched_labels_and_models() {
    let dir = TempDir::new("verify-bad");
    let m = dir.path("m.rill");
    convert(&motion("model.onnx"), &m);
    let few = dir.path("few.npy");
    write_npy(&few, "<i8", &[3], &[0u8; 24]);
    let e = fails(
        &verify_io(
            &m,
            &motion("model.onnx"),
            &motion("test.npy"),
            &[OsStr::new("--labels"), few.as_os_str()],
        ),
        "verify with 3 labels",
    );
    assert!(e.contains("3 labels for 40 predictions"), "{e}");
    // The ONNX model of another network: its input shape does not fit the data.
    let e = fails(
        &verify_io(&m, &lstm("model.onnx"), &motion("test.npy"), &[]),
        "verify against another model",
    );
    assert!(
        e.contains("cannot type") && e.contains("[1, 100, 6]"),
        "{e}"
    );
}

/// Compiles the generated Rust and C with the real compilers and runs them: the arrays must hold the
/// file byte for byte, 16-byte aligned, with the sizes `inspect` reports.
#[test]
fn codegen_emits_rust_and_c_that_compile_and_hold_the_model() {
    let dir = TempDir::new("codegen");
    let m = dir.path("lstm.rill");
    convert(&lstm("model.onnx"), &m);
    let (rs, h) = (dir.path("model.rs"), dir.path("lstm.h"));
    ok(
        &rill([
            OsStr::new("codegen"),
            m.as_os_str(),
            OsStr::new("--rust"),
            rs.as_os_str(),
            OsStr::new("--c"),
            h.as_os_str(),
        ]),
        "codegen",
    );
    let bytes = fs::read(&m).unwrap();
    let inspect: serde_json::Value = serde_json::from_str(&ok(
        &rill([OsStr::new("inspect"), m.as_os_str(), OsStr::new("--json")]),
        "inspect",
    ))
    .unwrap();
    let arena = inspect["arena_bytes"].as_u64().unwrap();
    let state = inspect["state_bytes"].as_u64().unwrap();
    let step_arena = inspect["streaming"]["step_arena_bytes"].as_u64().unwrap();
    assert!(
        state > 0 && step_arena > state && step_arena < arena,
        "{inspect}"
    );
    // Sum of bytes (mod 2^32) as an independent digest of the contents.
    let sum: u32 = bytes.iter().map(|&b| b as u32).fold(0, u32::wrapping_add);

    fs::write(
        dir.path("main.rs"),
        format!(
            "mod model;\nfn main() {{\n  let b = &model::MODEL.0;\n  assert_eq!(b.as_ptr() as usize % 16, 0);\n  \
             assert_eq!(b.len(), {len});\n  assert_eq!(model::ARENA_BYTES, {arena});\n  assert_eq!(model::STATE_BYTES, {state});\n  \
             assert_eq!(model::STEP_ARENA_BYTES, {step_arena});\n  \
             assert_eq!(b.iter().map(|&x| x as u32).fold(0u32, u32::wrapping_add), {sum});\n}}\n",
            len = bytes.len()
        ),
    )
    .unwrap();
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let st = Command::new(rustc)
        .args(["--edition", "2021", "-o"])
        .arg(dir.path("rs_check"))
        .arg(dir.path("main.rs"))
        .status()
        .expect("rustc");
    assert!(st.success(), "generated Rust does not compile");
    assert!(
        Command::new(dir.path("rs_check"))
            .status()
            .unwrap()
            .success(),
        "generated Rust holds other bytes"
    );

    fs::write(
        dir.path("main.c"),
        format!(
            "#include \"lstm.h\"\n#include <stdint.h>\nint main(void) {{\n  uint32_t s = 0;\n  \
             for (unsigned i = 0; i < LSTM_MODEL_BYTES; i++) s += lstm_model[i];\n  \
             return !((uintptr_t)lstm_model % 16 == 0 && LSTM_MODEL_BYTES == {len}u && LSTM_ARENA_BYTES == {arena}u \
             && LSTM_STEP_ARENA_BYTES == {step_arena}u && LSTM_STATE_BYTES == {state}u \
             && s == {sum}u);\n}}\n",
            len = bytes.len()
        ),
    )
    .unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let st = Command::new(cc)
        .args(["-std=c11", "-Wall", "-Werror", "-o"])
        .arg(dir.path("c_check"))
        .arg(dir.path("main.c"))
        .status();
    match st {
        Ok(st) => {
            assert!(st.success(), "generated C does not compile");
            assert!(
                Command::new(dir.path("c_check"))
                    .status()
                    .unwrap()
                    .success(),
                "generated C holds other bytes"
            );
        }
        Err(e) => panic!("no C compiler ({e}); CI provides gcc"),
    }

    // A file codegen did not write is never replaced; its own output is.
    let mine = dir.path("mine.rs");
    fs::write(&mine, "fn user_code() {}\n").unwrap();
    let e = fails(
        &rill([
            OsStr::new("codegen"),
            m.as_os_str(),
            OsStr::new("--rust"),
            mine.as_os_str(),
        ]),
        "codegen over user code",
    );
    assert!(e.contains("--force"), "{e}");
    assert_eq!(fs::read_to_string(&mine).unwrap(), "fn user_code() {}\n");
    ok(
        &rill([
            OsStr::new("codegen"),
            m.as_os_str(),
            OsStr::new("--rust"),
            rs.as_os_str(),
        ]),
        "codegen again",
    );
}

#[test]
fn run_stream_gives_the_answer_after_every_step_and_the_last_is_onnxruntimes() {
    let dir = TempDir::new("stream");
    let model = dir.path("m.rill");
    convert(&lstm("model.onnx"), &model);
    let stdout = ok(&rill([OsStr::new("inspect"), model.as_os_str()]), "inspect");
    assert!(
        stdout.contains("streaming:        yes") && stdout.contains("latency 0 steps"),
        "{stdout}"
    );
    let y = dir.path("y.npy");
    let out = rill([
        OsStr::new("run"),
        model.as_os_str(),
        OsStr::new("--input"),
        lstm("input.npy").as_os_str(),
        OsStr::new("--output"),
        y.as_os_str(),
        OsStr::new("--stream"),
    ]);
    ok(&out, "run --stream");
    let (shape, got) = read_f32(&y);
    // Many-to-one: a new leading axis of 50 steps, each the [1, 4] answer so far.
    assert_eq!(shape, vec![50, 1, 4]);
    let (_, want) = read_f32(&lstm("reference_output.npy"));
    assert_matches(&got[49 * 4..], &want, "answer after the last step");
    assert!(
        got[..4]
            .iter()
            .zip(&want)
            .any(|(a, b)| (a - b).abs() > 1e-3),
        "the first step's answer should not already be the window's"
    );
}

#[test]
fn run_stream_on_a_model_that_cannot_stream_names_the_node_and_writes_nothing() {
    let dir = TempDir::new("nostream");
    let model = dir.path("m.rill");
    convert(&models().join("motion_tcn/model.onnx"), &model);
    let stdout = ok(&rill([OsStr::new("inspect"), model.as_os_str()]), "inspect");
    assert!(
        stdout.contains("streaming:        no: node 'node_mean' reduces over the time axis"),
        "{stdout}"
    );
    let y = dir.path("y.npy");
    let out = rill([
        OsStr::new("run"),
        model.as_os_str(),
        OsStr::new("--input"),
        models().join("motion_tcn/input.npy").as_os_str(),
        OsStr::new("--output"),
        y.as_os_str(),
        OsStr::new("--stream"),
    ]);
    let err = fails(&out, "run --stream on motion_tcn");
    assert!(
        err.contains("node 'node_mean'") && err.contains("cannot stream"),
        "{err}"
    );
    assert!(!y.exists(), "nothing written");
}

#[test]
fn run_stream_on_a_model_without_a_time_axis_names_its_input_and_the_fix() {
    let dir = TempDir::new("notime");
    // ONNX's own conformance case for Relu: y = Relu(x), x [3, 4, 5]. Nothing in it walks an axis,
    // so the converter finds no time axis to stream along.
    let case = models().join("../tests/data/onnx-node/test_relu");
    let model = dir.path("relu.rill");
    convert(&case.join("model.onnx"), &model);
    let y = dir.path("y.npy");
    let out = rill([
        OsStr::new("run"),
        model.as_os_str(),
        OsStr::new("--input"),
        case.join("input_0.npy").as_os_str(),
        OsStr::new("--output"),
        y.as_os_str(),
        OsStr::new("--stream"),
    ]);
    let err = fails(&out, "run --stream on Relu");
    assert!(
        err.contains(&format!(
            "'{}' cannot stream because the converter found no time axis in its input 'x' [3, 4, 5] (convert it again with --time-axis AXIS",
            model.display()
        )),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "one sentence: {err}");
    assert!(!y.exists(), "nothing written");
}

#[test]
fn a_time_axis_the_input_does_not_have_is_refused_and_nothing_is_written() {
    let dir = TempDir::new("timeaxis");
    let model = dir.path("m.rill");
    let out = rill([
        OsStr::new("convert"),
        lstm("model.onnx").as_os_str(),
        OsStr::new("-o"),
        model.as_os_str(),
        OsStr::new("--time-axis"),
        OsStr::new("7"),
    ]);
    let err = fails(&out, "convert --time-axis 7");
    assert!(err.contains("--time-axis 7: input 'x' has 3 axes"), "{err}");
    assert!(!model.exists());
    // A time axis the model does not walk (the features) yields a file that says it cannot stream.
    let out = rill([
        OsStr::new("convert"),
        lstm("model.onnx").as_os_str(),
        OsStr::new("-o"),
        model.as_os_str(),
        OsStr::new("--time-axis"),
        OsStr::new("2"),
    ]);
    let stdout = ok(&out, "convert --time-axis 2");
    assert!(stdout.contains("streaming:        no: node"), "{stdout}");
}

#[test]
fn a_closed_output_pipe_ends_quietly_instead_of_panicking() {
    // `rill inspect m.rill | head -1`: the reader is gone before rill writes.
    let dir = TempDir::new("pipe");
    let model = dir.path("m.rill");
    convert(&lstm("model.onnx"), &model);
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_rill"))
        .args([OsStr::new("inspect"), model.as_os_str()])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn")
        .wait_with_output()
        .expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

/// The runtime features a trimmed firmware build needs, from the ONNX graph: `models/tcn` is Conv,
/// Relu and Add nodes (causal convs, so its step program reads rings through Window ops; a 1x1 conv,
/// faster with the pointwise fast path).
#[test]
fn inspect_and_codegen_list_the_runtime_features_the_model_needs() {
    let dir = TempDir::new("features");
    let m = convert_model(&dir, "tcn", "int8", &[]);
    let out = ok(
        &rill([OsStr::new("inspect"), m.as_os_str(), OsStr::new("--json")]),
        "inspect --json",
    );
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        j["runtime_features"],
        serde_json::json!(["i8", "conv", "activation", "binary", "conv-pointwise"])
    );
    assert_eq!(j["step_runtime_features"], serde_json::json!(["stream"]));
    let text = ok(&rill([OsStr::new("inspect"), m.as_os_str()]), "inspect");
    assert!(
        text.contains(
            "runtime features: i8, conv, activation, binary, conv-pointwise (streaming adds stream)"
        ),
        "{text}"
    );
    let rs = dir.path("model.rs");
    ok(
        &rill([
            OsStr::new("codegen"),
            m.as_os_str(),
            OsStr::new("--rust"),
            rs.as_os_str(),
        ]),
        "codegen",
    );
    let src = fs::read_to_string(&rs).unwrap();
    assert!(
        src.contains(r#"// rill-runtime features: "i8", "conv", "activation", "binary", "conv-pointwise" (streaming: "i8", "conv", "activation", "binary", "stream", "conv-pointwise")"#),
        "{}",
        &src[..src.len().min(600)]
    );
}

/// A recurrent model needs the layer kernel and its cell kind only: `models/kws_gru` has one ONNX
/// GRU node (and a Gemm), no LSTM or vanilla RNN.
#[test]
fn a_gru_model_needs_the_gru_cell_and_no_other() {
    let dir = TempDir::new("features-gru");
    let m = dir.path("kws_gru.rill");
    convert(&models().join("kws_gru").join("model.onnx"), &m);
    let out = ok(
        &rill([OsStr::new("inspect"), m.as_os_str(), OsStr::new("--json")]),
        "inspect --json",
    );
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> = j["runtime_features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for want in ["f32", "dense", "rnn", "gru"] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    for unwanted in ["lstm", "simple-rnn", "i8", "conv"] {
        assert!(!names.contains(&unwanted), "{unwanted} in {names:?}");
    }
}

// ---- outputs: every file a command writes is checked against its inputs and its other outputs ----

/// `rill run` with `args` after the subcommand.
fn run_rill(args: &[&OsStr]) -> std::process::Output {
    let mut v = vec![OsStr::new("run")];
    v.extend(args);
    rill(v)
}

/// `rill run MODEL -i INPUT -o OUTPUT` and the further arguments `rest`.
fn run_io(model: &Path, input: &Path, output: &Path, rest: &[&OsStr]) -> std::process::Output {
    let mut v = vec![
        model.as_os_str(),
        OsStr::new("-i"),
        input.as_os_str(),
        OsStr::new("-o"),
        output.as_os_str(),
    ];
    v.extend(rest);
    run_rill(&v)
}

/// `path` as the CLI quotes it in messages.
fn quoted(path: &Path) -> String {
    format!("'{}'", path.display())
}

#[test]
fn run_on_zero_samples_is_refused_before_anything_is_written() {
    let dir = TempDir::new("zero");
    let f32_model = dir.path("m.rill");
    convert(&lstm("model.onnx"), &f32_model);
    let i8_model = convert_model(&dir, "lstm_classifier", "int8", &[]);
    let z = dir.path("z.npy");
    write_f32(&z, &[0, 1, 50, 6], &[]);
    let (y, prefix) = (dir.path("y.npy"), dir.path("d"));
    for model in [&f32_model, &i8_model] {
        for extra in [&[][..], &[OsStr::new("--stream")][..]] {
            let mut args = vec![
                model.as_os_str(),
                OsStr::new("-i"),
                z.as_os_str(),
                OsStr::new("-o"),
                y.as_os_str(),
                OsStr::new("--dump-raw"),
                prefix.as_os_str(),
            ];
            args.extend(extra);
            let what = format!("run {} on 0 samples {extra:?}", model.display());
            let err = fails(&run_rill(&args), &what);
            assert!(
                err.contains(&format!("{} holds 0 samples: nothing to run", quoted(&z))),
                "{what}: {err}"
            );
            for p in [&y, &dir.path("d.input.bin"), &dir.path("d.output.bin")] {
                assert!(!p.exists(), "{what}: '{}' was written", p.display());
            }
            assert!(!dir.path("d.stream.bin").exists(), "{what}");
        }
    }
}

#[test]
fn dump_raw_never_writes_over_an_input_or_another_output() {
    let dir = TempDir::new("dump");
    let model = dir.path("m.rill");
    convert(&lstm("model.onnx"), &model);
    let x = lstm("input.npy");
    let y = dir.path("y.npy");

    // The input is PREFIX.input.bin.
    let input = dir.path("d.input.bin");
    fs::copy(&x, &input).unwrap();
    let input_bytes = fs::read(&input).unwrap();
    let d = dir.path("d");
    let out = run_io(
        &model,
        &input,
        &y,
        &[OsStr::new("--dump-raw"), d.as_os_str()],
    );
    let err = fails(&out, "--dump-raw over the input");
    assert!(
        err.contains("refusing") && err.contains(&quoted(&input)),
        "{err}"
    );
    assert_eq!(fs::read(&input).unwrap(), input_bytes, "the input changed");
    assert!(!y.exists() && !dir.path("d.output.bin").exists());

    // The model is PREFIX.input.bin.
    let m = dir.path("m.input.bin");
    fs::copy(&model, &m).unwrap();
    let model_bytes = fs::read(&m).unwrap();
    let out = run_io(
        &m,
        &x,
        &y,
        &[OsStr::new("--dump-raw"), dir.path("m").as_os_str()],
    );
    let err = fails(&out, "--dump-raw over the model");
    assert!(
        err.contains("refusing") && err.contains(&quoted(&m)),
        "{err}"
    );
    assert_eq!(fs::read(&m).unwrap(), model_bytes, "the model changed");
    assert!(!y.exists() && !dir.path("m.output.bin").exists());

    // The --compare reference is PREFIX.output.bin.
    let reference = dir.path("c.output.bin");
    fs::copy(lstm("reference_output.npy"), &reference).unwrap();
    let ref_bytes = fs::read(&reference).unwrap();
    let out = run_io(
        &model,
        &x,
        &y,
        &[
            OsStr::new("--compare"),
            reference.as_os_str(),
            OsStr::new("--dump-raw"),
            dir.path("c").as_os_str(),
        ],
    );
    let err = fails(&out, "--dump-raw over the reference");
    assert!(
        err.contains("refusing") && err.contains(&quoted(&reference)),
        "{err}"
    );
    assert_eq!(
        fs::read(&reference).unwrap(),
        ref_bytes,
        "the reference changed"
    );
    assert!(!y.exists() && !dir.path("c.input.bin").exists());

    // -o is PREFIX.input.bin: two outputs, one file. Nothing is written.
    let o = dir.path("p.input.bin");
    let out = run_io(
        &model,
        &x,
        &o,
        &[OsStr::new("--dump-raw"), dir.path("p").as_os_str()],
    );
    let err = fails(&out, "-o PREFIX.input.bin");
    assert!(
        err.contains("are the same file") && err.contains(&quoted(&o)),
        "{err}"
    );
    for f in ["p.input.bin", "p.output.bin", "p.stream.bin"] {
        assert!(!dir.path(f).exists(), "{f} was written");
    }

    // Distinct files: all written, the raw bytes as large as the model's input and output.
    let out = run_io(
        &model,
        &x,
        &y,
        &[OsStr::new("--dump-raw"), dir.path("ok").as_os_str()],
    );
    ok(&out, "--dump-raw");
    assert_eq!(
        fs::read(dir.path("ok.input.bin")).unwrap().len(),
        50 * 6 * 4
    );
    assert_eq!(fs::read(dir.path("ok.output.bin")).unwrap().len(), 4 * 4);
    assert!(dir.path("ok.stream.bin").exists());
    assert!(y.exists());
}

#[test]
fn run_replaces_only_npy_or_npz_files_unless_forced() {
    let dir = TempDir::new("run-force");
    let model = dir.path("m.rill");
    convert(&lstm("model.onnx"), &model);
    let x = lstm("input.npy");
    let run_to = |o: &Path, force: bool| {
        let mut args = vec![
            model.as_os_str(),
            OsStr::new("-i"),
            x.as_os_str(),
            OsStr::new("-o"),
            o.as_os_str(),
        ];
        if force {
            args.push(OsStr::new("--force"));
        }
        run_rill(&args)
    };

    let notes = dir.path("notes.txt");
    fs::write(&notes, "keep me\n").unwrap();
    let other = dir.path("other.rill");
    fs::copy(&model, &other).unwrap();
    let onnx = dir.path("mymodel.onnx");
    fs::copy(lstm("model.onnx"), &onnx).unwrap();
    let text_npz = dir.path("y.npz");
    fs::write(&text_npz, "not an archive").unwrap();
    for p in [&notes, &other, &onnx, &text_npz] {
        let before = fs::read(p).unwrap();
        let err = fails(&run_to(p, false), &format!("run -o {}", p.display()));
        let kind = if p == &text_npz { ".npz" } else { ".npy" };
        assert!(
            err.contains(&format!("{} exists and is not a", quoted(p)))
                && err.contains(kind)
                && err.contains("--force"),
            "{err}"
        );
        assert_eq!(fs::read(p).unwrap(), before, "'{}' changed", p.display());
    }

    // What run wrote before, it replaces: .npy and .npz alike.
    let y = dir.path("y.npy");
    ok(&run_to(&y, false), "run -o y.npy");
    ok(&run_to(&y, false), "run -o y.npy again");
    let z = dir.path("z.npz");
    ok(&run_to(&z, false), "run -o z.npz");
    ok(&run_to(&z, false), "run -o z.npz again");
    // An .npy where an .npz goes is not an .npz.
    let y_bytes = fs::read(&y).unwrap();
    let renamed = dir.path("was-npy.npz");
    fs::write(&renamed, &y_bytes).unwrap();
    fails(&run_to(&renamed, false), "run -o <npy named .npz>");
    assert_eq!(fs::read(&renamed).unwrap(), y_bytes);

    // --force replaces it.
    ok(&run_to(&notes, true), "run -o notes.txt --force");
    assert!(fs::read(&notes).unwrap().starts_with(b"\x93NUMPY"));
}

#[test]
fn run_refuses_nan_and_inf_inputs_by_file_sample_and_element() {
    let dir = TempDir::new("nan");
    let f32_model = dir.path("m.rill");
    convert(&lstm("model.onnx"), &f32_model);
    let i8_model = convert_model(&dir, "lstm_classifier", "int8", &[]);
    let x = dir.path("x.npy");
    let y = dir.path("y.npy");
    for (model, bad, sample, element, shown) in [
        (&i8_model, f32::NAN, 1, 7, "NaN"),
        (&i8_model, f32::INFINITY, 2, 299, "inf"),
        (&f32_model, f32::NEG_INFINITY, 0, 0, "-inf"),
    ] {
        let mut v = vec![0.1f32; 3 * 300];
        v[sample * 300 + element] = bad;
        write_f32(&x, &[3, 1, 50, 6], &v);
        let out = run_io(model, &x, &y, &[]);
        let err = fails(&out, &format!("run on {shown}"));
        assert!(
            err.contains(&quoted(&x))
                && err.contains(&format!(
                    "holds {shown} at sample {sample}, element {element}"
                )),
            "{err}"
        );
        assert!(!y.exists(), "an output was written for {shown} input");
    }
}

#[test]
fn codegen_refuses_one_file_for_both_outputs() {
    let dir = TempDir::new("codegen-same");
    let model = dir.path("m.rill");
    convert(&lstm("model.onnx"), &model);
    let same = dir.path("same.rs");
    let codegen = |rust: &Path, c: &Path| {
        rill([
            OsStr::new("codegen"),
            model.as_os_str(),
            OsStr::new("--rust"),
            rust.as_os_str(),
            OsStr::new("--c"),
            c.as_os_str(),
        ])
    };
    let err = fails(&codegen(&same, &same), "codegen --rust X --c X");
    assert!(err.contains("same file"), "{err}");
    assert!(!same.exists(), "something was written");
    // Another spelling of the same (not yet existing) path.
    let other = dir.0.join(".").join("same.rs");
    let err = fails(&codegen(&same, &other), "codegen --rust X --c ./X");
    assert!(err.contains("same file"), "{err}");
    assert!(!same.exists(), "something was written");
    // An earlier module at that path is kept as it was.
    ok(
        &rill([
            OsStr::new("codegen"),
            model.as_os_str(),
            OsStr::new("--rust"),
            same.as_os_str(),
        ]),
        "codegen --rust",
    );
    let before = fs::read(&same).unwrap();
    fails(&codegen(&same, &same), "codegen --rust X --c X over X");
    assert_eq!(fs::read(&same).unwrap(), before);
    // A foreign --c file stops the command before the --rust file is written.
    let header = dir.path("mine.h");
    fs::write(&header, "/* mine */\n").unwrap();
    let fresh = dir.path("fresh.rs");
    let err = fails(&codegen(&fresh, &header), "codegen --c <foreign>");
    assert!(err.contains("not written by rill codegen"), "{err}");
    assert!(!fresh.exists(), "--rust was written before --c was refused");
    assert_eq!(fs::read(&header).unwrap(), b"/* mine */\n");
}

#[test]
fn an_output_in_a_missing_directory_names_the_path_and_the_reason() {
    let dir = TempDir::new("nodir");
    let model = dir.path("m.rill");
    convert(&lstm("model.onnx"), &model);
    let nodir = dir.path("nodir");
    let check = |out: std::process::Output, target: &Path, what: &str| {
        let err = fails(&out, what);
        assert!(
            err.contains(&format!(
                "cannot write {}: directory {} does not exist",
                quoted(target),
                quoted(&nodir)
            )),
            "{what}: {err}"
        );
        assert!(
            !err.contains(".tmp"),
            "{what} names the temporary file: {err}"
        );
        assert!(!nodir.exists());
    };
    let y = nodir.join("out.npy");
    check(
        run_io(&model, &lstm("input.npy"), &y, &[]),
        &y,
        "run -o nodir/out.npy",
    );
    let ok_y = dir.path("y.npy");
    check(
        run_io(
            &model,
            &lstm("input.npy"),
            &ok_y,
            &[OsStr::new("--dump-raw"), nodir.join("d").as_os_str()],
        ),
        &nodir.join("d.input.bin"),
        "run --dump-raw nodir/d",
    );
    assert!(!ok_y.exists(), "-o was written though --dump-raw cannot be");
    let m = nodir.join("m.rill");
    check(
        rill([
            OsStr::new("convert"),
            lstm("model.onnx").as_os_str(),
            OsStr::new("-o"),
            m.as_os_str(),
        ]),
        &m,
        "convert -o nodir/m.rill",
    );
    let rs = nodir.join("m.rs");
    check(
        rill([
            OsStr::new("codegen"),
            model.as_os_str(),
            OsStr::new("--rust"),
            rs.as_os_str(),
        ]),
        &rs,
        "codegen --rust nodir/m.rs",
    );
}

#[test]
fn verify_plot_never_replaces_an_input_or_a_file_that_is_not_a_png() {
    let dir = TempDir::new("plot-protect");
    let model = dir.path("m.rill");
    convert(&lstm("model.onnx"), &model);
    let onnx = lstm("model.onnx");
    // Eight samples of the test set, and their labels, under names ending in .png.
    let (shape, v) = read_f32(&lstm("test.npy"));
    let per: usize = shape[1..].iter().product();
    let data = dir.path("d.png");
    write_f32(&data, &[8, 1, 50, 6], &v[..8 * per]);
    let labels = dir.path("l.png");
    let payload: Vec<u8> = (0..8i64).flat_map(|i| (i % 4).to_le_bytes()).collect();
    write_npy(&labels, "<i8", &[8], &payload);
    let verify = |plot: &Path| {
        verify_io(
            &model,
            &onnx,
            &data,
            &[
                OsStr::new("--labels"),
                labels.as_os_str(),
                OsStr::new("--plot"),
                plot.as_os_str(),
            ],
        )
    };
    for input in [&data, &labels] {
        let before = fs::read(input).unwrap();
        let err = fails(&verify(input), &format!("--plot {}", input.display()));
        assert!(
            err.contains("refusing") && err.contains(&quoted(input)),
            "{err}"
        );
        assert_eq!(
            fs::read(input).unwrap(),
            before,
            "'{}' changed",
            input.display()
        );
    }
    // A file that is not a PNG is kept.
    let notes = dir.path("notes.png");
    fs::write(&notes, "keep me\n").unwrap();
    let err = fails(&verify(&notes), "--plot <text file>");
    assert!(
        err.contains(&format!("{} exists and is not a PNG", quoted(&notes))),
        "{err}"
    );
    assert_eq!(fs::read(&notes).unwrap(), b"keep me\n");
    // A missing directory: the path and the reason, no debug dump.
    let nodir = dir.path("nodir").join("p.png");
    let err = fails(&verify(&nodir), "--plot nodir/p.png");
    assert!(
        err.contains(&format!(
            "cannot write {}: directory {} does not exist",
            quoted(&nodir),
            quoted(&dir.path("nodir"))
        )),
        "{err}"
    );
    assert!(!err.contains("Error(") && !err.contains("Os {"), "{err}");
    // A PNG (an earlier plot) is replaced.
    let png = dir.path("p.png");
    ok(&verify(&png), "--plot p.png");
    ok(&verify(&png), "--plot p.png again");
    assert!(fs::read(&png).unwrap().starts_with(b"\x89PNG\r\n\x1a\n"));
}
