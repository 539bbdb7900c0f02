//! Activation ranges from representative data, and the quantization parameters they give
//! (`docs/numerics.md`). Observation is two-pass: the first pass finds each tensor's min/max, the second
//! fills a histogram over that range, from which percentile and MSE-optimal clipping are read.

/// How a tensor's observed values become its quantization range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Method {
    /// The full observed range.
    MinMax,
    /// The range keeping this fraction (e.g. 0.9999) of the observed values, split evenly between the
    /// two tails.
    Percentile(f64),
    /// The clipping range whose quantization (rounding plus clipping) error is smallest.
    Mse,
}

/// Histogram resolution of the second pass.
pub const BINS: usize = 2048;

/// Statistics of one tensor over the calibration data.
#[derive(Clone, Debug)]
pub struct Observer {
    pub min: f32,
    pub max: f32,
    /// `None` until [`Observer::start_histogram`]; bins cover `[min, max]`.
    hist: Option<Vec<u64>>,
    /// Values seen in pass 1 that were not finite (reported, never used for ranges).
    pub non_finite: u64,
}

impl Default for Observer {
    fn default() -> Observer {
        Observer {
            min: f32::INFINITY,
            max: f32::NEG_INFINITY,
            hist: None,
            non_finite: 0,
        }
    }
}

impl Observer {
    /// Pass 1: widen the range.
    pub fn observe_range(&mut self, values: &[f32]) {
        for &v in values {
            if v.is_finite() {
                self.min = self.min.min(v);
                self.max = self.max.max(v);
            } else {
                self.non_finite += 1;
            }
        }
    }

    pub fn start_histogram(&mut self) {
        self.hist = Some(vec![0; BINS]);
    }

    fn bin_width(&self) -> f64 {
        (self.max as f64 - self.min as f64) / BINS as f64
    }

    /// Pass 2: count values into bins over the pass-1 range (values outside it clamp to the ends).
    pub fn observe_histogram(&mut self, values: &[f32]) {
        let (lo, w) = (self.min as f64, self.bin_width());
        let Some(hist) = self.hist.as_mut() else {
            return;
        };
        for &v in values.iter().filter(|v| v.is_finite()) {
            let b = if w > 0.0 {
                ((v as f64 - lo) / w) as i64
            } else {
                0
            };
            hist[b.clamp(0, BINS as i64 - 1) as usize] += 1;
        }
    }

    /// The range to quantize over, always containing 0 (so that zero is exact).
    pub fn range(&self, method: Method, levels: u32) -> (f32, f32) {
        if self.min > self.max {
            return (0.0, 0.0);
        }
        let (lo, hi) = match (method, &self.hist) {
            (Method::MinMax, _) | (_, None) => (self.min, self.max),
            (Method::Percentile(keep), Some(h)) => self.percentile(h, keep),
            (Method::Mse, Some(h)) => self.mse(h, levels),
        };
        (lo.min(0.0), hi.max(0.0))
    }

    fn edge(&self, bin: usize) -> f32 {
        (self.min as f64 + bin as f64 * self.bin_width()) as f32
    }

    fn percentile(&self, h: &[u64], keep: f64) -> (f32, f32) {
        let total: u64 = h.iter().sum();
        if total == 0 {
            return (self.min, self.max);
        }
        let tail = ((1.0 - keep.clamp(0.0, 1.0)) / 2.0 * total as f64).floor() as u64;
        let (mut acc, mut lo_bin) = (0u64, 0);
        for (i, &c) in h.iter().enumerate() {
            if acc + c > tail {
                lo_bin = i;
                break;
            }
            acc += c;
        }
        let (mut acc, mut hi_bin) = (0u64, h.len() - 1);
        for (i, &c) in h.iter().enumerate().rev() {
            if acc + c > tail {
                hi_bin = i;
                break;
            }
            acc += c;
        }
        (self.edge(lo_bin), self.edge(hi_bin + 1))
    }

    /// Expected squared error of quantizing the histogram with `levels` steps over `[lo, hi]`:
    /// values inside pay the rounding error (uniform, step^2 / 12), values outside pay their distance to
    /// the clipping edge.
    fn error(&self, h: &[u64], lo: f64, hi: f64, levels: u32) -> f64 {
        let step = (hi - lo) / (levels.max(2) - 1) as f64;
        let w = self.bin_width();
        let mut err = 0.0;
        for (i, &c) in h.iter().enumerate().filter(|(_, &c)| c > 0) {
            let center = self.min as f64 + (i as f64 + 0.5) * w;
            let e = if center < lo {
                (lo - center).powi(2)
            } else if center > hi {
                (center - hi).powi(2)
            } else {
                step * step / 12.0
            };
            err += c as f64 * e;
        }
        err
    }

    fn mse(&self, h: &[u64], levels: u32) -> (f32, f32) {
        // Shrink the range symmetrically about the data's own span, in 1/128 steps of it.
        let (min, max) = (self.min as f64, self.max as f64);
        let mut best = (self.error(h, min, max, levels), min, max);
        for k in 1..128 {
            let f = 1.0 - k as f64 / 128.0;
            let (lo, hi) = (min.min(0.0) * f, max.max(0.0) * f);
            let e = self.error(h, lo, hi, levels);
            if e < best.0 {
                best = (e, lo, hi);
            }
        }
        (best.1 as f32, best.2 as f32)
    }
}

/// Asymmetric int8 parameters for `[lo, hi]` (which contains 0): `real = scale * (q - zero_point)`.
pub fn int8_params(lo: f32, hi: f32) -> (f32, i32) {
    let (lo, hi) = (lo.min(0.0) as f64, hi.max(0.0) as f64);
    if hi - lo <= 0.0 {
        return (1.0, 0);
    }
    let scale = (hi - lo) / 255.0;
    // Zero must be a code: round the zero-point and keep it inside the type.
    let zp = (-128.0 - lo / scale).round().clamp(-128.0, 127.0);
    (scale as f32, zp as i32)
}

/// Symmetric int16 parameters: `real = scale * q`, `q` in [-32767, 32767].
pub fn int16_scale(lo: f32, hi: f32) -> f32 {
    let m = (lo.abs()).max(hi.abs()) as f64;
    if m == 0.0 {
        1.0
    } else {
        (m / 32767.0) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observed(values: &[f32]) -> Observer {
        let mut o = Observer::default();
        o.observe_range(values);
        o.start_histogram();
        o.observe_histogram(values);
        o
    }

    #[test]
    fn min_max_includes_zero_and_ignores_non_finite() {
        let o = observed(&[1.0, 3.0, f32::NAN, 2.0, f32::INFINITY]);
        assert_eq!(o.range(Method::MinMax, 256), (0.0, 3.0));
        assert_eq!(o.non_finite, 2);
        let o = observed(&[-4.0, -1.0]);
        assert_eq!(o.range(Method::MinMax, 256), (-4.0, 0.0));
    }

    #[test]
    fn percentile_drops_the_tails() {
        // 0..=9999 / 1000 plus one huge outlier: 99.9% keeps about [0, 9.995], not the outlier.
        let mut v: Vec<f32> = (0..10_000).map(|i| i as f32 / 1000.0).collect();
        v.push(1000.0);
        let o = observed(&v);
        let (lo, hi) = o.range(Method::Percentile(0.999), 256);
        assert_eq!(lo, 0.0);
        assert!(hi < 10.5 && hi > 9.0, "hi = {hi}");
        assert_eq!(o.range(Method::MinMax, 256).1, 1000.0);
    }

    #[test]
    fn mse_clipping_matches_the_known_optimum_for_laplace_data() {
        // Laplace(b = 1) by its quantile function, both signs. Banner et al. (ACIQ, 2019) give the
        // MSE-optimal clipping of Laplace data at 4 bits as 5.03 b, far inside the observed max (~10).
        let n = 40_000;
        let v: Vec<f32> = (0..n)
            .map(|i| {
                let u = (i / 2) as f64 / (n / 2) as f64 + 0.5 / n as f64;
                let x = -(1.0 - u).ln() as f32;
                if i % 2 == 0 {
                    x
                } else {
                    -x
                }
            })
            .collect();
        let o = observed(&v);
        let (lo, hi) = o.range(Method::Mse, 16);
        assert!(o.max > 9.0);
        assert!(
            (4.5..5.6).contains(&hi) && (-5.6..-4.5).contains(&lo),
            "clip [{lo}, {hi}]"
        );
    }

    #[test]
    fn int8_parameters_make_zero_exact() {
        // [-1, 3]: scale 4/255, zero at code -128 + 1/(4/255) = -64.25 -> -64.
        let (s, z) = int8_params(-1.0, 3.0);
        assert!((s - 4.0 / 255.0).abs() < 1e-9);
        assert_eq!(z, -64);
        // All-positive data: zero is the lowest code.
        assert_eq!(int8_params(0.0, 2.0).1, -128);
        // All-negative data: zero is the highest code.
        assert_eq!(int8_params(-2.0, 0.0).1, 127);
        assert_eq!(int16_scale(-2.0, 1.0), 2.0 / 32767.0);
    }
}
