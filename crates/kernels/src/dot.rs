//! Exact integer dot products of activation codes with weight rows, the inner loop of dense, 1x1
//! convolution and the recurrent gates.
//!
//! Four rows share each pass over the input, so every input word feeds four rows. The input is
//! first expanded, once per call, into halfword pairs (codes 0, 2 and 1, 3 of each group of four):
//! the order in which SXTB16 and SXTB16 ROR 8 split a word of four i8 weights, so that SMLAD
//! multiplies and accumulates two products at a time with no repacking in the inner loop, and i8
//! and i16 activations take the same loop. Sums are exact: products are summed in i32 over chunks
//! of at most [`CHUNK`] inputs (no overflow), and the chunks in i64 (wrapping, which no realistic
//! layer reaches). Integer addition being associative, the order of the terms does not change any
//! result, so the sums equal those of a plain loop bit for bit.
use crate::arch::{self, rows4_rust, smlad, sxtb16, sxtb16_ror8, word};
use crate::fixed::QAct;

/// Inputs expanded and summed in i32 at once: i16 x i8 products are at most 2^22 in magnitude,
/// 256 of them sum to at most 2^30. A multiple of 8 (the DSP loop's step).
pub(crate) const CHUNK: usize = 256;

/// Calls `f(j, sum_i x[i] w[j k + i])` for each of the `n` rows of `w` (`k = x.len()`), rows taken
/// four at a time. `w` must hold `n * k` codes; rows past its end read as empty.
#[inline(always)]
pub(crate) fn dot_rows<T: QAct, W: QAct>(x: &[T], w: &[W], n: usize, f: impl FnMut(usize, i64)) {
    #[cfg(feature = "small")]
    return dot_rows_shared(x, w, n, &mut { f });
    #[cfg(not(feature = "small"))]
    dot_rows_inline(x, w, n, f)
}

/// [`dot_rows`] not inlined, in every build: for the rows a kernel takes outside its hot loop
/// (the short input part of a recurrent layer, a GRU's candidate rows), where a copy of the
/// unrolled loops per call site would cost more flash than the call per row costs time.
#[inline(always)]
pub(crate) fn dot_rows_called<T: QAct, W: QAct>(
    x: &[T],
    w: &[W],
    n: usize,
    f: impl FnMut(usize, i64),
) {
    dot_rows_shared(x, w, n, &mut { f })
}

/// [`dot_rows`] compiled once per pair of code types, the row callback called through a pointer:
/// a call per output row instead of the unrolled loops inlined at the call site. The `small`
/// feature takes it for every dot product, other builds for [`dot_rows_called`]'s.
#[inline(never)]
fn dot_rows_shared<T: QAct, W: QAct>(x: &[T], w: &[W], n: usize, f: &mut dyn Row) {
    dot_rows_inline(x, w, n, |j, v| f.row(j, v))
}

/// The row callback of [`dot_rows_shared`]: a trait of one method, so that its vtable holds one
/// copy of each closure (a `dyn FnMut`'s also holds `call_once`, a second copy).
trait Row {
    fn row(&mut self, j: usize, v: i64);
}

impl<F: FnMut(usize, i64)> Row for F {
    #[inline(always)]
    fn row(&mut self, j: usize, v: i64) {
        self(j, v)
    }
}

#[inline(always)]
fn dot_rows_inline<T: QAct, W: QAct>(x: &[T], w: &[W], n: usize, mut f: impl FnMut(usize, i64)) {
    let k = x.len();
    if !W::WIDE && k > 0 && w.len() >= n * k {
        if let Ok(w) = bytemuck::try_cast_slice::<W, i8>(&w[..n * k]) {
            return rows_i8(x, w, n, f);
        }
    }
    let row = |j: usize| w.get(j * k..).and_then(|r| r.get(..k)).unwrap_or(&[]);
    for j in 0..n {
        f(j, plain(x, row(j)));
    }
}

#[cfg_attr(feature = "small", allow(dead_code))]
/// An input expanded once for [`Sums::rows`]: i8 weight rows of `k` codes, `k` a positive
/// multiple of 8 up to [`CHUNK`] (sums exact in i32).
#[derive(Clone, Copy)]
pub(crate) struct Sums<'b> {
    xp: &'b [u32],
    k: usize,
}

#[cfg_attr(feature = "small", allow(dead_code))]
impl Sums<'_> {
    /// `out[j] = sum_i x[i] w[j k + i]` for the whole quads of `out` (`j < len - len % 4`),
    /// each quad whose rows `w` holds; the rest untouched.
    #[inline(always)]
    pub(crate) fn rows(&self, w: &[i8], out: &mut [i32]) {
        arch::sums(self.xp, w, self.k, out)
    }
}

#[cfg_attr(feature = "small", allow(dead_code))]
/// `f` of `x` expanded for [`Sums::rows`]; `None` (calling nothing) when `x.len()` is not a
/// positive multiple of 8 up to [`CHUNK`].
#[inline(always)]
pub(crate) fn sums<T: QAct, R>(x: &[T], f: impl FnOnce(Sums<'_>) -> R) -> Option<R> {
    let k = x.len();
    if k == 0 || !k.is_multiple_of(8) || k > CHUNK {
        return None;
    }
    Some(if k <= SHORT {
        sums_in(x, f, &mut [0u32; SHORT / 2])
    } else {
        sums_in(x, f, &mut [0u32; CHUNK / 2])
    })
}

#[cfg_attr(feature = "small", allow(dead_code))]
#[inline]
fn sums_in<T: QAct, R>(x: &[T], f: impl FnOnce(Sums<'_>) -> R, buf: &mut [u32]) -> R {
    let (xp, _) = expand(x, buf);
    f(Sums { xp, k: x.len() })
}

/// [`dot_rows`] for i8 weights, `w` exactly `n` rows of `k = x.len() > 0` codes.
#[inline(always)]
fn rows_i8<T: QAct>(x: &[T], w: &[i8], n: usize, f: impl FnMut(usize, i64)) {
    // Short rows (small layers, im2col columns) expand into a small buffer: zeroing the whole
    // one would cost more than their products.
    #[cfg(feature = "small")]
    let rows_in = rows_in_small;
    if x.len() <= SHORT {
        rows_in(x, w, n, f, &mut [0u32; SHORT / 2])
    } else {
        rows_in(x, w, n, f, &mut [0u32; CHUNK / 2])
    }
}

/// [`rows_in`] for `small`, compiled once for both buffers and with one call of the four-row loop:
/// a row of one chunk (every realistic row) has its input expanded once and all its whole quads
/// of rows in that call, a longer row one call per quad and chunk (its chunks expanded for every
/// four rows, as [`rows_in`] does too).
#[cfg(feature = "small")]
#[inline(never)]
fn rows_in_small<T: QAct>(
    x: &[T],
    w: &[i8],
    n: usize,
    mut f: impl FnMut(usize, i64),
    buf: &mut [u32],
) {
    let k = x.len();
    let quads = n - n % 4;
    let once = k <= CHUNK;
    let mut used = if once { expand(x, buf).0.len() } else { 0 };
    let mut j0 = 0;
    while j0 < n {
        let rows = if j0 >= quads {
            1
        } else if once {
            quads
        } else {
            4
        };
        let mut acc = [0i64; 4];
        for (c, xc) in x.chunks(CHUNK).enumerate() {
            if !once {
                used = expand(xc, buf).0.len();
            }
            let (xp, xt) = (
                buf.get(..used).unwrap_or(&[]),
                xc.get(2 * used..).unwrap_or(&[]),
            );
            let w = w.get(j0 * k + c * CHUNK..).unwrap_or(&[]);
            if rows == 1 {
                acc[0] = acc[0].wrapping_add(one(xp, xt, w) as i64);
                continue;
            }
            arch::quads(bulk(xp), w, k, rows, |j, part| {
                let part = rest(part, xp, xt, w.get(j * k..).unwrap_or(&[]), k);
                for (t, (a, p)) in acc.iter_mut().zip(part).enumerate() {
                    if once {
                        f(j0 + j + t, p as i64);
                    } else {
                        *a = a.wrapping_add(p as i64);
                    }
                }
            });
        }
        if !once || rows == 1 {
            for (t, a) in acc.into_iter().take(rows.min(4)).enumerate() {
                f(j0 + t, a);
            }
        }
        j0 += rows;
    }
}

/// Rows at most this long use a buffer of `SHORT / 2` words.
const SHORT: usize = 64;

/// [`rows_i8`] with the expansion buffer `buf` (at least `min(k, CHUNK) / 2` words).
#[inline(always)]
#[cfg_attr(feature = "small", allow(dead_code))]
fn rows_in<T: QAct>(x: &[T], w: &[i8], n: usize, mut f: impl FnMut(usize, i64), buf: &mut [u32]) {
    let k = x.len();
    let quads = n - n % 4;
    if k <= CHUNK {
        // Every realistic row: the input expanded once for all rows.
        let (xp, xt) = expand(x, buf);
        arch::quads(bulk(xp), w, k, n, |j, acc| {
            let acc = rest(acc, xp, xt, w.get(j * k..).unwrap_or(&[]), k);
            for (t, a) in acc.into_iter().enumerate() {
                f(j + t, a as i64);
            }
        });
        for j in quads..n {
            f(j, one(xp, xt, w.get(j * k..).unwrap_or(&[])) as i64);
        }
        return;
    }
    for j in (0..quads).step_by(4) {
        let mut acc = [0i64; 4];
        for (c, xc) in x.chunks(CHUNK).enumerate() {
            let (xp, xt) = expand(xc, buf);
            let rows = w.get(j * k + c * CHUNK..).unwrap_or(&[]);
            arch::quads(bulk(xp), rows, k, 4, |_, part| {
                let part = rest(part, xp, xt, rows, k);
                for (a, p) in acc.iter_mut().zip(part) {
                    *a = a.wrapping_add(p as i64);
                }
            });
        }
        for (t, a) in acc.into_iter().enumerate() {
            f(j + t, a);
        }
    }
    for j in quads..n {
        let mut acc = 0i64;
        for (c, xc) in x.chunks(CHUNK).enumerate() {
            let (xp, xt) = expand(xc, buf);
            let part = one(xp, xt, w.get(j * k + c * CHUNK..).unwrap_or(&[]));
            acc = acc.wrapping_add(part as i64);
        }
        f(j, acc);
    }
}

/// The groups the DSP loop takes: pairs of them.
#[inline(always)]
fn bulk(xp: &[u32]) -> &[u32] {
    &xp[..xp.len() - xp.len() % 4]
}

/// Four rows' sums over [`bulk`] completed with the last odd group and the codes `xt` past the
/// last whole group: `w` holds row `r` from `w[r k]`.
#[inline(always)]
fn rest<T: QAct>(acc: [i32; 4], xp: &[u32], xt: &[T], w: &[i8], k: usize) -> [i32; 4] {
    let done = bulk(xp).len();
    let mut acc = acc;
    if done < xp.len() {
        acc = rows4_rust(acc, &xp[done..], w.get(2 * done..).unwrap_or(&[]), k);
    }
    if !xt.is_empty() {
        let at = 2 * xp.len();
        for (r, a) in acc.iter_mut().enumerate() {
            *a = tail(*a, xt, w.get(r * k + at..).unwrap_or(&[]));
        }
    }
    acc
}

/// The groups of four codes of `x` as halfword pairs (0, 2), (1, 3) into `buf` (as many as it
/// holds), and the codes past them.
#[inline(always)]
pub(crate) fn expand<'b, 'x, T: QAct>(x: &'x [T], buf: &'b mut [u32]) -> (&'b [u32], &'x [T]) {
    let mut used = 0;
    // Arrays, not chunks: no chunk size to divide by (nor a panic path for a zero one).
    let groups = buf
        .as_chunks_mut::<2>()
        .0
        .iter_mut()
        .zip(x.as_chunks::<4>().0);
    for ([p02, p13], [a, b, c, d]) in groups {
        let h = |v: &T| v.get() as u16 as u32;
        *p02 = h(a) | h(c) << 16;
        *p13 = h(b) | h(d) << 16;
        used += 2;
    }
    // Groups a short buffer could not take go one product at a time with the tail.
    (
        buf.get(..used).unwrap_or(&[]),
        x.get(2 * used..).unwrap_or(&[]),
    )
}

/// `out[j] = sum_i x[i] w[j k + i]` for an input of 1 to 7 codes (`k = x.len()`; a few sensor
/// channels). From 3 codes the input is padded with zero codes to one pair of groups and expanded
/// once, so that each row takes two word loads and four dual MACs instead of a loop over its
/// codes; the products of the padding are zero, whatever weights of the next row those reads
/// reach. A row whose 8 bytes would run past `w` (the last ones), and every row of one or two
/// codes (fewer instructions than the words'), sums its own codes. Wrapping i32 sums.
#[cfg_attr(feature = "small", allow(dead_code))]
pub(crate) fn short_rows<T: QAct>(x: &[T], w: &[i8], out: &mut [i32]) {
    let k = x.len();
    if k < 3 {
        for (o, row) in out.iter_mut().zip(w.chunks_exact(k.max(1))) {
            *o = tail(0, x, row);
        }
        return;
    }
    let mut padded = [T::default(); 8];
    for (p, &v) in padded.iter_mut().zip(x) {
        *p = v;
    }
    let mut buf = [0u32; 4];
    let (xp, _) = expand(&padded, &mut buf);
    for (j, o) in out.iter_mut().enumerate() {
        let at = j * k;
        *o = match w.get(at..).and_then(|r| r.get(..8)) {
            Some(r) if k < 8 => one::<T>(xp, &[], r),
            _ => tail(0, x, w.get(at..).unwrap_or(&[])),
        };
    }
}

/// One row from `w[0]`: the expanded groups `xp`, then the codes `xt`.
#[inline(always)]
fn one<T: QAct>(xp: &[u32], xt: &[T], w: &[i8]) -> i32 {
    let acc = xp.chunks_exact(2).enumerate().fold(0i32, |a, (g, p)| {
        let v = word(w, 4 * g);
        smlad(p[1], sxtb16_ror8(v), smlad(p[0], sxtb16(v), a))
    });
    tail(acc, xt, w.get(2 * xp.len()..).unwrap_or(&[]))
}

/// The reference: one product at a time in i64 (i16 weights take this path).
#[inline(always)]
pub(crate) fn plain<T: QAct, W: QAct>(x: &[T], w: &[W]) -> i64 {
    x.iter().zip(w).fold(0i64, |a, (&x, &w)| {
        a.wrapping_add(x.get() as i64 * w.get() as i64)
    })
}

/// The codes past the last whole group of four, one product at a time.
#[inline(always)]
fn tail<X: QAct>(acc: i32, x: &[X], w: &[i8]) -> i32 {
    x.iter().zip(w).fold(acc, |a, (&x, &w)| {
        a.wrapping_add(x.get().wrapping_mul(w as i32))
    })
}

#[cfg(test)]
mod tests;
