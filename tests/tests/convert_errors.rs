//! What `convert` says about models it cannot convert: every unsupported node at once, named with its
//! op type and opset; symbolic dimensions; malformed nodes. The models are built here as ONNX protobuf,
//! so each test states exactly what it feeds the converter.
use prost::Message;
use rill_convert::{convert_bytes, ConvertError, ConvertOptions};
use tract_onnx::pb;

const FLOAT: i32 = 1;
const DOUBLE: i32 = 11;

fn value(name: &str, elem: i32, dims: &[Result<i64, &str>]) -> pb::ValueInfoProto {
    use pb::tensor_shape_proto::{dimension::Value, Dimension};
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Ok(v) => Value::DimValue(*v),
                Err(p) => Value::DimParam((*p).to_owned()),
            }),
            ..Default::default()
        })
        .collect();
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: elem,
                shape: Some(pb::TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn node(op: &str, name: &str, inputs: &[&str], outputs: &[&str]) -> pb::NodeProto {
    pb::NodeProto {
        op_type: op.into(),
        name: name.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn floats(name: &str, dims: &[i64], v: &[f32]) -> pb::TensorProto {
    pb::TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: FLOAT,
        float_data: v.to_vec(),
        ..Default::default()
    }
}

fn model(
    opset: i64,
    nodes: Vec<pb::NodeProto>,
    inputs: Vec<pb::ValueInfoProto>,
    outputs: Vec<pb::ValueInfoProto>,
    inits: Vec<pb::TensorProto>,
) -> Vec<u8> {
    pb::ModelProto {
        ir_version: 8,
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: opset,
        }],
        graph: Some(pb::GraphProto {
            name: "g".into(),
            node: nodes,
            input: inputs,
            output: outputs,
            initializer: inits,
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

fn convert_err(bytes: &[u8], opts: &ConvertOptions) -> ConvertError {
    match convert_bytes(bytes, opts) {
        Ok(_) => panic!("conversion should fail"),
        Err(e) => e,
    }
}

#[test]
fn every_unsupported_node_is_listed_with_op_and_opset() {
    let bytes = model(
        17,
        vec![
            node("Einsum", "/attn/Einsum", &["x", "x"], &["e"]),
            node("Relu", "/relu", &["x"], &["r"]),
            node("Mish", "/act/Mish", &["r"], &["f"]),
            // Downstream of a failed node: not reported again.
            node("Add", "/add", &["e", "f"], &["y"]),
        ],
        vec![value("x", FLOAT, &[Ok(1), Ok(4)])],
        vec![value("y", FLOAT, &[Ok(1), Ok(4)])],
        vec![],
    );
    let e = convert_err(&bytes, &ConvertOptions::default());
    let ConvertError::Nodes(issues) = &e else {
        panic!("expected node issues, got {e}")
    };
    assert_eq!(issues.len(), 2, "{e}");
    let text = e.to_string();
    assert!(
        text.contains("unsupported op 'Einsum' at node '/attn/Einsum' (opset 17)"),
        "{text}"
    );
    assert!(
        text.contains("unsupported op 'Mish' at node '/act/Mish' (opset 17)"),
        "{text}"
    );
    assert!(text.starts_with("2 nodes cannot be converted"), "{text}");
}

#[test]
fn a_keras_3_recurrent_loop_is_refused_with_the_export_that_works() {
    // tf2onnx's export of a Keras 3 LSTM: a Loop over the time steps (its body is not read).
    let bytes = model(
        17,
        vec![node(
            "Loop",
            "model/lstm/while_loop",
            &["n", "c", "x"],
            &["y"],
        )],
        vec![value("x", FLOAT, &[Ok(1), Ok(4)])],
        vec![value("y", FLOAT, &[Ok(1), Ok(4)])],
        vec![ints("n", &[4]), ints("c", &[1])],
    );
    let text = convert_err(&bytes, &ConvertOptions::default()).to_string();
    assert!(
        text.contains("Loop at node 'model/lstm/while_loop' (opset 17): Rill runs no ONNX loops")
            && text.contains(
                "export Keras 2 (tf_keras) LSTM, or GRU with the default reset_after=True"
            ),
        "{text}"
    );
}

#[test]
fn a_symbolic_time_axis_needs_an_input_shape_and_then_converts() {
    let bytes = model(
        17,
        vec![node("Relu", "/relu", &["x"], &["y"])],
        vec![value("x", FLOAT, &[Err("batch"), Err("time"), Ok(3)])],
        vec![value("y", FLOAT, &[Err("batch"), Err("time"), Ok(3)])],
        vec![],
    );
    let e = convert_err(&bytes, &ConvertOptions::default()).to_string();
    assert!(
        e.contains("'x'") && e.contains("'time'") && e.contains("--input-shape"),
        "{e}"
    );

    let opts = ConvertOptions {
        input_shapes: vec![("x".into(), vec![1, 5, 3])],
        ..Default::default()
    };
    let converted = convert_bytes(&bytes, &opts).expect("converts with the shape given");
    let x: Vec<f32> = (0..15).map(|i| i as f32 - 7.0).collect();
    let input = rill_convert::tensor::HostTensor::f32(vec![1, 5, 3], x.clone());
    let y = rill_testkit::run_model(&converted.bytes, &[&input]).unwrap();
    assert_eq!(y[0], x.iter().map(|v| v.max(0.0)).collect::<Vec<_>>());

    let wrong = ConvertOptions {
        input_shapes: vec![("x".into(), vec![1, 5, 4])],
        ..Default::default()
    };
    let e = convert_err(&bytes, &wrong).to_string();
    assert!(e.contains("dimension 2 is fixed to 3"), "{e}");
    let unknown = ConvertOptions {
        input_shapes: vec![("z".into(), vec![1])],
        ..Default::default()
    };
    let e = convert_err(&bytes, &unknown).to_string();
    assert!(e.contains("'z'") && e.contains("x"), "{e}");
}

#[test]
fn conv_weights_computed_at_run_time_are_refused_by_name() {
    let bytes = model(
        17,
        vec![node("Conv", "/conv", &["x", "w"], &["y"])],
        vec![
            value("x", FLOAT, &[Ok(1), Ok(2), Ok(8)]),
            value("w", FLOAT, &[Ok(4), Ok(2), Ok(3)]),
        ],
        vec![value("y", FLOAT, &[Ok(1), Ok(4), Ok(6)])],
        vec![],
    );
    let e = convert_err(&bytes, &ConvertOptions::default()).to_string();
    assert!(
        e.contains("Conv at node '/conv'") && e.contains("weights"),
        "{e}"
    );
}

#[test]
fn malformed_nodes_and_inputs_are_named() {
    // A Reshape to a size that does not match.
    let bytes = model(
        17,
        vec![node("Reshape", "/reshape", &["x", "s"], &["y"])],
        vec![value("x", FLOAT, &[Ok(2), Ok(3)])],
        vec![value("y", FLOAT, &[Ok(4), Ok(2)])],
        vec![pb::TensorProto {
            name: "s".into(),
            dims: vec![2],
            data_type: 7,
            int64_data: vec![4, 2],
            ..Default::default()
        }],
    );
    let e = convert_err(&bytes, &ConvertOptions::default()).to_string();
    assert!(e.contains("'/reshape'") && e.contains("[2, 3]"), "{e}");

    // float64 graph inputs are not silently narrowed.
    let bytes = model(
        17,
        vec![node("Relu", "/relu", &["x"], &["y"])],
        vec![value("x", DOUBLE, &[Ok(2)])],
        vec![value("y", DOUBLE, &[Ok(2)])],
        vec![],
    );
    let e = convert_err(&bytes, &ConvertOptions::default()).to_string();
    assert!(e.contains("'x'") && e.contains("float64"), "{e}");

    // A Gemm whose inner sizes disagree.
    let bytes = model(
        17,
        vec![node("Gemm", "/fc", &["x", "w"], &["y"])],
        vec![value("x", FLOAT, &[Ok(1), Ok(3)])],
        vec![value("y", FLOAT, &[Ok(1), Ok(2)])],
        vec![floats("w", &[4, 2], &[0.0; 8])],
    );
    let e = convert_err(&bytes, &ConvertOptions::default()).to_string();
    assert!(
        e.contains("'/fc'") && e.contains("inner sizes differ"),
        "{e}"
    );
}

#[test]
fn bytes_that_are_not_onnx_are_a_parse_error() {
    let e = convert_err(
        b"\x08\x07definitely not a model",
        &ConvertOptions::default(),
    );
    assert!(
        matches!(e, ConvertError::Parse(_) | ConvertError::Model(_)),
        "{e}"
    );
    let e = convert_err(&[], &ConvertOptions::default());
    assert!(e.to_string().contains("no graph"), "{e}");
}

#[test]
fn batchnorm_and_activation_fold_into_the_conv_and_keep_its_values() {
    // y = relu(BN(conv(x))) with hand-picked numbers: one output channel, kernel [1, 2].
    let bytes = model(
        17,
        vec![
            node("Conv", "/conv", &["x", "w", "b"], &["c"]),
            node(
                "BatchNormalization",
                "/bn",
                &["c", "s", "bb", "m", "v"],
                &["n"],
            ),
            node("Relu", "/relu", &["n"], &["y"]),
        ],
        vec![value("x", FLOAT, &[Ok(1), Ok(1), Ok(3)])],
        vec![value("y", FLOAT, &[Ok(1), Ok(1), Ok(2)])],
        vec![
            floats("w", &[1, 1, 2], &[1.0, -1.0]),
            floats("b", &[1], &[0.5]),
            floats("s", &[1], &[2.0]),
            floats("bb", &[1], &[1.0]),
            floats("m", &[1], &[0.5]),
            floats("v", &[1], &[4.0 - 1e-5]),
        ],
    );
    let converted = convert_bytes(&bytes, &ConvertOptions::default()).unwrap();
    assert_eq!(
        converted.report.ops_after, 1,
        "{:?}",
        converted.report.folded
    );
    assert_eq!(
        converted.report.folded.len(),
        2,
        "{:?}",
        converted.report.folded
    );
    // conv: [1-4, 4-2] + 0.5 = [-2.5, 2.5]; BN: (c - 0.5) * 2 / 2 + 1 = [-2, 3]; relu: [0, 3].
    let x = rill_convert::tensor::HostTensor::f32(vec![1, 1, 3], vec![1.0, 4.0, 2.0]);
    let y = rill_testkit::run_model(&converted.bytes, &[&x]).unwrap();
    assert!(
        (y[0][0] - 0.0).abs() < 1e-6 && (y[0][1] - 3.0).abs() < 1e-5,
        "{:?}",
        y[0]
    );
}

fn ints(name: &str, v: &[i64]) -> pb::TensorProto {
    pb::TensorProto {
        name: name.into(),
        dims: vec![v.len() as i64],
        data_type: 7,
        int64_data: v.to_vec(),
        ..Default::default()
    }
}

#[test]
fn a_causal_zero_pad_folds_into_the_conv() {
    // F.pad(x, (2, 0)) then a kernel-3 conv: y[t] = x[t-2] + 2 x[t-1] + 3 x[t], x[<0] = 0.
    let bytes = model(
        17,
        vec![
            node("Pad", "/pad", &["x", "p"], &["xp"]),
            node("Conv", "/conv", &["xp", "w"], &["y"]),
        ],
        vec![value("x", FLOAT, &[Ok(1), Ok(1), Ok(4)])],
        vec![value("y", FLOAT, &[Ok(1), Ok(1), Ok(4)])],
        vec![
            ints("p", &[0, 0, 2, 0, 0, 0]),
            floats("w", &[1, 1, 3], &[1.0, 2.0, 3.0]),
        ],
    );
    let converted = convert_bytes(&bytes, &ConvertOptions::default()).unwrap();
    assert_eq!(converted.report.ops_after, 1);
    let x = rill_convert::tensor::HostTensor::f32(vec![1, 1, 4], vec![1.0, 10.0, 100.0, 1000.0]);
    let y = rill_testkit::run_model(&converted.bytes, &[&x]).unwrap();
    assert_eq!(y[0], vec![3.0, 32.0, 321.0, 3210.0]);

    // A pad feeding anything but a conv is named, with its consumer.
    let bytes = model(
        17,
        vec![
            node("Pad", "/pad", &["x", "p"], &["xp"]),
            node("Relu", "/relu", &["xp"], &["y"]),
        ],
        vec![value("x", FLOAT, &[Ok(1), Ok(1), Ok(4)])],
        vec![value("y", FLOAT, &[Ok(1), Ok(1), Ok(6)])],
        vec![ints("p", &[0, 0, 2, 0, 0, 0])],
    );
    let e = convert_err(&bytes, &ConvertOptions::default()).to_string();
    assert!(
        e.contains("Pad at node '/pad'") && e.contains("Relu '/relu'"),
        "{e}"
    );
}

/// `node` with an integer attribute.
fn with_int(mut n: pb::NodeProto, name: &str, v: i64) -> pb::NodeProto {
    n.attribute.push(pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Int as i32,
        i: v,
        ..Default::default()
    });
    n
}

/// `node` with an integer-list attribute.
fn with_ints(mut n: pb::NodeProto, name: &str, v: &[i64]) -> pb::NodeProto {
    n.attribute.push(pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Ints as i32,
        ints: v.to_vec(),
        ..Default::default()
    });
    n
}

#[test]
fn a_channels_last_causal_conv_as_tf2onnx_writes_it_folds_its_pad() {
    // Keras Conv1D(1, 3, padding="causal", activation="relu") on [N, T, C] = [1, 4, 2], exported
    // by tf2onnx: Pad on T, Unsqueeze to [1, 1, 6, 2], Transpose to [1, 2, 1, 6], Conv, Squeeze,
    // Relu. y[t] = x0[t-2] + 2 x0[t-1] + 3 x0[t] + 5 x1[t], x[<0] = 0.
    let bytes = model(
        17,
        vec![
            node("Pad", "/pad", &["x", "p"], &["xp"]),
            node("Unsqueeze", "/unsq", &["xp", "a_h"], &["x4"]),
            with_ints(
                node("Transpose", "/tr", &["x4"], &["xt"]),
                "perm",
                &[0, 3, 1, 2],
            ),
            node("Conv", "/conv", &["xt", "w"], &["yc"]),
            node("Squeeze", "/sq", &["yc", "a_2"], &["ys"]),
            node("Relu", "/relu", &["ys"], &["y"]),
        ],
        vec![value("x", FLOAT, &[Ok(1), Ok(4), Ok(2)])],
        vec![value("y", FLOAT, &[Ok(1), Ok(1), Ok(4)])],
        vec![
            ints("p", &[0, 2, 0, 0, 0, 0]),
            ints("a_h", &[-3]),
            ints("a_2", &[2]),
            floats("w", &[1, 2, 1, 3], &[1.0, 2.0, 3.0, 0.0, 0.0, 5.0]),
        ],
    );
    let converted = convert_bytes(&bytes, &ConvertOptions::default()).unwrap();
    // The transpose and the conv with its ReLU: the Pad, Unsqueeze and Squeeze cost nothing.
    assert_eq!(converted.report.ops_after, 2);
    let x = rill_convert::tensor::HostTensor::f32(
        vec![1, 4, 2],
        vec![1.0, -1.0, 10.0, -1.0, 100.0, -1.0, 1000.0, -1.0],
    );
    let y = rill_testkit::run_model(&converted.bytes, &[&x]).unwrap();
    // [3 - 5, 32 - 5, 321 - 5, 3210 - 5], then the ReLU.
    assert_eq!(y[0], vec![0.0, 27.0, 316.0, 3205.0]);

    // A reshape that merges the padded axis with another cannot carry the padding to the conv:
    // refused, naming the Pad and its reader, rather than reading a buffer nobody writes.
    let bytes = model(
        17,
        vec![
            node("Pad", "/pad", &["x", "p"], &["xp"]),
            node("Reshape", "/flat", &["xp", "s"], &["xf"]),
            node("Conv", "/conv", &["xf", "w"], &["y"]),
        ],
        vec![value("x", FLOAT, &[Ok(1), Ok(4), Ok(2)])],
        vec![value("y", FLOAT, &[Ok(1), Ok(1), Ok(10)])],
        vec![
            ints("p", &[0, 2, 0, 0, 0, 0]),
            ints("s", &[1, 1, 12]),
            floats("w", &[1, 1, 3], &[1.0, 2.0, 3.0]),
        ],
    );
    let e = convert_err(&bytes, &ConvertOptions::default()).to_string();
    assert!(
        e.contains("Pad at node '/pad'") && e.contains("Conv '/conv' through a reshape"),
        "{e}"
    );
}

#[test]
fn shape_arithmetic_with_reductions_resolves_at_convert_time() {
    // Keras' MultiHeadAttention computes reshape targets as ReduceProd of a Shape's dimensions:
    // [1, 2, 3] reshaped to [1, 2 * 3], then a ReLU: one op on the device.
    let concat = with_int(
        node("Concat", "/cat", &["one", "prod"], &["shp"]),
        "axis",
        0,
    );
    let bytes = model(
        17,
        vec![
            node("Shape", "/shape", &["x"], &["s"]),
            node("Gather", "/dims", &["s", "idx"], &["d"]),
            node("ReduceProd", "/prod", &["d"], &["prod"]),
            concat,
            node("Reshape", "/reshape", &["x", "shp"], &["r"]),
            node("Relu", "/relu", &["r"], &["y"]),
        ],
        vec![value("x", FLOAT, &[Ok(1), Ok(2), Ok(3)])],
        vec![value("y", FLOAT, &[Ok(1), Ok(6)])],
        vec![ints("idx", &[1, 2]), ints("one", &[1])],
    );
    let converted = convert_bytes(&bytes, &ConvertOptions::default()).unwrap();
    assert_eq!(converted.report.ops_after, 1);
    let x = rill_convert::tensor::HostTensor::f32(vec![1, 2, 3], vec![1., -2., 3., -4., 5., -6.]);
    let y = rill_testkit::run_model(&converted.bytes, &[&x]).unwrap();
    assert_eq!(y[0], vec![1., 0., 3., 0., 5., 0.]);
}

#[test]
fn batch_norm_statistics_computed_in_the_graph_must_be_its_inputs_own() {
    // tf2onnx's LayerNormalization passes the input's mean and variance as run-time inputs; here
    // the "variance" is the mean again: not a normalization Rill can run as a LayerNorm.
    let mean = with_ints(node("ReduceMean", "/mean", &["x"], &["m"]), "axes", &[0, 2]);
    let bytes = model(
        17,
        vec![
            mean,
            node("Squeeze", "/sq", &["m", "axes"], &["ms"]),
            node(
                "BatchNormalization",
                "/bn",
                &["x", "scale", "bias", "ms", "ms"],
                &["y"],
            ),
        ],
        vec![value("x", FLOAT, &[Ok(1), Ok(2), Ok(3)])],
        vec![value("y", FLOAT, &[Ok(1), Ok(2), Ok(3)])],
        vec![
            ints("axes", &[0, 2]),
            floats("scale", &[2], &[1.0, 1.0]),
            floats("bias", &[2], &[0.0, 0.0]),
        ],
    );
    let e = convert_err(&bytes, &ConvertOptions::default()).to_string();
    assert!(
        e.contains("BatchNormalization at node '/bn'")
            && e.contains("mean and variance computed at run time"),
        "{e}"
    );
}

#[test]
fn a_bias_over_heads_folds_into_the_dense_before_the_reshape() {
    // Keras' MultiHeadAttention projection: a MatMul to 2 heads x 2, reshaped to [1, 2, 2], and
    // its bias [2, 2] added there. y = x W + b, with x = [1, 2], W = [[1, 0, 2, 0], [0, 1, 0, 3]].
    let bytes = model(
        17,
        vec![
            node("MatMul", "/proj", &["x", "w"], &["p"]),
            node("Reshape", "/heads", &["p", "shape"], &["h"]),
            node("Add", "/bias", &["h", "b"], &["y"]),
        ],
        vec![value("x", FLOAT, &[Ok(1), Ok(2)])],
        vec![value("y", FLOAT, &[Ok(1), Ok(2), Ok(2)])],
        vec![
            floats("w", &[2, 4], &[1., 0., 2., 0., 0., 1., 0., 3.]),
            ints("shape", &[1, 2, 2]),
            floats("b", &[2, 2], &[10., 20., 30., 40.]),
        ],
    );
    let converted = convert_bytes(&bytes, &ConvertOptions::default()).unwrap();
    assert_eq!(converted.report.ops_after, 1);
    let x = rill_convert::tensor::HostTensor::f32(vec![1, 2], vec![1.0, 2.0]);
    let y = rill_testkit::run_model(&converted.bytes, &[&x]).unwrap();
    // x W = [1, 2, 2, 6], plus the bias.
    assert_eq!(y[0], vec![11.0, 22.0, 32.0, 46.0]);
}

#[test]
fn an_exported_exact_gelu_becomes_one_gelu() {
    // PyTorch's GELU below opset 20: x / sqrt(2), Erf, + 1, times x, times 0.5.
    let bytes = model(
        17,
        vec![
            node("Div", "/div", &["x", "sqrt2"], &["d"]),
            node("Erf", "/erf", &["d"], &["e"]),
            node("Add", "/add", &["e", "one"], &["a"]),
            node("Mul", "/mul", &["x", "a"], &["m"]),
            node("Mul", "/mul_1", &["m", "half"], &["y"]),
        ],
        vec![value("x", FLOAT, &[Ok(1), Ok(3)])],
        vec![value("y", FLOAT, &[Ok(1), Ok(3)])],
        vec![
            floats("sqrt2", &[], &[std::f32::consts::SQRT_2]),
            floats("one", &[], &[1.0]),
            floats("half", &[], &[0.5]),
        ],
    );
    let converted = convert_bytes(&bytes, &ConvertOptions::default()).unwrap();
    assert_eq!(converted.report.ops_after, 1);
    let x = rill_convert::tensor::HostTensor::f32(vec![1, 3], vec![-1.0, 0.0, 2.0]);
    let y = rill_testkit::run_model(&converted.bytes, &[&x]).unwrap();
    // GELU(x) = x Phi(x): Phi(-1) = 0.158655254, Phi(2) = 0.977249868.
    for (got, want) in y[0].iter().zip([-0.158_655_25, 0.0, 1.954_499_7]) {
        assert!((got - want).abs() < 1e-6, "{:?}", y[0]);
    }
}
