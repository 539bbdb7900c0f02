//! Test helpers: a deterministic xorshift generator for the fuzz tests, and float comparison.
use std::vec::Vec;

/// Slices the fuzz tests allocate stay below this many elements.
pub const CAP: usize = 512;

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }

    /// A size parameter: mostly small, sometimes 0, huge or u32::MAX.
    pub fn dim(&mut self) -> u32 {
        match self.below(20) {
            0 => 0,
            1 => u32::MAX,
            2 => 1 << (16 + self.below(16)),
            3 => u32::MAX - self.below(4) as u32,
            4 | 5 => self.below(40) as u32,
            _ => 1 + self.below(4) as u32,
        }
    }

    /// A small value that is occasionally out of its valid range.
    pub fn small(&mut self, valid: u32) -> u32 {
        match self.below(12) {
            0 => u32::MAX,
            1 => valid + self.below(3) as u32,
            _ => self.below(u64::from(valid)) as u32,
        }
    }

    /// A slice length: usually `want` when it is computable and small, else near it or random.
    pub fn len(&mut self, want: Option<usize>) -> usize {
        match want {
            Some(n) if n <= CAP => match self.below(10) {
                0 => n + 1,
                1 => n.saturating_sub(1),
                2 => self.below(CAP as u64) as usize,
                _ => n,
            },
            _ => self.below(64) as usize,
        }
    }

    /// A random vector of a length chosen by [`Rng::len`].
    pub fn vec_near(&mut self, want: Option<usize>) -> Vec<f32> {
        let n = self.len(want);
        self.vec(n)
    }

    pub fn f32(&mut self) -> f32 {
        (self.below(2001) as f32 - 1000.0) / 500.0
    }

    pub fn vec(&mut self, len: usize) -> Vec<f32> {
        (0..len).map(|_| self.f32()).collect()
    }
}

/// Product of `dims` if it does not overflow.
pub fn prod(dims: &[u32]) -> Option<usize> {
    dims.iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d as usize))
}

#[track_caller]
pub fn assert_close(got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "lengths differ");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let ok = (g - w).abs() <= tol * (1.0 + w.abs()) || (g.is_nan() && w.is_nan()) || g == w;
        assert!(
            ok,
            "element {i}: got {g}, want {w} (tol {tol})\ngot  {got:?}\nwant {want:?}"
        );
    }
}

/// Quantization helpers for the fixed-point tests, written independently of the kernels and the
/// converter: `real = s * (q - z)`.
pub mod q {
    use std::vec::Vec;

    use crate::fixed::QAct;

    /// Scale and zero point covering `[lo, hi]` widened to include 0: asymmetric for i8 codes,
    /// symmetric (`z = 0`) for i16 codes.
    pub fn range<T: QAct>(lo: f32, hi: f32) -> (f32, i32) {
        let (lo, hi) = (lo.min(0.0) as f64, hi.max(0.0) as f64);
        if T::WIDE {
            let m = lo.abs().max(hi).max(1e-6);
            ((m / T::MAX as f64) as f32, 0)
        } else {
            let s = ((hi - lo) / 255.0).max(1e-6);
            let z = (T::MIN as f64 - lo / s)
                .round()
                .clamp(T::MIN as f64, T::MAX as f64);
            (s as f32, z as i32)
        }
    }

    /// `clamp(round(x / s) + z)` in `T`'s range.
    pub fn code<T: QAct>(x: f32, s: f32, z: i32) -> i32 {
        ((x as f64 / s as f64).round() as i64 + z as i64).clamp(T::MIN as i64, T::MAX as i64) as i32
    }

    pub fn quantize<T: QAct>(x: &[f32], s: f32, z: i32) -> Vec<T> {
        x.iter().map(|&v| T::sat(code::<T>(v, s, z))).collect()
    }

    pub fn dequantize<T: QAct>(q: &[T], s: f32, z: i32) -> Vec<f32> {
        q.iter().map(|&v| s * (v.get() - z) as f32).collect()
    }

    /// Symmetric per-output-channel i8 weights (`rows` rows of equal length): codes in
    /// [-127, 127] with `s[c] = max|w[c]| / 127`, and the dequantized weights.
    pub fn weights(w: &[f32], rows: usize) -> (Vec<i8>, Vec<f32>, Vec<f32>) {
        let k = w.len() / rows;
        let mut codes = Vec::with_capacity(w.len());
        let mut scales = Vec::with_capacity(rows);
        let mut deq = Vec::with_capacity(w.len());
        for r in w.chunks_exact(k) {
            let s = (r.iter().fold(0f32, |m, v| m.max(v.abs())) / 127.0).max(1e-6);
            scales.push(s);
            for &v in r {
                let c = (v / s).round().clamp(-127.0, 127.0) as i8;
                codes.push(c);
                deq.push(s * c as f32);
            }
        }
        (codes, scales, deq)
    }

    /// Every code within `tol` of `round(y / s_y) + z_y` (saturated to `T`).
    #[track_caller]
    pub fn assert_codes<T: QAct>(got: &[T], yf: &[f32], s_y: f32, z_y: i32, tol: i32) {
        assert_eq!(got.len(), yf.len(), "lengths differ");
        for (i, (&g, &f)) in got.iter().zip(yf).enumerate() {
            let want = code::<T>(f, s_y, z_y);
            let d = (g.get() - want).abs();
            assert!(
                d <= tol,
                "element {i}: code {} vs float {f} -> {want} (tol {tol})",
                g.get()
            );
        }
    }

    /// Min and max of a slice.
    pub fn span(x: &[f32]) -> (f32, f32) {
        x.iter()
            .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)))
    }
}
