//! f16 weight storage for float Dense and Conv layers: the files shrink, the outputs stay within
//! f16's precision of onnxruntime's float outputs, and fixed-point conversions refuse the option.
use std::path::Path;

use rill_convert::exec::run_samples;
use rill_convert::tensor::{self, HostData, HostTensor};
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
        let (_, _, worst, scale) = run_vs_onnxruntime(&model, &dir);
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

/// Recurrent layers kept in float store W and R as f16 too: the file shrinks by about the
/// recurrent weights' half, the outputs stay within f16's precision of onnxruntime's, and the step
/// program (which reads the same f16 weights) still equals the whole window.
#[test]
fn recurrent_models_with_f16_weights_stay_close_to_onnxruntime_and_still_stream() {
    use rill_convert::exec_stream::run_stream_samples;
    for name in ["lstm_classifier", "gru_regressor", "kws_gru", "char_rnn"] {
        let dir = workspace_root().join("models").join(name);
        let (full, half) = (convert(name, false), convert(name, true));
        let aligned = AlignedBytes::from_slice(&half);
        let model = Model::from_bytes(aligned.as_slice()).unwrap();
        let file = model.file();
        let f16_rnn_weights = (0..file.window_ops())
            .filter_map(|i| file.op(i))
            .filter(|v| v.op.kind() == rill_runtime::OpKind::Rnn)
            .flat_map(|v| [v.input(1), v.input(2)])
            .flatten()
            .filter(|&t| file.tensor(t).unwrap().dtype == DType::F16)
            .count();
        assert!(f16_rnn_weights >= 2, "{name}: W and R must be f16");

        let (x, ours, worst, scale) = run_vs_onnxruntime(&model, &dir);
        eprintln!(
            "{name}: {} -> {} bytes, max |f16 - onnxruntime| {worst:.2e} (output scale {scale:.2})",
            full.len(),
            half.len()
        );
        assert!(worst <= 5e-3 * scale.max(1.0), "{name}: {worst}");
        assert!(
            (half.len() as f64) < full.len() as f64 * 0.75,
            "{name}: the file must shrink by most of the recurrent weights' half"
        );

        let streamed = run_stream_samples(&model, &[x], 1).unwrap();
        let n = ours[0].len();
        let last = &streamed[0][streamed[0].len() - n..];
        let whole_axis = model.stream().unwrap().output_axes[0].is_some();
        let got = if whole_axis { &streamed[0][..] } else { last };
        assert_eq!(got.len(), n, "{name}");
        let diff = got
            .iter()
            .zip(&ours[0])
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(diff <= 1e-5, "{name}: streamed vs whole window {diff}");
    }
}

/// `model` run on the directory's input.npy: (the input, our outputs, max |ours - onnxruntime|
/// against its reference_output.npy, max |onnxruntime|).
fn run_vs_onnxruntime(model: &Model, dir: &Path) -> (HostTensor, Vec<Vec<f32>>, f32, f32) {
    let x = tensor::read_npy(&dir.join("input.npy")).unwrap();
    let ours = run_samples(model, std::slice::from_ref(&x), 1).unwrap();
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
    (x, ours, worst, scale)
}
