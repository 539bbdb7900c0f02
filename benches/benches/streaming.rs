//! What one new time step costs: a step through the step program (recurrent state and conv rings
//! kept in the arena) against recomputing the whole window, as a windowed deployment must, for an
//! LSTM (motion_lstm, 100 steps) and a causal dilated TCN (tcn, 64 steps), in f32 and int8.
mod common;

use criterion::{criterion_group, criterion_main, Criterion};
use rill_convert::tensor::read_npy;
use rill_convert::{exec, Precision};
use rill_format::writer::AlignedBytes;
use rill_runtime::{DType, Model, Session};

fn streaming(c: &mut Criterion) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    let mut group = c.benchmark_group("per_step");
    for name in ["motion_lstm", "tcn"] {
        let dir = root.join(name);
        let input = read_npy(&dir.join("input.npy")).expect("input");
        for precision in [Precision::F32, Precision::Int8] {
            let bytes = AlignedBytes::from_slice(&common::converted(&dir, precision));
            let model = Model::from_bytes(bytes.as_slice()).expect("load");
            let mut arena = vec![0u8; model.arena_bytes() + 16];
            let mut session = Session::new(&model, &mut arena).expect("session");
            exec::feed(&mut session, std::slice::from_ref(&input), 0).expect("input");
            let id = |how: &str| format!("{name}/{}/{how}", precision.name());
            group.bench_function(id("whole_window"), |b| {
                b.iter(|| session.invoke().expect("invoke"))
            });
            let frame = model.step_input(0).expect("step input");
            match frame.dtype {
                DType::F32 => {
                    let x = vec![0.25f32; frame.len()];
                    group.bench_function(id("step"), |b| {
                        b.iter(|| {
                            session.set_step_input_f32(0, &x).expect("frame");
                            session.invoke_step().expect("step")
                        })
                    });
                }
                _ => {
                    let x = vec![3i8; frame.len()];
                    group.bench_function(id("step"), |b| {
                        b.iter(|| {
                            session.set_step_input_i8(0, &x).expect("frame");
                            session.invoke_step().expect("step")
                        })
                    });
                }
            }
        }
    }
    group.finish();
}

criterion_group!(benches, streaming);
criterion_main!(benches);
