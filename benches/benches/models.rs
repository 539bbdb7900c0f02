//! One inference of each shipped model through the runtime (f32 path), as `rill run` does it.
use criterion::{criterion_group, criterion_main, Criterion};
use rill_convert::tensor::{read_npy, HostData};
use rill_convert::{convert_path, ConvertOptions};
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
        let converted =
            convert_path(&dir.join("model.onnx"), &ConvertOptions::default()).expect("convert");
        let bytes = AlignedBytes::from_slice(&converted.bytes);
        let model = Model::from_bytes(bytes.as_slice()).expect("load");
        let mut arena = vec![0u8; model.arena_bytes() + 16];
        let mut session = Session::new(&model, &mut arena).expect("session");
        match read_npy(&dir.join("input.npy")).expect("input").data {
            HostData::F32(v) => session.set_input_f32(0, &v).expect("input"),
            HostData::I64(v) => {
                let ids: Vec<i32> = v.iter().map(|&x| x as i32).collect();
                session.set_input_i32(0, &ids).expect("input")
            }
        }
        group.bench_function(name, |b| b.iter(|| session.invoke().expect("invoke")));
    }
    group.finish();
}

criterion_group!(benches, models);
criterion_main!(benches);
