//! The bulk of four weight rows' dot products with one input, the inner loop of dense, 1x1
//! convolution and the recurrent gates, in plain Rust over the instruction functions: the
//! portable path, and the reference the `asm!` loop of `dsp.rs` must equal bit for bit.
use super::{smlad, sxtb16, sxtb16_ror8};

/// `acc[r] + sum_i x_i w[r k + i]` for rows `r = 0..4` and the `2 x.len()` inputs `x_i` given as
/// halfword pairs, two words per group of four inputs: (x0, x2) then (x1, x3). The i8 weights
/// of row `r` start at `w[r k]`; `acc` unchanged if `w` does not hold all four rows' codes. Wrapping i32 sums (the
/// caller bounds the number of products so that they cannot wrap).
#[cfg_attr(not(feature = "small"), inline(always))]
#[cfg_attr(feature = "small", inline(never))]
pub(crate) fn rows4_rust(acc: [i32; 4], x: &[u32], w: &[i8], k: usize) -> [i32; 4] {
    let len = 2 * x.len();
    let row = |r: usize| w.get(r * k..).and_then(|v| v.get(..len));
    let (Some(r0), Some(r1), Some(r2), Some(r3)) = (row(0), row(1), row(2), row(3)) else {
        return acc;
    };
    let mut a = acc;
    let (c0, c1) = (r0.chunks_exact(4), r1.chunks_exact(4));
    let (c2, c3) = (r2.chunks_exact(4), r3.chunks_exact(4));
    for ((((p, v0), v1), v2), v3) in x.chunks_exact(2).zip(c0).zip(c1).zip(c2).zip(c3) {
        let (x02, x13) = (p[0], p[1]);
        let mac = |acc: i32, v: &[i8]| {
            let v = word(v, 0);
            smlad(x13, sxtb16_ror8(v), smlad(x02, sxtb16(v), acc))
        };
        a = [mac(a[0], v0), mac(a[1], v1), mac(a[2], v2), mac(a[3], v3)];
    }
    a
}

/// The 2 x 2 block `acc[2 r + p] + sum_i x_p,i w[r k + i]` for weight rows `r = 0, 1` and two
/// inputs `p = 0, 1`, given interleaved as four words per group of four inputs: (x0, x2) and
/// (x1, x3) of input 0, then those of input 1. Otherwise as [`rows4_rust`].
#[inline(always)]
pub(crate) fn block2x2_rust(acc: [i32; 4], x: &[u32], w: &[i8], k: usize) -> [i32; 4] {
    let mut a = acc;
    for (g, p) in x.chunks_exact(4).enumerate() {
        for r in 0..2 {
            let v = word(w, r * k + 4 * g);
            let (w02, w13) = (sxtb16(v), sxtb16_ror8(v));
            a[2 * r] = smlad(p[1], w13, smlad(p[0], w02, a[2 * r]));
            a[2 * r + 1] = smlad(p[3], w13, smlad(p[2], w02, a[2 * r + 1]));
        }
    }
    a
}

/// Calls `f(j, rows4_rust([0; 4], x, &w[j k..], k))` for `j` = 0, 4, ... while `j + 4 <= n` and
/// `w` holds row `j + 3`'s first `2 x.len()` codes.
#[inline(always)]
pub(crate) fn quads_rust(
    x: &[u32],
    w: &[i8],
    k: usize,
    n: usize,
    mut f: impl FnMut(usize, [i32; 4]),
) {
    let span = 3 * k + 2 * x.len();
    let mut j = 0;
    while j + 4 <= n {
        let Some(rows) = w.get(j * k..).filter(|r| r.len() >= span) else {
            return;
        };
        f(j, rows4_rust([0; 4], x, rows, k));
        j += 4;
    }
}

/// Four i8 codes from `w[at..]` as a little-endian word, zero past the end.
#[inline(always)]
pub(crate) fn word(w: &[i8], at: usize) -> u32 {
    match w.get(at..).and_then(|r| r.get(..4)) {
        Some(&[a, b, c, d]) => u32::from_le_bytes([a as u8, b as u8, c as u8, d as u8]),
        _ => 0,
    }
}

#[cfg_attr(feature = "small", allow(dead_code))]
/// The sums of whole quads of rows from zero into `out`: `out[j] = sum_i x_i w[j k + i]` for
/// `j < out.len() - out.len() % 4` (the rest untouched), over the `2 x.len()` inputs as
/// [`rows4_rust`] takes them; a quad whose rows `w` does not hold is left untouched.
#[inline(always)]
pub(crate) fn sums_rust(x: &[u32], w: &[i8], k: usize, out: &mut [i32]) {
    let n = out.len();
    quads_rust(x, w, k, n, |j, acc| {
        if let Some(o) = out.get_mut(j..j + 4) {
            o.copy_from_slice(&acc);
        }
    });
}

#[cfg_attr(feature = "small", allow(dead_code))]
/// [`block2x2_rust`] from zero for each pair of inputs: pair `p`'s `k` words from `x[p k]`,
/// its four sums into `out[4 p..4 p + 4]`, for the `out.len() / 4` pairs `x` holds.
#[inline(always)]
pub(crate) fn blocks2x2_rust(x: &[u32], w: &[i8], k: usize, out: &mut [i32]) {
    if k == 0 {
        return;
    }
    for (xp, o) in x.chunks_exact(k).zip(out.chunks_exact_mut(4)) {
        o.copy_from_slice(&block2x2_rust([0; 4], xp, w, k));
    }
}

#[cfg_attr(feature = "small", allow(dead_code))]
/// Each row against four inputs: `out[4 r + p] = sum_i x_p,i w[r k + i]` for the
/// `out.len() / 4` rows `r` (back to back, `k` codes each) that `w` holds and the four inputs
/// `p`, given per group of four codes as eight words: (x0, x2) and (x1, x3) of input 0, then
/// those of inputs 1, 2 and 3 (`x` holds `k / 4` groups: `2 k` words).
#[inline(always)]
pub(crate) fn rows1x4_rust(x: &[u32], w: &[i8], k: usize, out: &mut [i32]) {
    if k == 0 {
        return;
    }
    for (row, o) in w.chunks_exact(k).zip(out.chunks_exact_mut(4)) {
        let mut a = [0i32; 4];
        for (g, xs) in x.chunks_exact(8).take(k / 4).enumerate() {
            let v = word(row, 4 * g);
            let (lo, hi) = (sxtb16(v), sxtb16_ror8(v));
            for (p, ap) in a.iter_mut().enumerate() {
                *ap = smlad(xs[2 * p + 1], hi, smlad(xs[2 * p], lo, *ap));
            }
        }
        o.copy_from_slice(&a);
    }
}

/// One output row of a 3x3 stride-1 depthwise kernel: `out[i] = sum_k (rows[k][i] w[3 k] +
/// rows[k][i + 1] w[3 k + 1] + rows[k][i + 2] w[3 k + 2])` (wrapping i32), the weights given as
/// `taps = [w0 | w1 << 16, w3 | w4 << 16, w6 | w7 << 16, w2 | w5 << 16, w8]` (halfwords). Outputs
/// past the shortest row's `len - 2` are left untouched.
#[inline(always)]
pub(crate) fn dw3_row_rust(rows: [&[i16]; 3], taps: [u32; 5], out: &mut [i32]) {
    let [w01, w34, w67, w25, w8] = taps;
    let h = |v: u32, hi: bool| (if hi { v >> 16 } else { v }) as u16 as i16 as i32;
    let pair = |r: &[i16]| r[0] as u16 as u32 | (r[1] as u16 as u32) << 16;
    let (r0, r1, r2) = (rows[0].windows(3), rows[1].windows(3), rows[2].windows(3));
    for (((a, b), c), o) in r0.zip(r1).zip(r2).zip(out.iter_mut()) {
        let acc = smlad(pair(a), w01, 0).wrapping_add((a[2] as i32).wrapping_mul(h(w25, false)));
        let acc = smlad(pair(b), w34, acc).wrapping_add((b[2] as i32).wrapping_mul(h(w25, true)));
        *o = smlad(pair(c), w67, acc).wrapping_add((c[2] as i32).wrapping_mul(h(w8, false)));
    }
}

/// [`dw3_row_rust`] for each output row `r` of `out` (`out_w` outputs each), reading padded rows
/// `r..r + 3` of `buf` (`width` codes each).
#[inline(always)]
pub(crate) fn dw3_rows_rust(
    buf: &[i16],
    width: usize,
    out_w: usize,
    taps: [u32; 5],
    out: &mut [i32],
) {
    if out_w == 0 || width == 0 {
        return;
    }
    for (r, o) in out.chunks_exact_mut(out_w).enumerate() {
        let row = |k: usize| buf.get((r + k) * width..).unwrap_or(&[]);
        dw3_row_rust([row(0), row(1), row(2)], taps, o);
    }
}
