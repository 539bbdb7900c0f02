//! The runtime against models built by hand with the format's writer: every expected value below is
//! worked out on paper from the weights written here, not taken from a run of the code under test.
use rill_format::writer::{AlignedBytes, FileBuilder, GraphSpec, TensorData, TensorSpec};
use rill_format::{ActKind, ActParams, DenseParams, GatherParams, Op};
use rill_runtime::{DType, Error, Model, OpError, OpKind, Session};

/// Tolerance for sums of a few products of small exact binary fractions (they are exact in f32 anyway).
const TOL: f32 = 1e-6;

fn assert_close(got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "length: got {got:?}, want {want:?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= TOL,
            "element {i}: got {g}, want {w} (all: {got:?})"
        );
    }
}

/// A zeroed arena of `len` bytes that starts on a 16-byte boundary (a `Vec<u8>` only promises 1).
struct Arena(Vec<u128>);

impl Arena {
    fn new(len: usize) -> Arena {
        Arena(vec![0u128; len.div_ceil(16) + 1])
    }
    /// `len` bytes starting `skip` bytes past the aligned start.
    fn slice(&mut self, skip: usize, len: usize) -> &mut [u8] {
        &mut bytemuck::cast_slice_mut::<u128, u8>(&mut self.0)[skip..skip + len]
    }
}

fn f32_tensor<'a>(name: &'a str, shape: &'a [usize], offset: usize) -> TensorSpec<'a> {
    TensorSpec {
        name,
        dtype: DType::F32,
        shape,
        data: TensorData::Arena { offset },
        quant: None,
    }
}

fn const_tensor<'a>(name: &'a str, shape: &'a [usize], data: &'a [f32]) -> TensorSpec<'a> {
    TensorSpec {
        name,
        dtype: DType::F32,
        shape,
        data: TensorData::Const(bytemuck::cast_slice(data)),
        quant: None,
    }
}

fn dense(m: u32, k: u32, n: u32, act: ActKind) -> Op {
    Op::Dense(DenseParams {
        m,
        k,
        n,
        act: ActParams::new(act, 0.0, 0.0),
    })
}

fn finish(mut b: FileBuilder, arena_bytes: usize) -> AlignedBytes {
    b.set_graph(&GraphSpec {
        arena_bytes,
        live_bound_bytes: arena_bytes,
        producer: "session tests".into(),
        source: "hand-built".into(),
        ..Default::default()
    })
    .expect("graph record");
    AlignedBytes::from_slice(&b.finish().expect("the writer accepts the test model"))
}

const W1: [f32; 6] = [1.0, 2.0, 3.0, 4.0, 5.0, -6.0];
const B1: [f32; 3] = [0.5, 0.0, -1.0];

/// y = relu(x W1^T + B1), x [1, 2] at arena offset 0, y [1, 3] at 16; 32 arena bytes.
fn dense_model() -> AlignedBytes {
    let mut b = FileBuilder::new();
    let x = b.add_tensor(&f32_tensor("x", &[1, 2], 0)).unwrap();
    let w = b.add_tensor(&const_tensor("w", &[3, 2], &W1)).unwrap();
    let bias = b.add_tensor(&const_tensor("b", &[3], &B1)).unwrap();
    let y = b.add_tensor(&f32_tensor("y", &[1, 3], 16)).unwrap();
    b.add_op(
        &dense(1, 2, 3, ActKind::Relu),
        &[Some(x), Some(w), Some(bias)],
        &[Some(y)],
        None,
        "/fc/Gemm",
    )
    .unwrap();
    b.set_io(&[x], &[y]).unwrap();
    finish(b, 32)
}

// x = [1, 2]:
//   row 0: 1*1 + 2*2    + 0.5 = 5.5
//   row 1: 1*3 + 2*4    + 0   = 11
//   row 2: 1*5 + 2*(-6) - 1   = -8 -> relu -> 0
const DENSE_X: [f32; 2] = [1.0, 2.0];
const DENSE_Y: [f32; 3] = [5.5, 11.0, 0.0];

#[test]
fn dense_relu_matches_hand_computed_values() {
    let bytes = dense_model();
    let model = Model::from_bytes(bytes.as_slice()).expect("valid model");
    assert_eq!(model.arena_bytes(), 32);
    assert_eq!((model.input_count(), model.output_count()), (1, 1));
    let mut arena = Arena::new(model.arena_bytes());
    let mut s = Session::new(&model, arena.slice(0, 32)).expect("arena is exactly large enough");
    s.set_input_f32(0, &DENSE_X).unwrap();
    s.invoke().unwrap();
    assert_close(s.output_f32(0).unwrap(), &DENSE_Y);

    // A second input through the same session: x = [-1, 0.5]
    //   row 0: -1 + 1     + 0.5 = 0.5
    //   row 1: -3 + 2     + 0   = -1 -> 0
    //   row 2: -5 - 3     - 1   = -9 -> 0
    s.set_input_f32(0, &[-1.0, 0.5]).unwrap();
    s.invoke().unwrap();
    assert_close(s.output_f32(0).unwrap(), &[0.5, 0.0, 0.0]);
}

#[test]
fn run_sets_invokes_and_copies_the_output() {
    let bytes = dense_model();
    let model = Model::from_bytes(bytes.as_slice()).unwrap();
    let mut arena = Arena::new(32);
    let mut s = Session::new(&model, arena.slice(0, 32)).unwrap();
    let mut y = [f32::NAN; 3];
    s.run(&DENSE_X, &mut y).unwrap();
    assert_close(&y, &DENSE_Y);

    let mut short = [0f32; 2];
    let e = s.run(&DENSE_X, &mut short).unwrap_err();
    assert_eq!(
        e,
        Error::WrongLength {
            index: 0,
            expected: 3,
            actual: 2
        }
    );
}

#[test]
fn arena_one_byte_too_small_is_refused_with_the_size_needed() {
    let bytes = dense_model();
    let model = Model::from_bytes(bytes.as_slice()).unwrap();
    let needed = model.arena_bytes();
    assert_eq!(needed, 32, "the model was written with a 32-byte arena");
    let mut arena = Arena::new(needed);
    let e = Session::new(&model, arena.slice(0, needed - 1))
        .err()
        .expect("an arena one byte short must be refused");
    match e {
        Error::ArenaTooSmall {
            needed: n,
            available,
        } => {
            assert_eq!(n, 32);
            assert_eq!(available, 31);
        }
        other => panic!("expected ArenaTooSmall, got {other:?}"),
    }
    let text = e.to_string();
    assert!(
        text.contains("32"),
        "message must give the bytes needed: {text}"
    );
    assert!(
        text.contains("31"),
        "message must give the bytes available: {text}"
    );

    // The exact size is enough.
    assert!(Session::new(&model, arena.slice(0, needed)).is_ok());
}

#[test]
fn misaligned_arena_counts_the_skipped_bytes() {
    let bytes = dense_model();
    let model = Model::from_bytes(bytes.as_slice()).unwrap();
    let mut arena = Arena::new(64);
    // Starting 1 byte past a 16-byte boundary, the session skips 15 bytes: 15 + 32 = 47 needed.
    let e = Session::new(&model, arena.slice(1, 46)).err().unwrap();
    assert_eq!(
        e,
        Error::ArenaTooSmall {
            needed: 47,
            available: 46
        }
    );
    let mut s = Session::new(&model, arena.slice(1, 47)).expect("47 bytes from offset 1 suffice");
    let mut y = [0f32; 3];
    s.run(&DENSE_X, &mut y).unwrap();
    assert_close(&y, &DENSE_Y);
}

#[test]
fn caller_mistakes_are_errors_that_name_the_problem() {
    let bytes = dense_model();
    let model = Model::from_bytes(bytes.as_slice()).unwrap();
    let mut arena = Arena::new(32);
    let mut s = Session::new(&model, arena.slice(0, 32)).unwrap();

    let e = s.set_input_f32(0, &[1.0, 2.0, 3.0]).unwrap_err();
    assert_eq!(
        e,
        Error::WrongLength {
            index: 0,
            expected: 2,
            actual: 3
        }
    );
    let text = e.to_string();
    assert!(
        text.contains("#0") && text.contains("2 elements") && text.contains("got 3"),
        "{text}"
    );
    assert_eq!(
        s.set_input_f32(0, &[]).unwrap_err(),
        Error::WrongLength {
            index: 0,
            expected: 2,
            actual: 0
        }
    );

    let e = s.set_input_f32(1, &DENSE_X).unwrap_err();
    assert_eq!(e, Error::NoSuchInput { index: 1, count: 1 });
    let text = e.to_string();
    assert!(
        text.contains("no input #1") && text.contains("has 1"),
        "{text}"
    );
    assert_eq!(
        s.set_input_i32(7, &[1, 2]).unwrap_err(),
        Error::NoSuchInput { index: 7, count: 1 }
    );
    assert_eq!(
        s.input_f32_mut(1).unwrap_err(),
        Error::NoSuchInput { index: 1, count: 1 }
    );

    let e = s.output_f32(1).unwrap_err();
    assert_eq!(e, Error::NoSuchOutput { index: 1, count: 1 });
    let text = e.to_string();
    assert!(
        text.contains("no output #1") && text.contains("has 1"),
        "{text}"
    );
    assert_eq!(
        s.output_i32(usize::MAX).unwrap_err(),
        Error::NoSuchOutput {
            index: usize::MAX,
            count: 1
        }
    );

    let e = s.set_input_i32(0, &[1, 2]).unwrap_err();
    assert_eq!(
        e,
        Error::WrongDType {
            index: 0,
            expected: DType::I32,
            found: DType::F32
        }
    );
    let text = e.to_string();
    assert!(
        text.contains("input/output #0") && text.contains("f32") && text.contains("i32"),
        "{text}"
    );
    assert_eq!(
        s.output_i32(0).unwrap_err(),
        Error::WrongDType {
            index: 0,
            expected: DType::I32,
            found: DType::F32
        }
    );

    // None of the refused calls wrote anything: the session still computes the right answer.
    s.set_input_f32(0, &DENSE_X).unwrap();
    s.invoke().unwrap();
    assert_close(s.output_f32(0).unwrap(), &DENSE_Y);
}

#[test]
fn input_f32_mut_fills_the_input_in_place() {
    let bytes = dense_model();
    let model = Model::from_bytes(bytes.as_slice()).unwrap();
    let mut arena = Arena::new(32);
    let mut s = Session::new(&model, arena.slice(0, 32)).unwrap();
    let x = s.input_f32_mut(0).unwrap();
    assert_eq!(x.len(), 2);
    x.copy_from_slice(&DENSE_X);
    s.invoke().unwrap();
    assert_close(s.output_f32(0).unwrap(), &DENSE_Y);
}

const W2: [f32; 6] = [1.0, -1.0, 2.0, 0.5, 0.0, 1.0];
const B2: [f32; 2] = [0.25, -1.0];

/// x [1, 2] at 0 -> Dense(W1, B1, relu) -> h [1, 3] at 16 -> Dense(W2, B2) -> y [1, 2] at 0 again, as
/// a memory planner lays it out once x is dead.
fn chain_model() -> AlignedBytes {
    let mut b = FileBuilder::new();
    let x = b.add_tensor(&f32_tensor("x", &[1, 2], 0)).unwrap();
    let w1 = b.add_tensor(&const_tensor("w1", &[3, 2], &W1)).unwrap();
    let b1 = b.add_tensor(&const_tensor("b1", &[3], &B1)).unwrap();
    let h = b.add_tensor(&f32_tensor("h", &[1, 3], 16)).unwrap();
    let w2 = b.add_tensor(&const_tensor("w2", &[2, 3], &W2)).unwrap();
    let b2 = b.add_tensor(&const_tensor("b2", &[2], &B2)).unwrap();
    let y = b.add_tensor(&f32_tensor("y", &[1, 2], 0)).unwrap();
    b.add_op(
        &dense(1, 2, 3, ActKind::Relu),
        &[Some(x), Some(w1), Some(b1)],
        &[Some(h)],
        None,
        "fc1",
    )
    .unwrap();
    b.add_op(
        &dense(1, 3, 2, ActKind::Identity),
        &[Some(h), Some(w2), Some(b2)],
        &[Some(y)],
        None,
        "fc2",
    )
    .unwrap();
    b.set_io(&[x], &[y]).unwrap();
    finish(b, 32)
}

#[test]
fn two_op_chain_reusing_the_input_buffer_is_correct() {
    let bytes = chain_model();
    let model = Model::from_bytes(bytes.as_slice()).expect("reuse across ops is legal");
    let (xi, yi) = (model.input(0).unwrap(), model.output(0).unwrap());
    assert_eq!(
        (xi.offset, yi.offset),
        (0, 0),
        "the test needs y to reuse x's bytes"
    );
    let mut arena = Arena::new(32);
    let mut s = Session::new(&model, arena.slice(0, 32)).unwrap();

    // h = [5.5, 11, 0] (see DENSE_Y); y = h W2^T + B2:
    //   y0 = 5.5*1   + 11*(-1) + 0*2 + 0.25 = -5.25
    //   y1 = 5.5*0.5 + 11*0    + 0*1 - 1    =  1.75
    let mut y = [0f32; 2];
    s.run(&DENSE_X, &mut y).unwrap();
    assert_close(&y, &[-5.25, 1.75]);

    // x was overwritten by y; a new input must still give its own answer. x = [0, 1]:
    //   h = relu([0 + 2 + 0.5, 0 + 4 + 0, 0 - 6 - 1]) = [2.5, 4, 0]
    //   y0 = 2.5 - 4 + 0 + 0.25 = -1.25;  y1 = 1.25 + 0 + 0 - 1 = 0.25
    s.run(&[0.0, 1.0], &mut y).unwrap();
    assert_close(&y, &[-1.25, 0.25]);
}

/// One Dense whose output lies at `y_offset` in the arena, x [1, 8] (32 bytes) at 0.
fn overlapping_model(y_offset: usize) -> AlignedBytes {
    let w = [1.0f32; 16];
    let mut b = FileBuilder::new();
    let x = b.add_tensor(&f32_tensor("x", &[1, 8], 0)).unwrap();
    let wt = b.add_tensor(&const_tensor("w", &[2, 8], &w)).unwrap();
    let y = b.add_tensor(&f32_tensor("y", &[1, 2], y_offset)).unwrap();
    b.add_op(
        &dense(1, 8, 2, ActKind::Identity),
        &[Some(x), Some(wt), None],
        &[Some(y)],
        None,
        "in_place",
    )
    .unwrap();
    b.set_io(&[x], &[y]).unwrap();
    finish(b, 48)
}

#[test]
fn op_writing_over_its_own_input_is_refused_at_load() {
    let expected = Error::Op {
        op: 0,
        kind: OpKind::Dense,
        error: OpError::Overlap { output: 0 },
    };
    // y exactly on top of x, and y inside x's second half.
    for y_offset in [0, 16] {
        let bytes = overlapping_model(y_offset);
        let e = Model::from_bytes(bytes.as_slice())
            .err()
            .unwrap_or_else(|| panic!("y at {y_offset} overlaps x at 0..32 but was accepted"));
        assert_eq!(e, expected, "y at {y_offset}");
        let text = e.to_string();
        assert!(
            text.contains("op #0") && text.contains("Dense") && text.contains("overlaps"),
            "{text}"
        );
    }
    // Just past x is fine: y = [sum x, sum x] = [36, 36] for x = 1..=8.
    let bytes = overlapping_model(32);
    let model = Model::from_bytes(bytes.as_slice()).expect("y at 32 is clear of x at 0..32");
    let mut arena = Arena::new(48);
    let mut s = Session::new(&model, arena.slice(0, 48)).unwrap();
    let mut y = [0f32; 2];
    s.run(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], &mut y)
        .unwrap();
    assert_close(&y, &[36.0, 36.0]);
}

#[test]
fn op_parameters_that_disagree_with_the_buffers_fail_at_invoke_without_panicking() {
    // The record claims k = 3 while x holds 2 elements: the kernel must refuse, naming the op.
    let w = [1.0f32; 9];
    let mut b = FileBuilder::new();
    let x = b.add_tensor(&f32_tensor("x", &[1, 2], 0)).unwrap();
    let wt = b.add_tensor(&const_tensor("w", &[3, 3], &w)).unwrap();
    let y = b.add_tensor(&f32_tensor("y", &[1, 3], 16)).unwrap();
    b.add_op(
        &dense(1, 3, 3, ActKind::Identity),
        &[Some(x), Some(wt), None],
        &[Some(y)],
        None,
        "bad",
    )
    .unwrap();
    b.set_io(&[x], &[y]).unwrap();
    let bytes = finish(b, 32);
    let model = Model::from_bytes(bytes.as_slice()).unwrap();
    let mut arena = Arena::new(32);
    let mut s = Session::new(&model, arena.slice(0, 32)).unwrap();
    s.set_input_f32(0, &DENSE_X).unwrap();
    let e = s.invoke().unwrap_err();
    match e {
        Error::Op {
            op: 0,
            kind: OpKind::Dense,
            error: OpError::Kernel(_),
        } => {}
        other => panic!("expected a Dense kernel error, got {other:?}"),
    }
    assert_eq!(model.op_name(0), "bad");
    let text = e.to_string();
    assert!(
        text.contains("op #0 (Dense)") && text.contains("dense x"),
        "{text}"
    );
}

/// Embedding lookup: table [4, 2] (row r = [10r, 10r + 1]), ids i32 [3] at 0, y [3, 2] at 16.
fn gather_model() -> AlignedBytes {
    let table = [0.0f32, 1.0, 10.0, 11.0, 20.0, 21.0, 30.0, 31.0];
    let mut b = FileBuilder::new();
    let t = b
        .add_tensor(&const_tensor("table", &[4, 2], &table))
        .unwrap();
    let ids = b
        .add_tensor(&TensorSpec {
            name: "ids",
            dtype: DType::I32,
            shape: &[3],
            data: TensorData::Arena { offset: 0 },
            quant: None,
        })
        .unwrap();
    let y = b.add_tensor(&f32_tensor("y", &[3, 2], 16)).unwrap();
    let op = Op::Gather(GatherParams {
        outer: 1,
        axis_len: 4,
        inner: 2,
        n_indices: 3,
    });
    b.add_op(&op, &[Some(t), Some(ids)], &[Some(y)], None, "embed")
        .unwrap();
    b.set_io(&[ids], &[y]).unwrap();
    finish(b, 48)
}

#[test]
fn integer_input_gather_and_its_errors() {
    let bytes = gather_model();
    let model = Model::from_bytes(bytes.as_slice()).unwrap();
    let mut arena = Arena::new(48);
    let mut s = Session::new(&model, arena.slice(0, 48)).unwrap();

    // ids [2, 0, -1]: rows 2, 0 and 3 (negative counts from the end).
    s.set_input_i32(0, &[2, 0, -1]).unwrap();
    s.invoke().unwrap();
    assert_close(
        s.output_f32(0).unwrap(),
        &[20.0, 21.0, 0.0, 1.0, 30.0, 31.0],
    );

    assert_eq!(
        s.set_input_f32(0, &[0.0, 1.0, 2.0]).unwrap_err(),
        Error::WrongDType {
            index: 0,
            expected: DType::F32,
            found: DType::I32
        }
    );

    // Id 4 is past the 4-row table: an error naming the op, not a panic or a read out of bounds.
    s.set_input_i32(0, &[0, 4, 1]).unwrap();
    let e = s.invoke().unwrap_err();
    assert!(
        matches!(
            e,
            Error::Op {
                op: 0,
                kind: OpKind::Gather,
                error: OpError::Kernel(_)
            }
        ),
        "{e:?}"
    );
    let text = e.to_string();
    assert!(
        text.contains("Gather") && text.contains("index 4") && text.contains("0..4"),
        "{text}"
    );
}

#[test]
fn a_build_without_a_models_kernels_refuses_it_naming_the_op_and_the_feature() {
    use rill_runtime::Features;
    let bytes = dense_model();
    let model = Model::from_bytes(bytes.as_slice()).expect("the default build has every kernel");
    // One f32 Dense op: the dense kernel, computed in f32.
    let needs = Features::F32.union(Features::DENSE);
    assert_eq!(model.required_features(false), needs);
    assert_eq!(model.required_features(false).to_string(), "f32, dense");
    assert_eq!(model.check_features(needs, false), Ok(()));
    assert_eq!(
        model.check_features(needs.union(Features::I8), true),
        Ok(())
    );

    let no_dense = Features::F32.union(Features::CONV).union(Features::RNN);
    let err = model.check_features(no_dense, false).unwrap_err();
    assert_eq!(
        err,
        Error::Op {
            op: 0,
            kind: OpKind::Dense,
            error: OpError::NotCompiled {
                needs: Features::DENSE
            },
        }
    );
    let text = err.to_string();
    assert!(text.contains("Dense") && text.contains("dense"), "{text}");

    // An int8-only build has the op but not the element type.
    let int8_only = Features::I8.union(Features::DENSE);
    assert_eq!(
        model.check_features(int8_only, false),
        Err(Error::Op {
            op: 0,
            kind: OpKind::Dense,
            error: OpError::NotCompiled {
                needs: Features::F32
            },
        })
    );
}

/// Every name in `Features::NAMES` must be a cargo feature of the crate, spelled the same: the
/// default build enables all of them, so a misspelt `cfg!(feature = ..)` would leave its kernel
/// reported as missing (and every model using it refused).
#[test]
fn the_default_build_compiles_every_named_feature() {
    use rill_runtime::Features;
    let compiled: Vec<&str> = Features::COMPILED.names().collect();
    assert_eq!(compiled, Features::NAMES.to_vec());
    let manifest = include_str!("../Cargo.toml");
    for name in Features::NAMES {
        assert!(
            manifest
                .lines()
                .any(|l| l.starts_with(&format!("{name} = ["))),
            "feature {name} is not declared in Cargo.toml"
        );
    }
}

/// A log-softmax needs `log-softmax` on top of `softmax`: a build without it refuses the model,
/// naming the op and the feature; a plain softmax does not need it.
#[test]
fn log_softmax_is_a_feature_of_its_own() {
    use rill_format::SoftmaxParams;
    use rill_runtime::Features;
    let model_with = |log: u32| {
        let mut b = FileBuilder::new();
        let x = b.add_tensor(&f32_tensor("x", &[1, 3], 0)).unwrap();
        let y = b.add_tensor(&f32_tensor("y", &[1, 3], 16)).unwrap();
        let op = Op::Softmax(SoftmaxParams {
            outer: 1,
            axis_len: 3,
            inner: 1,
            log,
        });
        b.add_op(&op, &[Some(x)], &[Some(y)], None, "/sm").unwrap();
        b.set_io(&[x], &[y]).unwrap();
        finish(b, 32)
    };
    let plain = model_with(0);
    let plain = Model::from_bytes(plain.as_slice()).unwrap();
    let softmax = Features::F32.union(Features::SOFTMAX);
    assert_eq!(plain.required_features(false), softmax);
    assert_eq!(plain.check_features(softmax, false), Ok(()));

    let log = model_with(1);
    let log = Model::from_bytes(log.as_slice()).unwrap();
    assert_eq!(
        log.required_features(false),
        softmax.union(Features::LOG_SOFTMAX)
    );
    let err = log.check_features(softmax, false).unwrap_err();
    assert_eq!(
        err,
        Error::Op {
            op: 0,
            kind: OpKind::Softmax,
            error: OpError::NotCompiled {
                needs: Features::LOG_SOFTMAX
            },
        }
    );
    assert!(err.to_string().contains("log-softmax"), "{err}");
    let mut arena = Arena::new(32);
    let mut s = Session::new(&log, arena.slice(0, 32)).unwrap();
    s.set_input_f32(0, &[0.0, 1.0, 2.0]).unwrap();
    s.invoke().unwrap();
    let sum: f32 = s.output_f32(0).unwrap().iter().map(|v| v.exp()).sum();
    assert!((sum - 1.0).abs() < 1e-5, "{sum}");
}

/// An int8 Dense (x [1, 2], W [3, 2], bias [3], aux `[lo, hi, m0, shift]`) with its operands
/// changed by `edit` (dtype, storage or presence per input), loaded: the operand rules of the
/// fixed-point form (`Rules` in src/model.rs) name the input and the problem.
fn int8_dense_with(edit: impl Fn(usize, &mut TensorSpec<'_>) -> bool) -> Result<(), Error> {
    use rill_format::writer::QuantSpec;
    let q = Some(QuantSpec {
        scale: 0.5,
        zero_point: 0,
        per_channel: None,
    });
    let w = [1i8, 2, 3, 4, 5, -6];
    let b = [0i32, 1, 2];
    let aux = [-128i32, 127, 1 << 30, 0];
    let mut specs = [
        TensorSpec {
            name: "x",
            dtype: DType::I8,
            shape: &[1, 2],
            data: TensorData::Arena { offset: 0 },
            quant: q,
        },
        TensorSpec {
            name: "w",
            dtype: DType::I8,
            shape: &[3, 2],
            data: TensorData::Const(bytemuck::cast_slice(&w)),
            quant: q,
        },
        TensorSpec {
            name: "b",
            dtype: DType::I32,
            shape: &[3],
            data: TensorData::Const(bytemuck::cast_slice(&b)),
            quant: None,
        },
        TensorSpec {
            name: "aux",
            dtype: DType::I32,
            shape: &[4],
            data: TensorData::Const(bytemuck::cast_slice(&aux)),
            quant: None,
        },
    ];
    let mut b = FileBuilder::new();
    let mut ins = Vec::new();
    for (k, spec) in specs.iter_mut().enumerate() {
        let keep = edit(k, spec);
        let t = b.add_tensor(spec).unwrap();
        ins.push(keep.then_some(t));
    }
    let y = b
        .add_tensor(&TensorSpec {
            name: "y",
            dtype: DType::I8,
            shape: &[1, 3],
            data: TensorData::Arena { offset: 64 },
            quant: q,
        })
        .unwrap();
    b.add_op(
        &dense(1, 2, 3, ActKind::Identity),
        &ins,
        &[Some(y)],
        None,
        "/fc",
    )
    .unwrap();
    b.set_io(&[ins[0].expect("x is kept")], &[y]).unwrap();
    let bytes = finish(b, 128);
    Model::from_bytes(bytes.as_slice()).map(|_| ())
}

#[test]
fn fixed_point_operand_rules_name_the_input_and_the_problem() {
    let op_error = |error| Error::Op {
        op: 0,
        kind: OpKind::Dense,
        error,
    };
    assert_eq!(int8_dense_with(|_, _| true), Ok(()));
    // The aux operand must be a constant.
    assert_eq!(
        int8_dense_with(|k, s| {
            if k == 3 {
                s.data = TensorData::Arena { offset: 32 };
            }
            true
        }),
        Err(op_error(OpError::DType {
            output: false,
            k: 3,
            found: DType::I32
        }))
    );
    // The aux operand and the bias are required.
    for gone in [2, 3] {
        assert_eq!(
            int8_dense_with(|k, _| k != gone),
            Err(op_error(OpError::MissingOperand {
                output: false,
                k: gone
            }))
        );
    }
    // i16 weights only in an int16 model.
    static W16: [i16; 6] = [1, 2, 3, 4, 5, -6];
    assert_eq!(
        int8_dense_with(|k, s| {
            if k == 1 {
                s.dtype = DType::I16;
                s.data = TensorData::Const(bytemuck::cast_slice(&W16));
            }
            true
        }),
        Err(op_error(OpError::DType {
            output: false,
            k: 1,
            found: DType::I16
        }))
    );
    // The bias is i32.
    static B8: [u8; 3] = [0; 3];
    assert_eq!(
        int8_dense_with(|k, s| {
            if k == 2 {
                s.dtype = DType::I8;
                s.data = TensorData::Const(&B8);
            }
            true
        }),
        Err(op_error(OpError::DType {
            output: false,
            k: 2,
            found: DType::I8
        }))
    );
}

/// An int8 1-D conv, one channel, kernel `1 x k_w` over `in_w` inputs (valid: `in_w - k_w + 1`
/// outputs), input zero point `z_x`, run on x = all ones; its required features and its output.
fn int8_conv(k_w: usize, in_w: usize, z_x: i32) -> (rill_runtime::Features, Vec<i8>) {
    use rill_format::writer::QuantSpec;
    use rill_format::ConvParams;
    let q = |zero_point| {
        Some(QuantSpec {
            scale: 0.5,
            zero_point,
            per_channel: None,
        })
    };
    let out_w = in_w - k_w + 1;
    let w = vec![1u8; k_w];
    let b = [0i32];
    let aux = [-128i32, 127, 1 << 30, 0];
    let mut fb = FileBuilder::new();
    let x = fb
        .add_tensor(&TensorSpec {
            name: "x",
            dtype: DType::I8,
            shape: &[1, 1, 1, in_w],
            data: TensorData::Arena { offset: 0 },
            quant: q(z_x),
        })
        .unwrap();
    let consts = [
        ("w", DType::I8, &[1usize, 1, 1, k_w][..], &w[..]),
        ("b", DType::I32, &[1], bytemuck::cast_slice(&b)),
        ("aux", DType::I32, &[4], bytemuck::cast_slice(&aux)),
    ];
    let mut ins = vec![Some(x)];
    for (name, dtype, shape, bytes) in consts {
        let spec = TensorSpec {
            name,
            dtype,
            shape,
            data: TensorData::Const(bytes),
            quant: q(0),
        };
        ins.push(Some(fb.add_tensor(&spec).unwrap()));
    }
    let y_at = in_w.next_multiple_of(16);
    let y = fb
        .add_tensor(&TensorSpec {
            name: "y",
            dtype: DType::I8,
            shape: &[1, 1, 1, out_w],
            data: TensorData::Arena { offset: y_at },
            quant: q(0),
        })
        .unwrap();
    let conv = Op::Conv(ConvParams {
        batch: 1,
        c_in: 1,
        in_h: 1,
        in_w: in_w as u32,
        c_out: 1,
        out_h: 1,
        out_w: out_w as u32,
        k_h: 1,
        k_w: k_w as u32,
        stride_h: 1,
        stride_w: 1,
        dil_h: 1,
        dil_w: 1,
        pad_top: 0,
        pad_left: 0,
        groups: 1,
        act: ActParams::new(ActKind::Identity, 0.0, 0.0),
    });
    fb.add_op(&conv, &ins, &[Some(y)], None, "/conv").unwrap();
    fb.set_io(&[x], &[y]).unwrap();
    let arena = y_at + out_w.next_multiple_of(16);
    let bytes = finish(fb, arena);
    let model = Model::from_bytes(bytes.as_slice()).unwrap();
    let mut mem = Arena::new(arena);
    let mut s = Session::new(&model, mem.slice(0, arena)).unwrap();
    s.set_input_i8(0, &vec![1; in_w]).unwrap();
    s.invoke().unwrap();
    (
        model.required_features(false),
        s.output_i8(0).unwrap().to_vec(),
    )
}

/// The generic conv loop is a feature of its own: a receptive field over the column buffer (512
/// codes) needs it, a small one does not; the same sums either way.
#[test]
fn a_conv_field_over_the_column_buffer_needs_conv_generic() {
    use rill_runtime::Features;
    // Each output: the sum of k_w products 1 * 1 (the converter folds -z_x * sum w into the
    // bias, here 0), requantized by 1/2 (m0 2^30, shift 0), saturated to i8.
    let (small, y) = int8_conv(3, 8, 0);
    assert!(!small.contains(Features::CONV_GENERIC), "{small}");
    assert_eq!(y, vec![2; 6]); // round(3 / 2)
    let (large, y) = int8_conv(600, 602, 0);
    assert!(large.contains(Features::CONV_GENERIC), "{large}");
    assert_eq!(y, vec![127; 3]); // 300
    let (fits, y) = int8_conv(500, 502, -1);
    assert!(!fits.contains(Features::CONV_GENERIC), "{fits}");
    assert_eq!(y, vec![127; 3]); // 250
    let (fits, y) = int8_conv(200, 202, -1);
    assert!(!fits.contains(Features::CONV_GENERIC), "{fits}");
    assert_eq!(y, vec![100; 3]);
    // (A zero point that is no i8 code, which could not pad the column buffer, is refused at
    // load: tests/crafted_files.rs.)
}
