//! Hand-computable and edge cases of the front end, checked against closed forms and against a
//! straightforward f64 MFCC (naive DFT, no tables shared with the crate) written here from the definition
//! in tools/frontend.py.

use std::f64::consts::PI;

use rill_dsp::{mfcc_to_f32, Frontend, FrontendConfig, FrontendError};

/// The f64 MFCCs of one frame, straight from the definition.
fn reference(cfg: &FrontendConfig, frame: &[i16]) -> Vec<f64> {
    let (fl, nf) = (cfg.frame_len, cfg.fft_len);
    let x: Vec<f64> = (0..fl)
        .map(|n| frame[n] as f64 / 32768.0 * (0.5 - 0.5 * (2.0 * PI * n as f64 / fl as f64).cos()))
        .collect();
    let power: Vec<f64> = (0..=nf / 2)
        .map(|k| {
            let (mut re, mut im) = (0.0, 0.0);
            for (n, v) in x.iter().enumerate() {
                let a = -2.0 * PI * (k * n % nf) as f64 / nf as f64;
                re += v * a.cos();
                im += v * a.sin();
            }
            re * re + im * im
        })
        .collect();
    let mel = |f: f64| 2595.0 * (1.0 + f / 700.0).log10();
    let hz = |m: f64| 700.0 * (10f64.powf(m / 2595.0) - 1.0);
    let (lo, hi) = (mel(cfg.fmin_hz as f64), mel(cfg.fmax_hz as f64));
    let edges: Vec<f64> = (0..cfg.n_mels + 2)
        .map(|i| hz(lo + (hi - lo) * i as f64 / (cfg.n_mels + 1) as f64))
        .collect();
    let logmel: Vec<f64> = (0..cfg.n_mels)
        .map(|m| {
            let (a, b, c) = (edges[m], edges[m + 1], edges[m + 2]);
            let e: f64 = power
                .iter()
                .enumerate()
                .map(|(k, p)| {
                    let f = k as f64 * cfg.sample_rate as f64 / nf as f64;
                    p * ((f - a) / (b - a)).min((c - f) / (c - b)).max(0.0)
                })
                .sum();
            (e + cfg.log_floor as f64).ln()
        })
        .collect();
    let nm = cfg.n_mels as f64;
    (0..cfg.n_mfcc)
        .map(|i| {
            let s = if i == 0 {
                (1.0 / nm).sqrt()
            } else {
                (2.0 / nm).sqrt()
            };
            s * logmel
                .iter()
                .enumerate()
                .map(|(m, l)| l * (PI * i as f64 * (2 * m + 1) as f64 / (2.0 * nm)).cos())
                .sum::<f64>()
        })
        .collect()
}

/// Features of every frame of `clip`, as f64.
fn features(cfg: FrontendConfig, clip: &[i16]) -> Vec<Vec<f64>> {
    let mut fe = Frontend::new(cfg).unwrap();
    let mut out = Vec::new();
    fe.push(clip, |f| {
        out.push(f.iter().map(|&v| mfcc_to_f32(v) as f64).collect())
    });
    assert_eq!(out.len(), cfg.n_frames(clip.len()));
    out
}

/// Bound for ordinary signals (noise, quiet tones): measured 2.8e-5..4.7e-5.
const TOL: f64 = 1e-4;
/// Bound for spectra spanning more than ~120 dB (a loud pure tone, square wave or DC, whose far mel bands
/// sit around 1e-8, below the 1e-6 log floor): there the fixed-point rounding noise, ~2^-30 of the
/// frame's L1 norm, is a visible fraction of those bands. Measured 3.2e-4 (square) to 1.3e-3.
const TOL_EXTREME: f64 = 2e-3;

/// Max |rill - reference| over all frames of `clip`.
fn max_err_vs_reference(cfg: FrontendConfig, clip: &[i16]) -> f64 {
    let got = features(cfg, clip);
    let mut worst = 0.0f64;
    for (t, row) in got.iter().enumerate() {
        let want = reference(&cfg, &clip[t * cfg.hop..t * cfg.hop + cfg.frame_len]);
        for (g, w) in row.iter().zip(&want) {
            worst = worst.max((g - w).abs());
        }
    }
    println!("{} frames: max abs err {worst:.2e}", got.len());
    worst
}

/// Deterministic pseudo-random samples in [-amp, amp] (a 32-bit LCG).
fn noise(n: usize, amp: i32, mut seed: u32) -> Vec<i16> {
    (0..n)
        .map(|_| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ((seed >> 16) as i32 % (amp + 1) * if seed & 1 == 0 { 1 } else { -1 }) as i16
        })
        .collect()
}

#[test]
fn silence_gives_the_log_floor() {
    // Every log-mel is ln(1e-6), so C0 = sqrt(1/40) * 40 * ln(1e-6) = sqrt(40) * -13.8155106 = -87.376961
    // and every other coefficient sums a full set of cosines to 0.
    for row in features(FrontendConfig::KWS, &[0; 1120]) {
        assert!((row[0] + 87.376_961).abs() < 2e-4, "{}", row[0]);
        assert!(row[1..].iter().all(|v| v.abs() < 1e-4), "{row:?}");
    }
}

#[test]
fn full_scale_square_wave_neither_overflows_nor_saturates() {
    // 500 Hz square wave swinging over the whole int16 range, and a constant -32768 (all energy at DC,
    // the largest windowed sum an int16 frame can have).
    let square: Vec<i16> = (0..2000)
        .map(|n| if n / 16 % 2 == 0 { i16::MAX } else { i16::MIN })
        .collect();
    let err = max_err_vs_reference(FrontendConfig::KWS, &square);
    assert!(err < TOL_EXTREME, "square: {err}");
    let err = max_err_vs_reference(FrontendConfig::KWS, &[i16::MIN; 1120]);
    assert!(err < TOL_EXTREME, "dc: {err}");
}

#[test]
fn quiet_and_loud_audio_keep_the_same_precision() {
    // Block floating point: quiet input keeps the precision of loud input (without it a 3-LSB tone would
    // have ~2 significant bits through the FFT).
    for amp in [3.0, 300.0, 30000.0] {
        let tone: Vec<i16> = (0..1440)
            .map(|n| (amp * (2.0 * PI * 1000.0 * n as f64 / 16000.0).sin()).round() as i16)
            .collect();
        let err = max_err_vs_reference(FrontendConfig::KWS, &tone);
        let tol = if amp > 1000.0 { TOL_EXTREME } else { TOL };
        assert!(err < tol, "amplitude {amp}: {err}");
    }
    for amp in [2, 100, 32767] {
        let err = max_err_vs_reference(FrontendConfig::KWS, &noise(1440, amp, 7));
        assert!(err < TOL, "noise amplitude {amp}: {err}");
    }
}

#[test]
fn other_configurations_match_the_definition() {
    // 8 kHz, 25 ms frames, 256-point FFT, 23 mels over 0..4000 Hz (the full band), 13 MFCCs.
    let cfg = FrontendConfig {
        sample_rate: 8000,
        frame_len: 200,
        hop: 80,
        fft_len: 256,
        n_mels: 23,
        fmin_hz: 0.0,
        fmax_hz: 4000.0,
        log_floor: 1e-3,
        n_mfcc: 13,
    };
    let err = max_err_vs_reference(cfg, &noise(1000, 5000, 3));
    assert!(err < TOL, "{err}");
    // Frame length equal to the FFT length, hop equal to the frame (no overlap), 64 mels, all kept.
    let cfg = FrontendConfig {
        frame_len: 64,
        hop: 64,
        fft_len: 64,
        n_mels: 8,
        n_mfcc: 8,
        ..cfg
    };
    let err = max_err_vs_reference(cfg, &noise(640, 20000, 5));
    assert!(err < TOL, "{err}");
}

#[test]
fn frames_are_emitted_at_frame_len_then_every_hop() {
    let mut fe = Frontend::new(FrontendConfig::KWS).unwrap();
    let at: Vec<usize> = (0..1200)
        .filter(|&i| fe.push_sample((i % 50) as i16).is_some())
        .collect();
    assert_eq!(at, [479, 799, 1119]);
    fe.reset();
    assert_eq!(fe.push(&[1; 479], |_| {}), 0);
    assert_eq!(fe.push(&[1; 1], |_| {}), 1);
}

#[test]
fn state_fits_the_documented_size() {
    assert!(
        std::mem::size_of::<Frontend>() < 11 * 1024 + 512,
        "{}",
        std::mem::size_of::<Frontend>()
    );
}

#[test]
fn errors_instead_of_panics() {
    assert_eq!(
        Frontend::new(FrontendConfig {
            fft_len: 384,
            ..FrontendConfig::KWS
        })
        .unwrap_err(),
        FrontendError::FftLen(384)
    );
    let mut fe = Frontend::new(FrontendConfig::KWS).unwrap();
    let mut out = [0i32; 10 * 49 - 1];
    assert_eq!(
        fe.features_of_clip(&[0; 16000], &mut out),
        Err(FrontendError::OutputTooShort {
            needed: 490,
            got: 489
        })
    );
    assert_eq!(fe.features_of_clip(&[0; 100], &mut []), Ok(0));
}
