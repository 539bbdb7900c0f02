//! ONNX's node conformance cases in fixed point: every case converted to int8 and int16 (calibrated
//! on its own inputs), run through the integer kernels and compared with the outputs ONNX ships.
//! The bound is relative to the output's range: quantization is lossy, but by a predictable amount.
use std::path::Path;

use rill_convert::{convert_path, exec, tensor, ConvertOptions, Precision};
use rill_format::writer::AlignedBytes;
use rill_runtime::Model;
use rill_testkit::{as_f32, workspace_root};

/// Cases without a fixed-point form: the converter must refuse them with a reason naming the node.
const NO_FIXED_FORM: &[&str] = &[
    "test_pow",               // Pow of two activations
    "test_pow_bcast_array",   // likewise
    "test_pow_bcast_scalar",  // likewise
    "test_pow_example",       // likewise
    "test_lstm_with_peepholes",
];

/// Cases whose values one per-tensor scale cannot resolve: inputs 10000 apart within one tensor
/// whose softmax depends on differences of 1 (the kernel itself is tested on them directly).
const TOO_WIDE: &[&str] = &[
    "test_softmax_large_number",
    "test_logsoftmax_large_number",
    "test_softmax_large_number_expanded",
    "test_softmax_large_number_expanded_ver18",
    "test_logsoftmax_large_number_expanded",
    "test_logsoftmax_large_number_expanded_ver18",
];

/// The largest error allowed, as a fraction of the output's largest magnitude.
fn bound(precision: Precision) -> f64 {
    match precision {
        Precision::Int8 => 0.05,
        _ => 0.01,
    }
}

/// `Ok(worst relative error over outputs)`, or `Err` when the case cannot be converted or run.
fn run_case(dir: &Path, inputs: usize, precision: Precision) -> Result<f64, String> {
    let ins = (0..inputs)
        .map(|i| {
            let mut t = tensor::read_npy(&dir.join(format!("input_{i}.npy")))
                .map_err(|e| e.to_string())?;
            t.shape.insert(0, 1);
            Ok(t)
        })
        .collect::<Result<Vec<_>, String>>()?;
    let opts = ConvertOptions {
        precision,
        calibration: ins.clone(),
        ..ConvertOptions::default()
    };
    let converted = convert_path(&dir.join("model.onnx"), &opts).map_err(|e| e.to_string())?;
    let aligned = AlignedBytes::from_slice(&converted.bytes);
    let model = Model::from_bytes(aligned.as_slice()).map_err(|e| e.to_string())?;
    let got = exec::run_samples(&model, &ins, 1).map_err(|e| format!("{e:#}"))?;
    let mut worst = 0f64;
    for (j, y) in got.iter().enumerate() {
        let expected = tensor::read_npy(&dir.join(format!("output_{j}.npy")))
            .map_err(|e| e.to_string())?;
        let expected = as_f32(&expected).map_err(|e| e.to_string())?;
        if expected.len() != y.len() {
            return Err(format!("output {j}: {} values, expected {}", y.len(), expected.len()));
        }
        let scale = expected.iter().fold(1e-6f64, |m, &v| m.max((v as f64).abs()));
        let err = y
            .iter()
            .zip(expected)
            .fold(0f64, |m, (&a, &b)| m.max((a as f64 - b as f64).abs()));
        worst = worst.max(err / scale);
    }
    Ok(worst)
}

fn check(precision: Precision) {
    let root = workspace_root().join("tests/data/onnx-node");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("manifest.json")).unwrap())
            .unwrap();
    let mut failures = Vec::new();
    let mut passed = 0;
    for case in manifest.as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        if TOO_WIDE.contains(&name) {
            continue;
        }
        let n_in = case["inputs"].as_array().map_or(0, |a| a.len());
        let refused = NO_FIXED_FORM.contains(&name);
        match (run_case(&root.join(name), n_in, precision), refused) {
            (Ok(err), false) if err <= bound(precision) => passed += 1,
            (Ok(err), false) => failures.push(format!(
                "{name}: error {:.2}% of the output range > {:.1}%",
                100.0 * err,
                100.0 * bound(precision)
            )),
            (Ok(_), true) => failures.push(format!("{name}: expected a refusal, converted")),
            (Err(e), true) if e.contains("node") => passed += 1,
            (Err(e), _) => failures.push(format!("{name}: {e}")),
        }
    }
    eprintln!("{}: {passed} cases passed", precision.name());
    assert!(
        failures.is_empty(),
        "{} {} cases failed:\n{}",
        failures.len(),
        precision.name(),
        failures.join("\n")
    );
    assert!(passed > 200, "only {passed} cases: is the data set complete?");
}

#[test]
fn onnx_node_cases_hold_in_int8() {
    check(Precision::Int8);
}

#[test]
fn onnx_node_cases_hold_in_int16() {
    check(Precision::Int16);
}
