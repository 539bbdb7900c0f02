//! Inputs that once ran to a silent wrong answer (exit 0 with NaN figures, 0% accuracy, "0 events")
//! must now fail cleanly naming the problem, or, where the input is valid but too short to answer
//! for, say so. `verify --data/--labels` on NaN, out-of-range, mistyped and empty arrays; `detect`
//! with a stride past the window, a WAV cut short, and audio shorter than one window.
mod common;

use std::ffi::OsStr;
use std::fs;
use std::path::Path;

use common::{
    convert_kws, convert_model, demo_wav, fails, models, ok, rill, text, verify_io, wav, write_f32,
    write_npy, TempDir,
};
use serde_json::Value;

fn write_i64(path: &Path, v: &[i64]) {
    let payload: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    write_npy(path, "<i8", &[v.len()], &payload);
}

/// `rill verify <model> --onnx models/<name>/model.onnx --data <data> [--labels <labels>] --layer-samples 0`.
fn verify(model: &Path, name: &str, data: &Path, labels: Option<&Path>) -> std::process::Output {
    let mut extra = vec![OsStr::new("--layer-samples"), OsStr::new("0")];
    if let Some(l) = labels {
        extra.extend([OsStr::new("--labels"), l.as_os_str()]);
    }
    verify_io(model, &models().join(name).join("model.onnx"), data, &extra)
}

/// Two samples of lstm_classifier input ([1, 50, 6] each), all 0.25.
fn classifier_data() -> Vec<f32> {
    vec![0.25; 2 * 50 * 6]
}

#[test]
fn verify_refuses_nan_and_inf_data_naming_file_sample_and_element() {
    let dir = TempDir::new("nan-data");
    let m = convert_model(&dir, "lstm_classifier", "f32", &[]);
    for (bad, shown) in [
        (f32::NAN, "NaN"),
        (f32::INFINITY, "inf"),
        (f32::NEG_INFINITY, "-inf"),
    ] {
        let mut v = classifier_data();
        // Sample 1, element 17 = [0, 2, 5] of the [1, 50, 6] input.
        v[300 + 17] = bad;
        let data = dir.path("bad.npy");
        write_f32(&data, &[2, 1, 50, 6], &v);
        let e = fails(&verify(&m, "lstm_classifier", &data, None), shown);
        assert!(
            e.contains("bad.npy")
                && e.contains(&format!("holds {shown} at sample 1, element 17"))
                && e.contains("[0, 2, 5]"),
            "{e}"
        );
    }
    // The same data without the bad value passes: the check is not refusing everything.
    let data = dir.path("good.npy");
    write_f32(&data, &[2, 1, 50, 6], &classifier_data());
    let out = ok(&verify(&m, "lstm_classifier", &data, None), "finite data");
    assert!(out.contains("on 2 sample(s)"), "{out}");
}

#[test]
fn verify_of_zero_samples_says_the_file_holds_none() {
    let dir = TempDir::new("zero-samples");
    let m = convert_model(&dir, "lstm_classifier", "f32", &[]);
    let data = dir.path("empty.npy");
    write_f32(&data, &[0, 1, 50, 6], &[]);
    let e = fails(&verify(&m, "lstm_classifier", &data, None), "0 samples");
    assert!(
        e.contains("'") && e.contains("empty.npy' holds 0 samples"),
        "{e}"
    );
    assert!(!e.contains("sample out of range"), "{e}");
}

#[test]
fn verify_refuses_class_labels_outside_the_classes_naming_sample_and_value() {
    let dir = TempDir::new("labels-range");
    let m = convert_model(&dir, "lstm_classifier", "f32", &[]);
    let data = dir.path("x.npy");
    write_f32(&data, &[2, 1, 50, 6], &classifier_data());
    let labels = dir.path("labels.npy");
    for (l, want) in [
        ([99, 99], "label 99 at sample 0"),
        ([1, -5], "label -5 at sample 1"),
        ([0, 4], "label 4 at sample 1"),
    ] {
        write_i64(&labels, &l);
        let e = fails(
            &verify(&m, "lstm_classifier", &data, Some(&labels)),
            &format!("labels {l:?}"),
        );
        assert!(
            e.contains(want) && e.contains("[0, 4)") && e.contains("labels.npy"),
            "{l:?}: {e}"
        );
    }
    // In range: accuracy is reported.
    write_i64(&labels, &[0, 3]);
    let out = ok(
        &verify(&m, "lstm_classifier", &data, Some(&labels)),
        "labels in range",
    );
    assert!(out.contains("accuracy"), "{out}");
}

#[test]
fn verify_refuses_non_finite_regression_targets() {
    let dir = TempDir::new("targets-nan");
    let m = convert_model(&dir, "airline_lstm", "f32", &[]);
    let data = models().join("airline_lstm/test.npy");
    let labels = dir.path("targets.npy");
    let mut t = vec![0.5f32; 24];
    t[7] = f32::NAN;
    write_f32(&labels, &[24], &t);
    let e = fails(
        &verify(&m, "airline_lstm", &data, Some(&labels)),
        "NaN targets",
    );
    assert!(
        e.contains("targets.npy")
            && e.contains("regression target NaN at sample 7")
            && e.contains("not finite"),
        "{e}"
    );
    t[7] = f32::INFINITY;
    write_f32(&labels, &[24], &t);
    let e = fails(
        &verify(&m, "airline_lstm", &data, Some(&labels)),
        "inf targets",
    );
    assert!(e.contains("regression target inf at sample 7"), "{e}");
}

#[test]
fn verify_refuses_class_labels_for_a_one_value_output() {
    let dir = TempDir::new("labels-one-value");
    let m = convert_model(&dir, "airline_lstm", "f32", &[]);
    let data = models().join("airline_lstm/test.npy");
    let labels = dir.path("classes.npy");
    // All zeros: the arg-max of one value is always 0, which used to read as 100% accuracy.
    write_i64(&labels, &[0; 24]);
    let e = fails(
        &verify(&m, "airline_lstm", &data, Some(&labels)),
        "int64 labels for a regressor",
    );
    assert!(
        e.contains("classes.npy")
            && e.contains("one value per row")
            && e.contains("one score per class"),
        "{e}"
    );
    // The shipped float targets are still regression targets.
    let out = ok(
        &verify(
            &m,
            "airline_lstm",
            &data,
            Some(&models().join("airline_lstm/labels.npy")),
        ),
        "float targets",
    );
    assert!(out.contains("RMSE"), "{out}");
}

// ---- detect ----

fn detect(model: &Path, audio: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![OsStr::new("detect"), model.as_os_str(), audio.as_os_str()];
    args.extend(extra.iter().map(OsStr::new));
    rill(args)
}

#[test]
fn detect_refuses_a_stride_longer_than_the_window_naming_both() {
    let dir = TempDir::new("stride");
    let m = convert_kws(&dir, "kws_gru", "f32");
    for stride in ["50", "18446744073709551615"] {
        let e = fails(
            &detect(&m, &demo_wav(), &["--stride-frames", stride]),
            &format!("--stride-frames {stride}"),
        );
        assert!(
            e.contains(&format!("--stride-frames {stride}")) && e.contains("window of 49 frames"),
            "{e}"
        );
    }
    // A stride of exactly one window leaves no gap.
    let out = ok(
        &detect(&m, &demo_wav(), &["--stride-frames", "49"]),
        "--stride-frames 49",
    );
    assert!(out.contains("every 49 frames"), "{out}");
}

#[test]
fn detect_refuses_a_wav_cut_short_naming_offset_and_sizes() {
    let dir = TempDir::new("cut-wav");
    let m = convert_kws(&dir, "kws_gru", "f32");
    let whole = fs::read(demo_wav()).unwrap();
    assert_eq!(&whole[36..40], b"data", "demo.wav layout");
    let declared = u32::from_le_bytes(whole[40..44].try_into().unwrap()) as usize;
    let half = dir.path("half.wav");
    fs::write(&half, &whole[..whole.len() / 2]).unwrap();
    let e = fails(&detect(&m, &half, &[]), "half a WAV");
    let present = whole.len() / 2 - 44;
    assert!(
        e.contains("half.wav")
            && e.contains("'data' chunk at byte 36")
            && e.contains(&format!("declares {declared} bytes"))
            && e.contains(&format!("only {present}")),
        "{e}"
    );
    // Valid files are still read: one with a pad byte after its data, and the odd-sized chunk
    // followed by its pad byte.
    let mut padded = wav(1, 1, 16000, 16, &vec![0u8; 32000]);
    padded.push(0);
    let p = dir.path("padded.wav");
    fs::write(&p, &padded).unwrap();
    ok(&detect(&m, &p, &[]), "a WAV with a final pad byte");
    let mut odd = wav(1, 1, 16000, 16, &vec![0u8; 32001]);
    odd.push(0);
    fs::write(&p, &odd).unwrap();
    ok(&detect(&m, &p, &[]), "an odd data chunk and its pad byte");
}

#[test]
fn detect_notes_audio_shorter_than_one_window() {
    let dir = TempDir::new("short-audio");
    let m = convert_kws(&dir, "kws_gru", "f32");
    // 0.5 s (24 frames of hop 320, frame 480), one sample, and an empty data chunk.
    for (samples, frames) in [(8000usize, 24usize), (1, 0), (0, 0)] {
        let p = dir.path("short.wav");
        fs::write(&p, wav(1, 1, 16000, 16, &vec![0u8; 2 * samples])).unwrap();
        let out = detect(&m, &p, &[]);
        let stdout = ok(&out, &format!("{samples} samples"));
        assert!(stdout.contains("0 events"), "{stdout}");
        let stderr = text(&out.stderr);
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        assert!(
            stderr.contains(&format!(
                "holds {frames} frame{} ({samples} sample{}), fewer than the model's window of 49 frames",
                plural(frames),
                plural(samples)
            )) && stderr.contains("no answer was computed"),
            "{samples} samples: {stderr}"
        );
        let json = ok(&detect(&m, &p, &["--json"]), "--json");
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["frames"].as_u64(), Some(frames as u64));
        assert_eq!(v["answers"].as_u64(), Some(0));
        let note = v["note"].as_str().unwrap_or_else(|| panic!("no note: {v}"));
        assert!(
            note.contains("fewer than the model's window of 49"),
            "{note}"
        );
    }
    // A full recording carries no note.
    let out = detect(&m, &demo_wav(), &["--json"]);
    let v: Value = serde_json::from_str(&ok(&out, "demo --json")).unwrap();
    assert!(v["note"].is_null(), "{v}");
    assert!(
        !text(&out.stderr).contains("note:"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn convert_warns_about_an_input_that_is_zero_in_all_calibration_data() {
    let dir = TempDir::new("zero-calib");
    let onnx = models().join("lstm_classifier/model.onnx");
    let calib = dir.path("zeros.npy");
    write_f32(&calib, &[4, 1, 50, 6], &[0.0; 4 * 50 * 6]);
    let out = dir.path("m.rill");
    let convert = |calib: &Path| {
        rill([
            OsStr::new("convert"),
            onnx.as_os_str(),
            OsStr::new("-o"),
            out.as_os_str(),
            OsStr::new("--precision"),
            OsStr::new("int8"),
            OsStr::new("--calibration"),
            calib.as_os_str(),
        ])
    };
    let o = convert(&calib);
    // Allowed, so it converts; but not silently.
    ok(&o, "convert with all-zero calibration data");
    let stderr = text(&o.stderr);
    assert!(
        stderr.contains(&format!(
            "warning: calibration data '{}': input 'x' is 0 in every sample and element: its range is degenerate",
            calib.display()
        )) && stderr.contains("zero range"),
        "{stderr}"
    );
    assert!(out.exists());
    // Data that moves gives no such warning.
    let o = convert(&models().join("lstm_classifier/calib.npy"));
    ok(&o, "convert with the shipped calibration data");
    assert!(
        !text(&o.stderr).contains("degenerate"),
        "{}",
        text(&o.stderr)
    );
}
