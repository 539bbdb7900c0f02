//! Keras models as tf2onnx exports them (`tests/data/keras`, from `tools/export_keras.py`):
//! channels-last layouts, `padding="causal"` Conv1D (Pad, Unsqueeze, Transpose, Conv, Squeeze, then
//! the bias Add), BatchNormalization as a Mul and an Add, Bidirectional, Embedding,
//! MultiHeadAttention, LayerNormalization (a BatchNormalization over statistics the graph computes),
//! and the LSTM/GRU nodes tf2onnx writes for Keras 2's recurrent layers. Each converts, matches onnxruntime's output on the
//! stored window (in f32, and within the quantization bounds in int8 and int16), loses tf2onnx's
//! extra nodes to folding, and the causal ones stream exactly like their whole window.
use rill_convert::exec::run_samples;
use rill_convert::exec_stream::run_stream_samples;
use rill_convert::{convert_path, Precision, StreamStatus};
use rill_format::writer::AlignedBytes;
use rill_runtime::Model;
use rill_testkit::{as_f32, case_options, max_abs_err, npy, workspace_root};

struct Case {
    name: &'static str,
    /// Ops after conversion, counted from the Keras model by hand.
    ops: Option<usize>,
    streams: bool,
}

const CASES: [Case; 7] = [
    // LSTM, the slice of its last step, Dense (Gemm with its bias), Softmax.
    Case {
        name: "lstm_classifier",
        ops: Some(4),
        streams: true,
    },
    // Two GRUs and the Dense on every step (MatMul, bias Add folded through tf2onnx's Reshape).
    Case {
        name: "gru_sequence",
        ops: Some(3),
        streams: true,
    },
    // The bidirectional LSTM, each direction's last step sliced out (two copies each), the
    // Concat, Dense. It cannot stream: the backward direction reads the future.
    Case {
        name: "bilstm_classifier",
        ops: Some(7),
        streams: false,
    },
    // The input transposed once (tf2onnx transposes it for each of the two convs reading it),
    // five convs with their bias Adds, ReLUs and the BatchNormalization folded in, the residual
    // Add, the output transposed back.
    Case {
        name: "tcn_causal",
        ops: Some(8),
        streams: true,
    },
    // Five convs (batch norms and ReLUs folded), the global average pool, Dense, Softmax. Its
    // first conv strides over time: no streaming.
    Case {
        name: "dscnn_kws",
        ops: Some(8),
        streams: false,
    },
    // Embedding (a Gather of the ids), the LSTM, the Dense on every step (its bias folded).
    Case {
        name: "embedding_lstm",
        ops: Some(3),
        streams: true,
    },
    // MultiHeadAttention with a causal mask, lowered by tf2onnx through Einsum into transposes,
    // reshapes and batched MatMuls (and shape arithmetic on constants, ReduceProd among it), and
    // LayerNormalization as a BatchNormalization over statistics computed in the graph (one
    // LayerNorm op here): only the outputs are checked. Its input has no recurrent layer or conv
    // to name a time axis.
    Case {
        name: "attention_mha",
        ops: None,
        streams: false,
    },
];

fn check(case: &Case, precision: Precision) {
    let name = case.name;
    let dir = workspace_root().join("tests/data/keras").join(name);
    let x = npy(&dir.join("input_0.npy"));
    let opts = case_options(&x, precision, None);
    let c = convert_path(&dir.join("model.onnx"), &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
    let what = format!("{name} {}", precision.name());
    if let Some(ops) = case.ops {
        assert_eq!(c.report.ops_after, ops, "{what}: ops");
    }
    let aligned = AlignedBytes::from_slice(&c.bytes);
    let model = Model::from_bytes(aligned.as_slice()).unwrap();
    let whole = run_samples(&model, std::slice::from_ref(&x), 1).unwrap();

    // Against onnxruntime: float rounding in f32; quantization within 5% (int8) and 1% (int16)
    // of the output's range, the bounds of the other exported-model cases.
    let reference = npy(&dir.join("output_0.npy"));
    let r = as_f32(&reference).unwrap();
    let range =
        r.iter().fold(f32::MIN, |m, &v| m.max(v)) - r.iter().fold(f32::MAX, |m, &v| m.min(v));
    let bound = match precision {
        Precision::F32 => 1e-5 * range.max(1.0),
        Precision::Int8 => 0.05 * range,
        _ => 0.01 * range,
    };
    assert_eq!(r.len(), whole[0].len(), "{what}");
    let worst = max_abs_err(r, &whole[0]);
    eprintln!("{what}: max |rill - onnxruntime| = {worst:e} (range {range})");
    assert!(worst <= bound, "{what}: {worst} > {bound}");

    if !case.streams {
        assert!(
            matches!(c.report.stream, StreamStatus::Blocked { .. }),
            "{what}: {:?}",
            c.report.stream
        );
        return;
    }
    assert!(
        matches!(c.report.stream, StreamStatus::Streams { state_bytes } if state_bytes > 0),
        "{what}: {:?}",
        c.report.stream
    );
    let streamed = run_stream_samples(&model, &[x], 1).unwrap();
    let info = model.stream().unwrap();
    let (w, s) = (&whole[0], &streamed[0]);
    // Many-to-one: the answer after the last step is the whole window's.
    let s = match info.output_axes[0] {
        Some(_) => &s[..],
        None => &s[s.len() - w.len()..],
    };
    assert_eq!(w.len(), s.len(), "{what}");
    let worst = max_abs_err(w, s);
    let tol = if precision == Precision::F32 {
        1e-5
    } else {
        0.0
    };
    eprintln!("{what}: max |stream - whole| = {worst:e}");
    assert!(worst <= tol, "{what}: streamed differs by {worst}");
}

#[test]
fn keras_models_convert_match_onnxruntime_and_stream() {
    for case in &CASES {
        for p in [Precision::F32, Precision::Int8, Precision::Int16] {
            check(case, p);
        }
    }
}
