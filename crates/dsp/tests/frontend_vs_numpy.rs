//! rill-dsp's fixed-point MFCCs of models/kws_dscnn/demo.wav against the numpy reference
//! (tests/data/frontend/demo_mfcc.npy, written by tools/gen_frontend_ref.py from tools/frontend.py).

use std::path::PathBuf;

use rill_dsp::{mfcc_to_f32, Frontend, FrontendConfig};

/// Largest |rill - numpy| allowed on any coefficient of any frame (measured: 5.2e-5; MFCCs span -43..20).
const MAX_ABS_ERR: f32 = 1e-4;
/// Largest mean |rill - numpy| allowed over all coefficients (measured: 8.4e-6).
const MEAN_ABS_ERR: f32 = 1.5e-5;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Channel 0 of a PCM16 WAV file, and its sample rate.
fn read_wav(path: &PathBuf) -> (Vec<i16>, u32) {
    let b = std::fs::read(path).unwrap();
    assert!(
        &b[0..4] == b"RIFF" && &b[8..12] == b"WAVE",
        "not a WAV file"
    );
    let u16le = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
    let u32le = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    let (mut pos, mut channels, mut rate) = (12, 0usize, 0u32);
    while pos + 8 <= b.len() {
        let (id, len) = (&b[pos..pos + 4], u32le(pos + 4) as usize);
        let body = pos + 8;
        if id == b"fmt " {
            assert_eq!(u16le(body), 1, "PCM only");
            channels = u16le(body + 2) as usize;
            rate = u32le(body + 4);
            assert_eq!(u16le(body + 14), 16, "16-bit only");
        } else if id == b"data" {
            let data = &b[body..(body + len).min(b.len())];
            let samples = data
                .chunks_exact(2 * channels)
                .map(|f| i16::from_le_bytes([f[0], f[1]]))
                .collect();
            return (samples, rate);
        }
        pos = body + len + (len & 1);
    }
    panic!("no data chunk");
}

#[test]
fn demo_wav_matches_numpy_reference() {
    let (audio, rate) = read_wav(&root().join("models/kws_dscnn/demo.wav"));
    assert_eq!(rate, 16000);
    let npy = std::fs::read(root().join("tests/data/frontend/demo_mfcc.npy")).unwrap();
    let npy = npyz::NpyFile::new(&npy[..]).unwrap();
    let shape = npy.shape().to_vec();
    let want: Vec<f32> = npy.into_vec().unwrap();

    let cfg = FrontendConfig::KWS;
    let mut fe = Frontend::new(cfg).unwrap();
    let n_frames = cfg.n_frames(audio.len());
    assert_eq!(shape, [n_frames as u64, cfg.n_mfcc as u64]);
    let mut got = vec![0i32; n_frames * cfg.n_mfcc];
    assert_eq!(fe.features_of_clip(&audio, &mut got), Ok(n_frames));

    let errs: Vec<f32> = got
        .iter()
        .zip(&want)
        .map(|(&g, &w)| (mfcc_to_f32(g) - w).abs())
        .collect();
    let (worst, &max) = errs
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap();
    let mean = errs.iter().sum::<f32>() / errs.len() as f32;
    println!(
        "demo.wav, {n_frames} frames: max abs err {max:.2e} (frame {}, coef {}), mean abs err {mean:.2e}",
        worst / cfg.n_mfcc,
        worst % cfg.n_mfcc
    );
    // tools/mcu-frontend.sh compares this with the Cortex-M4 run's hash of the same features.
    let fnv = got
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    println!("host fnv={fnv:016x}");
    assert!(max <= MAX_ABS_ERR, "max abs err {max} > {MAX_ABS_ERR}");
    assert!(mean <= MEAN_ABS_ERR, "mean abs err {mean} > {MEAN_ABS_ERR}");
}

#[test]
fn streaming_in_odd_chunks_equals_whole_clip() {
    let (audio, _) = read_wav(&root().join("models/kws_dscnn/demo.wav"));
    let audio = &audio[..20000];
    let cfg = FrontendConfig::KWS;
    let mut fe = Frontend::new(cfg).unwrap();
    let mut whole = vec![0i32; cfg.n_frames(audio.len()) * cfg.n_mfcc];
    fe.features_of_clip(audio, &mut whole).unwrap();
    let mut streamed = Vec::new();
    for chunk in audio.chunks(77) {
        fe.push(chunk, |f| streamed.extend_from_slice(f));
    }
    assert_eq!(streamed, whole);
}
