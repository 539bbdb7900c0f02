//! f16 weight storage for float Dense and Conv layers: the files shrink, the outputs stay within
//! f16's precision of onnxruntime's float outputs, and fixed-point conversions refuse the option.
use rill_convert::exec::run_samples;
use rill_convert::tensor::{self, HostData};
use rill_convert::{convert_path, ConvertError, ConvertOptions, Precision};
use rill_format::writer::AlignedBytes;
use rill_runtime::{DType, Model};
use rill_testkit::workspace_root;

fn convert(name: &str, f16_weights: bool) -> Vec<u8> {
    let opts = ConvertOptions {
        f16_weights,
        ..ConvertOptions::default()
    };
    let path = workspace_root()
        .join("models")
        .join(name)
        .join("model.onnx");
    convert_path(&path, &opts).unwrap().bytes
}

#[test]
fn conv_models_with_f16_weights_stay_close_to_onnxruntime() {
    for name in ["tcn", "motion_tcn", "kws_dscnn", "lstm_classifier"] {
        let dir = workspace_root().join("models").join(name);
        let (full, half) = (convert(name, false), convert(name, true));
        let aligned = AlignedBytes::from_slice(&half);
        let model = Model::from_bytes(aligned.as_slice()).unwrap();
        let f16_tensors = (0..model.file().tensors.len())
            .filter(|&t| model.file().tensor(t).unwrap().dtype == DType::F16)
            .count();
        assert!(f16_tensors > 0, "{name}: no f16 weights");
        let x = tensor::read_npy(&dir.join("input.npy")).unwrap();
        let ours = run_samples(&model, &[x], 1).unwrap();
        let HostData::F32(want) = tensor::read_npy(&dir.join("reference_output.npy"))
            .unwrap()
            .data
        else {
            panic!("f32 reference")
        };
        let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
        let worst = ours[0]
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        eprintln!(
            "{name}: {} -> {} bytes, max |f16 - onnxruntime| {worst:.2e} (output scale {scale:.2})",
            full.len(),
            half.len()
        );
        // f16 keeps 11 significant bits: 2^-11 relative per weight, a few times that at the output.
        assert!(worst <= 5e-3 * scale.max(1.0), "{name}: {worst}");
        assert!(half.len() < full.len(), "{name}: the file must shrink");
    }
}

#[test]
fn fixed_point_conversions_refuse_f16_weights() {
    let path = workspace_root().join("models/tcn/model.onnx");
    let opts = ConvertOptions {
        precision: Precision::Int8,
        f16_weights: true,
        ..ConvertOptions::default()
    };
    match convert_path(&path, &opts) {
        Err(ConvertError::Input(m)) => assert!(m.contains("--f16-weights"), "{m}"),
        other => panic!("{:?}", other.map(|c| c.report)),
    }
}
