//! One inference of each shipped model through the runtime, as `rill run` does it: f32, and int8 and
//! int16 calibrated on the model's calib.npy.
mod common;

use criterion::{criterion_group, criterion_main, Criterion};
use rill_convert::tensor::read_npy;
use rill_convert::{exec, Precision};
use rill_format::writer::AlignedBytes;
use rill_runtime::{Model, Session};

fn models(c: &mut Criterion) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .expect("models/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("model.onnx").exists() && p.join("input.npy").exists())
        .collect();
    dirs.sort();
    let mut group = c.benchmark_group("invoke");
    for dir in dirs {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let input = read_npy(&dir.join("input.npy")).expect("input");
        for precision in [Precision::F32, Precision::Int8, Precision::Int16] {
            let bytes = AlignedBytes::from_slice(&common::converted(&dir, precision));
            let model = Model::from_bytes(bytes.as_slice()).expect("load");
            let mut arena = vec![0u8; model.arena_bytes() + 16];
            let mut session = Session::new(&model, &mut arena).expect("session");
            exec::feed(&mut session, std::slice::from_ref(&input), 0).expect("input");
            let id = format!("{name}/{}", precision.name());
            group.bench_function(id, |b| b.iter(|| session.invoke().expect("invoke")));
        }
    }
    group.finish();
}

criterion_group!(benches, models);
criterion_main!(benches);
