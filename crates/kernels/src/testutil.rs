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
