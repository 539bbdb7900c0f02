//! The models in `models/`, exported from PyTorch the way users export them: converted and run in the
//! float path, compared with onnxruntime's outputs (recorded by `tools/export_models.py`) and with
//! tract's, within 1e-4 relative.
use std::path::PathBuf;

use rill_convert::tensor::{self, HostTensor};
use rill_convert::{convert_path, ConvertOptions};
use rill_testkit::{as_f32, check_close, npy, run_model, workspace_root, Tolerance};

const FLOAT_PATH: Tolerance = Tolerance {
    rtol: 1e-4,
    atol: 1e-5,
};

fn model_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(workspace_root().join("models"))
        .expect("models/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("model.onnx").exists())
        .collect();
    dirs.sort();
    dirs
}

/// Splits `[N, ...]` into N tensors of the model's input shape.
fn samples(t: &HostTensor) -> Vec<HostTensor> {
    let n = t.shape[0];
    let shape = t.shape[1..].to_vec();
    let per = shape.iter().product::<usize>();
    (0..n)
        .map(|i| HostTensor {
            shape: shape.clone(),
            data: match &t.data {
                tensor::HostData::F32(v) => {
                    tensor::HostData::F32(v[i * per..(i + 1) * per].to_vec())
                }
                tensor::HostData::I64(v) => {
                    tensor::HostData::I64(v[i * per..(i + 1) * per].to_vec())
                }
            },
        })
        .collect()
}

#[test]
fn every_model_matches_onnxruntime_in_the_float_path() {
    let dirs = model_dirs();
    let names: Vec<_> = dirs
        .iter()
        .map(|d| d.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for want in ["lstm_classifier", "gru_regressor", "tcn", "char_rnn"] {
        assert!(names.iter().any(|n| n == want), "models/{want} is missing");
    }
    for dir in &dirs {
        let converted = convert_path(&dir.join("model.onnx"), &ConvertOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let input = npy(&dir.join("input.npy"));
        let got = run_model(&converted.bytes, &[&input])
            .unwrap_or_else(|e| panic!("{}: {e:#}", dir.display()));
        let reference = npy(&dir.join("reference_output.npy"));
        check_close(
            &format!("{} input.npy", dir.display()),
            &got[0],
            as_f32(&reference).unwrap(),
            FLOAT_PATH,
        )
        .unwrap();

        let test = samples(&npy(&dir.join("test.npy")));
        let test_ref = samples(&npy(&dir.join("test_reference.npy")));
        for (i, (x, r)) in test.iter().zip(&test_ref).enumerate() {
            let got = run_model(&converted.bytes, &[x]).unwrap();
            check_close(
                &format!("{} test sample {i}", dir.display()),
                &got[0],
                as_f32(r).unwrap(),
                FLOAT_PATH,
            )
            .unwrap();
        }
    }
}

#[test]
fn every_model_matches_tract_in_the_float_path() {
    for dir in model_dirs() {
        let path = dir.join("model.onnx");
        let converted = convert_path(&path, &ConvertOptions::default()).unwrap();
        let input = npy(&dir.join("input.npy"));
        let got = run_model(&converted.bytes, &[&input]).unwrap();
        let tract = rill_convert::reference::run_onnx(&path, std::slice::from_ref(&input))
            .unwrap_or_else(|e| panic!("tract on {}: {e}", path.display()));
        check_close(
            &format!("{} vs tract", dir.display()),
            &got[0],
            as_f32(&tract[0]).unwrap(),
            FLOAT_PATH,
        )
        .unwrap();
    }
}

#[test]
fn the_static_plan_stays_close_to_the_liveness_bound() {
    for dir in model_dirs() {
        let converted = convert_path(&dir.join("model.onnx"), &ConvertOptions::default()).unwrap();
        let r = &converted.report;
        assert!(r.live_bound_bytes > 0);
        assert!(
            r.arena_bytes as f64 <= r.live_bound_bytes as f64 * 1.10,
            "{}: arena {} vs liveness bound {}",
            dir.display(),
            r.arena_bytes,
            r.live_bound_bytes
        );
    }
}

#[test]
fn invoking_twice_gives_the_same_answer() {
    // The plan keeps graph inputs intact, so a second invoke without new inputs repeats the first.
    for dir in model_dirs() {
        let converted = convert_path(&dir.join("model.onnx"), &ConvertOptions::default()).unwrap();
        let aligned = rill_format::writer::AlignedBytes::from_slice(&converted.bytes);
        let model = rill_runtime::Model::from_bytes(aligned.as_slice()).unwrap();
        let mut arena = vec![0u8; model.arena_bytes() + 16];
        let mut session = rill_runtime::Session::new(&model, &mut arena).unwrap();
        match npy(&dir.join("input.npy")).data {
            tensor::HostData::F32(v) => session.set_input_f32(0, &v).unwrap(),
            tensor::HostData::I64(v) => session
                .set_input_i32(0, &v.iter().map(|&x| x as i32).collect::<Vec<_>>())
                .unwrap(),
        }
        session.invoke().unwrap();
        let first = session.output_f32(0).unwrap().to_vec();
        session
            .invoke()
            .unwrap_or_else(|e| panic!("{}: second invoke: {e}", dir.display()));
        assert_eq!(
            session.output_f32(0).unwrap(),
            &first[..],
            "{}",
            dir.display()
        );
    }
}
