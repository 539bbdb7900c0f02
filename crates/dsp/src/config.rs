//! Front-end parameters, their limits, and the errors a bad parameter set produces.

use core::fmt;

/// Largest supported FFT length (and so frame length): the fixed arrays inside [`crate::Frontend`] are
/// sized by it.
pub const MAX_FFT_LEN: usize = 512;
/// Smallest supported FFT length.
pub const MIN_FFT_LEN: usize = 4;
/// Largest supported number of mel filters (and so of MFCC coefficients).
pub const MAX_MELS: usize = 64;
/// Capacity of the flat mel weight table. Filter edges increase strictly, so a bin lies under at most two
/// neighbouring triangles: `2 * (MAX_FFT_LEN / 2 + 1)` weights always suffice.
pub const MAX_MEL_WEIGHTS: usize = 2 * (MAX_FFT_LEN / 2 + 1);

/// Parameters of the MFCC front end; the meaning of each step is the one in `tools/frontend.py`.
///
/// Input samples are int16, read as `x / 32768`. Frame `t` covers samples `[hop * t, hop * t + frame_len)`
/// (no padding), is multiplied by a periodic Hann window of length `frame_len`, zero-padded to `fft_len`,
/// and transformed; the power `re^2 + im^2` (unscaled) of bins `0..=fft_len / 2` goes through `n_mels`
/// triangular HTK-mel filters (peak height 1) with edges equally spaced in mel from `fmin_hz` to
/// `fmax_hz`; then `ln(E + log_floor)` and an orthonormal DCT-II keeping the first `n_mfcc` coefficients.
///
/// Floating-point fields are only read when the tables are built ([`crate::Frontend::new`]), never in the
/// sample path.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrontendConfig {
    /// Sample rate in Hz, > 0. Only used to place the mel filters on the FFT bins.
    pub sample_rate: u32,
    /// Samples per frame, `1..=fft_len`.
    pub frame_len: usize,
    /// Samples between frame starts, `1..=frame_len`.
    pub hop: usize,
    /// FFT length: a power of two in `MIN_FFT_LEN..=MAX_FFT_LEN`.
    pub fft_len: usize,
    /// Number of mel filters, `1..=MAX_MELS`.
    pub n_mels: usize,
    /// Lower edge of the first mel filter in Hz: finite, `>= 0`, `< fmax_hz`.
    pub fmin_hz: f32,
    /// Upper edge of the last mel filter in Hz: finite, `<= sample_rate / 2`.
    pub fmax_hz: f32,
    /// Added to each mel energy before the log: finite and `> 0`.
    pub log_floor: f32,
    /// MFCC coefficients kept, `1..=n_mels`.
    pub n_mfcc: usize,
}

impl FrontendConfig {
    /// The keyword-spotting front end of `models/kws_dscnn/frontend.json` (and `tools/frontend.py`):
    /// 16 kHz, frame 480, hop 320, 512-point FFT, 40 mels from 20 to 4000 Hz, floor 1e-6, 10 MFCCs.
    pub const KWS: FrontendConfig = FrontendConfig {
        sample_rate: 16000,
        frame_len: 480,
        hop: 320,
        fft_len: 512,
        n_mels: 40,
        fmin_hz: 20.0,
        fmax_hz: 4000.0,
        log_floor: 1e-6,
        n_mfcc: 10,
    };

    /// Checks every field against the limits documented on it; the first violation is returned.
    pub fn validate(&self) -> Result<(), FrontendError> {
        let f = self.fft_len;
        if !f.is_power_of_two() || !(MIN_FFT_LEN..=MAX_FFT_LEN).contains(&f) {
            return Err(FrontendError::FftLen(f));
        }
        if self.frame_len == 0 || self.frame_len > f {
            return Err(FrontendError::FrameLen {
                frame_len: self.frame_len,
                fft_len: f,
            });
        }
        if self.hop == 0 || self.hop > self.frame_len {
            return Err(FrontendError::Hop {
                hop: self.hop,
                frame_len: self.frame_len,
            });
        }
        if self.sample_rate == 0 {
            return Err(FrontendError::SampleRate);
        }
        if self.n_mels == 0 || self.n_mels > MAX_MELS {
            return Err(FrontendError::NMels(self.n_mels));
        }
        if self.n_mfcc == 0 || self.n_mfcc > self.n_mels {
            return Err(FrontendError::NMfcc {
                n_mfcc: self.n_mfcc,
                n_mels: self.n_mels,
            });
        }
        let nyquist = self.sample_rate as f32 / 2.0;
        let (lo, hi) = (self.fmin_hz, self.fmax_hz);
        // NaN fails every comparison, so the positive forms below also reject it.
        if !(lo.is_finite() && hi.is_finite() && lo >= 0.0 && lo < hi && hi <= nyquist) {
            return Err(FrontendError::FreqRange);
        }
        if !(self.log_floor.is_finite() && self.log_floor > 0.0) {
            return Err(FrontendError::LogFloor);
        }
        Ok(())
    }

    /// Frames a clip of `n_samples` samples yields: `1 + (n_samples - frame_len) / hop`, or 0 when the clip
    /// is shorter than one frame. Meaningful for a valid config (returns 0 if `hop` is 0).
    pub fn n_frames(&self, n_samples: usize) -> usize {
        match n_samples.checked_sub(self.frame_len) {
            Some(rest) if self.hop > 0 => 1 + rest / self.hop,
            _ => 0,
        }
    }
}

/// Why a [`FrontendConfig`] was rejected or a call could not be served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrontendError {
    /// `fft_len` is not a power of two in `MIN_FFT_LEN..=MAX_FFT_LEN`.
    FftLen(usize),
    /// `frame_len` is 0 or longer than `fft_len`.
    FrameLen { frame_len: usize, fft_len: usize },
    /// `hop` is 0 or longer than `frame_len` (frames that skip samples are not supported).
    Hop { hop: usize, frame_len: usize },
    /// `sample_rate` is 0.
    SampleRate,
    /// `n_mels` is 0 or above `MAX_MELS`.
    NMels(usize),
    /// `n_mfcc` is 0 or above `n_mels`.
    NMfcc { n_mfcc: usize, n_mels: usize },
    /// The mel range is not `0 <= fmin_hz < fmax_hz <= sample_rate / 2` with finite values.
    FreqRange,
    /// `log_floor` is not finite and positive.
    LogFloor,
    /// The output slice of [`crate::Frontend::features_of_clip`] holds fewer than `needed` values.
    OutputTooShort { needed: usize, got: usize },
}

impl core::error::Error for FrontendError {}

impl fmt::Display for FrontendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::FftLen(n) => write!(
                f,
                "fft_len {n} is not a power of two in {MIN_FFT_LEN}..={MAX_FFT_LEN}"
            ),
            Self::FrameLen { frame_len, fft_len } => {
                write!(
                    f,
                    "frame_len {frame_len} must be in 1..=fft_len ({fft_len})"
                )
            }
            Self::Hop { hop, frame_len } => {
                write!(f, "hop {hop} must be in 1..=frame_len ({frame_len})")
            }
            Self::SampleRate => write!(f, "sample_rate must be > 0"),
            Self::NMels(n) => write!(f, "n_mels {n} must be in 1..={MAX_MELS}"),
            Self::NMfcc { n_mfcc, n_mels } => {
                write!(f, "n_mfcc {n_mfcc} must be in 1..=n_mels ({n_mels})")
            }
            Self::FreqRange => {
                write!(
                    f,
                    "mel range must satisfy 0 <= fmin_hz < fmax_hz <= sample_rate / 2"
                )
            }
            Self::LogFloor => write!(f, "log_floor must be finite and > 0"),
            Self::OutputTooShort { needed, got } => {
                write!(f, "output holds {got} values, {needed} needed")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kws_is_valid_and_frames_a_clip_like_numpy() {
        assert_eq!(FrontendConfig::KWS.validate(), Ok(()));
        assert_eq!(FrontendConfig::KWS.n_frames(16000), 49);
        assert_eq!(FrontendConfig::KWS.n_frames(479), 0);
        assert_eq!(FrontendConfig::KWS.n_frames(480), 1);
    }

    #[test]
    fn rejects_unsupported_values() {
        let k = FrontendConfig::KWS;
        let bad = |c: FrontendConfig| c.validate().unwrap_err();
        assert_eq!(
            bad(FrontendConfig { fft_len: 500, ..k }),
            FrontendError::FftLen(500)
        );
        assert_eq!(
            bad(FrontendConfig { fft_len: 1024, ..k }),
            FrontendError::FftLen(1024)
        );
        assert!(matches!(
            bad(FrontendConfig {
                frame_len: 513,
                ..k
            }),
            FrontendError::FftLen(_) | FrontendError::FrameLen { .. }
        ));
        assert_eq!(
            bad(FrontendConfig { fft_len: 256, ..k }),
            FrontendError::FrameLen {
                frame_len: 480,
                fft_len: 256
            }
        );
        assert_eq!(
            bad(FrontendConfig { hop: 0, ..k }),
            FrontendError::Hop {
                hop: 0,
                frame_len: 480
            }
        );
        assert_eq!(
            bad(FrontendConfig { hop: 481, ..k }),
            FrontendError::Hop {
                hop: 481,
                frame_len: 480
            }
        );
        assert_eq!(
            bad(FrontendConfig {
                sample_rate: 0,
                ..k
            }),
            FrontendError::SampleRate
        );
        assert_eq!(
            bad(FrontendConfig { n_mels: 65, ..k }),
            FrontendError::NMels(65)
        );
        assert_eq!(
            bad(FrontendConfig { n_mfcc: 41, ..k }),
            FrontendError::NMfcc {
                n_mfcc: 41,
                n_mels: 40
            }
        );
        assert_eq!(
            bad(FrontendConfig {
                fmax_hz: 8001.0,
                ..k
            }),
            FrontendError::FreqRange
        );
        assert_eq!(
            bad(FrontendConfig {
                fmin_hz: f32::NAN,
                ..k
            }),
            FrontendError::FreqRange
        );
        assert_eq!(
            bad(FrontendConfig {
                fmin_hz: 4000.0,
                ..k
            }),
            FrontendError::FreqRange
        );
        assert_eq!(
            bad(FrontendConfig {
                log_floor: 0.0,
                ..k
            }),
            FrontendError::LogFloor
        );
    }
}
