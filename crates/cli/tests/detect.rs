//! `rill convert --frontend/--labels` and `rill detect` end to end: keywords found in the demo
//! recording are checked against its hand-made truth (`models/kws_dscnn/demo_truth.json`), and every
//! bad input (missing, not WAV, stereo, wrong rate, model without front end, model that does not take
//! the front end's frames) must fail cleanly, naming the problem.
mod common;

use std::ffi::OsStr;
use std::fs;
use std::path::Path;

use common::{convert_kws, demo_wav, fails, frontend_json, models, ok, rill, wav, TempDir};

use serde_json::Value;

struct Truth {
    keyword: String,
    start: f64,
    end: f64,
}

fn truth() -> Vec<Truth> {
    let v: Value =
        serde_json::from_slice(&fs::read(models().join("kws_dscnn/demo_truth.json")).unwrap())
            .unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|t| Truth {
            keyword: t["keyword"].as_str().unwrap().to_owned(),
            start: t["start_s"].as_f64().unwrap(),
            end: t["end_s"].as_f64().unwrap(),
        })
        .collect()
}

/// An event reports when the detector fired: the end of the window that crossed the threshold.
/// That window must hold the keyword's start (the models fire once most of a word is in), and the
/// detector should not lag more than `LAG_S` behind the keyword's end.
const LAG_S: f64 = 0.5;

fn matches(time: f64, t: &Truth) -> bool {
    time >= t.start && time <= t.end + LAG_S
}

/// Runs `detect --json` (default settings) and checks its events against the truth: every keyword
/// found exactly once in its span or up to `LAG_S` after, at most `max_false` other events.
fn check_demo(model: &Path, max_false: usize) {
    let out = ok(
        &rill([
            OsStr::new("detect"),
            model.as_os_str(),
            demo_wav().as_os_str(),
            OsStr::new("--json"),
        ]),
        "detect",
    );
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let events: Vec<(f64, String)> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["time_s"].as_f64().unwrap(),
                e["keyword"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut matched = vec![false; events.len()];
    for t in truth() {
        let hits: Vec<usize> = (0..events.len())
            .filter(|&i| {
                let (time, kw) = &events[i];
                *kw == t.keyword && matches(*time, &t)
            })
            .collect();
        assert_eq!(
            hits.len(),
            1,
            "{}: '{}' ({:.2}-{:.2} s) detected {} times; events {events:?}",
            model.display(),
            t.keyword,
            t.start,
            t.end,
            hits.len()
        );
        matched[hits[0]] = true;
    }
    let false_events = matched.iter().filter(|m| !**m).count();
    assert!(
        false_events <= max_false,
        "{}: {false_events} false events: {events:?}",
        model.display()
    );
}

#[test]
fn kws_gru_f32_finds_the_demo_keywords() {
    let dir = TempDir::new("gru-f32");
    let model = convert_kws(&dir, "kws_gru", "f32");
    check_demo(&model, 0);
}

#[test]
fn kws_gru_int8_finds_the_demo_keywords() {
    let dir = TempDir::new("gru-int8");
    let model = convert_kws(&dir, "kws_gru", "int8");
    check_demo(&model, 0);
}

#[test]
fn kws_dscnn_whole_window_finds_the_demo_keywords() {
    let dir = TempDir::new("dscnn");
    let model = convert_kws(&dir, "kws_dscnn", "f32");
    check_demo(&model, 0);
}

#[test]
fn text_output_has_one_line_per_event_and_inspect_shows_the_front_end() {
    let dir = TempDir::new("text");
    let model = convert_kws(&dir, "kws_gru", "int8");
    let out = ok(
        &rill([
            OsStr::new("detect"),
            model.as_os_str(),
            demo_wav().as_os_str(),
        ]),
        "detect",
    );
    let lines: Vec<&str> = out.lines().skip(1).collect();
    let truth = truth();
    assert_eq!(lines.len(), truth.len(), "{out}");
    for (line, t) in lines.iter().zip(&truth) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cols[1], "s", "{line}");
        assert_eq!(cols[2], t.keyword, "{line}");
        let time: f64 = cols[0].parse().unwrap();
        assert!(matches(time, t), "{line}");
    }

    let shown = ok(&rill([OsStr::new("inspect"), model.as_os_str()]), "inspect");
    assert!(
        shown.contains("front end: MFCC, 16000 Hz, frame 480 hop 320")
            && shown.contains("10 MFCCs"),
        "{shown}"
    );
    assert!(shown.contains("labels: 12 classes: yes, no, up"), "{shown}");
    let json = ok(
        &rill([
            OsStr::new("inspect"),
            model.as_os_str(),
            OsStr::new("--json"),
        ]),
        "inspect --json",
    );
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["frontend"]["n_mfcc"], 10);
    assert_eq!(v["frontend"]["hop"], 320);
    assert_eq!(v["labels"][11], "silence");
}

#[test]
fn detect_refuses_bad_audio_naming_what_it_found() {
    let dir = TempDir::new("bad-audio");
    let model = convert_kws(&dir, "kws_gru", "f32");
    let run = |audio: &Path| rill([OsStr::new("detect"), model.as_os_str(), audio.as_os_str()]);
    let missing = dir.path("nothing.wav");
    let e = fails(&run(&missing), "missing audio");
    assert!(e.contains("nothing.wav"), "{e}");

    let not_wav = dir.path("notes.wav");
    fs::write(&not_wav, b"these are not samples").unwrap();
    let e = fails(&run(&not_wav), "not a WAV");
    assert!(e.contains("not a WAV") && e.contains("notes.wav"), "{e}");

    let samples = vec![0u8; 3200];
    let stereo = dir.path("stereo.wav");
    fs::write(&stereo, wav(1, 2, 16000, 16, &samples)).unwrap();
    let e = fails(&run(&stereo), "stereo");
    assert!(e.contains("2 channels") && e.contains("mono"), "{e}");

    let cd = dir.path("cd.wav");
    fs::write(&cd, wav(1, 1, 44100, 16, &samples)).unwrap();
    let e = fails(&run(&cd), "44.1 kHz");
    assert!(e.contains("44100 Hz") && e.contains("16000 Hz"), "{e}");

    let float = dir.path("float.wav");
    fs::write(&float, wav(3, 1, 16000, 32, &samples)).unwrap();
    let e = fails(&run(&float), "float WAV");
    assert!(e.contains("audio format 3"), "{e}");

    let byte = dir.path("8bit.wav");
    fs::write(&byte, wav(1, 1, 16000, 8, &samples)).unwrap();
    let e = fails(&run(&byte), "8-bit WAV");
    assert!(e.contains("8-bit"), "{e}");

    let mut header_only = wav(1, 1, 16000, 16, &[]);
    header_only.truncate(30);
    let cut = dir.path("cut.wav");
    fs::write(&cut, header_only).unwrap();
    let e = fails(&run(&cut), "truncated WAV");
    assert!(e.contains("'fmt ' chunk at byte 12 is cut short"), "{e}");

    // Silence is valid audio: no event, no error; so is a clip shorter than one window.
    let quiet = dir.path("quiet.wav");
    fs::write(&quiet, wav(1, 1, 16000, 16, &vec![0u8; 64000])).unwrap();
    let out = ok(&run(&quiet), "silence");
    assert!(
        out.lines().count() == 1 && out.contains("0 events"),
        "{out}"
    );
    let short = dir.path("short.wav");
    fs::write(&short, wav(1, 1, 16000, 16, &samples)).unwrap();
    let out = ok(&run(&short), "short clip");
    assert!(out.contains("0 events"), "{out}");
}

#[test]
fn detect_refuses_models_that_do_not_fit_the_front_end() {
    let dir = TempDir::new("bad-model");
    // No front end stored.
    let bare = dir.path("bare.rill");
    ok(
        &rill([
            OsStr::new("convert"),
            models().join("kws_gru/model.onnx").as_os_str(),
            OsStr::new("-o"),
            bare.as_os_str(),
        ]),
        "convert",
    );
    let e = fails(
        &rill([
            OsStr::new("detect"),
            bare.as_os_str(),
            demo_wav().as_os_str(),
        ]),
        "detect without front end",
    );
    assert!(
        e.contains("no front end") && e.contains("--frontend"),
        "{e}"
    );

    // A model whose input is not frames of 10 MFCCs: convert warns, detect refuses.
    let motion = dir.path("motion.rill");
    let out = ok(
        &rill([
            OsStr::new("convert"),
            models().join("motion_lstm/model.onnx").as_os_str(),
            OsStr::new("-o"),
            motion.as_os_str(),
            OsStr::new("--frontend"),
            frontend_json().as_os_str(),
        ]),
        "convert motion_lstm with a front end",
    );
    assert!(
        out.contains("warning: the front end gives frames of 10 MFCCs"),
        "{out}"
    );
    let e = fails(
        &rill([
            OsStr::new("detect"),
            motion.as_os_str(),
            demo_wav().as_os_str(),
        ]),
        "detect with a model that takes other frames",
    );
    assert!(e.contains("n_mfcc") && e.contains("10"), "{e}");

    let e = fails(
        &rill([
            OsStr::new("detect"),
            dir.path("none.rill").as_os_str(),
            demo_wav().as_os_str(),
        ]),
        "missing model",
    );
    assert!(e.contains("none.rill"), "{e}");
}

#[test]
fn convert_refuses_bad_frontends_and_labels_naming_the_key() {
    let dir = TempDir::new("bad-json");
    let out = dir.path("m.rill");
    let convert = |extra: &[&OsStr]| {
        let mut args = vec![
            OsStr::new("convert"),
            OsStr::new(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../models/kws_gru/model.onnx"
            )),
            OsStr::new("-o"),
            out.as_os_str(),
        ];
        args.extend_from_slice(extra);
        rill(args)
    };
    let base = fs::read_to_string(frontend_json()).unwrap();
    let bad = dir.path("frontend.json");
    fs::write(&bad, base.replace("\"hop\": 320", "\"hop\": 0")).unwrap();
    let e = fails(
        &convert(&[OsStr::new("--frontend"), bad.as_os_str()]),
        "hop 0",
    );
    assert!(e.contains("hop 0") && e.contains("frontend.json"), "{e}");
    fs::write(&bad, base.replace("\"hann\"", "\"hamming\"")).unwrap();
    let e = fails(
        &convert(&[OsStr::new("--frontend"), bad.as_os_str()]),
        "hamming window",
    );
    assert!(e.contains("'window'") && e.contains("hamming"), "{e}");
    fs::write(&bad, "{\"sample_rate\": 16000,").unwrap();
    let e = fails(
        &convert(&[OsStr::new("--frontend"), bad.as_os_str()]),
        "broken JSON",
    );
    assert!(e.contains("not valid JSON"), "{e}");

    let labels = dir.path("classes.json");
    fs::write(&labels, "[\"yes\", \"no\"]").unwrap();
    let e = fails(
        &convert(&[OsStr::new("--labels"), labels.as_os_str()]),
        "two labels for twelve classes",
    );
    assert!(e.contains("2 classes") && e.contains("12 values"), "{e}");
    assert!(!out.exists(), "a refused conversion wrote its output");
}

#[test]
fn convert_refuses_repeated_labels_and_labels_with_a_comma_naming_them() {
    let dir = TempDir::new("labels-names");
    let out = dir.path("m.rill");
    let m = models().join("kws_gru");
    let classes: Vec<String> =
        serde_json::from_str(&fs::read_to_string(m.join("classes.json")).unwrap()).unwrap();
    let labels = dir.path("classes.json");
    let convert = || {
        rill([
            OsStr::new("convert"),
            m.join("model.onnx").as_os_str(),
            OsStr::new("-o"),
            out.as_os_str(),
            OsStr::new("--labels"),
            labels.as_os_str(),
        ])
    };
    // As many names as the model has classes, so only the names themselves are wrong.
    let mut repeated = classes.clone();
    repeated[3] = repeated[1].clone();
    fs::write(&labels, serde_json::to_string(&repeated).unwrap()).unwrap();
    let e = fails(&convert(), "a repeated label");
    assert!(
        e.contains(&format!("label '{}' repeats entry 1", classes[1]))
            && e.contains("classes.json"),
        "{e}"
    );
    let mut comma = classes.clone();
    comma[2] = "up,down".to_owned();
    fs::write(&labels, serde_json::to_string(&comma).unwrap()).unwrap();
    let e = fails(&convert(), "a label with a comma");
    assert!(
        e.contains("label 'up,down' contains a comma") && e.contains("classes.json"),
        "{e}"
    );
    assert!(!out.exists(), "a refused conversion wrote its output");
    // The shipped names convert.
    fs::write(&labels, serde_json::to_string(&classes).unwrap()).unwrap();
    ok(&convert(), "convert with the shipped labels");
}
