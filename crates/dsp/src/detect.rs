//! Keyword detection post-processing: per-frame class scores -> moving average -> thresholded events with a
//! refractory (suppression) window.
//!
//! Scores are `u8` probabilities, `p = score / 256` (what an int8 softmax with scale 1/256 and zero point
//! -128 gives after adding 128; 255 stands for ~1). Integer-only, no heap.
//!
//! Per [`Detector::push`] (one call per model output frame):
//! 1. the class scores enter a moving window of the last `window` frames; frames before the first (or
//!    before a [`Detector::reset`]) count as score 0, so a short spike is diluted by the full window;
//! 2. the smoothed score of class `c` is `floor(sum of its last window scores / window)`;
//! 3. a non-background class is *armed* while its smoothed score is below `threshold`; an armed class
//!    whose smoothed score reaches `threshold` fires (the highest smoothed score wins, ties to the lower
//!    index) and is disarmed until it drops below `threshold` again, so a held keyword fires once;
//! 4. after an event no class fires for the next `suppression` frames. A class that rises during that time
//!    and is still at or above `threshold` when it ends fires then (late rather than lost).

use core::fmt;

/// Most classes a detector handles (its background set is a `u32` bit mask).
pub const MAX_CLASSES: usize = 32;
/// Longest moving-average window, in frames.
pub const MAX_WINDOW: usize = 64;

/// Parameters of a [`Detector`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DetectorConfig {
    /// Scores per frame, `1..=MAX_CLASSES`.
    pub n_classes: usize,
    /// Bit `c` set: class `c` is background ("silence", "unknown") and never fires. Bits at or above
    /// `n_classes` are an error.
    pub background: u32,
    /// Moving-average length in frames, `1..=MAX_WINDOW`.
    pub window: usize,
    /// Smoothed score (same units as the scores) at which a class fires, `1..=255`.
    pub threshold: u8,
    /// Frames after an event during which nothing fires (0: none).
    pub suppression: u32,
}

impl DetectorConfig {
    /// The config with class `class` added to the background set (an index `>= 32` is ignored here and
    /// cannot be represented; `n_classes` validation catches configs that would need it).
    pub const fn with_background(mut self, class: usize) -> Self {
        if class < MAX_CLASSES {
            self.background |= 1 << class;
        }
        self
    }

    /// Checks every field against its documented range.
    pub fn validate(&self) -> Result<(), DetectorError> {
        if self.n_classes == 0 || self.n_classes > MAX_CLASSES {
            return Err(DetectorError::NClasses(self.n_classes));
        }
        if self.n_classes < MAX_CLASSES && self.background >> self.n_classes != 0 {
            return Err(DetectorError::Background(self.background));
        }
        if self.window == 0 || self.window > MAX_WINDOW {
            return Err(DetectorError::Window(self.window));
        }
        if self.threshold == 0 {
            return Err(DetectorError::Threshold);
        }
        Ok(())
    }
}

/// Why a [`DetectorConfig`] or a score vector was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DetectorError {
    /// `n_classes` is 0 or above [`MAX_CLASSES`].
    NClasses(usize),
    /// The background mask names a class `>= n_classes`.
    Background(u32),
    /// `window` is 0 or above [`MAX_WINDOW`].
    Window(usize),
    /// `threshold` is 0 (every class would fire on silence).
    Threshold,
    /// [`Detector::push`] got a score vector whose length is not `n_classes`.
    ScoresLen { expected: usize, got: usize },
}

impl core::error::Error for DetectorError {}

impl fmt::Display for DetectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::NClasses(n) => write!(f, "n_classes {n} must be in 1..={MAX_CLASSES}"),
            Self::Background(m) => write!(f, "background mask {m:#x} names a class >= n_classes"),
            Self::Window(n) => write!(f, "window {n} must be in 1..={MAX_WINDOW}"),
            Self::Threshold => write!(f, "threshold must be > 0"),
            Self::ScoresLen { expected, got } => {
                write!(f, "{got} scores given, {expected} expected")
            }
        }
    }
}

/// One keyword event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Detection {
    /// The class that fired (never a background class).
    pub class: usize,
    /// Index of the [`Detector::push`] call that fired, counting from 0 at construction or reset.
    pub frame: u32,
    /// Its smoothed score at that frame (`>= threshold`).
    pub score: u8,
}

/// Streaming detector; see the module docs for the rules.
#[derive(Clone, Debug)]
pub struct Detector {
    cfg: DetectorConfig,
    history: [[u8; MAX_CLASSES]; MAX_WINDOW],
    /// Next slot of `history` to overwrite.
    pos: usize,
    /// Per-class sum of the scores in `history` (at most 64 * 255).
    sums: [u16; MAX_CLASSES],
    /// Bit `c` set: class `c` has been below threshold since it last fired.
    armed: u32,
    /// Frames of suppression left.
    quiet: u32,
    frame: u32,
}

impl Detector {
    /// A detector with an empty history; errors as [`DetectorConfig::validate`].
    pub fn new(cfg: DetectorConfig) -> Result<Self, DetectorError> {
        cfg.validate()?;
        Ok(Detector {
            cfg,
            history: [[0; MAX_CLASSES]; MAX_WINDOW],
            pos: 0,
            sums: [0; MAX_CLASSES],
            armed: u32::MAX,
            quiet: 0,
            frame: 0,
        })
    }

    /// The configuration the detector was built with.
    pub fn config(&self) -> &DetectorConfig {
        &self.cfg
    }

    /// Clears the history, arms every class, ends any suppression and restarts frame numbering at 0.
    pub fn reset(&mut self) {
        self.history = [[0; MAX_CLASSES]; MAX_WINDOW];
        self.pos = 0;
        self.sums = [0; MAX_CLASSES];
        self.armed = u32::MAX;
        self.quiet = 0;
        self.frame = 0;
    }

    /// Smoothed score of `class` after the last push (0 for an index out of range).
    pub fn smoothed(&self, class: usize) -> u8 {
        match self.sums.get(class) {
            Some(&s) if class < self.cfg.n_classes => (s as usize / self.cfg.window) as u8,
            _ => 0,
        }
    }

    /// Feeds one frame's scores (`n_classes` values). Returns the event this frame fires, if any. A wrong
    /// length is an error and leaves the detector unchanged.
    pub fn push(&mut self, scores: &[u8]) -> Result<Option<Detection>, DetectorError> {
        let n = self.cfg.n_classes;
        if scores.len() != n {
            return Err(DetectorError::ScoresLen {
                expected: n,
                got: scores.len(),
            });
        }
        let slot = &mut self.history[self.pos % self.cfg.window];
        for ((old, &new), sum) in slot.iter_mut().zip(scores).zip(self.sums.iter_mut()) {
            *sum = *sum - *old as u16 + new as u16;
            *old = new;
        }
        self.pos = (self.pos + 1) % self.cfg.window;

        let mut best: Option<(usize, u8)> = None;
        for c in 0..n {
            let bit = 1u32 << c;
            if self.cfg.background & bit != 0 {
                continue;
            }
            let s = self.smoothed(c);
            if s < self.cfg.threshold {
                self.armed |= bit;
            } else if self.armed & bit != 0 && best.is_none_or(|(_, b)| s > b) {
                best = Some((c, s));
            }
        }

        let frame = self.frame;
        self.frame = self.frame.saturating_add(1);
        if self.quiet > 0 {
            self.quiet -= 1;
            return Ok(None);
        }
        Ok(best.map(|(class, score)| {
            self.armed &= !(1u32 << class);
            self.quiet = self.cfg.suppression;
            Detection {
                class,
                frame,
                score,
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Classes: 0 silence, 1 unknown, 2 "yes", 3 "no".
    const CFG: DetectorConfig = DetectorConfig {
        n_classes: 4,
        background: 0,
        window: 4,
        threshold: 128,
        suppression: 10,
    }
    .with_background(0)
    .with_background(1);

    const SILENCE: [u8; 4] = [255, 0, 0, 0];
    const YES: [u8; 4] = [0, 0, 255, 0];
    const NO: [u8; 4] = [0, 0, 0, 255];

    fn run(d: &mut Detector, frames: &[[u8; 4]]) -> std::vec::Vec<Detection> {
        frames.iter().filter_map(|f| d.push(f).unwrap()).collect()
    }

    fn seq(parts: &[([u8; 4], usize)]) -> std::vec::Vec<[u8; 4]> {
        parts
            .iter()
            .flat_map(|&(f, n)| core::iter::repeat_n(f, n))
            .collect()
    }

    #[test]
    fn spike_shorter_than_the_window_does_not_fire() {
        // Smoothed "yes" peaks at 255 * 1 / 4 = 63 < 128.
        let mut d = Detector::new(CFG).unwrap();
        assert!(run(&mut d, &seq(&[(SILENCE, 8), (YES, 1), (SILENCE, 8)])).is_empty());
        // Two frames of 255 average to 127, still below 128.
        assert!(run(&mut d, &seq(&[(YES, 2), (SILENCE, 8)])).is_empty());
    }

    #[test]
    fn held_keyword_fires_once() {
        // Held for 50 frames, far longer than the 10-frame suppression: one event, at the third "yes"
        // frame (3 * 255 / 4 = 191 >= 128; two frames give 127).
        let mut d = Detector::new(CFG).unwrap();
        let got = run(&mut d, &seq(&[(SILENCE, 5), (YES, 50), (SILENCE, 5)]));
        assert_eq!(
            got,
            [Detection {
                class: 2,
                frame: 7,
                score: 191
            }]
        );
    }

    #[test]
    fn keywords_apart_by_more_than_the_suppression_fire_twice() {
        let mut d = Detector::new(CFG).unwrap();
        let got = run(
            &mut d,
            &seq(&[(YES, 4), (SILENCE, 12), (YES, 4), (SILENCE, 12), (NO, 4)]),
        );
        // "yes" fires at 2 and drops below threshold at 5 (2 * 255 / 4 = 127), re-arming it; it fires
        // again at 16 + 2; "no" starts at 32 and fires at 34.
        let det = |class, frame| Detection {
            class,
            frame,
            score: 191,
        };
        assert_eq!(got, [det(2, 2), det(2, 18), det(3, 34)]);
    }

    #[test]
    fn keyword_inside_the_suppression_window_is_dropped() {
        // "yes" fires at 2, suppressing 3..=12; "no" (frames 4..=7) is above threshold at 6..=8 only.
        let mut d = Detector::new(CFG).unwrap();
        let got = run(&mut d, &seq(&[(YES, 4), (NO, 4), (SILENCE, 10)]));
        assert_eq!(
            got,
            [Detection {
                class: 2,
                frame: 2,
                score: 191
            }]
        );
    }

    #[test]
    fn keyword_rising_during_suppression_fires_when_it_ends_if_still_held() {
        let mut d = Detector::new(CFG).unwrap();
        let got = run(&mut d, &seq(&[(YES, 3), (NO, 20)]));
        // "yes" fires at 2 (suppressing 3..=12); "no" reaches 191 at frame 5, still held at 13.
        assert_eq!(
            got,
            [
                Detection {
                    class: 2,
                    frame: 2,
                    score: 191
                },
                Detection {
                    class: 3,
                    frame: 13,
                    score: 255
                }
            ]
        );
    }

    #[test]
    fn background_never_fires_and_reset_restarts() {
        let mut d = Detector::new(CFG).unwrap();
        assert!(run(&mut d, &seq(&[(SILENCE, 20), ([0, 255, 0, 0], 20)])).is_empty());
        d.reset();
        assert_eq!(
            run(&mut d, &seq(&[(NO, 3)])),
            [Detection {
                class: 3,
                frame: 2,
                score: 191
            }]
        );
    }

    #[test]
    fn rejects_bad_configs_and_inputs() {
        let bad = |c: DetectorConfig| Detector::new(c).unwrap_err();
        assert_eq!(
            bad(DetectorConfig {
                n_classes: 0,
                ..CFG
            }),
            DetectorError::NClasses(0)
        );
        assert_eq!(
            bad(DetectorConfig {
                n_classes: 33,
                ..CFG
            }),
            DetectorError::NClasses(33)
        );
        assert_eq!(
            bad(CFG.with_background(4)),
            DetectorError::Background(0b10011)
        );
        assert_eq!(
            bad(DetectorConfig { window: 0, ..CFG }),
            DetectorError::Window(0)
        );
        assert_eq!(
            bad(DetectorConfig { window: 65, ..CFG }),
            DetectorError::Window(65)
        );
        assert_eq!(
            bad(DetectorConfig {
                threshold: 0,
                ..CFG
            }),
            DetectorError::Threshold
        );
        let mut d = Detector::new(CFG).unwrap();
        assert_eq!(
            d.push(&[1, 2, 3]),
            Err(DetectorError::ScoresLen {
                expected: 4,
                got: 3
            })
        );
        assert!(Detector::new(DetectorConfig {
            n_classes: 32,
            background: u32::MAX >> 1,
            ..CFG
        })
        .is_ok());
    }
}
