//! Exact integer dot products of activation codes with weight rows, the inner loop of dense, 1x1
//! convolution and the recurrent gates.
//!
//! Four rows share each pass over the input, so every loaded input word feeds four rows. With i8
//! weights, four codes are loaded as one word and split by SXTB16 into two pairs of halfwords
//! (bytes 0, 2 and 1, 3) that SMLAD multiplies and accumulates two at a time, as CMSIS-NN does;
//! i16 activations are repacked into the same pairs once per pass. Sums are exact: products are
//! summed in i32 over blocks short enough not to overflow, and the blocks in i64 (wrapping, which
//! no realistic layer reaches). Integer addition being associative, the order of the terms does
//! not change any result, so the sums equal those of a plain loop bit for bit.
use crate::arch::{smlad, sxtb16, sxtb16_ror8};
use crate::fixed::QAct;

/// i8 x i8 products are at most 2^14 in magnitude: 2^16 of them sum to at most 2^30.
const BLOCK_I8: usize = 1 << 16;
/// i16 x i8 products are at most 2^22 in magnitude: 256 of them sum to at most 2^30.
const BLOCK_I16: usize = 256;

/// Calls `f(j, sum_i x[i] w[j k + i])` for each of the `n` rows of `w` (`k = x.len()`), rows taken
/// four at a time. `w` must hold `n * k` codes; rows past its end read as empty.
#[inline(always)]
pub(crate) fn dot_rows<T: QAct, W: QAct>(
    x: &[T],
    w: &[W],
    n: usize,
    mut f: impl FnMut(usize, i64),
) {
    let k = x.len();
    // The common case, cast once: i8 weights, rows within one block, all `n` rows present.
    if !W::WIDE && k > 0 && k <= BLOCK_I16 && w.len() >= n * k {
        if let Ok(w) = bytemuck::try_cast_slice::<W, i8>(&w[..n * k]) {
            // The type flag first: a slice of i16 would also cast to (twice as many) i8.
            if !T::WIDE {
                if let Ok(x) = bytemuck::try_cast_slice::<T, i8>(x) {
                    return rows_x8(x, w, f);
                }
            } else if let Ok(x) = bytemuck::try_cast_slice::<T, i16>(x) {
                return rows_x16(x, w, f);
            }
        }
    }
    let row = |j: usize| w.get(j * k..).and_then(|r| r.get(..k)).unwrap_or(&[]);
    let quads = n - n % 4;
    for j in (0..quads).step_by(4) {
        let acc = dot4(x, [row(j), row(j + 1), row(j + 2), row(j + 3)]);
        for (t, a) in acc.into_iter().enumerate() {
            f(j + t, a);
        }
    }
    for j in quads..n {
        f(j, dot1(x, row(j)));
    }
}

/// [`dot_rows`] for `w` exactly `n` rows of `k = x.len() > 0` codes, `k` within one block: each
/// group of four rows is split off by length, so the loops see equal, known lengths. A macro
/// rather than a function taking the block kernels as closures, which LLVM does not always
/// inline.
macro_rules! rows {
    ($name:ident, $x:ty, $four:ident, $one:ident) => {
        #[inline(always)]
        fn $name(x: &[$x], w: &[i8], mut f: impl FnMut(usize, i64)) {
            let k = x.len();
            let groups = w.chunks_exact(4 * k);
            let rest = groups.remainder();
            let mut j = 0;
            for g in groups {
                let (r0, g) = g.split_at(k);
                let (r1, g) = g.split_at(k);
                let (r2, r3) = g.split_at(k);
                for (t, a) in $four(x, [r0, r1, r2, r3]).into_iter().enumerate() {
                    f(j + t, a as i64);
                }
                j += 4;
            }
            for r in rest.chunks_exact(k) {
                f(j, $one(x, r) as i64);
                j += 1;
            }
        }
    };
}

rows!(rows_x8, i8, block4_i8, block1_i8);
rows!(rows_x16, i16, block4_i16, block1_i16);

/// `sum x[i] w[i]` for four rows at once (pairs up to the shorter slice), exact.
#[inline(always)]
pub(crate) fn dot4<T: QAct, W: QAct>(x: &[T], w: [&[W]; 4]) -> [i64; 4] {
    if !W::WIDE {
        if let Some(w) = rows_i8(w) {
            // The type flag first: a slice of i16 would also cast to (twice as many) i8.
            if !T::WIDE {
                if let Ok(x) = bytemuck::try_cast_slice::<T, i8>(x) {
                    return blocks4(x, w, BLOCK_I8, block4_i8);
                }
            } else if let Ok(x) = bytemuck::try_cast_slice::<T, i16>(x) {
                return blocks4(x, w, BLOCK_I16, block4_i16);
            }
        }
    }
    w.map(|r| plain(x, r))
}

/// `sum x[i] w[i]` (pairs up to the shorter slice), exact.
#[inline(always)]
pub(crate) fn dot1<T: QAct, W: QAct>(x: &[T], w: &[W]) -> i64 {
    if !W::WIDE {
        if let Ok(w) = bytemuck::try_cast_slice::<W, i8>(w) {
            if !T::WIDE {
                if let Ok(x) = bytemuck::try_cast_slice::<T, i8>(x) {
                    return blocks1(x, w, BLOCK_I8, block1_i8);
                }
            } else if let Ok(x) = bytemuck::try_cast_slice::<T, i16>(x) {
                return blocks1(x, w, BLOCK_I16, block1_i16);
            }
        }
    }
    plain(x, w)
}

/// The reference: one product at a time in i64 (i16 weights take this path).
#[inline(always)]
pub(crate) fn plain<T: QAct, W: QAct>(x: &[T], w: &[W]) -> i64 {
    x.iter().zip(w).fold(0i64, |a, (&x, &w)| {
        a.wrapping_add(x.get() as i64 * w.get() as i64)
    })
}

fn rows_i8<W: QAct>(w: [&[W]; 4]) -> Option<[&[i8]; 4]> {
    fn c<W: QAct>(r: &[W]) -> Option<&[i8]> {
        bytemuck::try_cast_slice::<W, i8>(r).ok()
    }
    Some([c(w[0])?, c(w[1])?, c(w[2])?, c(w[3])?])
}

#[inline(always)]
fn blocks4<X: Copy>(
    x: &[X],
    w: [&[i8]; 4],
    block: usize,
    f: impl Fn(&[X], [&[i8]; 4]) -> [i32; 4],
) -> [i64; 4] {
    if x.len() <= block {
        // One block (every realistic row): no block loop to set up.
        return f(x, w).map(i64::from);
    }
    let mut acc = [0i64; 4];
    let [w0, w1, w2, w3] = w.map(|r| r.chunks(block));
    for ((((xb, b0), b1), b2), b3) in x.chunks(block).zip(w0).zip(w1).zip(w2).zip(w3) {
        for (a, p) in acc.iter_mut().zip(f(xb, [b0, b1, b2, b3])) {
            *a = a.wrapping_add(p as i64);
        }
    }
    acc
}

#[inline(always)]
fn blocks1<X: Copy>(x: &[X], w: &[i8], block: usize, f: impl Fn(&[X], &[i8]) -> i32) -> i64 {
    if x.len() <= block {
        return f(x, w) as i64;
    }
    x.chunks(block)
        .zip(w.chunks(block))
        .fold(0i64, |a, (xb, wb)| a.wrapping_add(f(xb, wb) as i64))
}

/// Four codes as a little-endian word (one load on the MCU).
#[inline(always)]
fn word8(c: &[i8]) -> u32 {
    u32::from_le(bytemuck::try_pod_read_unaligned(bytemuck::cast_slice(c)).unwrap_or(0))
}

/// Four i8 codes as the halfword pairs (0, 2) and (1, 3).
#[inline(always)]
fn pairs_i8(c: &[i8]) -> (u32, u32) {
    let v = word8(c);
    (sxtb16(v), sxtb16_ror8(v))
}

/// Four i16 codes as the halfword pairs (0, 2) and (1, 3), matching [`pairs_i8`] of the weights.
#[inline(always)]
fn pairs_i16(c: &[i16]) -> (u32, u32) {
    match *c {
        [a, b, c, d] => {
            let h = |v: i16| v as u16 as u32;
            (h(a) | h(c) << 16, h(b) | h(d) << 16)
        }
        _ => (0, 0),
    }
}

/// `acc + x0 w0 + x1 w1 + x2 w2 + x3 w3` for inputs as pairs (0, 2), (1, 3) and four i8 weights.
#[inline(always)]
fn mac4(acc: i32, (x02, x13): (u32, u32), w: &[i8]) -> i32 {
    let v = word8(w);
    smlad(x13, sxtb16_ror8(v), smlad(x02, sxtb16(v), acc))
}

/// The tails past the last whole group of four, one product at a time.
#[inline(always)]
fn tail<X: QAct>(acc: i32, x: &[X], w: &[i8]) -> i32 {
    x.iter().zip(w).fold(acc, |a, (&x, &w)| {
        a.wrapping_add(x.get().wrapping_mul(w as i32))
    })
}

macro_rules! block4 {
    ($name:ident, $x:ty, $pairs:ident) => {
        #[inline(always)]
        fn $name(x: &[$x], w: [&[i8]; 4]) -> [i32; 4] {
            let (xs, ws) = (x.chunks_exact(4), w.map(|r| r.chunks_exact(4)));
            let (xt, wt) = (xs.remainder(), ws.each_ref().map(|c| c.remainder()));
            let [c0, c1, c2, c3] = ws;
            let mut a = [0i32; 4];
            for ((((xv, v0), v1), v2), v3) in xs.zip(c0).zip(c1).zip(c2).zip(c3) {
                let p = $pairs(xv);
                a = [
                    mac4(a[0], p, v0),
                    mac4(a[1], p, v1),
                    mac4(a[2], p, v2),
                    mac4(a[3], p, v3),
                ];
            }
            [
                tail(a[0], xt, wt[0]),
                tail(a[1], xt, wt[1]),
                tail(a[2], xt, wt[2]),
                tail(a[3], xt, wt[3]),
            ]
        }
    };
}

macro_rules! block1 {
    ($name:ident, $x:ty, $pairs:ident) => {
        #[inline(always)]
        fn $name(x: &[$x], w: &[i8]) -> i32 {
            let (xs, ws) = (x.chunks_exact(4), w.chunks_exact(4));
            let (xt, wt) = (xs.remainder(), ws.remainder());
            let a = xs.zip(ws).fold(0i32, |a, (xv, wv)| mac4(a, $pairs(xv), wv));
            tail(a, xt, wt)
        }
    };
}

block4!(block4_i8, i8, pairs_i8);
block4!(block4_i16, i16, pairs_i16);
block1!(block1_i8, i8, pairs_i8);
block1!(block1_i16, i16, pairs_i16);

#[cfg(test)]
mod tests;
