//! Integer softmax and log-softmax (`docs/numerics.md`, Softmax), and the convert-time builder of the
//! op's one i32 constant operand (the "table").
//!
//! Per softmax row, `d = q - max(q) <= 0` (the input zero point cancels): `d` lies in `[-255, 0]` for
//! i8 codes and `[-65535, 0]` for i16 codes. `e = exp(d s_x)` is read in Q30 (`1.0 = 2^30`) from
//! tables of `exp(-i s_x)` the builder computes: i8, one table `E[i]`, `i = -d` in `0..256`; i16, two,
//! `-d = 256 hi + lo`, `e = round(H[hi] L[lo] / 2^30)` with `H[hi] = exp(-256 hi s_x)`,
//! `L[lo] = exp(-lo s_x)` (exact range reduction, no interpolation). The sum `S` of a row is an i64
//! (at most `2^32` terms of at most `2^30`, and at least `2^30` from the maximum).
//!
//! Softmax: one reciprocal per row, `R = floor(2^62 / S)`, then `y = round(e R / 2^54) - 128` (i8:
//! scale 1/256, zero -128) or `y = round(e R / 2^47)` (i16: scale 1/32768, zero 0), saturated.
//!
//! LogSoftmax: `y = sat(z_y + round((d s_x - ln(S)) / s_y))`, computed in i64 in units of `2^-F`
//! output LSB: `d K1` with `K1 = round(2^F s_x / s_y)` per element, and per row `log2(S)` in Q30 (the
//! exponent of the leading bit plus the log2 of the normalized Q30 mantissa by 30 integer squaring
//! steps) times `K2 = round(2^F ln(2) / s_y)`, then one rounding. The builder picks `F` in `28..=40`,
//! the largest with `K1 <= 2^46` (so `|d K1| < 2^62`) and `K2 <= 2^62`, clamping `s_x / s_y` to
//! `2^18` (beyond it any `d != 0` saturates anyway) and `K2` to `2^62` (only for `s_y` below about
//! `2^-35`).
//!
//! Table layout (i32 words), built by [`build_softmax_table_i8`] / [`build_softmax_table_i16`]:
//!
//! | word | content |
//! |---|---|
//! | 0 | header `0x534D_0000 \| bits << 8 \| log` (`bits` 8 or 16, `log` 0 or 1) |
//! | 1 | `z_y` (log-softmax; 0 for softmax) |
//! | 2 | `F` (log-softmax; 0 for softmax) |
//! | 3, 4 | `K1` as i64, low word first (log-softmax; 0 for softmax) |
//! | 5, 6 | `K2` as i64, low word first (log-softmax; 0 for softmax) |
//! | 7.. | i8: `E[0..256]`; i16: `L[0..256]` then `H[0..256]` (Q30) |
//!
//! The kernel checks the length, the header against `T` and `p.log`, and the ranges of `z_y`, `F`,
//! `K1` and `K2`; exp entries are clamped to `[0, 2^30]` when read, so no table content can make it
//! overflow or panic.
use libm::{exp, exp2, round};
use rill_format::SoftmaxParams;

use crate::fixed::QAct;
use crate::util::{exact, flag, product, us};
use crate::KernelError;

/// Words before the exp tables.
pub const HEADER_LEN: usize = 7;
/// Length of the int8 table.
pub const TABLE_LEN_I8: usize = HEADER_LEN + 256;
/// Length of the int16 table.
pub const TABLE_LEN_I16: usize = HEADER_LEN + 512;

/// Output quantization of int8 softmax: scale 1/256, zero point -128.
pub const SOFTMAX_I8_SCALE: f32 = 1.0 / 256.0;
pub const SOFTMAX_I8_ZERO: i32 = -128;
/// Output quantization of int16 softmax: scale 1/32768, zero point 0.
pub const SOFTMAX_I16_SCALE: f32 = 1.0 / 32768.0;
pub const SOFTMAX_I16_ZERO: i32 = 0;

const MAGIC: i32 = 0x534D_0000;
/// `1.0` of the exp values (Q30).
const ONE: i64 = 1 << 30;
/// Range of `F`, the fractional bits (in output LSBs) of the log-softmax accumulation.
const F_MIN: i32 = 28;
const F_MAX: i32 = 40;
/// Largest `s_x / s_y`: beyond it any `d != 0` is at least `2^18` output LSB below the maximum's
/// output, which saturates anyway, so the builder clamps the ratio there.
const RATIO_MAX: f64 = (1u64 << 18) as f64;
/// Largest `K1`: `|d| K1 < 2^62` for `|d| < 2^16`.
const K1_MAX: i64 = 1 << 46;
/// Largest `K2`.
const K2_MAX: i64 = 1 << 62;
/// Bound of the per-row log term, in `2^-F` LSB: above `2^17` LSB at any `F`, so the clamp only
/// touches outputs that saturate.
const L_MAX: i64 = 1 << 60;

fn bad(what: &'static str) -> KernelError {
    KernelError::BadParam { what }
}

fn header(bits: i32, log: bool) -> i32 {
    MAGIC | (bits << 8) | log as i32
}

/// `round(v * 2^30)` of an exp value in `[0, 1]`.
fn q30(v: f64) -> i32 {
    round(v * ONE as f64).clamp(0.0, ONE as f64) as i32
}

/// Header words `0..HEADER_LEN` for the given mode.
fn build_header(
    bits: i32,
    s_x: f32,
    log_mode: bool,
    s_y: f32,
    z_y: i32,
    (lo, hi): (i32, i32),
) -> Result<[i32; HEADER_LEN], KernelError> {
    if !(s_x.is_finite() && s_x > 0.0) {
        return Err(bad("softmax input scale must be finite and positive"));
    }
    let mut h = [header(bits, log_mode), 0, 0, 0, 0, 0, 0];
    if log_mode {
        if !(s_y.is_finite() && s_y > 0.0) {
            return Err(bad("log-softmax output scale must be finite and positive"));
        }
        if !(lo..=hi).contains(&z_y) {
            return Err(bad("log-softmax output zero point out of range"));
        }
        let (s_x, s_y) = (f64::from(s_x), f64::from(s_y));
        let ratio = (s_x / s_y).min(RATIO_MAX);
        let mut f = F_MAX;
        let k2_real = core::f64::consts::LN_2 / s_y;
        while f > F_MIN
            && (round(ratio * exp2(f64::from(f))) > K1_MAX as f64
                || round(k2_real * exp2(f64::from(f))) > K2_MAX as f64)
        {
            f -= 1;
        }
        let scale = exp2(f64::from(f));
        let k1 = round(ratio * scale).min(K1_MAX as f64) as i64;
        let k2 = round(k2_real * scale).min(K2_MAX as f64) as i64;
        h[1] = z_y;
        h[2] = f;
        (h[3], h[4]) = split(k1);
        (h[5], h[6]) = split(k2);
    }
    Ok(h)
}

fn split(v: i64) -> (i32, i32) {
    (v as u32 as i32, (v >> 32) as i32)
}

fn join(lo: i32, hi: i32) -> i64 {
    (i64::from(hi) << 32) | i64::from(lo as u32)
}

/// The table of an int8 (Log)Softmax with input scale `s_x`. For softmax (`log = false`) `s_y` and
/// `z_y` are ignored: the output is fixed to [`SOFTMAX_I8_SCALE`], [`SOFTMAX_I8_ZERO`]. For
/// log-softmax they are the output's calibrated scale and zero point. Convert time only (f64 libm).
pub fn build_softmax_table_i8(
    s_x: f32,
    log: bool,
    s_y: f32,
    z_y: i32,
) -> Result<[i32; TABLE_LEN_I8], KernelError> {
    let h = build_header(8, s_x, log, s_y, z_y, (i8::MIN.into(), i8::MAX.into()))?;
    let mut t = [0i32; TABLE_LEN_I8];
    t[..HEADER_LEN].copy_from_slice(&h);
    let s = f64::from(s_x);
    for (i, w) in t[HEADER_LEN..].iter_mut().enumerate() {
        *w = q30(exp(-(i as f64) * s));
    }
    Ok(t)
}

/// The table of an int16 (Log)Softmax with input scale `s_x` (symmetric input). For softmax `s_y`
/// and `z_y` are ignored: the output is fixed to [`SOFTMAX_I16_SCALE`], [`SOFTMAX_I16_ZERO`].
pub fn build_softmax_table_i16(
    s_x: f32,
    log: bool,
    s_y: f32,
    z_y: i32,
) -> Result<[i32; TABLE_LEN_I16], KernelError> {
    let h = build_header(16, s_x, log, s_y, z_y, (i16::MIN.into(), i16::MAX.into()))?;
    let mut t = [0i32; TABLE_LEN_I16];
    t[..HEADER_LEN].copy_from_slice(&h);
    let s = f64::from(s_x);
    let (lo, hi) = t[HEADER_LEN..].split_at_mut(256);
    for (i, (l, h)) in lo.iter_mut().zip(hi.iter_mut()).enumerate() {
        *l = q30(exp(-(i as f64) * s));
        *h = q30(exp(-((256 * i) as f64) * s));
    }
    Ok(t)
}

/// Validated view of a table.
struct Table<'a> {
    z_y: i32,
    frac: u32,
    k1: i64,
    k2: i64,
    /// i8: `E`; i16: `L`.
    low: &'a [i32; 256],
    /// i16 only: `H` (for i8, unused).
    high: &'a [i32; 256],
    wide: bool,
}

impl Table<'_> {
    /// `exp(-nd s_x)` in Q30 for `nd = -d` (`0..256` for i8, `0..65536` for i16).
    #[inline(always)]
    fn exp(&self, nd: u32) -> i64 {
        let l = i64::from(self.low[(nd & 0xFF) as usize]).clamp(0, ONE);
        if self.wide {
            let h = i64::from(self.high[((nd >> 8) & 0xFF) as usize]).clamp(0, ONE);
            (h * l + (1 << 29)) >> 30
        } else {
            l
        }
    }
}

fn parse<T: QAct>(table: &[i32], log: bool) -> Result<Table<'_>, KernelError> {
    let (bits, len) = if T::WIDE {
        (16, TABLE_LEN_I16)
    } else {
        (8, TABLE_LEN_I8)
    };
    exact("softmax table", len, table.len())?;
    if table[0] != header(bits, log) {
        return Err(bad(
            "softmax table header does not match the code type or log flag",
        ));
    }
    let z_y = table[1];
    let frac = table[2];
    let k1 = join(table[3], table[4]);
    let k2 = join(table[5], table[6]);
    let frac_ok = if log {
        (F_MIN..=F_MAX).contains(&frac)
    } else {
        frac == 0
    };
    if !(T::MIN..=T::MAX).contains(&z_y)
        || !frac_ok
        || !(0..=K1_MAX).contains(&k1)
        || !(0..=K2_MAX).contains(&k2)
    {
        return Err(bad("softmax table parameters out of range"));
    }
    let exps = &table[HEADER_LEN..];
    let low: &[i32; 256] = exps
        .get(..256)
        .and_then(|s| s.try_into().ok())
        .ok_or(bad("softmax table"))?;
    let high: &[i32; 256] = if T::WIDE {
        exps.get(256..512)
            .and_then(|s| s.try_into().ok())
            .ok_or(bad("softmax table"))?
    } else {
        low
    };
    Ok(Table {
        z_y,
        frac: frac as u32,
        k1,
        k2,
        low,
        high,
        wide: T::WIDE,
    })
}

/// `log2(m / 2^30)` in Q30 for `m` in `[2^30, 2^31)`: one result bit per squaring of the mantissa.
fn log2_mantissa_q30(mut m: u64) -> i64 {
    let mut r = 0i64;
    for bit in (0..30).rev() {
        // m < 2^31, so m^2 < 2^62 and the rounded square stays below 2^32.
        m = (m * m + (1 << 29)) >> 30;
        if m >= 1 << 31 {
            m >>= 1;
            r |= 1 << bit;
        }
    }
    r
}

/// `log2(S / 2^30)` in Q30 for `S >= 2^30`.
pub(crate) fn log2_sum_q30(s: i64) -> i64 {
    let s = s.max(ONE) as u64;
    let k = 63 - s.leading_zeros(); // leading bit, in 30..=62
    let m = s >> (k - 30); // normalized mantissa in [2^30, 2^31)
    ((i64::from(k) - 30) << 30) + log2_mantissa_q30(m)
}

/// See the [module docs](self). `table` is the op's constant operand built by
/// [`build_softmax_table_i8`] (for `T = i8`) or [`build_softmax_table_i16`] (for `T = i16`).
pub fn softmax<T: QAct>(
    p: &SoftmaxParams,
    x: &[T],
    table: &[i32],
    y: &mut [T],
) -> Result<(), KernelError> {
    softmax_modes::<T, true>(p, x, table, y)
}

/// [`softmax`], with the log-softmax form compiled in only when `LOG` (a log-softmax op is then
/// refused with [`KernelError::BadParam`]): firmware without log-softmax ops leaves its code out.
pub fn softmax_modes<T: QAct, const LOG: bool>(
    p: &SoftmaxParams,
    x: &[T],
    table: &[i32],
    y: &mut [T],
) -> Result<(), KernelError> {
    let log_mode = flag(p.log, "softmax log")?;
    if log_mode && !LOG {
        return Err(bad("log-softmax is not compiled in"));
    }
    let (axis, inner) = (us(p.axis_len), us(p.inner));
    let len = product(&[us(p.outer), axis, inner], "softmax x")?;
    exact("softmax x", len, x.len())?;
    exact("softmax y", len, y.len())?;
    let t = parse::<T>(table, log_mode)?;
    if y.is_empty() {
        return Ok(());
    }
    let block = axis * inner;
    // i8 codes: |d| <= 255; i16: |d| <= 65535, so the masks in `exp` lose nothing.
    for (b, yb) in y.chunks_exact_mut(block.max(1)).enumerate() {
        // x has y's length (checked above): block b of x is whole.
        let xb = x
            .get(b * block..)
            .and_then(|r| r.get(..block))
            .unwrap_or(&[]);
        for i in 0..inner {
            let col = || {
                xb.get(i..)
                    .unwrap_or(&[])
                    .iter()
                    .step_by(inner.max(1))
                    .map(|v| v.get())
            };
            let max = col().fold(i32::MIN, i32::max);
            let nd = |q: i32| (max - q) as u32;
            let sum: i64 = col().map(|q| t.exp(nd(q))).sum();
            let ys = yb
                .get_mut(i..)
                .unwrap_or_default()
                .iter_mut()
                .step_by(inner.max(1));
            if LOG && log_mode {
                // ln(S) / s_y in 2^-F output LSB, rounded; at most 2^60.
                let l2 = i128::from(log2_sum_q30(sum));
                let l = ((l2 * i128::from(t.k2) + (1 << 29)) >> 30).min(L_MAX as i128) as i64;
                let (frac, half) = (t.frac, 1i64 << (t.frac - 1));
                for (yv, q) in ys.zip(col()) {
                    // d K1 > -2^62 and l <= 2^60: the difference fits.
                    let v = -i64::from(nd(q)) * t.k1 - l;
                    let r = -((-v + half) >> frac);
                    let r = r.max(i64::from(i32::MIN)) as i32;
                    *yv = T::sat(r.saturating_add(t.z_y));
                }
            } else {
                let s = sum.clamp(ONE, 1 << 62) as u64;
                let recip = crate::util::div_u64(1 << 62, s, 33); // in [1, 2^32]
                let (shift, zero) = if T::WIDE {
                    (47, SOFTMAX_I16_ZERO)
                } else {
                    (54, SOFTMAX_I8_ZERO)
                };
                for (yv, q) in ys.zip(col()) {
                    // e <= 2^30 and recip <= 2^32: the product fits 62 bits.
                    let e = t.exp(nd(q)) as u64;
                    let r = ((e * recip + (1 << (shift - 1))) >> shift) as i32;
                    *yv = T::sat(r + zero);
                }
            }
        }
    }
    Ok(())
}
