//! Files written by hand, some then edited past what the writer accepts (and resealed), each at
//! the edge where an unchecked field used to wrap or be ignored: the runtime must refuse them (at
//! load or at the op) or compute the right answer. Expected values are worked out on paper.
use core::mem::offset_of;

use rill_format::reader::checksum;
use rill_format::writer::{
    AlignedBytes, FileBuilder, GraphSpec, QuantSpec, StreamSpec, TensorData, TensorSpec,
};
use rill_format::{
    ActKind, ActParams, DType, FormatError, ModelFile, Op, PoolParams, RequantParams, RnnParams,
    SoftmaxParams, StreamRecord, TensorRecord, CRC_START,
};
use rill_runtime::{Error, Model, Session};

/// `file` with the bytes at `at` (from the start of the record `record` of it) replaced by `value`,
/// and its checksum recomputed so that the check behind it is reached.
fn edited(file: &AlignedBytes, record: &[u8], at: usize, value: &[u8]) -> AlignedBytes {
    let mut bytes = file.as_slice().to_vec();
    let start = bytes
        .windows(record.len())
        .position(|w| w == record)
        .expect("the record is in the file")
        + at;
    bytes[start..start + value.len()].copy_from_slice(value);
    let crc = checksum(&bytes[CRC_START..]);
    bytes[12..16].copy_from_slice(&crc.to_le_bytes());
    AlignedBytes::from_slice(&bytes)
}

/// `file` with tensor `t`'s zero point set to `z`.
fn with_zero_point(file: &AlignedBytes, t: usize, z: i32) -> AlignedBytes {
    let parsed = ModelFile::parse(file.as_slice()).unwrap();
    let rec = bytemuck::bytes_of(&parsed.tensors[t]);
    edited(
        file,
        rec,
        offset_of!(TensorRecord, zero_point),
        &z.to_le_bytes(),
    )
}

fn codes(name: &str, dtype: DType, len: usize, offset: usize, zero_point: i32) -> TensorSpec<'_> {
    TensorSpec {
        name,
        dtype,
        shape: match len {
            1 => &[1],
            _ => &[1, 1, 1, 1],
        },
        data: TensorData::Arena { offset },
        quant: Some(QuantSpec {
            scale: 1.0,
            zero_point,
            per_channel: None,
        }),
    }
}

fn finish(mut b: FileBuilder, x: u32, y: u32, arena_bytes: usize) -> AlignedBytes {
    b.set_io(&[x], &[y]).unwrap();
    b.set_graph(&GraphSpec {
        arena_bytes,
        ..Default::default()
    })
    .unwrap();
    AlignedBytes::from_slice(&b.finish().unwrap())
}

/// Requant from i8 codes with zero point `z_x` to i16 codes (zero point 0) at multiplier 1.
fn requant_file(z_x: i32) -> AlignedBytes {
    let mut b = FileBuilder::new();
    let x = b.add_tensor(&codes("x", DType::I8, 1, 0, z_x)).unwrap();
    let y = b.add_tensor(&codes("y", DType::I16, 1, 16, 0)).unwrap();
    // [lo, hi, m0, shift]: m0 = 2^30 (one half in Q31) times 2^1.
    let aux: [i32; 4] = [-32768, 32767, 1 << 30, 1];
    let aux = b
        .add_tensor(&TensorSpec {
            name: "aux",
            dtype: DType::I32,
            shape: &[4],
            data: TensorData::Const(bytemuck::cast_slice(&aux)),
            quant: None,
        })
        .unwrap();
    b.add_op(
        &Op::Requant(RequantParams { len: 1 }),
        &[Some(x), Some(aux)],
        &[Some(y)],
        None,
        "rq",
    )
    .unwrap();
    finish(b, x, y, 32)
}

#[test]
fn zero_points_outside_their_code_type_are_refused_at_load() {
    for (z, ok) in [
        (-128, true),
        (127, true),
        (128, false),
        (-129, false),
        (i32::MIN, false),
    ] {
        let file = with_zero_point(&requant_file(0), 0, z);
        match Model::from_bytes(file.as_slice()) {
            Ok(_) => assert!(ok, "zero point {z} accepted"),
            Err(Error::Format(FormatError::BadTensor { tensor, reason })) => {
                assert!(!ok, "zero point {z} refused: {reason}");
                assert_eq!(tensor, 0, "the i8 input is tensor 0");
                assert!(reason.contains("zero point"), "{reason}");
            }
            Err(e) => panic!("zero point {z}: unexpected error {e}"),
        }
    }
    // The extreme zero point still computes exactly: 127 - (-128) = 255 at multiplier 1.
    let file = requant_file(-128);
    let model = Model::from_bytes(file.as_slice()).unwrap();
    let mut arena = vec![0u8; model.arena_bytes() + 16];
    let mut s = Session::new(&model, &mut arena).unwrap();
    s.set_input_i8(0, &[127]).unwrap();
    s.invoke().unwrap();
    assert_eq!(s.output_i16(0).unwrap(), &[255]);
}

#[test]
fn a_float_tensor_with_a_zero_point_is_refused_at_load() {
    let mut b = FileBuilder::new();
    let mut spec = codes("x", DType::F32, 1, 0, 0);
    spec.quant = None;
    let x = b.add_tensor(&spec).unwrap();
    let file = with_zero_point(&finish(b, x, x, 16), 0, 3);
    match Model::from_bytes(file.as_slice()) {
        Err(Error::Format(FormatError::BadTensor { tensor: 0, reason })) => {
            assert!(reason.contains("zero point is not 0"), "{reason}")
        }
        other => panic!("expected the zero point refused, got {:?}", other.err()),
    }
}

/// An int8 average pool with padding counted, over a 1 x 1 input and a `k` x `k` window.
fn pool_file(k: u32, z: i32) -> AlignedBytes {
    let mut b = FileBuilder::new();
    let x = b.add_tensor(&codes("x", DType::I8, 4, 0, z)).unwrap();
    let y = b.add_tensor(&codes("y", DType::I8, 4, 16, z)).unwrap();
    let p = PoolParams {
        kind: 1,
        batch: 1,
        channels: 1,
        in_h: 1,
        in_w: 1,
        out_h: 1,
        out_w: 1,
        k_h: k,
        k_w: k,
        stride_h: 1,
        stride_w: 1,
        dil_h: 1,
        dil_w: 1,
        pad_top: 0,
        pad_left: 0,
        count_include_pad: 1,
        global: 0,
    };
    b.add_op(&Op::Pool(p), &[Some(x)], &[Some(y)], None, "pool")
        .unwrap();
    finish(b, x, y, 32)
}

fn pool(k: u32) -> Result<i8, Error> {
    let file = pool_file(k, 3);
    let model = Model::from_bytes(file.as_slice())?;
    let mut arena = vec![0u8; model.arena_bytes() + 16];
    let mut s = Session::new(&model, &mut arena)?;
    s.set_input_i8(0, &[100])?;
    s.invoke()?;
    Ok(s.output_i8(0)?[0])
}

#[test]
fn an_average_pool_window_too_large_to_sum_is_refused() {
    // One real tap (100) and eight padded taps at the zero point 3: (100 + 8 x 3) / 9 = 13.8 -> 14.
    assert_eq!(pool(3).unwrap(), 14);
    for k in [1 << 31, u32::MAX] {
        match pool(k) {
            Err(Error::Op { op: 0, error, .. }) => {
                assert!(error.to_string().contains("pool window"), "{error}")
            }
            other => panic!("window {k} x {k}: expected an op error, got {other:?}"),
        }
    }
}

/// A one-step f32 RNN (input 1, hidden 1, W = 1, R = 0, identity): h = x. The step input holds
/// `x_len` values and the step output `y_len`, for `batch` rows; the output's time axis is `axis`.
fn rnn_step_file(batch: u32, x_len: usize, y_len: usize, axis: usize) -> AlignedBytes {
    let mut b = FileBuilder::new();
    let mut t = |name, shape: &[usize], data| {
        b.add_tensor(&TensorSpec {
            name,
            dtype: DType::F32,
            shape,
            data,
            quant: None,
        })
        .unwrap()
    };
    let h = t("h", &[1, 1, 1], TensorData::State { offset: 0 });
    let x_window = t("x_window", &[1], TensorData::Arena { offset: 16 });
    let y_window = t("y_window", &[1], TensorData::Arena { offset: 32 });
    let x = t("x", &[x_len], TensorData::Arena { offset: 48 });
    let y = t("y", &[y_len], TensorData::Arena { offset: 80 });
    let scratch = t("scratch", &[4], TensorData::Arena { offset: 112 });
    let w = t(
        "w",
        &[1, 1, 1],
        TensorData::Const(bytemuck::bytes_of(&1.0f32)),
    );
    let r = t(
        "r",
        &[1, 1, 1],
        TensorData::Const(bytemuck::bytes_of(&0.0f32)),
    );
    b.set_io(&[x_window], &[y_window]).unwrap();
    b.set_graph(&GraphSpec {
        arena_bytes: 128,
        state_bytes: 16,
        ..Default::default()
    })
    .unwrap();
    b.set_stream(&StreamSpec {
        window_ops: 0,
        inputs: &[x],
        outputs: &[y],
        state: &[h],
        window_len: 1,
        latency: 0,
        step_arena_bytes: 128,
        input_axes: &[Some(0)],
        output_axes: &[Some(axis)],
    })
    .unwrap();
    let id = ActParams::new(ActKind::Identity, 0.0, 0.0);
    let p = RnnParams {
        cell: 0,
        direction: 0,
        seq_len: 1,
        batch,
        input_size: 1,
        hidden: 1,
        layout: 0,
        linear_before_reset: 0,
        input_forget: 0,
        clip: 0.0,
        acts: [id; 6],
    };
    b.add_op(
        &Op::RnnStep(p),
        &[Some(x), Some(w), Some(r)],
        &[Some(y), Some(h)],
        Some(scratch),
        "step",
    )
    .unwrap();
    AlignedBytes::from_slice(&b.finish().unwrap())
}

fn step(file: &AlignedBytes, frame: &[f32]) -> Result<Vec<f32>, Error> {
    let model = Model::from_bytes(file.as_slice())?;
    let mut arena = vec![0u8; model.arena_bytes() + 16];
    let mut s = Session::new(&model, &mut arena)?;
    s.set_step_input_f32(0, frame)?;
    s.invoke_step()?;
    Ok(s.step_output_f32(0)?.to_vec())
}

#[test]
fn a_recurrent_step_checks_its_operands_hold_batch_rows_exactly() {
    assert_eq!(step(&rnn_step_file(1, 1, 1, 0), &[3.0]).unwrap(), [3.0]);
    // Two values per frame for one row of one input: the second would be ignored.
    for (batch, len) in [(1, 2), (0, 1)] {
        match step(&rnn_step_file(batch, len, len, 0), &vec![3.0; len]) {
            Err(Error::Op { op: 0, error, .. }) => {
                assert!(error.to_string().contains("rnn step x"), "{error}")
            }
            other => panic!("batch {batch}, frame of {len}: expected an op error, got {other:?}"),
        }
    }
}

#[test]
fn a_stream_output_axis_past_the_outputs_rank_is_refused_at_load() {
    let file = rnn_step_file(1, 1, 1, 0);
    let rec = ModelFile::parse(file.as_slice()).unwrap().stream.unwrap();
    let at = offset_of!(StreamRecord, output_axes);
    let file = edited(&file, bytemuck::bytes_of(rec), at, &7u32.to_le_bytes());
    match Model::from_bytes(file.as_slice()) {
        Err(Error::Format(e)) => assert!(e.to_string().contains("output time axis"), "{e}"),
        other => panic!("expected the axis refused, got {:?}", other.err()),
    }
}

/// An int8 softmax over 4 codes whose output is labelled with `scale` and `zero_point`.
fn softmax_file(scale: f32, zero_point: i32) -> AlignedBytes {
    let mut b = FileBuilder::new();
    let x = b.add_tensor(&codes("x", DType::I8, 4, 0, 0)).unwrap();
    let mut y = codes("y", DType::I8, 4, 16, zero_point);
    y.quant = Some(QuantSpec {
        scale,
        zero_point,
        per_channel: None,
    });
    let y = b.add_tensor(&y).unwrap();
    let table = [0i32; 260];
    let aux = b
        .add_tensor(&TensorSpec {
            name: "table",
            dtype: DType::I32,
            shape: &[table.len()],
            data: TensorData::Const(bytemuck::cast_slice(&table)),
            quant: None,
        })
        .unwrap();
    let p = SoftmaxParams {
        outer: 1,
        axis_len: 4,
        inner: 1,
        log: 0,
    };
    b.add_op(
        &Op::Softmax(p),
        &[Some(x), Some(aux)],
        &[Some(y)],
        None,
        "softmax",
    )
    .unwrap();
    finish(b, x, y, 32)
}

#[test]
fn a_softmax_output_off_the_kernels_grid_is_refused_at_load() {
    assert!(Model::from_bytes(softmax_file(1.0 / 256.0, -128).as_slice()).is_ok());
    for (scale, z) in [(1.0 / 256.0, -127), (1.0 / 255.0, -128)] {
        match Model::from_bytes(softmax_file(scale, z).as_slice()) {
            Err(Error::Op { op: 0, error, .. }) => {
                assert!(
                    error.to_string().contains("softmax output scale"),
                    "{error}"
                )
            }
            other => panic!(
                "scale {scale}, zero point {z}: expected refused, got {:?}",
                other.err()
            ),
        }
    }
}
