//! The streaming MFCC front end: sample buffer, per-frame fixed-point pipeline, whole-clip helper.

use crate::config::{FrontendConfig, FrontendError, MAX_FFT_LEN, MAX_MELS};
use crate::fft::{fft_q30, real_bin_x2};
use crate::log::{ln_sum_q16, LN_FRAC_BITS};
use crate::tables::Tables;

/// Fractional bits of the MFCC values the front end emits: a feature `v` stands for `v / 65536`.
pub const MFCC_FRAC_BITS: u32 = LN_FRAC_BITS;

/// Bit length the L1 norm of the windowed frame is normalised to before the FFT: it bounds every FFT value
/// (see `fft`), so `< 2^30` keeps them in i32. Normalising the norm rather than the peak gives speech
/// frames 2-3 more bits than the `2^31 / 512` a peak bound would allow.
const NORM_BITS: i32 = 30;

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
/// Holds its tables, the last `frame_len` samples and the FFT scratch (half the FFT length: the real frame
/// is packed into a complex one of half the length) in fixed arrays sized by
/// [`MAX_FFT_LEN`] / [`MAX_MELS`]: about 11 KiB, no heap. Every call after [`Frontend::new`] uses integer
/// arithmetic only, so a given sample stream gives bit-identical features on every target.
#[derive(Clone, Debug)]
pub struct Frontend {
    cfg: FrontendConfig,
    t: Tables,
    ring: [i16; MAX_FFT_LEN],
    filled: usize,
    re: [i32; MAX_FFT_LEN / 2],
    im: [i32; MAX_FFT_LEN / 2],
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
            re: [0; MAX_FFT_LEN / 2],
            im: [0; MAX_FFT_LEN / 2],
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

        // Window: x (Q15) * w (Q30) is exact in i64, |y| <= 2^45 and the L1 norm below 2^54.
        let mut l1 = 0u64;
        for (&x, &w) in self.ring[..fl].iter().zip(&t.window[..fl]) {
            l1 += (x as i64 * w as i64).unsigned_abs();
        }
        // Block floating point: scale the frame so its L1 norm has NORM_BITS bits whatever the input
        // level, and carry the scale 2^shift into the log energy's exponent instead. (Rounding the right
        // shift raises the norm by at most fl / 2, well inside the headroom to 2^31.)
        let shift = if l1 == 0 {
            0
        } else {
            NORM_BITS - (64 - l1.leading_zeros() as i32)
        };
        // Pack the real frame as z[m] = y[2m] + i y[2m+1] for the half-length complex FFT.
        let half = nf / 2;
        self.re[..half].fill(0);
        self.im[..half].fill(0);
        for (n, (&x, &w)) in self.ring[..fl].iter().zip(&t.window[..fl]).enumerate() {
            let y = x as i64 * w as i64;
            let v = if shift >= 0 {
                y << shift
            } else {
                (y + (1 << (-shift - 1))) >> -shift
            } as i32;
            let dst = if n % 2 == 0 {
                &mut self.re
            } else {
                &mut self.im
            };
            dst[n / 2] = v;
        }

        fft_q30(
            &mut self.re[..half],
            &mut self.im[..half],
            &t.cos,
            &t.sin,
            2,
        );

        let (re, im) = (&self.re[..half], &self.im[..half]);
        // |2X|^2 = 4 |X|^2; each component of 2X is below 2^31, so the sum fits u64.
        let power_x4 = |k: usize| {
            let (r, i) = real_bin_x2(re, im, &t.cos, &t.sin, k);
            (r * r) as u64 + (i * i) as u64
        };
        let n_mels = cfg.n_mels;
        // Real energy = sum * 2^exp: the FFT value is X / 2^(45 + shift) (Q15 sample times Q30 window,
        // then the normalising shift), squared (and times 4, see power_x4), times the Q30 weights. A power
        // is below 2^64 and a filter spans at most 257 bins, so the u128 sum is below 2^103: exact, then
        // cut to a 64-bit mantissa.
        let exp = -2 - 30 - 90 - 2 * shift;
        for m in 0..n_mels {
            let (s, off) = (t.mel_start[m] as usize, t.mel_off[m] as usize);
            let ws = &t.mel_w[off..off + t.mel_len[m] as usize];
            let e: u128 = ws
                .iter()
                .enumerate()
                .map(|(j, &w)| power_x4(s + j) as u128 * w as u128)
                .sum();
            let cut = (128 - e.leading_zeros()).saturating_sub(64);
            self.logmel[m] = ln_sum_q16(
                (e >> cut) as u64,
                exp + cut as i32,
                t.floor_mant,
                t.floor_exp,
            );
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
