//! Audio front end and keyword detection for Rill on microcontrollers: a streaming fixed-point MFCC front
//! end ([`Frontend`]) that reproduces `tools/frontend.py`, and score post-processing ([`detect`]).
//!
//! # Front end
//!
//! [`Frontend::new`] takes a [`FrontendConfig`] ([`FrontendConfig::KWS`] is `models/kws_dscnn/frontend.json`),
//! validates it and builds its tables (the only floating-point step, see `tables`). Then
//! [`Frontend::push_sample`] / [`Frontend::push`] take 16-bit samples and emit one vector of `n_mfcc`
//! features every `hop` samples once `frame_len` are buffered; [`Frontend::features_of_clip`] does a whole
//! clip. Features are `i32` in Q16 ([`MFCC_FRAC_BITS`]): `v / 65536` is the MFCC of `tools/frontend.py`;
//! [`mfcc_to_f32`] converts.
//!
//! Per frame, all in integers (bit-identical on host and Cortex-M):
//! 1. window: int16 sample times Q30 periodic Hann, exact in i64;
//! 2. block floating point: the windowed frame is shifted (rounding) so its L1 norm has 30 bits, whatever
//!    the input level, and the shift goes into the energy's exponent (quiet and loud audio get the same
//!    relative precision);
//! 3. FFT: the real frame packed into a complex one of half the length, radix-2, i32 data, Q30 twiddles,
//!    i64 products rounded to nearest, no per-stage scaling (every FFT value is bounded by the L1 norm, so
//!    nothing overflows), then split into the real transform's bins;
//! 4. power `re^2 + im^2` in u64, times Q30 mel weights summed exactly in u128, cut to a 64-bit mantissa
//!    and an exponent;
//! 5. `ln(E + floor)` of the mantissa/exponent pair: exponents aligned, log2 by repeated squaring (Q16),
//!    times ln 2;
//! 6. orthonormal DCT-II with a Q30 cosine table, i64 accumulation, rounded to Q16.
//!
//! ## Accuracy against numpy
//!
//! `tests/frontend_vs_numpy.rs` compares every frame of `models/kws_dscnn/demo.wav` (449 frames of speech
//! and background) against `tests/data/frontend/demo_mfcc.npy` from `tools/gen_frontend_ref.py` (the
//! float64 numpy code of `tools/frontend.py`, stored as float32). Measured: max abs error 5.2e-5, mean abs
//! error 8.4e-6 (MFCC values span -43..20); the test bounds are max <= 1e-4 and mean <= 1.5e-5, on every
//! frame including the quietest. `tests/frontend_cases.rs` checks synthetic signals against an f64
//! implementation: <= 1e-4 for noise at any level and quiet tones, <= 2e-3 for loud pure tones, square
//! waves and DC, whose spectra span more than 120 dB so the rounding noise (~2^-30 of the frame's L1
//! norm) shows in mel bands far below the log floor.
//!
//! ## Cost
//!
//! A [`Frontend`] is about 11 KiB (tables, 512-sample buffer, FFT scratch), no heap. Per frame: one
//! `fft_len / 2`-point complex FFT of the packed real frame (`fft_len / 4 * log2(fft_len / 2)` butterflies
//! of four 32x32->64 multiplies) and its split into real bins, the mel sums and `n_mfcc * n_mels` DCT multiply-adds. Measured on a Cortex-M4F under QEMU
//! (`tools/mcu-frontend.sh`, [`FrontendConfig::KWS`]): 142,000 instructions per hop including the sample
//! pushes, 6.2 M once for [`Frontend::new`]. Cortex-M0+ has no 64-bit multiply instruction, so it is
//! several times slower there.
//!
//! # Detection
//!
//! [`Detector`] turns per-frame `u8` class probabilities into keyword events: moving average, threshold,
//! per-class re-arming, suppression window. See [`detect`].
#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

pub mod config;
pub mod detect;
mod fft;
pub mod frontend;
mod log;
mod tables;

pub use config::{FrontendConfig, FrontendError, MAX_FFT_LEN, MAX_MELS};
pub use detect::{Detection, Detector, DetectorConfig, DetectorError};
pub use frontend::{mfcc_slice_to_f32, mfcc_to_f32, Frontend, MFCC_FRAC_BITS};
