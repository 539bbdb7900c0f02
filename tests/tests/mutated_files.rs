//! Untrusted files: thousands of mutated and truncated `.rill` files go through `Model::from_bytes`
//! and, when accepted, a full `invoke`. Every outcome must be `Ok` or `Err`; a panic fails the test
//! with the seed and mutation that caused it.
use rill_convert::{convert_path, ConvertOptions};
use rill_format::reader::checksum;
use rill_format::records::CRC_START;
use rill_format::writer::AlignedBytes;
use rill_runtime::{Model, Session};
use rill_testkit::{workspace_root, Rng};

/// Values that tend to break size arithmetic and index checks.
const NASTY: [u32; 10] = [
    0,
    1,
    2,
    3,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFFF,
    0xFFFF_FFFE,
    0x10000,
    16,
];

fn seed_models() -> Vec<Vec<u8>> {
    let root = workspace_root();
    let mut paths = vec![];
    for m in ["lstm_classifier", "gru_regressor", "tcn", "char_rnn"] {
        paths.push(root.join("models").join(m).join("model.onnx"));
    }
    for c in [
        "test_gemm_all_attributes",
        "test_conv_with_strides_padding",
        "test_layer_normalization_3d_axis1_epsilon",
        "test_concat_3d_axis_1",
        "test_gather_0",
        "test_transpose_all_permutations_3",
        "test_maxpool_2d_pads",
        "test_softmax_axis_1",
    ] {
        paths.push(root.join("tests/data/onnx-node").join(c).join("model.onnx"));
    }
    let models: Vec<Vec<u8>> = paths
        .iter()
        .filter(|p| p.exists())
        .map(|p| {
            convert_path(p, &ConvertOptions::default())
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
                .bytes
        })
        .collect();
    assert!(
        models.len() >= 8,
        "seed models missing: only {} converted",
        models.len()
    );
    models
}

fn reseal(bytes: &mut [u8]) {
    if bytes.len() >= 16 {
        let crc = checksum(&bytes[CRC_START..]);
        bytes[12..16].copy_from_slice(&crc.to_le_bytes());
    }
}

/// Loads and, if accepted, runs the file with zero inputs. Returns whether it was accepted.
fn exercise(bytes: &[u8]) -> bool {
    let aligned = AlignedBytes::from_slice(bytes);
    let Ok(model) = Model::from_bytes(aligned.as_slice()) else {
        return false;
    };
    // A mutated plan may claim a huge arena: refusing to allocate it is the caller's right.
    if model.arena_bytes() > 64 << 20 {
        return true;
    }
    let mut arena = vec![0u8; model.arena_bytes() + 16];
    let Ok(mut session) = Session::new(&model, &mut arena) else {
        return true;
    };
    let _ = session.invoke();
    for i in 0..model.output_count() {
        let _ = session.output_f32(i);
    }
    true
}

fn mutate(rng: &mut Rng, good: &[u8]) -> (Vec<u8>, String) {
    let mut b = good.to_vec();
    let what = match rng.below(6) {
        0 => {
            let n = rng.below(b.len());
            b.truncate(n);
            format!("truncate to {n}")
        }
        1 => {
            let pos = rng.below(b.len());
            b[pos] ^= 1 << rng.below(8);
            format!("flip a bit at {pos} (checksum left stale)")
        }
        2 | 3 => {
            // Overwrite an aligned u32 with a nasty value and fix the checksum, to get past it.
            let pos = rng.below(b.len() / 4) * 4;
            let v = NASTY[rng.below(NASTY.len())];
            b[pos..pos + 4].copy_from_slice(&v.to_le_bytes());
            reseal(&mut b);
            format!("u32 at {pos} := {v:#x}, resealed")
        }
        4 => {
            let pos = rng.below(b.len());
            let v = rng.below(256) as u8;
            b[pos] = v;
            reseal(&mut b);
            format!("byte at {pos} := {v}, resealed")
        }
        _ => {
            let n = 1 + rng.below(8);
            let mut log = String::from("several resealed u32 writes:");
            for _ in 0..n {
                let pos = rng.below(b.len() / 4) * 4;
                let v = if rng.below(2) == 0 {
                    NASTY[rng.below(NASTY.len())]
                } else {
                    rng.next_u64() as u32
                };
                b[pos..pos + 4].copy_from_slice(&v.to_le_bytes());
                log.push_str(&format!(" {pos}={v:#x}"));
            }
            reseal(&mut b);
            log
        }
    };
    (b, what)
}

#[test]
fn mutated_and_truncated_files_are_errors_never_panics() {
    let models = seed_models();
    for m in &models {
        assert!(exercise(m), "an unmutated model must load");
    }
    let mut rng = Rng::new(0x5EED);
    let mut accepted = 0;
    let iterations = 6000;
    for iter in 0..iterations {
        let which = rng.below(models.len());
        let (bytes, what) = mutate(&mut rng, &models[which]);
        match std::panic::catch_unwind(|| exercise(&bytes)) {
            Ok(ok) => accepted += ok as usize,
            Err(_) => panic!("iteration {iter}: model {which}, {what}: panicked"),
        }
    }
    eprintln!(
        "{accepted} of {iterations} mutated files were still accepted (and ran without panicking)"
    );
    assert!(
        accepted < iterations,
        "mutations never rejected: the checks are not reached"
    );
}
