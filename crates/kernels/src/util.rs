//! Checks and small helpers shared by the kernels: sizes with overflow detection, slice lengths,
//! flags, and the in-bounds taps of a sliding window.
use crate::KernelError;

// Parameters are u32 and every supported target has a usize of at least 32 bits: `as usize` is lossless.
const _: () = assert!(usize::BITS >= 32);

#[inline(always)]
pub(crate) fn us(v: u32) -> usize {
    v as usize
}

pub(crate) fn mul(a: usize, b: usize, what: &'static str) -> Result<usize, KernelError> {
    a.checked_mul(b).ok_or(KernelError::Overflow { what })
}

pub(crate) fn add(a: usize, b: usize, what: &'static str) -> Result<usize, KernelError> {
    a.checked_add(b).ok_or(KernelError::Overflow { what })
}

pub(crate) fn product(dims: &[usize], what: &'static str) -> Result<usize, KernelError> {
    dims.iter().try_fold(1, |acc, &d| mul(acc, d, what))
}

pub(crate) fn exact(what: &'static str, expected: usize, actual: usize) -> Result<(), KernelError> {
    if actual == expected {
        Ok(())
    } else {
        Err(KernelError::Length {
            what,
            expected,
            actual,
        })
    }
}

pub(crate) fn at_least(
    what: &'static str,
    expected: usize,
    actual: usize,
) -> Result<(), KernelError> {
    if actual >= expected {
        Ok(())
    } else {
        Err(KernelError::Length {
            what,
            expected,
            actual,
        })
    }
}

pub(crate) fn nonzero(v: u32, what: &'static str) -> Result<usize, KernelError> {
    if v == 0 {
        Err(KernelError::BadParam { what })
    } else {
        Ok(us(v))
    }
}

pub(crate) fn flag(v: u32, what: &'static str) -> Result<bool, KernelError> {
    match v {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(KernelError::BadParam { what }),
    }
}

pub(crate) fn rank(v: u32, max: usize, what: &'static str) -> Result<usize, KernelError> {
    let r = us(v);
    if r > max {
        Err(KernelError::BadParam { what })
    } else {
        Ok(r)
    }
}

/// Elements a strided view needs: one past the furthest element of the last contiguous `block`,
/// `block + sum (shape[i] - 1) * strides[i]`; 0 when the view is empty.
pub(crate) fn extent(
    shape: &[usize],
    strides: &[usize],
    block: usize,
    what: &'static str,
) -> Result<usize, KernelError> {
    if block == 0 || shape.contains(&0) {
        return Ok(0);
    }
    shape
        .iter()
        .zip(strides)
        .try_fold(block, |acc, (&n, &s)| add(acc, mul(n - 1, s, what)?, what))
}

/// Offset of row-major index `flat` of `shape` in a view with `strides`; every dimension must be
/// nonzero (the caller iterates a nonempty output) and the result within the view's [`extent`].
#[inline]
pub(crate) fn offset(mut flat: usize, shape: &[usize], strides: &[usize]) -> usize {
    let mut off = 0;
    for (&n, &s) in shape.iter().zip(strides).rev() {
        off += (flat % n) * s;
        flat /= n;
    }
    off
}

/// The taps `lo..hi` of a window of `k` taps whose input position `o * stride + tap * dil - pad` lies
/// inside `0..len`, and `first`, the input position of tap `lo`. Iterating only these taps bounds the
/// work by the input size whatever the window size, and keeps every position computation in range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Taps {
    pub lo: usize,
    pub hi: usize,
    pub first: usize,
}

impl Taps {
    /// `stride` and `dil` must be nonzero.
    pub(crate) fn new(o: usize, stride: u32, dil: u32, pad: u32, len: u32, k: u32) -> Taps {
        // u64: o < 2^32 and stride < 2^32, so the window start fits; positions below stay < 2^34.
        let start = o as u64 * u64::from(stride);
        let (dil, pad) = (u64::from(dil), u64::from(pad));
        let end = pad + u64::from(len);
        let lo = if start >= pad {
            0
        } else {
            div_ceil(pad - start, dil)
        };
        let hi = if start >= end {
            0
        } else {
            div_ceil(end - start, dil)
        }
        .min(u64::from(k));
        if lo >= hi {
            return Taps {
                lo: 0,
                hi: 0,
                first: 0,
            };
        }
        let first = start + lo * dil - pad;
        Taps {
            lo: lo as usize,
            hi: hi as usize,
            first: first as usize,
        }
    }

    pub(crate) fn count(self) -> usize {
        self.hi - self.lo
    }
}

/// `a.div_ceil(d)` for `d > 0` without a 64-bit division where none is needed: a 32-bit MCU has
/// no instruction for one (a library call of a hundred instructions or more). Here `a < 2^34`.
#[inline(always)]
fn div_ceil(a: u64, d: u64) -> u64 {
    if d == 1 {
        a
    } else if let (Ok(a), Ok(d)) = (u32::try_from(a), u32::try_from(d)) {
        u64::from(a.div_ceil(d))
    } else {
        let q = div_u64(a, d, 35);
        q + u64::from(q * d != a)
    }
}

/// `n / d` for `d > 0` and a quotient below `2^bits` (`bits <= 63`), by shift and subtract: the
/// same result as `/`, without pulling in the library's general 64-bit division (close to 1 KB
/// of code on a 32-bit MCU) for the few divisions that need 64 bits.
#[inline(never)]
pub(crate) fn div_u64(n: u64, d: u64, bits: u32) -> u64 {
    if bits == 0 {
        return 0;
    }
    // Long division over the low `bits` bits of `n`; the bits above them, `n >> bits`, are
    // already below `d` (the quotient fits `bits`). Those low bits are moved to the top so each
    // step shifts by one: a variable 64-bit shift is a dozen instructions on a 32-bit core.
    let (mut q, mut r, mut low) = (0u64, n >> bits, n << (64 - bits));
    for _ in 0..bits {
        let carry = r >> 63;
        r = (r << 1) | (low >> 63);
        low <<= 1;
        q <<= 1;
        if carry != 0 || r >= d {
            r = r.wrapping_sub(d);
            q |= 1;
        }
    }
    q
}

/// Sums `a[i] * b[i]` in index order (the float reference's order, so the same bits), four
/// products per loop turn: firmware builds without LLVM's runtime unrolling (see
/// firmware/qemu-m4/.cargo/config.toml), and this is the float path's hot loop.
#[inline]
pub(crate) fn dot<W: Weight>(a: &[f32], b: &[W]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (a.get(..n).unwrap_or(&[]), b.get(..n).unwrap_or(&[]));
    let (xs, ws) = (a.chunks_exact(4), b.chunks_exact(4));
    let (x_tail, w_tail) = (xs.remainder(), ws.remainder());
    let mut acc = 0.0;
    for (x, w) in xs.zip(ws) {
        if let ([x0, x1, x2, x3], [w0, w1, w2, w3]) = (x, w) {
            acc = acc + x0 * w0.f32() + x1 * w1.f32() + x2 * w2.f32() + x3 * w3.f32();
        }
    }
    x_tail
        .iter()
        .zip(w_tail)
        .fold(acc, |acc, (x, w)| acc + x * w.f32())
}

/// A stored float weight: f32, or f16 (half the flash) widened to f32 as it is read.
pub trait Weight: Copy {
    fn f32(self) -> f32;
}

impl Weight for f32 {
    #[inline(always)]
    fn f32(self) -> f32 {
        self
    }
}

impl Weight for half::f16 {
    #[inline(always)]
    fn f32(self) -> f32 {
        self.to_f32()
    }
}

/// `v[start..start + len]`, or empty where `v` is shorter: for slices whose lengths the caller
/// has checked, without a panic path.
#[inline(always)]
pub(crate) fn seg<V>(v: &[V], start: usize, len: usize) -> &[V] {
    v.get(start..).and_then(|r| r.get(..len)).unwrap_or(&[])
}

/// [`seg`], mutably.
#[inline(always)]
pub(crate) fn seg_mut<V>(v: &mut [V], start: usize, len: usize) -> &mut [V] {
    v.get_mut(start..)
        .and_then(|r| r.get_mut(..len))
        .unwrap_or(&mut [])
}

/// `dst.copy_from_slice(src)` for slices of checked equal lengths (nothing copied otherwise),
/// without a panic path.
#[inline(always)]
pub(crate) fn copy<V: Copy>(dst: &mut [V], src: &[V]) {
    if dst.len() == src.len() {
        dst.copy_from_slice(src);
    }
}

#[cfg(test)]
mod tests {
    use super::{div_u64, dot};

    #[test]
    fn div_u64_equals_the_division() {
        let mut v = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            v ^= v << 13;
            v ^= v >> 7;
            v ^= v << 17;
            v
        };
        for _ in 0..100_000 {
            // Softmax's reciprocal: 2^62 / s for s in [2^30, 2^62].
            let s = (1 << 30) + next() % ((1 << 62) - (1 << 30) + 1);
            assert_eq!(div_u64(1 << 62, s, 33), (1u64 << 62) / s, "{s}");
            // The taps' positions: below 2^34, any divisor.
            let (n, d) = (next() >> 30, 1 + next() % (1 << (next() % 40)));
            assert_eq!(div_u64(n, d, 35), n / d, "{n} / {d}");
        }
        for s in [1 << 30, (1 << 30) + 1, (1 << 62) - 1, 1 << 62] {
            assert_eq!(div_u64(1 << 62, s, 33), (1u64 << 62) / s);
        }
        // Divisors past 2^63 (the remainder's shift carries out) and the widest quotients.
        for (n, d, bits) in [
            (u64::MAX, (1 << 63) + 5, 1),
            (u64::MAX, 1 << 63, 1),
            ((1 << 63) - 1, 1 << 63, 1),
            (u64::MAX, 3, 63),
            (u64::MAX, 2, 63),
            ((1 << 63) - 1, 1, 63),
            (12345, 7, 0),
        ] {
            assert_eq!(
                div_u64(n, d, bits),
                if bits == 0 { 0 } else { n / d },
                "{n} / {d}"
            );
        }
    }

    #[test]
    fn dot_sums_in_index_order() {
        // Summed left to right, 1e8 swallows each 1.0 (float spacing there is 8): any other order
        // or pairing of the terms gives a different sum.
        let a = [1e8f32, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, -1e8, 1.0];
        let b = [1.0f32; 9];
        let sequential = a.iter().fold(0.0f32, |s, x| s + x);
        assert_eq!(sequential, 1.0);
        assert_eq!(dot(&a, &b), sequential);
        // Unequal lengths: the shorter one bounds the sum.
        assert_eq!(dot(&a[..5], &b), dot(&a[..5], &b[..5]));
        assert_eq!(dot(&[2.0f32, 3.0, 4.0, 5.0, 6.0], &[1.0f32; 7]), 20.0);
    }
}
