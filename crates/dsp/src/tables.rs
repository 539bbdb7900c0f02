//! The constant tables of one front-end configuration, computed once in [`Tables::new`].
//!
//! They are built at construction from the config with f64 arithmetic and `libm` (a pure-Rust libm, so
//! no platform maths library is involved), then rounded to integers; nothing here is read as floating
//! point afterwards. IEEE basic operations are correctly rounded and Rust never contracts them into fused
//! multiply-adds, so the integer tables, and therefore the features, are identical on the host and on a
//! Cortex-M (where f64 is software-emulated: construction costs a few milliseconds there, once).
//!
//! Formats:
//! * window: periodic Hann in Q30 `i32`. With Q15 its rounding noise sits ~100 dB under the signal and
//!   showed in quiet mel bands: demo.wav was off by 1.6e-3 with a Q15 window, 8e-5 with Q30;
//! * twiddles: `cos` / `sin` of `2 pi k / fft_len` for `k < fft_len / 2`, Q30 `i32`: the FFT multiplies in
//!   i64, so 30 bits cost nothing and keep the twiddle error far below the 0.05 MFCC budget;
//! * mel weights: Q30 `u32`, stored flat per filter with its first bin and length, zero weights trimmed
//!   from both ends. Q30 because a loud bin at the foot of a filter, where the weight is near 0, can
//!   dominate that filter's energy: with Q15 weights a full-scale 1 kHz tone was off by 0.13 in MFCC;
//! * DCT: `cos(pi j / (2 n_mels))` for `j < 4 n_mels`, Q30 `i32`, indexed by `i (2m + 1) mod 4 n_mels`,
//!   and the two orthonormal scales `sqrt(1 / n_mels)`, `sqrt(2 / n_mels)` in Q30;
//! * log floor: a mantissa / exponent pair, `floor = mant * 2^exp`.

use crate::config::{FrontendConfig, FrontendError, MAX_FFT_LEN, MAX_MELS, MAX_MEL_WEIGHTS};

const Q30: f64 = 1073741824.0;

#[derive(Clone, Debug)]
pub(crate) struct Tables {
    pub window: [i32; MAX_FFT_LEN],
    pub cos: [i32; MAX_FFT_LEN / 2],
    pub sin: [i32; MAX_FFT_LEN / 2],
    /// First FFT bin, number of bins and offset into `mel_w` of each filter.
    pub mel_start: [u16; MAX_MELS],
    pub mel_len: [u16; MAX_MELS],
    pub mel_off: [u16; MAX_MELS],
    pub mel_w: [u32; MAX_MEL_WEIGHTS],
    pub dct_cos: [i32; 4 * MAX_MELS],
    /// `[sqrt(1 / n_mels), sqrt(2 / n_mels)]` in Q30.
    pub dct_scale: [i32; 2],
    pub floor_mant: u64,
    pub floor_exp: i32,
}

fn q(x: f64, one: f64) -> f64 {
    libm::round(x * one)
}

fn hz_to_mel(f: f64) -> f64 {
    2595.0 * libm::log10(1.0 + f / 700.0)
}

fn mel_to_hz(m: f64) -> f64 {
    700.0 * (libm::pow(10.0, m / 2595.0) - 1.0)
}

impl Tables {
    /// Builds the tables of a config; validates it first.
    pub fn new(cfg: &FrontendConfig) -> Result<Self, FrontendError> {
        cfg.validate()?;
        let mut t = Tables {
            window: [0; MAX_FFT_LEN],
            cos: [0; MAX_FFT_LEN / 2],
            sin: [0; MAX_FFT_LEN / 2],
            mel_start: [0; MAX_MELS],
            mel_len: [0; MAX_MELS],
            mel_off: [0; MAX_MELS],
            mel_w: [0; MAX_MEL_WEIGHTS],
            dct_cos: [0; 4 * MAX_MELS],
            dct_scale: [0; 2],
            floor_mant: 0,
            floor_exp: 0,
        };
        let tau = 2.0 * core::f64::consts::PI;

        let n = cfg.frame_len as f64;
        for (i, w) in t.window.iter_mut().take(cfg.frame_len).enumerate() {
            *w = q(0.5 - 0.5 * libm::cos(tau * i as f64 / n), Q30) as i32;
        }

        let f = cfg.fft_len as f64;
        for k in 0..cfg.fft_len / 2 {
            t.cos[k] = q(libm::cos(tau * k as f64 / f), Q30) as i32;
            t.sin[k] = q(libm::sin(tau * k as f64 / f), Q30) as i32;
        }

        t.build_mel(cfg);

        let nm = cfg.n_mels as f64;
        for j in 0..4 * cfg.n_mels {
            t.dct_cos[j] = q(
                libm::cos(core::f64::consts::PI * j as f64 / (2.0 * nm)),
                Q30,
            ) as i32;
        }
        t.dct_scale = [
            q(libm::sqrt(1.0 / nm), Q30) as i32,
            q(libm::sqrt(2.0 / nm), Q30) as i32,
        ];

        // 53-bit mantissa: the floor is represented exactly as the f64 it was converted to.
        let (frac, exp) = libm::frexp(cfg.log_floor as f64);
        t.floor_mant = q(frac, 9007199254740992.0) as u64;
        t.floor_exp = exp - 53;
        Ok(t)
    }

    /// The HTK filterbank of `tools/frontend.py::mel_filterbank`, quantised to Q30.
    fn build_mel(&mut self, cfg: &FrontendConfig) {
        let (lo, hi) = (hz_to_mel(cfg.fmin_hz as f64), hz_to_mel(cfg.fmax_hz as f64));
        let steps = (cfg.n_mels + 1) as f64;
        let edge = |i: usize| mel_to_hz(lo + (hi - lo) * i as f64 / steps);
        let bin_hz = cfg.sample_rate as f64 / cfg.fft_len as f64;
        let n_bins = cfg.fft_len / 2 + 1;
        let mut off = 0usize;
        for m in 0..cfg.n_mels {
            let (a, b, c) = (edge(m), edge(m + 1), edge(m + 2));
            let weight = |k: usize| {
                let fk = k as f64 * bin_hz;
                let w = libm::fmin((fk - a) / (b - a), (c - fk) / (c - b));
                if w > 0.0 {
                    q(w, Q30) as u32
                } else {
                    0
                }
            };
            let first = (0..n_bins).find(|&k| weight(k) > 0);
            let (start, len) = match first {
                Some(s) => {
                    let end = (s..n_bins)
                        .take_while(|&k| weight(k) > 0)
                        .last()
                        .unwrap_or(s);
                    (s, end + 1 - s)
                }
                None => (0, 0),
            };
            // A bin lies under at most two triangles, so `off + len <= MAX_MEL_WEIGHTS` always holds; the
            // `min` only keeps a violated assumption from turning into a panic.
            let len = len.min(MAX_MEL_WEIGHTS - off);
            for (j, w) in self.mel_w[off..off + len].iter_mut().enumerate() {
                *w = weight(start + j);
            }
            self.mel_start[m] = start as u16;
            self.mel_len[m] = len as u16;
            self.mel_off[m] = off as u16;
            off += len;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kws_mel_filters_cover_bins_1_to_127() {
        // tools/frontend.py: "Only bins 1..127 are non-zero".
        let t = Tables::new(&FrontendConfig::KWS).unwrap();
        assert_eq!(t.mel_start[0], 1);
        let last = 39;
        assert_eq!(t.mel_start[last] + t.mel_len[last] - 1, 127);
        // Filter 0 (edges 20, 53.711, 89.000 Hz): bin 1 at 31.25 Hz weighs (31.25 - 20) / 33.711 = 0.33372,
        // bin 2 at 62.5 Hz (89.000 - 62.5) / 35.289 = 0.75094.
        assert_eq!(t.mel_len[0], 2);
        assert!((t.mel_w[0] as f64 / Q30 - 0.333_72).abs() < 1e-5);
        assert!((t.mel_w[1] as f64 / Q30 - 0.750_94).abs() < 1e-5);
    }

    #[test]
    fn window_and_twiddles_hit_exact_points() {
        let t = Tables::new(&FrontendConfig::KWS).unwrap();
        assert_eq!(t.window[0], 0);
        assert_eq!(t.window[240], 1 << 30);
        assert_eq!(t.window[120], 1 << 29);
        assert_eq!(t.cos[0], 1 << 30);
        assert_eq!(t.sin[128], 1 << 30);
        assert_eq!(t.cos[128], 0);
        // 1e-6 = mant * 2^exp
        let floor = t.floor_mant as f64 * 2f64.powi(t.floor_exp);
        assert_eq!(floor, 1e-6f32 as f64);
    }
}
