//! Fixed-point recurrent layers (`docs/numerics.md`, "RNN / GRU / LSTM cells") and their single steps.
//!
//! Same cells, directions, time order, layouts and optional outputs as the [f32 kernel](super::float),
//! on codes: `x` and the hidden state `h` (`y`, `y_h`, `initial_h`) are codes of type `T` (i8 or i16,
//! see [`QAct`]) with zero points `z_x`, `z_h`; the LSTM cell state (`initial_c`, `y_c`) is i16 in
//! Q(15-k), `k = cell_k`. W and R are codes of type `W` with one multiplier per gate row: i8, or i16
//! in int16 models (i16 weights with i8 activations are [`KernelError::BadParam`]); the converter
//! (`rill-convert`, `quantize/rnn.rs`) folds the zero points into the biases.
//!
//! Per gate row `j` of a step: `px = requant(w_bias[j] + sum x W[j], w_mul[j])`,
//! `ph = requant(r_bias[j] + sum h R[j], r_mul[j])` (i32 results, not saturated to i16 on their own:
//! a large input part and a large opposite recurrent part must cancel; i32 accumulation and [`requantize`] when
//! activations and weights are i8, i64 and [`requantize_i64`] when either is i16),
//! `p = sat16(px + ph)` in Q3.12, clamped to `[-clip_q12, clip_q12]` when `clip_q12 > 0`. Sigmoid
//! and tanh read the 513-entry tables of [`crate::fixed::tables`] with linear interpolation
//! ([`sigmoid_q15`], [`tanh_q15`]), giving Q0.15.
//! - LSTM (gates `i o f c`, activations Sigmoid/Tanh/Tanh only):
//!   `c = sat16(rshift_round(f c, 15) + rshift_round(i g, 15 + k))`,
//!   `h = sat(z_h + requantize(o tanh(sat16(c << (k - 3))), h_mul))`.
//! - GRU (gates `z r h`, Sigmoid/Tanh only): with `linear_before_reset = 1` the candidate's
//!   pre-activation is `sat16(px + rshift_round(r ph, 15))`; with 0 its recurrent part is
//!   `requant(r_bias[j] + sum rh R[j], r_mul[j])` over `rh = rshift_round(r (h - z_h), 15)`.
//!   Then `hp = requantize(h - z_h, h_to_q15)`, `H = h~ + rshift_round(z (hp - h~), 15)` (Q0.15) and
//!   `h = sat(z_h + requantize(H, h_mul))`.
//! - RNN: Tanh `h = sat(z_h + requantize(tanh(p), h_mul))`, Relu
//!   `h = sat(z_h + requantize(max(p, 0), h_mul))`.
//!
//! `rshift_round` rounds half away from zero. Errors: those of the f32 kernel, plus i16 weights with
//! i8 activations, any activation other than the above, `cell_k` outside `3..=15` (LSTM), and bias
//! or multiplier slices whose length is not the number of gate rows `dirs * G * H`.
//!
//! For streaming, [`rnn_step_fixed`], [`gru_step_fixed`] and [`lstm_step_fixed`] advance one
//! direction slot and batch row by one time step, the state held by the caller.
use rill_format::{ActKind, CellKind, RnnParams};

use super::{gates, CellDims, Layer};
use crate::dense::fixed::wide_weights;
use crate::dot::{dot_rows, dot_rows_called, CHUNK};
#[cfg(not(feature = "small"))]
use crate::dot::{short_rows, sums};
use crate::fixed::tables::{SIGMOID_Q12, TANH_Q12};
use crate::fixed::{requantize, requantize_i64, FastRq, OutQ, QAct, QMul};
use crate::util::{at_least, copy, exact, mul, seg, seg_mut};
use crate::KernelError;

/// The integer parameters of a layer, from its aux operand (`rill_format::qaux`, Rnn). Bias and
/// multiplier slices have one entry per gate row, `dirs * G * H`, in W's row order.
#[derive(Clone, Copy, Debug)]
pub struct RnnQ<'a> {
    /// Zero point of `x` (already folded into `w_bias`; informational).
    pub z_x: i32,
    /// Zero point of the hidden state (`y`, `y_h`, `initial_h`).
    pub z_h: i32,
    pub w_bias: &'a [i32],
    pub r_bias: &'a [i32],
    /// `s_x s_W[j] 2^12`: input accumulator to Q3.12.
    pub w_mul: &'a [QMul],
    /// `s_h s_R[j] 2^12`: recurrent accumulator to Q3.12.
    pub r_mul: &'a [QMul],
    /// From the cell's output domain to hidden codes: `2^-30 / s_h` (LSTM), `2^-15 / s_h` (GRU, tanh
    /// RNN), `2^-12 / s_h` (Relu RNN).
    pub h_mul: QMul,
    /// `s_h 2^15`: hidden codes (zero point removed) to Q0.15 (GRU).
    pub h_to_q15: QMul,
    /// The LSTM cell state is Q(15 - cell_k); `3..=15`. Unused by other cells.
    pub cell_k: i32,
    /// Clip of the gate pre-activations in Q3.12; 0 or less for none.
    pub clip_q12: i32,
}

/// The inputs of a fixed-point layer: activation codes `T`, weight codes `W` (i8, or i16 with i16
/// activations).
#[derive(Clone, Copy, Debug)]
pub struct RnnFixedInputs<'a, T, W = i8> {
    pub x: &'a [T],
    pub w: &'a [W],
    pub r: &'a [W],
    pub initial_h: Option<&'a [T]>,
    pub initial_c: Option<&'a [i16]>,
}

/// The outputs of a fixed-point layer, each computed only when present.
#[derive(Debug)]
pub struct RnnFixedOutputs<'a, T> {
    pub y: Option<&'a mut [T]>,
    pub y_h: Option<&'a mut [T]>,
    pub y_c: Option<&'a mut [i16]>,
}

/// i32 words of scratch [`rnn`] needs: `(G + 3) * H` (one row's hidden and cell state and
/// [`step_scratch_len`]), independent of `seq_len`.
pub fn scratch_len_fixed(p: &RnnParams) -> Result<usize, KernelError> {
    let d = CellDims::new(p)?;
    mul(gates(d.cell) + 3, d.hidden, "rnn scratch")
}

/// i32 words of scratch a single step needs: `(G + 1) * H`.
pub fn step_scratch_len(p: &RnnParams) -> Result<usize, KernelError> {
    let d = CellDims::new(p)?;
    mul(gates(d.cell) + 1, d.hidden, "rnn step scratch")
}

/// `round(v / 2^bits)`, half away from zero, `bits` in `1..=62`.
#[inline(always)]
pub fn rshift_round(v: i64, bits: u32) -> i64 {
    let half = 1i64 << (bits - 1);
    if v >= 0 {
        (v + half) >> bits
    } else {
        -((half - v) >> bits)
    }
}

#[inline(always)]
pub(super) fn sat16(v: i64) -> i32 {
    v.clamp(i16::MIN as i64, i16::MAX as i64) as i32
}

/// A 513-entry table over Q3.12 `[-8, 8]` at `p`, linearly interpolated: Q0.15.
#[inline(always)]
pub fn lut_q12(t: &[i16; 513], p: i16) -> i32 {
    let u = (p as i32 + 32768) as u32; // 0..=65535
    let i = (u >> 7) as usize; // 0..=511
    let frac = (u & 127) as i32;
    let a = t[i] as i32;
    let b = t[i + 1] as i32;
    // |b - a| < 2^16 and frac < 2^7: the product fits i32.
    a + rshift_round32((b - a) * frac, 7)
}

/// [`rshift_round`] of an i32 (`bits` in `1..=30`, `|v| + 2^(bits - 1) < 2^31`), the same value
/// without 64-bit arithmetic or a branch: for `v < 0`, `-((h - v) >> b) = (v + h - 1) >> b`.
#[inline(always)]
fn rshift_round32(v: i32, bits: u32) -> i32 {
    let half = 1i32 << (bits - 1);
    (v + half + (v >> 31)) >> bits
}

/// Sigmoid of a Q3.12 value (saturated to i16 first), Q0.15.
#[inline(always)]
pub fn sigmoid_q15(p: i32) -> i32 {
    lut_q12(&SIGMOID_Q12, sat16(p as i64) as i16)
}

/// Tanh of a Q3.12 value (saturated to i16 first), Q0.15.
#[inline(always)]
pub fn tanh_q15(p: i32) -> i32 {
    lut_q12(&TANH_Q12, sat16(p as i64) as i16)
}

/// `requant(bias + sum v[i] row[i], m)`, not yet saturated to i16 (the input and recurrent parts can
/// each exceed Q3.12's range while their sum does not): i32 accumulation (wrapping) and [`requantize`] when
/// activations `T` and weights `W` are both i8, i64 and [`requantize_i64`] when either is i16.
#[inline(always)]
fn pre<T: QAct, W: QAct>(bias: i32, v: impl Iterator<Item = i32>, row: &[W], m: QMul) -> i32 {
    if T::WIDE || W::WIDE {
        let acc = v.zip(row).fold(bias as i64, |a, (v, &w)| {
            a.wrapping_add(v as i64 * w.get() as i64)
        });
        requantize_i64(acc, m)
    } else {
        let acc = v
            .zip(row)
            .fold(bias, |a, (v, &w)| a.wrapping_add(v.wrapping_mul(w.get())));
        requantize(acc, m)
    }
}

/// [`pre`] from an exact sum of products `dot` of row `row`: the same wrapping i32 (i8) or i64
/// (i16) result, as the exact sum reduced modulo 2^32 or 2^64.
#[inline(always)]
fn finish<T: QAct, W: QAct>(bias: &[i32], muls: &[QMul], row: usize, dot: i64) -> i32 {
    let b = bias.get(row).copied().unwrap_or(0) as i64;
    let m = muls.get(row).copied().unwrap_or_default();
    if T::WIDE || W::WIDE {
        requantize_i64(b.wrapping_add(dot), m)
    } else {
        // The low 32 bits of the i64 sum, as the i8 kernels' wrapping i32 accumulator.
        requantize((b as i32).wrapping_add(dot as i32), m)
    }
}

/// One direction slot's cell, checked: its parts of the weights, biases and multipliers.
#[derive(Clone, Copy, Debug)]
pub(super) struct Cell<'a, W> {
    kind: CellKind,
    input: usize,
    hidden: usize,
    relu: bool,
    lbr: bool,
    clip: i32,
    k: u32,
    z_h: i32,
    h_mul: QMul,
    h_to_q15: QMul,
    w: &'a [W],
    r: &'a [W],
    w_bias: &'a [i32],
    r_bias: &'a [i32],
    w_mul: &'a [QMul],
    r_mul: &'a [QMul],
    /// Every gate multiplier has [`FastRq`]'s form (checked once per layer, not per step).
    #[cfg_attr(feature = "small", allow(dead_code))]
    fast_rq: bool,
}

fn bad(what: &'static str) -> KernelError {
    KernelError::BadParam { what }
}

impl<'a, W: QAct> Cell<'a, W> {
    /// Checks the record, the slot's activations, `cell_k` and the layer's W, R, biases and
    /// multipliers, and cuts out slot `slot`'s parts.
    pub(super) fn new(
        p: &RnnParams,
        q: &RnnQ<'a>,
        w: &'a [W],
        r: &'a [W],
        slot: usize,
    ) -> Result<Cell<'a, W>, KernelError> {
        let d = CellDims::new(p)?;
        d.slot(slot)?;
        let act = |k: usize| {
            p.acts
                .get(3 * slot + k)
                .and_then(|a| ActKind::from_u32(a.kind))
        };
        let (sig, tanh) = (Some(ActKind::Sigmoid), Some(ActKind::Tanh));
        let mut relu = false;
        match d.cell {
            CellKind::Lstm => {
                if act(0) != sig || act(1) != tanh || act(2) != tanh {
                    return Err(bad("fixed-point lstm supports only sigmoid, tanh, tanh"));
                }
            }
            CellKind::Gru => {
                if act(0) != sig || act(1) != tanh {
                    return Err(bad("fixed-point gru supports only sigmoid, tanh"));
                }
            }
            CellKind::Rnn => match act(0) {
                Some(ActKind::Tanh) => {}
                Some(ActKind::Relu) => relu = true,
                _ => return Err(bad("fixed-point rnn supports only tanh or relu")),
            },
        }
        if d.cell == CellKind::Lstm && !(3..=15).contains(&q.cell_k) {
            return Err(bad("rnn cell_k outside 3..=15"));
        }
        let rows = mul(d.dirs, d.gh, "rnn rows")?;
        exact("rnn w", mul(d.dirs, d.w_len, "rnn w")?, w.len())?;
        exact("rnn r", mul(d.dirs, d.r_len, "rnn r")?, r.len())?;
        exact("rnn w_bias", rows, q.w_bias.len())?;
        exact("rnn r_bias", rows, q.r_bias.len())?;
        exact("rnn w_mul", rows, q.w_mul.len())?;
        exact("rnn r_mul", rows, q.r_mul.len())?;
        let (w_mul, r_mul) = (
            seg(q.w_mul, slot * d.gh, d.gh),
            seg(q.r_mul, slot * d.gh, d.gh),
        );
        let fast_rq = w_mul.iter().chain(r_mul).all(|&m| FastRq::fits(m));
        Ok(Cell {
            kind: d.cell,
            input: d.input,
            hidden: d.hidden,
            relu,
            lbr: p.linear_before_reset == 1,
            clip: q.clip_q12,
            k: q.cell_k.clamp(3, 15) as u32,
            z_h: q.z_h,
            h_mul: q.h_mul,
            h_to_q15: q.h_to_q15,
            w: seg(w, slot * d.w_len, d.w_len),
            r: seg(r, slot * d.r_len, d.r_len),
            w_bias: seg(q.w_bias, slot * d.gh, d.gh),
            r_bias: seg(q.r_bias, slot * d.gh, d.gh),
            w_mul,
            r_mul,
            fast_rq,
        })
    }

    /// Scratch words of one step.
    fn scratch(&self) -> usize {
        (gates(self.kind) + 1) * self.hidden
    }

    #[inline(always)]
    pub(super) fn clip(&self, p: i32) -> i32 {
        if self.clip > 0 {
            p.clamp(-self.clip, self.clip)
        } else {
            p
        }
    }

    /// The input part of row `row`, Q3.12.
    #[inline(always)]
    pub(super) fn px<T: QAct>(&self, row: usize, x: &[T]) -> i32 {
        let wr = &self.w[row * self.input..][..self.input];
        pre::<T, W>(
            self.w_bias[row],
            x.iter().map(|v| v.get()),
            wr,
            self.w_mul[row],
        )
    }

    /// The recurrent part of row `row` over hidden values `v` (codes, or GRU's `rh`), Q3.12.
    #[inline(always)]
    pub(super) fn ph<T: QAct>(&self, row: usize, v: impl Iterator<Item = i32>) -> i32 {
        let rr = &self.r[row * self.hidden..][..self.hidden];
        pre::<T, W>(self.r_bias[row], v, rr, self.r_mul[row])
    }

    /// The clipped pre-activations `sat16(px + ph)` of the `g.len()` rows from `first` into `g`:
    /// the input parts, then the recurrent parts added, each four rows per pass over `x` or `h`.
    pub(super) fn gates<T: QAct>(&self, first: usize, x: &[T], h: &[T], g: &mut [i32]) {
        #[cfg(not(feature = "small"))]
        if self.gates_quads(first, x, h, g) {
            return;
        }
        self.gates_general(first, x, h, g)
    }

    /// [`Self::gates`] through [`dot_rows`] and a call per row.
    fn gates_general<T: QAct>(&self, first: usize, x: &[T], h: &[T], g: &mut [i32]) {
        let n = g.len();
        let w = self.w.get(first * self.input..).unwrap_or(&[]);
        let rows = first..first + n;
        match (self.w_bias.get(rows.clone()), self.w_mul.get(rows)) {
            // i8 takes this arm whatever the lengths (`Cell::new` checked them), so that the
            // other is compiled out.
            (bias, muls)
                if !W::WIDE
                    && (!T::WIDE || x.len() <= CHUNK && bias.is_some() && muls.is_some()) =>
            {
                let (bias, muls) = (bias.unwrap_or(&[]), muls.unwrap_or(&[]));
                // The sums first, then requantized in one tight loop rather than one closure
                // call per row. i8: their low 32 bits, all `finish` reads; i16 codes with i8
                // weights: at most CHUNK products of 2^22, exact in i32.
                dot_rows(x, w, n, |j, dot| {
                    if let Some(gv) = g.get_mut(j) {
                        *gv = dot as i32;
                    }
                });
                for ((gv, &b), &m) in g.iter_mut().zip(bias).zip(muls) {
                    *gv = if T::WIDE {
                        requantize_i64(b as i64 + *gv as i64, m)
                    } else {
                        requantize(b.wrapping_add(*gv), m)
                    };
                }
            }
            _ => dot_rows(x, w, n, |j, dot| {
                if let Some(gv) = g.get_mut(j) {
                    *gv = finish::<T, W>(self.w_bias, self.w_mul, first + j, dot);
                }
            }),
        }
        let r = self.r.get(first * self.hidden..).unwrap_or(&[]);
        dot_rows(h, r, n, |j, dot| {
            if let Some(gv) = g.get_mut(j) {
                let ph = finish::<T, W>(self.r_bias, self.r_mul, first + j, dot);
                // sat16 of the exact sum: saturating to i32 first does not change it.
                let p = gv.saturating_add(ph);
                *gv = self.clip(p.clamp(i16::MIN as i32, i16::MAX as i32));
            }
        });
    }

    /// [`Self::gates`] for i8 weights and a hidden state of whole groups of eight codes: per
    /// quad of rows, the input sums, then the recurrent sums with both parts requantized and
    /// combined at once (no call per row); rows past the last whole quad take [`Self::gates`]'s
    /// loops. `false` when the shapes do not fit (`g` then written again by the general loops).
    #[cfg(not(feature = "small"))]
    #[inline(always)]
    fn gates_quads<T: QAct>(&self, first: usize, x: &[T], h: &[T], g: &mut [i32]) -> bool {
        let n = g.len();
        let quads = n - n % 4;
        let rows = first..first + n;
        let (Some(wb), Some(wm), Some(rb), Some(rm)) = (
            self.w_bias.get(rows.clone()),
            self.w_mul.get(rows.clone()),
            self.r_bias.get(rows.clone()),
            self.r_mul.get(rows),
        ) else {
            return false;
        };
        let (Ok(w), Ok(r)) = (
            bytemuck::try_cast_slice::<W, i8>(self.w),
            bytemuck::try_cast_slice::<W, i8>(self.r),
        ) else {
            return false;
        };
        let w = w.get(first * self.input..).unwrap_or(&[]);
        let r = r.get(first * self.hidden..).unwrap_or(&[]);
        if W::WIDE || quads == 0 {
            return false;
        }
        let (fast, clip) = (self.fast_rq && !T::WIDE, self.clip);
        let part = |b: i32, m: QMul, dot: i32| -> i32 {
            if T::WIDE {
                requantize_i64(b as i64 + dot as i64, m)
            } else if fast || FastRq::fits(m) {
                // Per row when some other row's multiplier is 1/2 or more (the input part of
                // raw sensor values): the recurrent parts still take the short form.
                FastRq::apply_with(m, b.wrapping_add(dot))
            } else {
                requantize(b.wrapping_add(dot), m)
            }
        };
        // The input sums straight into `g`, then the recurrent ones a block of rows at a time,
        // each block requantized and combined in its own loop.
        let (gq, _) = g.split_at_mut(quads);
        if sums(x, |s| s.rows(w, gq)).is_none() {
            // An input of no whole groups of eight codes (a few sensor channels, MFCCs): its
            // sums row by row (exact in i32 up to CHUNK codes), the recurrent part still by
            // quads below, where most of the products are.
            if x.len() > CHUNK {
                return false;
            }
            if x.len() < 8 {
                short_rows(x, w, gq);
            } else {
                dot_rows_called(x, w, quads, |j, dot| {
                    if let Some(gv) = gq.get_mut(j) {
                        *gv = dot as i32;
                    }
                });
            }
        }
        let done = sums(h, |s| {
            let mut buf = [0i32; 32];
            for (c, gb) in gq.chunks_mut(buf.len()).enumerate() {
                let rows = c * buf.len();
                let acc = &mut buf[..gb.len()];
                s.rows(r.get(rows * self.hidden..).unwrap_or(&[]), acc);
                let parts = wb[rows..]
                    .iter()
                    .zip(&wm[rows..])
                    .zip(&rb[rows..])
                    .zip(&rm[rows..]);
                for ((gv, &a), (((&wb, &wm), &rb), &rm)) in gb.iter_mut().zip(&*acc).zip(parts) {
                    let (px, ph) = (part(wb, wm, *gv), part(rb, rm, a));
                    // sat16 of the exact sum: saturating to i32 first does not change it.
                    let p = px
                        .saturating_add(ph)
                        .clamp(i16::MIN as i32, i16::MAX as i32);
                    *gv = if clip > 0 { p.clamp(-clip, clip) } else { p };
                }
            }
        });
        if done.is_none() {
            // `h` does not fit where `x` did: every row again the general way.
            return false;
        }
        if quads < n {
            self.gates_general(first + quads, x, h, &mut g[quads..]);
        }
        true
    }

    #[inline(always)]
    fn out<T: QAct>(&self, v: i32) -> T {
        T::sat(self.z_h.saturating_add(requantize(v, self.h_mul)))
    }

    /// Lengths are checked: `x` = I, `h` = H, `g` >= H.
    fn rnn<T: QAct>(&self, x: &[T], h: &mut [T], g: &mut [i32]) {
        let n = self.hidden;
        self.gates(0, x, h, &mut g[..n]);
        for gv in g[..n].iter_mut() {
            *gv = if self.relu {
                (*gv).max(0)
            } else {
                tanh_q15(*gv)
            };
        }
        for (hv, &gv) in h.iter_mut().zip(&g[..n]) {
            *hv = self.out(gv);
        }
    }

    /// Lengths are checked: `x` = I, `h` = H, `g` >= 4H.
    fn gru<T: QAct>(&self, x: &[T], h: &mut [T], g: &mut [i32]) {
        let n = self.hidden;
        let (zr, rest) = g[..4 * n].split_at_mut(2 * n);
        let (cand, rh) = rest.split_at_mut(n);
        self.gates(0, x, h, zr);
        for gv in zr.iter_mut() {
            *gv = sigmoid_q15(*gv);
        }
        let (z, r) = zr.split_at(n);
        if !self.lbr {
            for ((v, &rv), hv) in rh.iter_mut().zip(r).zip(h.iter()) {
                let v64 = rshift_round(rv as i64 * (hv.get() as i64 - self.z_h as i64), 15);
                // Within +-2^16 for any zero point in the code type's range.
                *v = v64.clamp(i32::MIN as i64, i32::MAX as i64) as i32;
            }
        }
        if self.lbr {
            // The candidate rows' input and recurrent parts (`px`, `ph`) through the dot-product
            // loops, four rows per pass; `rh` holds `ph`.
            let w = self.w.get(2 * n * self.input..).unwrap_or(&[]);
            dot_rows_called(x, w, n, |j, dot| {
                if let Some(cv) = cand.get_mut(j) {
                    *cv = finish::<T, W>(self.w_bias, self.w_mul, 2 * n + j, dot);
                }
            });
            let rr = self.r.get(2 * n * n..).unwrap_or(&[]);
            dot_rows_called(h, rr, n, |j, dot| {
                if let Some(v) = rh.get_mut(j) {
                    *v = finish::<T, W>(self.r_bias, self.r_mul, 2 * n + j, dot);
                }
            });
            for ((cv, &ph), &rv) in cand.iter_mut().zip(rh.iter()).zip(r) {
                let p = *cv as i64 + rshift_round(rv as i64 * ph as i64, 15);
                *cv = tanh_q15(self.clip(sat16(p)));
            }
        } else {
            for (j, cv) in cand.iter_mut().enumerate() {
                let row = 2 * n + j;
                let p = self.px(row, x) as i64 + self.ph::<T>(row, rh.iter().copied()) as i64;
                *cv = tanh_q15(self.clip(sat16(p)));
            }
        }
        for ((hv, &zv), &c) in h.iter_mut().zip(z.iter()).zip(cand.iter()) {
            let hp = requantize(hv.get().saturating_sub(self.z_h), self.h_to_q15) as i64;
            let c = c as i64;
            let blended = c + rshift_round(zv as i64 * (hp - c), 15);
            let blended = blended.clamp(i32::MIN as i64, i32::MAX as i64) as i32;
            *hv = self.out(blended);
        }
    }

    /// Lengths are checked: `x` = I, `h` = `c` = H, `g` >= 4H.
    fn lstm<T: QAct>(&self, x: &[T], h: &mut [T], c: &mut [i16], g: &mut [i32]) {
        let n = self.hidden;
        let g = seg_mut(g, 0, 4 * n);
        self.gates(0, x, h, g);
        let g: &[i32] = g;
        // `k` is in 3..=15 (clamped in `new`).
        let k = self.k;
        let out = OutQ {
            z: self.z_h,
            lo: T::MIN,
            hi: T::MAX,
        };
        let fast = FastRq::new(self.h_mul).zip(out.fast::<T>());
        let (gi, go, gf, gc) = (
            seg(g, 0, n),
            seg(g, n, n),
            seg(g, 2 * n, n),
            seg(g, 3 * n, n),
        );
        let gates = gi.iter().zip(go).zip(gf).zip(gc);
        for ((((&i, &o), &f), &gg), (cj, hj)) in gates.zip(c.iter_mut().zip(h.iter_mut())) {
            let (i, o, f, gg) = (sigmoid_q15(i), sigmoid_q15(o), sigmoid_q15(f), tanh_q15(gg));
            // Q0.15 gates times i16 or Q0.15 values stay below 2^30 in magnitude, and the shifts
            // within 30 bits: i32 gives the same values as i64.
            let c_new = (rshift_round32(f * *cj as i32, 15) + rshift_round32(i * gg, 15 + k))
                .clamp(i16::MIN as i32, i16::MAX as i32);
            *cj = c_new as i16;
            // |c_new| < 2^15 and k - 3 <= 12: the shift fits i32.
            let tc = tanh_q15(c_new << (k - 3));
            let v = o * tc;
            *hj = match fast {
                Some((r, out)) => out.apply(r.apply(v)),
                None => self.out(v),
            };
        }
    }
}

/// Checks a single step's types and slices.
#[allow(clippy::too_many_arguments)]
fn step_cell<'a, T: QAct, W: QAct>(
    p: &RnnParams,
    q: &RnnQ<'a>,
    w: &'a [W],
    r: &'a [W],
    slot: usize,
    kind: CellKind,
    x: &[T],
    h: &[T],
    scratch: &[i32],
) -> Result<Cell<'a, W>, KernelError> {
    wide_weights::<T, W>()?;
    let cell = Cell::new(p, q, w, r, slot)?;
    if cell.kind != kind {
        return Err(bad("rnn cell kind does not match the step function"));
    }
    exact("rnn x", cell.input, x.len())?;
    exact("rnn h", cell.hidden, h.len())?;
    at_least("rnn step scratch", cell.scratch(), scratch.len())?;
    Ok(cell)
}

/// One RNN step of direction slot `slot` for one batch row: `h` (H codes) becomes `Ht` from `x`
/// (I codes) and `Ht-1`. `w`, `r` and `q` are the whole layer's (weights i8, or i16 with i16
/// activations); `scratch` holds at least [`step_scratch_len`] words.
pub fn rnn_step_fixed<T: QAct, W: QAct>(
    p: &RnnParams,
    q: &RnnQ<'_>,
    w: &[W],
    r: &[W],
    slot: usize,
    x: &[T],
    h: &mut [T],
    scratch: &mut [i32],
) -> Result<(), KernelError> {
    let cell = step_cell(p, q, w, r, slot, CellKind::Rnn, x, h, scratch)?;
    cell.rnn(x, h, scratch);
    Ok(())
}

/// One GRU step, as [`rnn_step_fixed`].
pub fn gru_step_fixed<T: QAct, W: QAct>(
    p: &RnnParams,
    q: &RnnQ<'_>,
    w: &[W],
    r: &[W],
    slot: usize,
    x: &[T],
    h: &mut [T],
    scratch: &mut [i32],
) -> Result<(), KernelError> {
    let cell = step_cell(p, q, w, r, slot, CellKind::Gru, x, h, scratch)?;
    cell.gru(x, h, scratch);
    Ok(())
}

/// One LSTM step, as [`rnn_step_fixed`], also advancing the cell state `c` (H, Q(15 - cell_k)).
pub fn lstm_step_fixed<T: QAct, W: QAct>(
    p: &RnnParams,
    q: &RnnQ<'_>,
    w: &[W],
    r: &[W],
    slot: usize,
    x: &[T],
    h: &mut [T],
    c: &mut [i16],
    scratch: &mut [i32],
) -> Result<(), KernelError> {
    let cell = step_cell(p, q, w, r, slot, CellKind::Lstm, x, h, scratch)?;
    exact("rnn c", cell.hidden, c.len())?;
    cell.lstm(x, h, c, scratch);
    Ok(())
}

/// A whole layer, see the [module docs](self). `scratch` holds at least [`scratch_len_fixed`] words.
pub fn rnn<T: QAct, W: QAct>(
    p: &RnnParams,
    q: &RnnQ<'_>,
    inputs: RnnFixedInputs<'_, T, W>,
    outputs: RnnFixedOutputs<'_, T>,
    scratch: &mut [i32],
) -> Result<(), KernelError> {
    rnn_cells::<T, W, { super::cells::ALL }>(p, q, inputs, outputs, scratch)
}

/// [`rnn`] with only the cell kinds in `CELLS` ([`super::cells`]) compiled in; a layer of another
/// kind is an error.
pub fn rnn_cells<T: QAct, W: QAct, const CELLS: u8>(
    p: &RnnParams,
    q: &RnnQ<'_>,
    inputs: RnnFixedInputs<'_, T, W>,
    outputs: RnnFixedOutputs<'_, T>,
    scratch: &mut [i32],
) -> Result<(), KernelError> {
    wide_weights::<T, W>()?;
    let l = Layer::new(p)?;
    let d = l.c;
    super::cell_in(CELLS, d.cell)?;
    let i = inputs;
    exact("rnn x", l.x_len, i.x.len())?;
    if let Some(s) = i.initial_h {
        exact("rnn initial_h", l.state_len, s.len())?;
    }
    if let Some(s) = i.initial_c {
        d.lstm_only("rnn initial_c")?;
        exact("rnn initial_c", l.state_len, s.len())?;
    }
    let RnnFixedOutputs {
        mut y,
        mut y_h,
        mut y_c,
    } = outputs;
    if let Some(y) = &y {
        exact("rnn y", l.y_len, y.len())?;
    }
    if let Some(s) = &y_h {
        exact("rnn y_h", l.state_len, s.len())?;
    }
    if let Some(s) = &y_c {
        d.lstm_only("rnn y_c")?;
        exact("rnn y_c", l.state_len, s.len())?;
    }
    at_least("rnn scratch", scratch_len_fixed(p)?, scratch.len())?;
    let mut cells = [None, None];
    for (slot, c) in cells.iter_mut().enumerate().take(d.dirs) {
        *c = Some(Cell::new(p, q, i.w, i.r, slot)?);
    }
    if y.as_deref().is_none_or(|o| o.is_empty())
        && y_h.as_deref().is_none_or(|o| o.is_empty())
        && y_c.as_deref().is_none_or(|o| o.is_empty())
    {
        return Ok(()); // nothing to compute; keeps the work bounded by the output sizes
    }
    let n = d.hidden;
    let (h_words, rest) = scratch.split_at_mut_checked(n).ok_or(bad("rnn scratch"))?;
    let (c_words, g) = rest.split_at_mut_checked(n).ok_or(bad("rnn scratch"))?;
    let h: &mut [T] = bytemuck::try_cast_slice_mut(h_words)
        .map_err(|_| bad("rnn scratch cast"))?
        .get_mut(..n)
        .ok_or(bad("rnn scratch cast"))?;
    let c: &mut [i16] = bytemuck::try_cast_slice_mut(c_words)
        .map_err(|_| bad("rnn scratch cast"))?
        .get_mut(..n)
        .ok_or(bad("rnn scratch cast"))?;
    let z_h = T::sat(q.z_h);
    for (slot, cell) in cells.iter().enumerate() {
        let Some(cell) = cell else { continue };
        for b in 0..l.batch {
            let so = l.state_off(slot, b);
            match i.initial_h {
                Some(s) => copy(h, seg(s, so, n)),
                None => h.fill(z_h),
            }
            match i.initial_c {
                Some(s) => copy(c, seg(s, so, n)),
                None => c.fill(0),
            }
            for step in 0..l.seq {
                let t = if d.reverse(slot) {
                    l.seq - 1 - step
                } else {
                    step
                };
                let x = seg(i.x, l.x_off(t, b), d.input);
                // The kind was checked against CELLS: the constant tests drop the others' code.
                match cell.kind {
                    CellKind::Rnn if CELLS & super::cells::RNN != 0 => cell.rnn(x, h, g),
                    CellKind::Gru if CELLS & super::cells::GRU != 0 => cell.gru(x, h, g),
                    CellKind::Lstm if CELLS & super::cells::LSTM != 0 => cell.lstm(x, h, c, g),
                    _ => {}
                }
                if let Some(y) = y.as_deref_mut() {
                    copy(seg_mut(y, l.y_off(t, slot, b), n), h);
                }
            }
            if let Some(y_h) = y_h.as_deref_mut() {
                copy(seg_mut(y_h, so, n), h);
            }
            if let Some(y_c) = y_c.as_deref_mut() {
                copy(seg_mut(y_c, so, n), c);
            }
        }
    }
    Ok(())
}
