//! The streaming MFCC front end: sample buffer, per-frame fixed-point pipeline, whole-clip helper.

use crate::config::{FrontendConfig, FrontendError, MAX_FFT_LEN, MAX_MELS};
use crate::fft::fft_q30;
use crate::log::{ln_sum_q16, LN_FRAC_BITS};
use crate::tables::Tables;

/// Fractional bits of the MFCC values the front end emits: a feature `v` stands for `v / 65536`.
pub const MFCC_FRAC_BITS: u32 = LN_FRAC_BITS;

/// Bit length the windowed frame is normalised to before the FFT: `512 * 2^21 = 2^30` keeps every FFT
/// value inside i32 (see `fft`), and 21 bits of signal keep the rounding noise ~120 dB below the peak.
const NORM_BITS: i32 = 21;

/// Bit length the largest bin power is reduced to before the mel sums: `2^38 * 2^15` (Q15 weight) times
/// at most 257 bins stays below `2^64`.
const POWER_BITS: u32 = 38;

/// Converts one fixed-point MFCC value (Q16, [`MFCC_FRAC_BITS`]) to f32, for host code and models that take
/// float features.
pub fn mfcc_to_f32(v: i32) -> f32 {
    v as f32 / (1u32 << MFCC_FRAC_BITS) as f32
}

/// Converts a slice of fixed-point MFCC values to f32 element-wise; converts `min(src.len(), dst.len())`
/// values and returns that count.
pub fn mfcc_slice_to_f32(src: &[i32], dst: &mut [f32]) -> usize {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = mfcc_to_f32(s);
    }
    src.len().min(dst.len())
}

/// Streaming fixed-point MFCC front end (see the crate docs for the pipeline and its accuracy).
///
/// Holds its tables, the last `frame_len` samples and the FFT scratch in fixed arrays sized by
/// [`MAX_FFT_LEN`] / [`MAX_MELS`]: about 10 KiB, no heap. Every call after [`Frontend::new`] uses integer
/// arithmetic only, so a given sample stream gives bit-identical features on every target.
#[derive(Clone, Debug)]
pub struct Frontend {
    cfg: FrontendConfig,
    t: Tables,
    ring: [i16; MAX_FFT_LEN],
    filled: usize,
    re: [i32; MAX_FFT_LEN],
    im: [i32; MAX_FFT_LEN],
    logmel: [i32; MAX_MELS],
    mfcc: [i32; MAX_MELS],
}

impl Frontend {
    /// Validates `cfg` (errors as [`FrontendConfig::validate`]) and builds the tables. This is the only
    /// step that uses floating point (f64, software-emulated on Cortex-M).
    pub fn new(cfg: FrontendConfig) -> Result<Self, FrontendError> {
        Ok(Frontend {
            t: Tables::new(&cfg)?,
            cfg,
            ring: [0; MAX_FFT_LEN],
            filled: 0,
            re: [0; MAX_FFT_LEN],
            im: [0; MAX_FFT_LEN],
            logmel: [0; MAX_MELS],
            mfcc: [0; MAX_MELS],
        })
    }

    /// The configuration the front end was built with.
    pub fn config(&self) -> &FrontendConfig {
        &self.cfg
    }

    /// Forgets buffered samples: the next frame is emitted after `frame_len` new samples.
    pub fn reset(&mut self) {
        self.filled = 0;
    }

    /// Appends one sample. Returns the `n_mfcc` features (Q16) of the frame it completes: the first after
    /// `frame_len` samples, then one every `hop` samples. The slice borrows the front end's output buffer.
    pub fn push_sample(&mut self, sample: i16) -> Option<&[i32]> {
        let fl = self.cfg.frame_len;
        if let Some(slot) = self.ring.get_mut(self.filled) {
            *slot = sample;
            self.filled += 1;
        }
        if self.filled < fl {
            return None;
        }
        self.compute_frame();
        // Keep the overlap for the next frame.
        self.ring.copy_within(self.cfg.hop..fl, 0);
        self.filled = fl - self.cfg.hop;
        self.mfcc.get(..self.cfg.n_mfcc)
    }

    /// Appends samples, calling `out` with the features of every frame they complete, in order. Returns
    /// the number of frames emitted. Chunk boundaries do not matter: any split of a stream gives the same
    /// features.
    pub fn push(&mut self, samples: &[i16], mut out: impl FnMut(&[i32])) -> usize {
        let mut n = 0;
        for &s in samples {
            if let Some(f) = self.push_sample(s) {
                out(f);
                n += 1;
            }
        }
        n
    }

    /// Features of a whole clip: resets, streams `clip` through, and writes the frames row-major into
    /// `out` (`n_frames * n_mfcc` values, `n_frames = config().n_frames(clip.len())`). Returns `n_frames`.
    /// Errors with [`FrontendError::OutputTooShort`] (writing nothing) if `out` is too short; values past
    /// the frames are left untouched. Leaves the front end reset.
    pub fn features_of_clip(
        &mut self,
        clip: &[i16],
        out: &mut [i32],
    ) -> Result<usize, FrontendError> {
        let n_mfcc = self.cfg.n_mfcc;
        let frames = self.cfg.n_frames(clip.len());
        let needed = frames.saturating_mul(n_mfcc);
        if out.len() < needed {
            return Err(FrontendError::OutputTooShort {
                needed,
                got: out.len(),
            });
        }
        self.reset();
        let mut rows = out.chunks_exact_mut(n_mfcc);
        self.push(clip, |f| {
            if let Some(row) = rows.next() {
                row.copy_from_slice(f);
            }
        });
        self.reset();
        Ok(frames)
    }

    /// Window, normalise, FFT, power, mel, log, DCT of the `frame_len` samples in `ring`, into `mfcc`.
    fn compute_frame(&mut self) {
        let cfg = &self.cfg;
        let (fl, nf) = (cfg.frame_len, cfg.fft_len);
        let t = &self.t;

        // Window: x (Q15) * w (Q15) is exact in i32, |y| <= 2^30.
        let mut max = 0u32;
        for ((r, &x), &w) in self
            .re
            .iter_mut()
            .zip(&self.ring[..fl])
            .zip(&t.window[..fl])
        {
            *r = x as i32 * w as i32;
            max = max.max(r.unsigned_abs());
        }
        self.re[fl..nf].fill(0);
        self.im[..nf].fill(0);

        // Block floating point: scale the frame so its peak has NORM_BITS bits whatever the input level,
        // and carry the scale 2^shift into the log energy's exponent instead.
        let shift = if max == 0 {
            0
        } else {
            NORM_BITS - (32 - max.leading_zeros() as i32)
        };
        if shift > 0 {
            self.re[..fl].iter_mut().for_each(|v| *v <<= shift);
        } else if shift < 0 {
            let s = -shift;
            self.re[..fl]
                .iter_mut()
                .for_each(|v| *v = (*v + (1 << (s - 1))) >> s);
        }

        fft_q30(&mut self.re[..nf], &mut self.im[..nf], &t.cos, &t.sin);

        let (re, im) = (&self.re, &self.im);
        let power = |k: usize| {
            let (r, i) = (re[k] as i64, im[k] as i64);
            (r * r + i * i) as u64
        };
        let n_mels = cfg.n_mels;
        let mut pmax = 0u64;
        for m in 0..n_mels {
            let s = t.mel_start[m] as usize;
            for k in s..s + t.mel_len[m] as usize {
                pmax = pmax.max(power(k));
            }
        }
        // Second block exponent, on the powers, so the Q15-weighted sums fit u64.
        let pshift = (64 - pmax.leading_zeros()).saturating_sub(POWER_BITS);

        // Real energy = sum * 2^exp: the FFT value is X / 2^(30 + shift) (Q15 sample times Q15 window,
        // then the normalising shift), squared, times the pshift and the Q15 weights.
        let exp = pshift as i32 - 15 - 60 - 2 * shift;
        for m in 0..n_mels {
            let (s, off) = (t.mel_start[m] as usize, t.mel_off[m] as usize);
            let ws = &t.mel_w[off..off + t.mel_len[m] as usize];
            let e: u64 = ws
                .iter()
                .enumerate()
                .map(|(j, &w)| (power(s + j) >> pshift) * w as u64)
                .sum();
            self.logmel[m] = ln_sum_q16(e, exp, t.floor_mant, t.floor_exp);
        }

        // Orthonormal DCT-II: C_i = s_i sum_m L_m cos(pi i (2m + 1) / (2 n_mels)); the cosine argument is
        // taken modulo 2 pi, i.e. the table index modulo 4 n_mels.
        let period = 4 * n_mels;
        for i in 0..cfg.n_mfcc {
            let mut acc = 0i64;
            let mut j = i; // i (2m + 1) for m = 0, advancing by 2i
            for &l in &self.logmel[..n_mels] {
                acc += l as i64 * t.dct_cos[j] as i64;
                j = (j + 2 * i) % period;
            }
            let sum = (acc + (1 << 29)) >> 30;
            let scale = t.dct_scale[if i == 0 { 0 } else { 1 }] as i64;
            self.mfcc[i] = ((sum * scale + (1 << 29)) >> 30) as i32;
        }
    }
}
