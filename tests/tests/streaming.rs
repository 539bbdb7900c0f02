//! Streaming: every streamable model in `models/`, fed one time step at a time through its step
//! program, gives the whole-window outputs — bit for bit in int8/int16 (the same codes, so the same
//! dequantized values), within 1e-5 in f32 — and the models that cannot stream say which node
//! prevents it.

use rill_convert::exec::run_samples;
use rill_convert::exec_stream::run_stream_samples;
use rill_convert::tensor::{HostData, HostTensor};
use rill_convert::{convert_path, ConvertOptions, Precision, StreamStatus};
use rill_format::writer::AlignedBytes;
use rill_runtime::{Error, Model, Session};
use rill_testkit::{max_abs_err, npy, workspace_root};

/// Samples of each model's test set streamed (each is a whole window of steps).
const SAMPLES: usize = 3;

fn first(t: &HostTensor, n: usize) -> HostTensor {
    let per: usize = t.shape[1..].iter().product();
    let mut shape = t.shape.clone();
    shape[0] = n.min(t.shape[0]);
    let data = match &t.data {
        HostData::F32(v) => HostData::F32(v[..shape[0] * per].to_vec()),
        HostData::I64(v) => HostData::I64(v[..shape[0] * per].to_vec()),
    };
    HostTensor { shape, data }
}

fn convert(name: &str, precision: Precision) -> Vec<u8> {
    let dir = workspace_root().join("models").join(name);
    let calibration = if precision == Precision::F32 {
        vec![]
    } else {
        vec![npy(&dir.join("calib.npy"))]
    };
    let opts = ConvertOptions {
        precision,
        calibration,
        ..ConvertOptions::default()
    };
    let c = convert_path(&dir.join("model.onnx"), &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(
        matches!(c.report.stream, StreamStatus::Streams { state_bytes } if state_bytes > 0),
        "{name}: {:?}",
        c.report.stream
    );
    c.bytes
}

/// Streams `SAMPLES` test windows and compares every output with the whole-window run.
fn check(name: &str, precision: Precision) {
    let dir = workspace_root().join("models").join(name);
    let bytes = convert(name, precision);
    let aligned = AlignedBytes::from_slice(&bytes);
    let model = Model::from_bytes(aligned.as_slice()).unwrap();
    let test = first(&npy(&dir.join("test.npy")), SAMPLES);
    let n = test.shape[0];
    let whole = run_samples(&model, std::slice::from_ref(&test), n).unwrap();
    let streamed = run_stream_samples(&model, &[test], n).unwrap();
    let info = model.stream().unwrap();
    let tol = if precision == Precision::F32 {
        1e-5
    } else {
        0.0
    };
    for (o, (w, s)) in whole.iter().zip(&streamed).enumerate() {
        let per_window = w.len() / n;
        let compared: Vec<(f32, f32)> = match info.output_axes[o] {
            Some(_) => w.iter().copied().zip(s.iter().copied()).collect(),
            // Many-to-one: the answer after the window's last step is the whole-window answer.
            None => (0..n)
                .flat_map(|k| {
                    let last = &s[(k * info.window_len + info.window_len - 1) * per_window..]
                        [..per_window];
                    w[k * per_window..][..per_window]
                        .iter()
                        .copied()
                        .zip(last.iter().copied())
                })
                .collect(),
        };
        assert_eq!(
            s.len() / n,
            per_window
                * if info.output_axes[o].is_some() {
                    1
                } else {
                    info.window_len
                }
        );
        let worst = compared
            .iter()
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        eprintln!(
            "{name} {}: output {o} max |stream - whole| = {worst:e}",
            precision.name()
        );
        assert!(
            worst <= tol,
            "{name} {}: output {o} differs by {worst}",
            precision.name()
        );
    }
}

macro_rules! streams {
    ($($test:ident: $model:literal,)*) => {$(
        mod $test {
            use super::*;
            #[test]
            fn f32_within_1e_5() {
                check($model, Precision::F32);
            }
            #[test]
            fn int8_bit_exact() {
                check($model, Precision::Int8);
            }
            #[test]
            fn int16_bit_exact() {
                check($model, Precision::Int16);
            }
        }
    )*};
}

streams! {
    causal_dilated_tcn: "tcn",
    lstm_classifier: "lstm_classifier",
    stacked_gru: "gru_regressor",
    char_lstm_over_embeddings: "char_rnn",
    vowels_lstm: "vowels_lstm",
    motion_lstm: "motion_lstm",
    kws_gru: "kws_gru",
}

/// A model that cannot stream converts, runs whole-window, and refuses `step` naming the node.
fn refuses(name: &str, node: &str, reason: &str) {
    let dir = workspace_root().join("models").join(name);
    let c = convert_path(&dir.join("model.onnx"), &ConvertOptions::default()).unwrap();
    match &c.report.stream {
        StreamStatus::Blocked {
            node: Some(n),
            reason: r,
        } => {
            assert_eq!(n, node, "{name}");
            assert!(r.contains(reason), "{name}: {r}");
        }
        other => panic!("{name}: expected a refusal, got {other:?}"),
    }
    let aligned = AlignedBytes::from_slice(&c.bytes);
    let model = Model::from_bytes(aligned.as_slice()).unwrap();
    let mut arena = vec![0u8; model.arena_bytes() + 16];
    let mut session = Session::new(&model, &mut arena).unwrap();
    let frame = vec![0.0; 16];
    let err = session.step(&frame, &mut [0.0]).unwrap_err();
    let Error::NotStreamable { op: Some(op), .. } = err else {
        panic!("{name}: {err:?}")
    };
    assert_eq!(model.op_name(op), node);
    assert!(err.to_string().contains(reason), "{err}");
    let x = npy(&dir.join("input.npy"));
    run_samples(&model, &[x], 1).expect("whole-window still runs");
}

#[test]
fn global_pooling_over_time_is_refused_by_name() {
    refuses("motion_tcn", "node_mean", "reduces over the time axis");
}

#[test]
fn normalizing_by_the_windows_last_value_is_refused_by_name() {
    refuses(
        "airline_lstm",
        "node_sub_1",
        "combines each time step with a value of the whole window",
    );
}

/// ONNX's own recurrent node cases (weights frozen into initializers): vanilla RNN, GRU, LSTM, with
/// bias, peepholes, batch > 1 and the batch-first layout; both Y (per step) and Y_h (final) checked.
fn check_node_case(case: &str, precision: Precision) {
    let dir = workspace_root().join("tests/data/onnx-node").join(case);
    let x = npy(&dir.join("input_0.npy"));
    let opts = rill_testkit::case_options(&x, precision, None);
    let c = convert_path(&dir.join("model.onnx"), &opts).unwrap_or_else(|e| panic!("{case}: {e}"));
    let aligned = AlignedBytes::from_slice(&c.bytes);
    let model = Model::from_bytes(aligned.as_slice()).unwrap();
    let info = model.stream().unwrap_or_else(|e| panic!("{case}: {e}"));
    let whole = run_samples(&model, std::slice::from_ref(&x), 1).unwrap();
    let streamed = run_stream_samples(&model, &[x], 1).unwrap();
    let tol = if precision == Precision::F32 {
        1e-5
    } else {
        0.0
    };
    for (o, (w, s)) in whole.iter().zip(&streamed).enumerate() {
        let s = match info.output_axes[o] {
            Some(_) => &s[..],
            None => &s[s.len() - w.len()..],
        };
        assert_eq!(w.len(), s.len(), "{case}: output {o}");
        let worst = max_abs_err(w, s);
        assert!(
            worst <= tol,
            "{case} {}: output {o} differs by {worst}",
            precision.name()
        );
    }
}

#[test]
fn onnx_recurrent_node_cases_stream_like_their_whole_window() {
    let cases = [
        "test_simple_rnn_defaults",
        "test_simple_rnn_with_initial_bias",
        "test_simple_rnn_batchwise",
        "test_rnn_seq_length",
        "test_gru_defaults",
        "test_gru_batchwise",
        "test_gru_with_initial_bias",
        "test_lstm_defaults",
        "test_lstm_batchwise",
        "test_lstm_with_initial_bias",
        "test_lstm_with_peepholes",
    ];
    for case in cases {
        for p in [Precision::F32, Precision::Int8, Precision::Int16] {
            if p != Precision::F32 && case == "test_lstm_with_peepholes" {
                continue; // peepholes have no fixed-point form (refused at convert)
            }
            check_node_case(case, p);
        }
    }
}

#[test]
fn backward_recurrent_layers_are_refused() {
    for case in [
        "test_simple_rnn_bidirectional",
        "test_rill_lstm_reverse",
        "test_gru_bidirectional",
    ] {
        let dir = workspace_root().join("tests/data/onnx-node").join(case);
        let c = convert_path(&dir.join("model.onnx"), &ConvertOptions::default()).unwrap();
        match &c.report.stream {
            StreamStatus::Blocked {
                node: Some(_),
                reason,
            } => {
                assert!(
                    reason.contains("runs backwards in time"),
                    "{case}: {reason}"
                )
            }
            other => panic!("{case}: {other:?}"),
        }
    }
}

#[test]
fn a_non_zero_initial_state_is_refused() {
    // The case's graph feeds a constant initial_h: a step program starting from zero would differ.
    let dir = workspace_root().join("tests/data/onnx-node/test_rill_gru_forward_lbr");
    let c = convert_path(&dir.join("model.onnx"), &ConvertOptions::default()).unwrap();
    match &c.report.stream {
        StreamStatus::Blocked { reason, .. } => {
            assert!(reason.contains("initial state"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_streaming_only_session_needs_only_the_state_and_one_steps_buffers() {
    let bytes = convert("motion_lstm", Precision::Int8);
    let aligned = AlignedBytes::from_slice(&bytes);
    let model = Model::from_bytes(aligned.as_slice()).unwrap();
    let info = model.stream().unwrap();
    assert!(
        info.step_arena_bytes * 4 < model.arena_bytes(),
        "step arena {} vs whole {}",
        info.step_arena_bytes,
        model.arena_bytes()
    );
    let frame_len = model.step_input(0).unwrap().len();
    let frames: Vec<Vec<i8>> = (0..60)
        .map(|t| {
            (0..frame_len)
                .map(|c| ((t * 7 + c * 13) % 200) as i8)
                .collect()
        })
        .collect();
    let run = |session: &mut Session| -> Vec<i8> {
        frames
            .iter()
            .flat_map(|f| {
                session.set_step_input_i8(0, f).unwrap();
                session.invoke_step().unwrap();
                session.step_output_i8(0).unwrap().to_vec()
            })
            .collect()
    };
    let mut big = vec![0u8; model.arena_bytes() + 16];
    let full = run(&mut Session::new(&model, &mut big).unwrap());
    // An arena exactly the step arena from a 16-byte aligned start: a `u128` buffer guarantees it.
    let mut words = vec![0u128; info.step_arena_bytes.div_ceil(16)];
    let small: &mut [u8] = bytemuck::cast_slice_mut(&mut words);
    let mut session = Session::new_streaming(&model, &mut small[..info.step_arena_bytes]).unwrap();
    assert_eq!(
        run(&mut session),
        full,
        "a streaming-only session answers the same"
    );
    assert_eq!(session.invoke(), Err(Error::StreamingOnly));
    assert!(session
        .set_input_i8(0, &vec![0; model.input(0).unwrap().len()])
        .is_err());
    let mut words = vec![0u128; info.step_arena_bytes.div_ceil(16)];
    let small: &mut [u8] = bytemuck::cast_slice_mut(&mut words);
    assert!(matches!(
        Session::new_streaming(&model, &mut small[..info.step_arena_bytes - 1]),
        Err(Error::ArenaTooSmall { .. })
    ));
}

/// Pools over time and attention (`tests/data/stream`, from `tools/gen_stream_cases.py`): the whole
/// window matches onnxruntime, and streamed equals whole-window at every step — within 1e-5 in f32, bit for bit in
/// int8/int16 — warm-up steps included (max pooling ignores the causal padding, average pooling
/// counts it or not as the model says).
fn check_stream_case(case: &str, time_axis: Option<usize>, precision: Precision) {
    let dir = workspace_root().join("tests/data/stream").join(case);
    let x = npy(&dir.join("input_0.npy"));
    let opts = rill_testkit::case_options(&x, precision, time_axis);
    let c = convert_path(&dir.join("model.onnx"), &opts).unwrap_or_else(|e| panic!("{case}: {e}"));
    assert!(
        matches!(c.report.stream, StreamStatus::Streams { state_bytes } if state_bytes > 0),
        "{case}: {:?}",
        c.report.stream
    );
    let aligned = AlignedBytes::from_slice(&c.bytes);
    let model = Model::from_bytes(aligned.as_slice()).unwrap();
    let whole = run_samples(&model, std::slice::from_ref(&x), 1).unwrap();
    let streamed = run_stream_samples(&model, &[x], 1).unwrap();
    // The whole window against onnxruntime: 1e-5 in f32; quantization is lossy by a predictable
    // amount, as in the quantized node cases: 5% (int8) and 1% (int16) of the output's range.
    let reference = npy(&dir.join("output_0.npy"));
    let HostData::F32(r) = &reference.data else {
        panic!("{case}: f32 reference")
    };
    let range =
        r.iter().fold(f32::MIN, |m, &v| m.max(v)) - r.iter().fold(f32::MAX, |m, &v| m.min(v));
    let bound = match precision {
        Precision::F32 => 1e-5,
        Precision::Int8 => 0.05 * range,
        _ => 0.01 * range,
    };
    let worst = max_abs_err(r, &whole[0]);
    assert_eq!(r.len(), whole[0].len(), "{case}");
    eprintln!(
        "{case} {}: max |whole - onnxruntime| = {worst:e} (range {range})",
        precision.name()
    );
    assert!(
        worst <= bound,
        "{case} {}: whole window vs onnxruntime {worst} > {bound}",
        precision.name()
    );
    let tol = if precision == Precision::F32 {
        1e-5
    } else {
        0.0
    };
    assert_eq!(whole[0].len(), streamed[0].len(), "{case}");
    let worst = max_abs_err(&whole[0], &streamed[0]);
    eprintln!(
        "{case} {}: max |stream - whole| = {worst:e}",
        precision.name()
    );
    assert!(
        worst <= tol,
        "{case} {}: streamed differs from whole window by {worst}",
        precision.name()
    );
}

#[test]
fn pools_over_time_stream_like_their_whole_window() {
    // A 2-D input's time axis is taken to be H unless told (`--time-axis`).
    for (case, axis) in [
        ("pools_1d_causal", None),
        ("pools_2d_time_on_h", None),
        ("pools_2d_time_on_w", Some(3)),
    ] {
        for p in [Precision::F32, Precision::Int8, Precision::Int16] {
            check_stream_case(case, axis, p);
        }
    }
}

/// PyTorch TCNs' causal conv (`tests/data/stream/chomp_tcn`): padded on both sides, the outputs of
/// the end padding sliced off. The converter computes only the outputs kept, so the convs are
/// causal and stream.
#[test]
fn chomped_convs_stream_like_causal_ones() {
    for p in [Precision::F32, Precision::Int8, Precision::Int16] {
        check_stream_case("chomp_tcn", None, p);
    }
}

/// Causal self-attention over the window (`tests/data/stream`): K and V rings of the window's
/// length, the causal mask's row picked per step. The whole window is exactly the first T steps of
/// the stream, each query attending to the keys up to it.
#[test]
fn causal_attention_streams_like_its_whole_window() {
    for case in ["attention_1head_causal", "attention_2head_causal"] {
        for p in [Precision::F32, Precision::Int8, Precision::Int16] {
            // The input [1, T, d] has no recurrent layer or conv to name its time axis.
            check_stream_case(case, Some(1), p);
        }
    }
}

/// A `tests/data/stream` case that must stay refused, naming `node` for `reason`.
fn stream_case_refused(case: &str, time_axis: Option<usize>, node: &str, reason: &str) {
    let dir = workspace_root().join("tests/data/stream").join(case);
    let opts = ConvertOptions {
        time_axis,
        ..ConvertOptions::default()
    };
    let c = convert_path(&dir.join("model.onnx"), &opts).unwrap();
    match &c.report.stream {
        StreamStatus::Blocked {
            node: Some(n),
            reason: r,
        } => {
            assert_eq!(n, node, "{case}");
            assert!(r.contains(reason), "{case}: {r}");
        }
        other => panic!("{case}: {other:?}"),
    }
}

#[test]
fn a_pool_striding_over_time_is_refused_by_name() {
    stream_case_refused(
        "refused_pool_stride_over_time",
        None,
        "decimate",
        "strides over time",
    );
}

#[test]
fn attention_a_query_could_see_later_keys_in_is_refused_by_name() {
    // No mask: the softmax over keys mixes in later steps.
    stream_case_refused(
        "refused_attention_unmasked",
        Some(1),
        "softmax",
        "other than causally",
    );
    // A mask of -1 above the diagonal leaves later keys weighing something.
    stream_case_refused(
        "refused_attention_weak_mask",
        Some(1),
        "causal_mask",
        "other than causally",
    );
}

/// Streaming is a runtime feature of its own: every op of the step program needs `stream`, so a
/// build with just the whole-window kernels runs the window and refuses to stream, naming the first
/// step op and the feature (firmware/qemu-m4's `footprint --features whole-window` runs such a build).
#[test]
fn streaming_needs_the_stream_feature() {
    use rill_runtime::{Features, OpError};
    let bytes = convert("motion_lstm", Precision::Int8);
    let aligned = AlignedBytes::from_slice(&bytes);
    let model = Model::from_bytes(aligned.as_slice()).unwrap();
    let whole = model.required_features(false);
    let streaming = model.required_features(true);
    assert!(!whole.contains(Features::STREAM), "{whole}");
    assert_eq!(streaming, whole.union(Features::STREAM), "{streaming}");
    assert_eq!(model.check_features(whole, false), Ok(()));
    assert_eq!(model.check_features(streaming, true), Ok(()));
    let first_step = model.file().window_ops();
    let kind = model.file().op(first_step).unwrap().op.kind();
    let err = model.check_features(whole, true).unwrap_err();
    assert_eq!(
        err,
        Error::Op {
            op: first_step,
            kind,
            error: OpError::NotCompiled {
                needs: Features::STREAM
            }
        }
    );
    assert!(err.to_string().contains("stream"), "{err}");
}
