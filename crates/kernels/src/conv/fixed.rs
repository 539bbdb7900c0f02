//! Fixed-point convolution with i8 weights, see `docs/numerics.md`.
//!
//! Three loops compute the same sums (exact integer arithmetic, so the order of the terms does not
//! matter): pointwise convolutions (1x1, stride 1, no padding, one group) are a dense layer per
//! pixel; depthwise ones (`groups = c_in = c_out`) run an unchecked-tap loop over the interior,
//! where every tap is inside the input, and the generic loop only on the border; everything else
//! takes the generic loop, which visits the valid taps of each output and sums over channels.
use rill_format::ConvParams;

use crate::arch::{self, smlad};
use crate::dot::dot_rows;
use crate::fixed::{requant_acc, FastOut, FastRq, OutQ, QAct, QMul, RequantAcc};
use crate::util::{exact, mul, nonzero, product, us, Taps};
use crate::KernelError;

/// Pointwise convolutions gather one pixel's channels into a stack buffer of this many codes;
/// wider inputs take the generic loop.
const PW_MAX_CIN: usize = 256;

/// Pointwise convolutions gather pairs of pixels' channels, as halfword pairs, into a stack
/// buffer of this many words (2 KB).
const PW_BUF: usize = 512;

#[cfg_attr(feature = "small", allow(dead_code))]
/// Pointwise convolutions take the 2 x 2 blocks' sums of this many pairs of pixels at a time.
const PW_SUMS: usize = 16;

/// Depthwise convolutions sum this many outputs of a band before requantizing them.
const DW_SUMS: usize = 64;

#[cfg_attr(feature = "small", allow(dead_code))]
/// Pointwise convolutions over four pixels at a time take this many output channels' sums at once.
const PW_ROWS: usize = 16;

/// Depthwise convolutions copy the input rows of a band of output rows, padded, into a stack buffer
/// of this many codes.
const DW_BUF: usize = 1024;

/// Other convolutions gather each output pixel's receptive field (`c_in / groups * k_h * k_w`
/// codes) into a stack buffer of this many codes; larger fields take the generic loop.
const COL_MAX: usize = 512;

/// The padded input rows of a band of depthwise output rows: `rows` output rows per band, each
/// padded input row `width` codes (column `c` is input column `c - pad_left`).
#[derive(Clone, Copy, Debug)]
struct DwBand {
    rows: usize,
    width: usize,
}

impl DwBand {
    /// `None` when not even one output row's padded input rows fit the buffer.
    fn new(g: &Geo) -> Option<DwBand> {
        let p = &g.p;
        let extent = |n: usize, s: u32, d: u32, k: usize| -> Option<usize> {
            let taps = (k.checked_sub(1)?).checked_mul(us(d))?;
            n.checked_sub(1)?
                .checked_mul(us(s))?
                .checked_add(taps)?
                .checked_add(1)
        };
        let width = extent(g.out_w, p.stride_w, p.dil_w, g.k_w)?;
        let one_row = extent(1, p.stride_h, p.dil_h, g.k_h)?;
        if width == 0 || one_row.checked_mul(width)? > DW_BUF {
            return None;
        }
        // Rows r of a band read padded rows up to (r - 1) stride + span.
        let span = one_row;
        let fit = DW_BUF / width;
        let rows = (fit - span) / us(p.stride_h) + 1;
        Some(DwBand {
            rows: rows.min(g.out_h).max(1),
            width,
        })
    }

    /// Fills `buf` with the padded input rows of the band starting at output row `oh0` of plane
    /// `xp`, `z` where the taps fall outside the input; returns the filled part.
    /// The buffer holds i16 whatever the code type, so that two neighbouring codes are one word
    /// for SMLAD.
    fn fill<'b, T: QAct>(
        &self,
        g: &Geo,
        xp: &[T],
        oh0: usize,
        buf: &'b mut [i16],
        z: i16,
    ) -> &'b [i16] {
        let p = &g.p;
        let span = (g.k_h.max(1) - 1) * us(p.dil_h) + 1;
        let n_rows = ((self.rows - 1) * us(p.stride_h) + span).min(buf.len() / self.width);
        let top = (oh0 * us(p.stride_h)) as i64 - i64::from(p.pad_top);
        let pad_left = us(p.pad_left);
        let buf = buf.get_mut(..n_rows * self.width).unwrap_or(&mut []);
        for (r, br) in buf.chunks_exact_mut(self.width).enumerate() {
            let ih = top + r as i64;
            let row = usize::try_from(ih).ok().filter(|&ih| ih < g.in_h);
            let Some(xr) = row
                .and_then(|ih| xp.get(ih * g.in_w..))
                .and_then(|r| r.get(..g.in_w))
            else {
                br.fill(z);
                continue;
            };
            // Columns: `pad_left` of padding, the input row, padding to the right.
            let lead = pad_left.min(self.width);
            let (left, rest) = br.split_at_mut(lead);
            left.fill(z);
            let n = xr.len().min(rest.len());
            let (mid, right) = rest.split_at_mut(n);
            mid.iter_mut()
                .zip(xr)
                .for_each(|(m, v)| *m = v.get() as i16);
            right.fill(z);
        }
        buf
    }
}

/// Sets of paths a build compiles in (`PATHS` of [`conv_paths`]): a convolution whose shape
/// suits a fast path missing from the set takes the column-buffer loop, with the same results; one
/// that needs the generic loop ([`needs_generic`]) is refused without it.
pub mod paths {
    /// 1x1, stride 1, unpadded, one group: a dense product per pair of pixels.
    pub const POINTWISE: u8 = 1;
    /// One channel per group: bands of padded input rows.
    pub const DEPTHWISE: u8 = 2;
    /// The generic loop, for what the column buffer cannot take (not a fast path: required).
    pub const GENERIC: u8 = 4;
    pub const ALL: u8 = POINTWISE | DEPTHWISE | GENERIC;
}

/// Whether the receptive field (`c_in / groups * k_h * k_w` codes) fits the column buffer and
/// the input zero point is a code of the type (`lo..=hi`): else only the generic loop runs it.
fn column_fits(cin_g: usize, k_h: usize, k_w: usize, z_x: i64, (lo, hi): (i64, i64)) -> bool {
    let len = cin_g.checked_mul(k_h).and_then(|v| v.checked_mul(k_w));
    len.is_some_and(|len| (1..=COL_MAX).contains(&len)) && (lo..=hi).contains(&z_x)
}

/// Whether a fixed-point convolution of shape `p` over i16 (`wide`) or i8 codes with input zero
/// point `z_x` needs the generic loop ([`paths::GENERIC`]): its receptive field is empty or over
/// 512 codes, or `z_x` is no code. `false` for an invalid shape (which the kernel refuses anyway).
pub fn needs_generic(p: &ConvParams, z_x: i32, wide: bool) -> bool {
    let Some(cin_g) = us(p.c_in).checked_div(us(p.groups)) else {
        return false;
    };
    let range = if wide {
        (i64::from(i16::MIN), i64::from(i16::MAX))
    } else {
        (i64::from(i8::MIN), i64::from(i8::MAX))
    };
    !column_fits(cin_g, us(p.k_h), us(p.k_w), i64::from(z_x), range)
}

/// The fast path ([`paths`]) a convolution of shape `p` takes, 0 for none (the column buffer) or
/// an invalid shape.
pub fn fast_path(p: &ConvParams) -> u8 {
    if pointwise(p) {
        paths::POINTWISE
    } else if p.groups != 0 && (p.c_in, p.c_out) == (p.groups, p.groups) {
        paths::DEPTHWISE
    } else {
        0
    }
}

/// Every output pixel is the dense product of the same input pixel's channels.
fn pointwise(p: &ConvParams) -> bool {
    (
        p.k_h, p.k_w, p.stride_h, p.stride_w, p.pad_top, p.pad_left, p.groups,
    ) == (1, 1, 1, 1, 0, 0, 1)
        && (p.out_h, p.out_w) == (p.in_h, p.in_w)
        && (1..=PW_MAX_CIN).contains(&us(p.c_in))
}

/// `y = out(requant(bias[o] + sum q_x q_w, mul[o]))` per output channel. The converter folds
/// `-z_x * sum w[o]` into `bias[o]`, which is exact where every tap is inside the input; a padding
/// tap reads `z_x` (a real zero), so at the borders the missing `z_x * w` terms are added back.
/// Shapes and lengths as [`super::float::conv`], with `bias` and `muls` of length `c_out`.
#[allow(clippy::too_many_arguments)]
pub fn conv<T: QAct, W: QAct>(
    p: &ConvParams,
    x: &[T],
    z_x: i32,
    w: &[W],
    bias: &[i32],
    muls: &[QMul],
    out: OutQ,
    y: &mut [T],
) -> Result<(), KernelError> {
    conv_paths::<T, W, { paths::ALL }>(p, x, z_x, w, bias, muls, out, y)
}

/// [`conv`] with only the fast paths in `PATHS` ([`paths`]) compiled in.
#[allow(clippy::too_many_arguments)]
pub fn conv_paths<T: QAct, W: QAct, const PATHS: u8>(
    p: &ConvParams,
    x: &[T],
    z_x: i32,
    w: &[W],
    bias: &[i32],
    muls: &[QMul],
    out: OutQ,
    y: &mut [T],
) -> Result<(), KernelError> {
    crate::dense::fixed::wide_weights::<T, W>()?;
    let g = Geo::new(p)?;
    let batch = us(p.batch);
    exact(
        "conv x",
        product(&[batch, g.c_in, g.in_h, g.in_w], "conv x")?,
        x.len(),
    )?;
    exact(
        "conv w",
        product(&[g.c_out, g.cin_g, g.k_h, g.k_w], "conv w")?,
        w.len(),
    )?;
    exact("conv bias", g.c_out, bias.len())?;
    exact("conv multipliers", g.c_out, muls.len())?;
    exact(
        "conv y",
        product(&[batch, g.c_out, g.out_h, g.out_w], "conv y")?,
        y.len(),
    )?;
    if y.is_empty() {
        return Ok(());
    }
    let k = Conv {
        g,
        z: z_x as i64,
        w,
        bias,
        muls,
        out,
    };
    if PATHS & paths::GENERIC == 0 && !k.column_fits::<T>() {
        return Err(KernelError::BadParam {
            what: "conv field over 512 codes or input zero point outside the codes: \
                   needs the generic loop (conv-generic)",
        });
    }
    let (x_batch, y_batch) = (g.c_in * g.in_plane, g.c_out * g.out_plane);
    for (b, yb) in y.chunks_exact_mut(y_batch.max(1)).enumerate() {
        let xb = part(x, b, x_batch);
        if PATHS & paths::POINTWISE != 0 && g.pointwise() {
            k.pointwise(xb, yb);
        } else if PATHS & paths::DEPTHWISE != 0 && g.depthwise() {
            k.depthwise::<T, PATHS>(xb, yb);
        } else {
            k.im2col::<T, PATHS>(xb, yb);
        }
    }
    Ok(())
}

/// The checked shape of a convolution, in `usize`.
#[derive(Clone, Copy, Debug)]
struct Geo {
    p: ConvParams,
    c_in: usize,
    c_out: usize,
    cin_g: usize,
    cout_g: usize,
    in_h: usize,
    in_w: usize,
    out_h: usize,
    out_w: usize,
    k_h: usize,
    k_w: usize,
    in_plane: usize,
    out_plane: usize,
    k_plane: usize,
}

impl Geo {
    fn new(p: &ConvParams) -> Result<Geo, KernelError> {
        nonzero(p.stride_h, "conv stride")?;
        nonzero(p.stride_w, "conv stride")?;
        nonzero(p.dil_h, "conv dilation")?;
        nonzero(p.dil_w, "conv dilation")?;
        let groups = nonzero(p.groups, "conv groups")?;
        let (c_in, c_out) = (us(p.c_in), us(p.c_out));
        if c_in % groups != 0 || c_out % groups != 0 {
            return Err(KernelError::BadParam {
                what: "conv groups must divide c_in and c_out",
            });
        }
        let (in_h, in_w, out_h, out_w) = (us(p.in_h), us(p.in_w), us(p.out_h), us(p.out_w));
        let (k_h, k_w) = (us(p.k_h), us(p.k_w));
        Ok(Geo {
            p: *p,
            c_in,
            c_out,
            cin_g: c_in / groups,
            cout_g: c_out / groups,
            in_h,
            in_w,
            out_h,
            out_w,
            k_h,
            k_w,
            in_plane: mul(in_h, in_w, "conv x")?,
            out_plane: mul(out_h, out_w, "conv y")?,
            k_plane: mul(k_h, k_w, "conv w")?,
        })
    }

    fn pointwise(&self) -> bool {
        pointwise(&self.p)
    }

    fn depthwise(&self) -> bool {
        self.cin_g == 1 && self.cout_g == 1
    }

    /// The valid taps of output pixel `(oh, ow)`.
    fn taps(&self, oh: usize, ow: usize) -> (Taps, Taps) {
        let p = &self.p;
        (
            Taps::new(oh, p.stride_h, p.dil_h, p.pad_top, p.in_h, p.k_h),
            Taps::new(ow, p.stride_w, p.dil_w, p.pad_left, p.in_w, p.k_w),
        )
    }
}

/// One output channel's bias and requantization.
#[derive(Clone, Copy, Debug)]
struct Chan {
    bias: i64,
    r: RequantAcc,
    out: OutQ,
    /// i8 codes, a multiplier of [`FastRq`]'s form and a zero point within `2^30`.
    fast: Option<FastChan>,
}

/// [`Chan::code32`] as a multiply-accumulate, a shift and a clamp.
#[derive(Clone, Copy, Debug)]
struct FastChan {
    bias: i32,
    r: FastRq,
    out: FastOut,
}

impl FastChan {
    /// Bit for bit [`Chan::code32`].
    #[inline(always)]
    fn code<T: QAct>(&self, dot: i32) -> T {
        self.out.apply(self.r.apply(self.bias.saturating_add(dot)))
    }

    /// [`Self::code`] where the output stage is [`FastOut::full`].
    #[inline(always)]
    fn code_full<T: QAct>(&self, dot: i32) -> T {
        self.out
            .apply_full(self.r.apply(self.bias.saturating_add(dot)))
    }
}

impl Chan {
    /// The code of a sum of products: as [`Conv::code`].
    #[inline(always)]
    fn code<T: QAct>(&self, dot: i64) -> T {
        self.out
            .apply(self.r.apply::<T>(self.bias.wrapping_add(dot)))
    }

    /// [`Self::code`] of a sum that fits i32 (the bias is an i32 widened).
    #[inline(always)]
    fn code32<T: QAct>(&self, dot: i32) -> T {
        if let Some(f) = self.fast {
            return f.code(dot);
        }
        self.out.apply(self.r.apply_sum::<T>(self.bias as i32, dot))
    }
}

/// A checked convolution's constant operands.
struct Conv<'a, W> {
    g: Geo,
    z: i64,
    w: &'a [W],
    bias: &'a [i32],
    muls: &'a [QMul],
    out: OutQ,
}

impl<W: QAct> Conv<'_, W> {
    /// Output channel `o`'s code from its sum of products.
    #[inline(always)]
    fn code<T: QAct>(&self, o: usize, dot: i64) -> T {
        let b = self.bias.get(o).copied().unwrap_or(0) as i64;
        let m = self.muls.get(o).copied().unwrap_or_default();
        self.out.apply(requant_acc::<T>(b.wrapping_add(dot), m))
    }

    /// See [`column_fits`].
    fn column_fits<T: QAct>(&self) -> bool {
        let g = &self.g;
        let codes = (i64::from(T::MIN), i64::from(T::MAX));
        column_fits(g.cin_g, g.k_h, g.k_w, self.z, codes)
    }

    /// Output channel `o`'s bias and requantization, for the many pixels of its plane.
    fn chan<T: QAct>(&self, o: usize) -> Chan {
        let bias = self.bias.get(o).copied().unwrap_or(0);
        let m = self.muls.get(o).copied().unwrap_or_default();
        let fast = match (T::WIDE, FastRq::new(m), self.out.fast::<T>()) {
            (false, Some(r), Some(out)) => Some(FastChan { bias, r, out }),
            _ => None,
        };
        Chan {
            bias: bias as i64,
            r: RequantAcc::new(m),
            out: self.out,
            fast,
        }
    }

    /// One batch row, 1x1: a dense product per pixel. With i8 weights and at least four input
    /// channels, pixels are taken in pairs and output channels in pairs ([`arch::pairs`]): each
    /// weight word loaded feeds two pixels and each input word two output channels. The pixel
    /// pairs' channels (strided by a plane in NCHW) are gathered for a block of pairs at a time,
    /// which every pair of output channels then walks with its requantization set up once.
    fn pointwise<T: QAct>(&self, x: &[T], y: &mut [T]) {
        let g = &self.g;
        let w8 = match W::WIDE {
            false => bytemuck::try_cast_slice::<W, i8>(self.w).ok(),
            true => None,
        };
        let c = g.c_in.min(PW_MAX_CIN);
        let whole = c - c % 4;
        let (Some(w8), true) = (w8, whole > 0) else {
            return self.pointwise_px(x, y, 0);
        };
        let mut buf = [0u32; PW_BUF];
        let per_block = (PW_BUF / whole).max(1);
        let pairs = g.out_plane / 2;
        let plane = g.in_plane;
        let code = |ch: usize, px: usize| x.get(ch * plane + px).map_or(0, |v| v.get());
        // Products of output channel `o` and pixel `px` over channels `from..to`, one at a time:
        // the channels past the last whole group of four, or all of them for an odd last row.
        let plain = |o: usize, px: usize, from: usize, to: usize| -> i64 {
            let row = w8.get(o * c..).unwrap_or(&[]);
            (from..to).fold(0i64, |a, ch| {
                let wv = row.get(ch).copied().unwrap_or(0) as i64;
                a + code(ch, px) as i64 * wv
            })
        };
        let n_out = g.c_out;
        // Pixels in fours first where the shapes allow, pairs for the rest.
        #[cfg(not(feature = "small"))]
        let first = self.pointwise_quads(x, w8, y) / 2;
        #[cfg(feature = "small")]
        let first = 0;
        for b0 in (first..pairs).step_by(per_block) {
            let b1 = (b0 + per_block).min(pairs);
            for (pair, xp) in (b0..b1).zip(buf.chunks_exact_mut(whole)) {
                let px = 2 * pair;
                let h = |ch: usize, p: usize| code(ch, px + p) as u16 as u32;
                for (gi, q) in xp.chunks_exact_mut(4).enumerate() {
                    let ch = 4 * gi;
                    q[0] = h(ch, 0) | h(ch + 2, 0) << 16;
                    q[1] = h(ch + 1, 0) | h(ch + 3, 0) << 16;
                    q[2] = h(ch, 1) | h(ch + 2, 1) << 16;
                    q[3] = h(ch + 1, 1) | h(ch + 3, 1) << 16;
                }
            }
            for j in (0..n_out - n_out % 2).step_by(2) {
                let (c0, c1) = (self.chan::<T>(j), self.chan::<T>(j + 1));
                let rows = w8.get(j * c..).unwrap_or(&[]);
                #[cfg(not(feature = "small"))]
                if whole == c {
                    if let (Some(f0), Some(f1)) = (c0.fast, c1.fast) {
                        // Every channel in whole groups and both multipliers of the fast form
                        // (the usual case): the block's sums by one `asm!` loop, then
                        // requantized in a loop of their own.
                        let plane = g.out_plane;
                        let Some((y0, y1)) = y
                            .get_mut(j * plane..(j + 2) * plane)
                            .map(|v| v.split_at_mut(plane))
                        else {
                            continue;
                        };
                        let (Some(y0), Some(y1)) =
                            (y0.get_mut(2 * b0..2 * b1), y1.get_mut(2 * b0..2 * b1))
                        else {
                            continue;
                        };
                        let mut sums = [0i32; 4 * PW_SUMS];
                        let xs = buf.chunks(PW_SUMS * c);
                        let ys = y0.chunks_mut(2 * PW_SUMS).zip(y1.chunks_mut(2 * PW_SUMS));
                        for (xs, (y0, y1)) in xs.zip(ys) {
                            let sums = &mut sums[..2 * y0.len()];
                            arch::blocks2x2(xs, rows, c, sums);
                            let ys = y0.chunks_exact_mut(2).zip(y1.chunks_exact_mut(2));
                            for ((y0, y1), s) in ys.zip(sums.chunks_exact(4)) {
                                if let ([y00, y01], [y10, y11], &[s00, s01, s10, s11]) = (y0, y1, s)
                                {
                                    *y00 = f0.code(s00);
                                    *y01 = f0.code(s01);
                                    *y10 = f1.code(s10);
                                    *y11 = f1.code(s11);
                                }
                            }
                        }
                        continue;
                    }
                }
                for (pair, xp) in (b0..b1).zip(buf.chunks_exact(whole)) {
                    let px = 2 * pair;
                    let [a00, a01, a10, a11] = arch::block2x2(xp, rows, c);
                    let at = j * g.out_plane + px;
                    if whole == c {
                        // Every channel in whole groups (the usual case): the sums are complete.
                        if let Some([y00, y01]) = y.get_mut(at..at + 2) {
                            (*y00, *y01) = (c0.code32(a00), c0.code32(a01));
                        }
                        let at = at + g.out_plane;
                        if let Some([y10, y11]) = y.get_mut(at..at + 2) {
                            (*y10, *y11) = (c1.code32(a10), c1.code32(a11));
                        }
                    } else {
                        let sums = [(a00, 0, 0), (a01, 0, 1), (a10, 1, 0), (a11, 1, 1)];
                        for (a, r, p) in sums {
                            let (o, ch) = (j + r, if r == 0 { &c0 } else { &c1 });
                            if let Some(yv) = y.get_mut(o * g.out_plane + px + p) {
                                *yv = ch.code(a as i64 + plain(o, px + p, whole, c));
                            }
                        }
                    }
                }
            }
            if n_out % 2 == 1 {
                // The last output channel of an odd count, alone.
                let o = n_out - 1;
                for px in 2 * b0..2 * b1 {
                    if let Some(yv) = y.get_mut(o * g.out_plane + px) {
                        *yv = self.code(o, plain(o, px, 0, c));
                    }
                }
            }
        }
        self.pointwise_px(x, y, 2 * pairs);
    }

    /// The first `4 (plane / 4)` pixels of [`Self::pointwise`] for i8 codes, `c_in` a multiple of
    /// 8: per four pixels, their channels gathered as halfword pairs (four codes of a channel
    /// plane are one word), the sums of a block of output channels against all four by one
    /// `asm!` loop ([`arch::rows1x4`]: each weight word split once for four pixels), then
    /// requantized. Returns the pixels done (0 when the shapes do not fit).
    #[cfg(not(feature = "small"))]
    fn pointwise_quads<T: QAct>(&self, x: &[T], w8: &[i8], y: &mut [T]) -> usize {
        let g = &self.g;
        let c = g.c_in;
        if T::WIDE || c == 0 || !c.is_multiple_of(8) || c > PW_MAX_CIN {
            return 0;
        }
        let (Some(fast), Ok(x8)) = (self.out.fast::<T>(), bytemuck::try_cast_slice::<T, i8>(x))
        else {
            return 0;
        };
        let plane = g.out_plane;
        let n_out = g.c_out;
        let (Some(w8), Some(bias), Some(muls)) = (
            w8.get(..n_out * c),
            self.bias.get(..n_out),
            self.muls.get(..n_out),
        ) else {
            return 0;
        };
        let full = fast.full::<T>();
        let mut buf = [0u32; 2 * PW_MAX_CIN];
        let xq = &mut buf[..2 * c];
        let mut sums = [0i32; 4 * PW_ROWS];
        let quads = plane / 4;
        for px in (0..quads).map(|q| 4 * q) {
            for (gi, xw) in xq.chunks_exact_mut(8).enumerate() {
                // Four pixels of channels ch..ch + 4, a word each: channels 0 and 2 (and 1 and
                // 3) packed into words of two pixels, then split by SXTB16 into halfword pairs.
                let v = |d: usize| arch::word(x8, (4 * gi + d) * plane + px);
                let (v0, v1, v2, v3) = (v(0), v(1), v(2), v(3));
                let lo02 = (v0 & 0xFFFF) | v2 << 16;
                let hi02 = v0 >> 16 | (v2 & 0xFFFF_0000);
                let lo13 = (v1 & 0xFFFF) | v3 << 16;
                let hi13 = v1 >> 16 | (v3 & 0xFFFF_0000);
                xw.copy_from_slice(&[
                    arch::sxtb16(lo02),
                    arch::sxtb16(lo13),
                    arch::sxtb16_ror8(lo02),
                    arch::sxtb16_ror8(lo13),
                    arch::sxtb16(hi02),
                    arch::sxtb16(hi13),
                    arch::sxtb16_ror8(hi02),
                    arch::sxtb16_ror8(hi13),
                ]);
            }
            for (cb, wb) in w8.chunks(PW_ROWS * c).enumerate() {
                let s = &mut sums[..4 * (wb.len() / c)];
                arch::rows1x4(xq, wb, c, s);
                let o0 = cb * PW_ROWS;
                let rq = bias[o0..].iter().zip(&muls[o0..]);
                for (r, (sr, (&b, &m))) in s.chunks_exact(4).zip(rq).enumerate() {
                    let o = o0 + r;
                    let Some(yq) = y.get_mut(o * plane + px..).and_then(|v| v.get_mut(..4)) else {
                        continue;
                    };
                    if FastRq::fits(m) && full {
                        for (yv, &a) in yq.iter_mut().zip(sr) {
                            *yv = fast.code_full(m, b, a);
                        }
                    } else if FastRq::fits(m) {
                        for (yv, &a) in yq.iter_mut().zip(sr) {
                            *yv = fast.code(m, b, a);
                        }
                    } else {
                        for (yv, &a) in yq.iter_mut().zip(sr) {
                            *yv = self.code(o, a as i64);
                        }
                    }
                }
            }
        }
        4 * quads
    }

    /// [`Self::pointwise`] one pixel at a time from pixel `from`, four weight rows per pass.
    fn pointwise_px<T: QAct>(&self, x: &[T], y: &mut [T], from: usize) {
        let g = &self.g;
        let mut col = [T::default(); PW_MAX_CIN];
        let col = &mut col[..g.c_in.min(PW_MAX_CIN)];
        for px in from..g.out_plane {
            let xs = x.get(px..).unwrap_or(&[]).iter().step_by(g.in_plane);
            col.iter_mut().zip(xs).for_each(|(c, &v)| *c = v);
            dot_rows(col, self.w, g.c_out, |o, dot| {
                if let Some(yv) = y.get_mut(o * g.out_plane + px) {
                    *yv = self.code(o, dot);
                }
            });
        }
    }

    /// One batch row, one channel per group. Bands of output rows are computed from a copy of the
    /// input rows they read, padded with `z_x` (what the padding taps read, so no per-tap checks
    /// and no correction); outputs whose padded row does not fit [`DW_BUF`] take the generic loop.
    fn depthwise<T: QAct, const PATHS: u8>(&self, x: &[T], y: &mut [T]) {
        let g = &self.g;
        // A zero point outside the code range (a malformed file) cannot be stored as padding.
        let z_code = (T::MIN as i64..=T::MAX as i64).contains(&self.z);
        let band = DwBand::new(g).filter(|_| z_code);
        let Some(band) = band else {
            return self.im2col::<T, PATHS>(x, y);
        };
        let mut buf = [0i16; DW_BUF];
        for (o, yp) in y.chunks_exact_mut(g.out_plane).enumerate() {
            let (xp, wk) = (part(x, o, g.in_plane), part(self.w, o, g.k_plane));
            let chan = self.chan::<T>(o);
            let taps = Taps3::new::<T, W>(&g.p, wk);
            for (b, yb) in yp.chunks_mut(band.rows * g.out_w).enumerate() {
                let oh0 = b * band.rows;
                let used = band.fill(g, xp, oh0, &mut buf, self.z as i16);
                if let (Some(t), 1) = (taps, g.p.stride_h) {
                    t.band(used, band.width, &chan, yb, g.out_w);
                    continue;
                }
                for (r, yr) in yb.chunks_exact_mut(g.out_w).enumerate() {
                    let base = r * us(g.p.stride_h) * band.width;
                    let rows = used.get(base..).unwrap_or(&[]);
                    match taps {
                        Some(t) => t.row(rows, band.width, &chan, yr),
                        None => self.dw_row(band, rows, wk, &chan, yr),
                    }
                }
            }
        }
    }

    /// One output row from padded rows `buf` (starting at the row of its first tap).
    #[inline(always)]
    fn dw_row<T: QAct>(&self, band: DwBand, buf: &[i16], wk: &[W], chan: &Chan, yr: &mut [T]) {
        let p = &self.g.p;
        let (sw, dw, dh) = (us(p.stride_w), us(p.dil_w), us(p.dil_h));
        let row = |r: usize| buf.get(r * band.width..).unwrap_or(&[]);
        if let ([w0, w1, w2, w3, w4, w5, w6, w7, w8], 1, 1, 1, false) = (wk, sw, dw, dh, T::WIDE) {
            // The common 3x3, stride 1, no dilation, i8: three rows, a sliding window, the first
            // two taps of each row by one SMLAD (i8 products: no overflow in i32).
            let pair = |a: &W, b: &W| a.get() as u16 as u32 | (b.get() as u16 as u32) << 16;
            let (w01, w34, w67) = (pair(w0, w1), pair(w3, w4), pair(w6, w7));
            let (w2, w5, w8) = (w2.get(), w5.get(), w8.get());
            let (r0, r1, r2) = (row(0).windows(3), row(1).windows(3), row(2).windows(3));
            for (((a, b), c), yv) in r0.zip(r1).zip(r2).zip(yr.iter_mut()) {
                let acc = tap3(a, w01, w2, 0);
                let acc = tap3(b, w34, w5, acc);
                let acc = tap3(c, w67, w8, acc);
                *yv = chan.code(acc as i64);
            }
            return;
        }
        let k_w = self.g.k_w.max(1);
        for (ow, yv) in yr.iter_mut().enumerate() {
            let mut acc = 0i64;
            for (kh, wr) in wk.chunks_exact(k_w).enumerate() {
                let xs = row(kh * dh).get(ow * sw..).unwrap_or(&[]);
                for (&xv, &wv) in xs.iter().step_by(dw).zip(wr) {
                    acc += xv as i64 * wv.get() as i64;
                }
            }
            *yv = chan.code(acc);
        }
    }

    /// One batch row, any grouping, through a column buffer: per output pixel, the group's
    /// receptive field in the weights' order, `z_x` at padding taps (what they read, so no
    /// correction), then a dense product with the group's weight rows, four per pass. The generic
    /// loop when the field does not fit [`COL_MAX`] or `z_x` is no code (when `PATHS` has
    /// [`paths::GENERIC`]: else [`conv_paths`] has refused such a convolution).
    fn im2col<T: QAct, const PATHS: u8>(&self, x: &[T], y: &mut [T]) {
        let g = &self.g;
        let len = g.cin_g * g.k_plane;
        if !self.column_fits::<T>() {
            if PATHS & paths::GENERIC != 0 {
                self.generic(x, y);
            }
            return;
        }
        let z = T::sat(self.z as i32);
        let mut col = [T::default(); COL_MAX];
        // len <= COL_MAX (column_fits).
        let Some(col) = col.get_mut(..len) else {
            return;
        };
        let groups = g.c_out / g.cout_g.max(1);
        for grp in 0..groups {
            let xg = part(x, grp, g.cin_g * g.in_plane);
            let wg = part(self.w, grp, g.cout_g * len);
            for oh in 0..g.out_h {
                for ow in 0..g.out_w {
                    self.gather(xg, oh, ow, z, col);
                    let px = oh * g.out_w + ow;
                    dot_rows(col, wg, g.cout_g, |j, dot| {
                        let o = grp * g.cout_g + j;
                        if let Some(yv) = y.get_mut(o * g.out_plane + px) {
                            *yv = self.code(o, dot);
                        }
                    });
                }
            }
        }
    }

    /// The receptive field of output pixel `(oh, ow)` over the group's planes `xg` into `col`
    /// (`c, kh, kw` order), `z` where a tap falls outside the input.
    fn gather<T: QAct>(&self, xg: &[T], oh: usize, ow: usize, z: T, col: &mut [T]) {
        let g = &self.g;
        let p = &g.p;
        let k_h = g.k_h.max(1);
        // i64: positions may be negative (padding) or past the input.
        let ih0 = oh as i64 * i64::from(p.stride_h) - i64::from(p.pad_top);
        let iw0 = ow as i64 * i64::from(p.stride_w) - i64::from(p.pad_left);
        let (dh, dw) = (i64::from(p.dil_h), i64::from(p.dil_w));
        #[cfg(not(feature = "small"))]
        if self.gather_inside(xg, ih0, iw0, col) {
            return;
        }
        for (ckh, cr) in col.chunks_exact_mut(g.k_w.max(1)).enumerate() {
            let (c, kh) = (ckh / k_h, ckh % k_h);
            let ih = ih0 + kh as i64 * dh;
            let row = usize::try_from(ih)
                .ok()
                .filter(|&ih| ih < g.in_h)
                .map_or(&[][..], |ih| part(part(xg, c, g.in_plane), ih, g.in_w));
            for (kw, v) in cr.iter_mut().enumerate() {
                let iw = iw0 + kw as i64 * dw;
                let at = usize::try_from(iw).ok().and_then(|iw| row.get(iw));
                *v = at.copied().unwrap_or(z);
            }
        }
    }

    /// [`Self::gather`] for a field wholly inside the input (every pixel of a streamed step's
    /// conv over its window, most of a whole one's): rows read at the dilation's stride with no
    /// test per tap. `false` (nothing written) for a field that reaches into the padding.
    #[cfg(not(feature = "small"))]
    fn gather_inside<T: QAct>(&self, xg: &[T], ih0: i64, iw0: i64, col: &mut [T]) -> bool {
        let g = &self.g;
        let (dh, dw) = (g.p.dil_h as usize, (g.p.dil_w as usize).max(1));
        let (Ok(ih0), Ok(iw0)) = (usize::try_from(ih0), usize::try_from(iw0)) else {
            return false;
        };
        let last = |at: usize, k: usize, d: usize| {
            k.checked_sub(1)
                .and_then(|k| k.checked_mul(d))
                .and_then(|v| v.checked_add(at))
        };
        let inside =
            |at: usize, k: usize, d: usize, len: usize| last(at, k, d).is_some_and(|e| e < len);
        if !inside(ih0, g.k_h, dh, g.in_h) || !inside(iw0, g.k_w, dw, g.in_w) {
            return false;
        }
        let mut rows = col.chunks_exact_mut(g.k_w.max(1));
        for c in 0..g.cin_g {
            let plane = part(xg, c, g.in_plane);
            for kh in 0..g.k_h {
                let (Some(cr), Some(row)) =
                    (rows.next(), plane.get((ih0 + kh * dh) * g.in_w + iw0..))
                else {
                    return false;
                };
                for (v, &x) in cr.iter_mut().zip(row.iter().step_by(dw)) {
                    *v = x;
                }
            }
        }
        true
    }

    /// One batch row, any grouping: per output pixel, the valid taps, each summed over the group's
    /// channels.
    fn generic<T: QAct>(&self, x: &[T], y: &mut [T]) {
        let g = &self.g;
        let (xg_len, wo_len) = (g.cin_g * g.in_plane, g.cin_g * g.k_plane);
        for (o, yp) in y.chunks_exact_mut(g.out_plane).enumerate() {
            let (xg, wo) = (part(x, o / g.cout_g, xg_len), part(self.w, o, wo_len));
            let (w_sum, chan) = (weight_sum(wo), self.chan::<T>(o));
            for (oh, yr) in yp.chunks_exact_mut(g.out_w).enumerate() {
                for (ow, yv) in yr.iter_mut().enumerate() {
                    *yv = chan.code(self.pixel(xg, wo, w_sum, oh, ow));
                }
            }
        }
    }

    /// The sum of products of output pixel `(oh, ow)` over its valid taps and the group's channels
    /// (`xg`: the group's input planes, `wo`: the output channel's kernels, summing to `w_sum`),
    /// plus the padding correction `z_x * (sum of the kernel's weights outside the input)`.
    fn pixel<T: QAct>(&self, xg: &[T], wo: &[W], w_sum: i64, oh: usize, ow: usize) -> i64 {
        let g = &self.g;
        let p = &g.p;
        let (th, tw) = g.taps(oh, ow);
        let (dh, dw) = (us(p.dil_h), us(p.dil_w));
        let border = th.count() < g.k_h || tw.count() < g.k_w;
        let mut acc = 0i64;
        let mut inside = 0i64;
        for kh in th.lo..th.hi {
            let ih = th.first + (kh - th.lo) * dh;
            for kw in tw.lo..tw.hi {
                let iw = tw.first + (kw - tw.lo) * dw;
                let xs = xg.get(ih * g.in_w + iw..).unwrap_or(&[]);
                let ws = wo.get(kh * g.k_w + kw..).unwrap_or(&[]);
                let taps = xs.iter().step_by(g.in_plane.max(1));
                for (&xv, &wv) in taps.zip(ws.iter().step_by(g.k_plane.max(1))) {
                    acc += xv.get() as i64 * wv.get() as i64;
                    if border {
                        inside += wv.get() as i64;
                    }
                }
            }
        }
        if border && self.z != 0 {
            acc += self.z * (w_sum - inside);
        }
        acc
    }
}

/// The weights of a 3x3, stride 1, undilated depthwise kernel over i8 codes, the first two taps
/// of each kernel row as one halfword pair for SMLAD, set up once per channel.
#[derive(Clone, Copy, Debug)]
struct Taps3 {
    w01: u32,
    w34: u32,
    w67: u32,
    w2: i32,
    w5: i32,
    w8: i32,
}

impl Taps3 {
    fn new<T: QAct, W: QAct>(p: &ConvParams, wk: &[W]) -> Option<Taps3> {
        let [w0, w1, w2, w3, w4, w5, w6, w7, w8] = *wk else {
            return None;
        };
        if (p.stride_w, p.dil_w, p.dil_h, T::WIDE) != (1, 1, 1, false) {
            return None;
        }
        let pair = |a: W, b: W| a.get() as u16 as u32 | (b.get() as u16 as u32) << 16;
        Some(Taps3 {
            w01: pair(w0, w1),
            w34: pair(w3, w4),
            w67: pair(w6, w7),
            w2: w2.get(),
            w5: w5.get(),
            w8: w8.get(),
        })
    }

    /// The output rows `yb` (`out_w` codes each) of a band at stride 1 from its padded rows
    /// `buf`: output row `r` reads rows `r..r + 3`, walked by three row iterators rather than
    /// sliced per row.
    #[inline(always)]
    fn band<T: QAct>(&self, buf: &[i16], width: usize, chan: &Chan, yb: &mut [T], out_w: usize) {
        if width < out_w + 2 || out_w == 0 {
            return;
        }
        if let (Some(f), true) = (chan.fast, out_w <= DW_SUMS) {
            return self.band_split(buf, width, f, yb, out_w);
        }
        let rows = || buf.chunks_exact(width);
        let (r1, r2) = (rows().skip(1), rows().skip(2));
        for (((r0, r1), r2), yr) in rows().zip(r1).zip(r2).zip(yb.chunks_exact_mut(out_w)) {
            let (r0, r1, r2) = (r0.windows(3), r1.windows(3), r2.windows(3));
            for (((a, b), c), yv) in r0.zip(r1).zip(r2).zip(yr.iter_mut()) {
                let acc = tap3(a, self.w01, self.w2, 0);
                let acc = tap3(b, self.w34, self.w5, acc);
                let acc = tap3(c, self.w67, self.w8, acc);
                *yv = chan.code32(acc);
            }
        }
    }

    /// [`Self::band`] for a channel of [`FastChan`]'s form: the sums of a block of output rows
    /// into a buffer, then requantized in a loop of their own, so that neither loop runs short
    /// of registers (the taps' weights in one, the requantization's constants in the other).
    #[inline(always)]
    fn band_split<T: QAct>(
        &self,
        buf: &[i16],
        width: usize,
        f: FastChan,
        yb: &mut [T],
        out_w: usize,
    ) {
        let per = DW_SUMS / out_w;
        let full = f.out.full::<T>();
        let mut sums = [0i32; DW_SUMS];
        for (ci, yc) in yb.chunks_mut(per * out_w).enumerate() {
            let s = &mut sums[..yc.len()];
            let taps = [
                self.w01,
                self.w34,
                self.w67,
                self.w2 as u16 as u32 | (self.w5 as u16 as u32) << 16,
                self.w8 as u16 as u32,
            ];
            let rows = buf.get(ci * per * width..).unwrap_or(&[]);
            arch::dw3_rows(rows, width, out_w, taps, s);
            if full {
                for (yv, &a) in yc.iter_mut().zip(&*s) {
                    *yv = f.code_full(a);
                }
            } else {
                for (yv, &a) in yc.iter_mut().zip(&*s) {
                    *yv = f.code(a);
                }
            }
        }
    }

    /// One output row from the padded rows `buf` (`width` codes each, from the row of the first
    /// tap): three rows, a sliding window (i8 products: no overflow in i32).
    #[inline(always)]
    fn row<T: QAct>(&self, buf: &[i16], width: usize, chan: &Chan, yr: &mut [T]) {
        let n = yr.len();
        let row = |r: usize| buf.get(r * width..).and_then(|v| v.get(..n + 2));
        let (Some(r0), Some(r1), Some(r2)) = (row(0), row(1), row(2)) else {
            return;
        };
        let (r0, r1, r2) = (r0.windows(3), r1.windows(3), r2.windows(3));
        for (((a, b), c), yv) in r0.zip(r1).zip(r2).zip(yr.iter_mut()) {
            let acc = tap3(a, self.w01, self.w2, 0);
            let acc = tap3(b, self.w34, self.w5, acc);
            let acc = tap3(c, self.w67, self.w8, acc);
            *yv = chan.code32(acc);
        }
    }
}

/// Part `i` of `v` cut in parts of `len` (empty past the end: only for zero-sized inputs, whose
/// taps are all padding).
fn part<V>(v: &[V], i: usize, len: usize) -> &[V] {
    v.get(i * len..).and_then(|r| r.get(..len)).unwrap_or(&[])
}

fn weight_sum<W: QAct>(w: &[W]) -> i64 {
    w.iter().map(|&v| v.get() as i64).sum()
}

/// `acc + v0 w0 + v1 w1 + v2 w2` for a window `v` of three codes and weights `w01` (a halfword
/// pair) and `w2`.
#[inline(always)]
fn tap3(v: &[i16], w01: u32, w2: i32, acc: i32) -> i32 {
    match *v {
        [a, b, c] => {
            let x01 = a as u16 as u32 | (b as u16 as u32) << 16;
            smlad(x01, w01, acc).wrapping_add((c as i32).wrapping_mul(w2))
        }
        _ => acc,
    }
}
