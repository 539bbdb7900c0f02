//! The file layout: round trip through writer and reader, and each way a file can be refused.
use rill_format::reader::checksum;
use rill_format::writer::{AlignedBytes, FileBuilder, GraphSpec, TensorData, TensorSpec};
use rill_format::*;

/// A two-op model: y = relu(x W^T + b) then softmax.
fn small_model() -> Vec<u8> {
    small_model_with(|_| {})
}

/// [`small_model`] with `more` adding to it before the file is laid out (x is tensor 0, y 3).
fn small_model_with(more: impl FnOnce(&mut FileBuilder)) -> Vec<u8> {
    let mut b = FileBuilder::new();
    let w: Vec<f32> = (0..12).map(|i| i as f32).collect();
    let x = b
        .add_tensor(&TensorSpec {
            name: "x",
            dtype: DType::F32,
            shape: &[1, 4],
            data: TensorData::Arena { offset: 0 },
            quant: None,
        })
        .unwrap();
    let wt = b
        .add_tensor(&TensorSpec {
            name: "w",
            dtype: DType::F32,
            shape: &[3, 4],
            data: TensorData::Const(bytemuck::cast_slice(&w)),
            quant: None,
        })
        .unwrap();
    let h = b
        .add_tensor(&TensorSpec {
            name: "h",
            dtype: DType::F32,
            shape: &[1, 3],
            data: TensorData::Arena { offset: 16 },
            quant: None,
        })
        .unwrap();
    let y = b
        .add_tensor(&TensorSpec {
            name: "y",
            dtype: DType::F32,
            shape: &[1, 3],
            data: TensorData::Arena { offset: 0 },
            quant: None,
        })
        .unwrap();
    let dense = Op::Dense(DenseParams {
        m: 1,
        k: 4,
        n: 3,
        act: ActParams::new(ActKind::Relu, 0.0, 0.0),
    });
    b.add_op(
        &dense,
        &[Some(x), Some(wt), None],
        &[Some(h)],
        None,
        "/fc/Gemm",
    )
    .unwrap();
    b.add_op(&softmax_of_3(), &[Some(h)], &[Some(y)], None, "/Softmax")
        .unwrap();
    b.set_io(&[x], &[y]).unwrap();
    b.set_graph(&GraphSpec {
        arena_bytes: 32,
        live_bound_bytes: 32,
        producer: "test".into(),
        source: "small.onnx".into(),
        ..Default::default()
    })
    .unwrap();
    b.add_meta("labels", "a,b,c").unwrap();
    more(&mut b);
    b.finish().unwrap()
}

/// [`small_model`] with a step program: the softmax once more, x to y (one time step is the
/// whole window).
fn small_streaming_model() -> Vec<u8> {
    small_model_with(|b| {
        b.set_stream(&writer::StreamSpec {
            window_ops: 2,
            inputs: &[0],
            outputs: &[3],
            state: &[],
            window_len: 1,
            latency: 0,
            step_arena_bytes: 32,
            input_axes: &[Some(0)],
            output_axes: &[Some(0)],
        })
        .unwrap();
        b.add_op(
            &softmax_of_3(),
            &[Some(0)],
            &[Some(3)],
            None,
            "/step/Softmax",
        )
        .unwrap();
    })
}

/// A softmax over 3 values.
fn softmax_of_3() -> Op {
    Op::Softmax(SoftmaxParams {
        outer: 1,
        axis_len: 3,
        inner: 1,
        log: 0,
    })
}

/// The byte offset of the stream record in `bytes`.
fn stream_record_offset(bytes: &[u8]) -> usize {
    let a = AlignedBytes::from_slice(bytes);
    let rec = ModelFile::parse(a.as_slice()).unwrap().stream.unwrap();
    let want = bytemuck::bytes_of(rec);
    bytes
        .windows(want.len())
        .position(|w| w == want)
        .expect("the stream record is in the file")
}

/// Recomputes the checksum after a deliberate edit, so a test reaches the check behind it.
fn reseal(bytes: &mut [u8]) {
    let crc = checksum(&bytes[records::CRC_START..]);
    bytes[12..16].copy_from_slice(&crc.to_le_bytes());
}

fn parse(bytes: &[u8]) -> Result<(), FormatError> {
    let a = AlignedBytes::from_slice(bytes);
    ModelFile::parse(a.as_slice()).map(|_| ())
}

#[test]
fn round_trip_keeps_every_field() {
    let bytes = small_model();
    let a = AlignedBytes::from_slice(&bytes);
    let f = ModelFile::parse(a.as_slice()).unwrap();
    assert_eq!(f.tensors.len(), 4);
    assert_eq!(f.ops.len(), 2);
    let w = f.tensor(1).unwrap();
    assert_eq!(
        (w.name(), w.dtype, w.shape, w.storage),
        ("w", DType::F32, &[3u32, 4][..], Storage::Const)
    );
    let wb: &[f32] = bytemuck::cast_slice(f.const_bytes(1).unwrap());
    assert_eq!(wb[11], 11.0);
    // Names are decoded on use; debug output shows the name, not the strings section.
    assert!(format!("{w:?}").contains(r#"name: "w""#), "{w:?}");
    let op = f.op(0).unwrap();
    assert_eq!(op.name(), "/fc/Gemm");
    assert!(format!("{op:?}").contains(r#"name: "/fc/Gemm""#), "{op:?}");
    assert_eq!(op.input(2), None);
    match op.op {
        Op::Dense(p) => assert_eq!((p.m, p.k, p.n, p.act.kind), (1, 4, 3, ActKind::Relu as u32)),
        other => panic!("decoded {other:?}"),
    }
    assert_eq!(f.inputs(), &[0]);
    assert_eq!(f.outputs(), &[3]);
    assert_eq!(f.string(f.graph.source), "small.onnx");
    assert_eq!(f.meta("labels"), Some("a,b,c"));
    assert_eq!(f.graph.arena_bytes, 32);
    assert_eq!(bytes.len() % 16, 0);
}

#[test]
fn record_sizes_are_frozen() {
    // These sizes are the file format: changing one needs a version bump.
    use core::mem::size_of;
    assert_eq!(size_of::<records::Header>(), 32);
    assert_eq!(size_of::<records::SectionEntry>(), 16);
    assert_eq!(size_of::<records::TensorRecord>(), 64);
    assert_eq!(size_of::<records::OpRecord>(), 32);
    assert_eq!(size_of::<records::GraphRecord>(), 64);
    assert_eq!(size_of::<rill_format::StreamRecord>(), 96);
    let expected = [
        (OpKind::Dense, 24),
        (OpKind::MatMul, 64),
        (OpKind::Conv, 76),
        (OpKind::Pool, 68),
        (OpKind::Rnn, 112),
        (OpKind::Unary, 16),
        (OpKind::Binary, 80),
        (OpKind::Softmax, 16),
        (OpKind::LayerNorm, 12),
        (OpKind::Reduce, 36),
        (OpKind::Gather, 16),
        (OpKind::Concat, 8),
        (OpKind::Copy, 56),
        (OpKind::Window, 16),
        (OpKind::RnnStep, 112),
        (OpKind::Requant, 4),
    ];
    assert_eq!(OpKind::ALL.len(), expected.len());
    for (kind, len) in expected {
        assert_eq!(kind.params_len(), len, "{kind}");
        assert_eq!(OpKind::from_opcode(kind as u16), Some(kind));
    }
}

#[test]
fn refuses_wrong_magic_version_and_length() {
    let good = small_model();
    let mut b = good.clone();
    b[0] = b'X';
    assert!(matches!(parse(&b), Err(FormatError::BadMagic { .. })));

    let mut b = good.clone();
    b[4] = 1;
    assert_eq!(
        parse(&b),
        Err(FormatError::UnsupportedVersion {
            found: 1,
            supported: 2
        })
    );

    assert_eq!(
        parse(&good[..good.len() - 16]),
        Err(FormatError::Truncated {
            expected: good.len(),
            actual: good.len() - 16
        })
    );
    assert!(matches!(
        parse(&good[..10]),
        Err(FormatError::Truncated {
            expected: 32,
            actual: 10
        })
    ));

    let mut b = good.clone();
    b.extend_from_slice(&[0; 16]);
    assert!(matches!(parse(&b), Err(FormatError::TrailingBytes { .. })));
}

#[test]
fn refuses_a_flipped_bit_anywhere_after_the_checksum() {
    let good = small_model();
    for pos in [16, 40, good.len() / 2, good.len() - 1] {
        let mut b = good.clone();
        b[pos] ^= 0x10;
        assert!(
            matches!(parse(&b), Err(FormatError::Checksum { .. })),
            "flip at {pos}"
        );
    }
}

#[test]
fn refuses_misaligned_buffers() {
    let good = small_model();
    let mut padded = AlignedBytes::from_slice(&[&[0u8][..], &good].concat());
    let _ = &mut padded;
    let r = ModelFile::parse(&padded.as_slice()[1..]);
    assert_eq!(r.err(), Some(FormatError::Misaligned { address_mod_16: 1 }));
}

fn tensor_record_offset(bytes: &[u8], index: usize) -> usize {
    let table = &bytes[32..];
    let entry: records::SectionEntry = bytemuck::pod_read_unaligned(&table[..16]);
    assert_eq!(
        entry.kind, 1,
        "tensors are the first section the writer emits"
    );
    entry.offset as usize + index * 64
}

#[test]
fn refuses_inconsistent_tensors_even_with_a_valid_checksum() {
    let good = small_model();
    let t1 = tensor_record_offset(&good, 1);

    let mut b = good.clone();
    b[t1 + 4] = 99; // dtype
    reseal(&mut b);
    assert_eq!(
        parse(&b),
        Err(FormatError::BadTensor {
            tensor: 1,
            reason: "unknown dtype"
        })
    );

    let mut b = good.clone();
    b[t1 + 8..t1 + 12].copy_from_slice(&1000u32.to_le_bytes()); // shape[0]: size no longer matches
    reseal(&mut b);
    assert!(matches!(
        parse(&b),
        Err(FormatError::BadTensor { tensor: 1, .. })
    ));

    let mut b = good.clone();
    let t0 = tensor_record_offset(&good, 0);
    b[t0 + 32..t0 + 36].copy_from_slice(&4096u32.to_le_bytes()); // arena offset beyond the arena
    reseal(&mut b);
    assert_eq!(
        parse(&b),
        Err(FormatError::BadTensor {
            tensor: 0,
            reason: "buffer lies outside the arena"
        })
    );
}

#[test]
fn refuses_names_outside_the_strings_section_or_not_utf8() {
    let good = small_model();
    let t1 = tensor_record_offset(&good, 1);
    let name = u32::from_le_bytes(good[t1..t1 + 4].try_into().unwrap());
    let table = &good[32..];
    let strings = (0..table.len() / 16)
        .map(|k| bytemuck::pod_read_unaligned::<records::SectionEntry>(&table[k * 16..k * 16 + 16]))
        .find(|e| e.kind == records::SectionKind::Strings as u32)
        .expect("a strings section");
    let at = strings.offset as usize + name as usize;
    assert_eq!(&good[at..at + 3], b"\x01\x00w", "tensor 1 is named \"w\"");

    let mut b = good.clone();
    b[t1..t1 + 4].copy_from_slice(&strings.len.to_le_bytes());
    reseal(&mut b);
    assert_eq!(
        parse(&b),
        Err(FormatError::BadString {
            offset: strings.len
        })
    );

    let mut b = good.clone();
    b[at + 1] = 0x10; // the length now runs past the section
    reseal(&mut b);
    assert_eq!(parse(&b), Err(FormatError::BadString { offset: name }));

    // Not UTF-8: refused by the host's reader (this test needs `std`, for the writer; a no_std
    // reader checks bounds only).
    let mut b = good.clone();
    b[at + 2] = 0xff;
    reseal(&mut b);
    assert_eq!(parse(&b), Err(FormatError::BadString { offset: name }));
}

#[test]
fn refuses_unknown_opcodes_and_bad_operands() {
    let good = small_model();
    let ops_entry: records::SectionEntry = bytemuck::pod_read_unaligned(&good[48..64]);
    assert_eq!(ops_entry.kind, 2);
    let op0 = ops_entry.offset as usize;

    let mut b = good.clone();
    b[op0..op0 + 2].copy_from_slice(&999u16.to_le_bytes());
    reseal(&mut b);
    assert_eq!(
        parse(&b),
        Err(FormatError::UnknownOpcode { op: 0, opcode: 999 })
    );

    let mut b = good.clone();
    b[op0 + 2] = 200; // n_inputs past the operands section
    reseal(&mut b);
    assert!(matches!(parse(&b), Err(FormatError::BadOp { op: 0, .. })));
}

#[test]
fn errors_say_what_and_where() {
    let e = FormatError::BadSection {
        kind: 5,
        offset: 4096,
        len: 12,
        reason: "range falls outside the file body",
    };
    assert_eq!(
        e.to_string(),
        "bad section (kind 5) at byte offset 4096, length 12: range falls outside the file body"
    );
    let e = FormatError::Checksum {
        stored: 1,
        computed: 2,
    };
    assert!(e.to_string().contains("corrupt"));
}

/// A reader that runs whole windows only sees the whole-window program: the step program and the
/// stream section's lists are out of its view and unchecked, while `parse` refuses them.
#[test]
fn the_whole_window_view_leaves_the_step_program_out() {
    let bytes = small_streaming_model();
    let a = AlignedBytes::from_slice(&bytes);
    let full = ModelFile::parse(a.as_slice()).unwrap();
    assert_eq!((full.ops.len(), full.window_ops()), (3, 2));
    let (view, streams) = ModelFile::parse_window_program(a.as_slice()).unwrap();
    assert!(streams);
    assert_eq!((view.ops.len(), view.window_ops()), (2, 2));
    assert!(view.stream.is_none() && view.state_tensors().is_empty());
    assert!(view.op(2).is_none());

    // No stream section: the same ops, and the flag says so.
    let plain = AlignedBytes::from_slice(&small_model());
    let (view, streams) = ModelFile::parse_window_program(plain.as_slice()).unwrap();
    assert!(!streams);
    assert_eq!(view.ops.len(), 2);

    // A state list out of bounds (n_state is the record's sixth word).
    let at = stream_record_offset(&bytes);
    let mut bad = bytes.clone();
    bad[at + 20..at + 24].copy_from_slice(&1000u32.to_le_bytes());
    reseal(&mut bad);
    assert_eq!(
        parse(&bad),
        Err(FormatError::BadStream {
            reason: "state list out of bounds"
        })
    );
    let a = AlignedBytes::from_slice(&bad);
    let (view, streams) = ModelFile::parse_window_program(a.as_slice()).unwrap();
    assert!(streams);
    assert_eq!(view.ops.len(), 2);

    // A window program longer than the op list is refused by both.
    let mut bad = bytes.clone();
    bad[at..at + 4].copy_from_slice(&4u32.to_le_bytes());
    reseal(&mut bad);
    let want = FormatError::BadStream {
        reason: "window program is longer than the op list",
    };
    assert_eq!(parse(&bad), Err(want));
    let a = AlignedBytes::from_slice(&bad);
    assert_eq!(
        ModelFile::parse_window_program(a.as_slice()).map(|_| ()),
        Err(want)
    );
    // A checksum covers the step program all the same.
    let mut flipped = bytes.clone();
    flipped[at + 4] ^= 1;
    let a = AlignedBytes::from_slice(&flipped);
    assert!(matches!(
        ModelFile::parse_window_program(a.as_slice()),
        Err(FormatError::Checksum { .. })
    ));
}
