//! Elementwise functions of codes by table: 256 entries for i8 (exact: every code has its entry),
//! 513 for i16 (every 128th code, linearly interpolated). The tables are built at convert time by
//! [`build_lut_i8`] / [`build_lut_i16`] from the f32 function, so any activation works the same way.
use rill_format::ActParams;

use crate::fixed::rshift_round;
use crate::util::exact;
use crate::KernelError;

/// Entries of an i8 table, one per code.
pub const LUT_I8_LEN: usize = 256;
/// Entries of an i16 table: codes `-32768, -32640, ..., 32768`, every 128th code and one past the end.
pub const LUT_I16_LEN: usize = 513;

/// `y[i] = table[x[i] + 128]`. Lengths: table 256, y as x.
pub fn lut_i8(table: &[i8], x: &[i8], y: &mut [i8]) -> Result<(), KernelError> {
    exact("lut table", LUT_I8_LEN, table.len())?;
    exact("lut y", x.len(), y.len())?;
    for (yv, &v) in y.iter_mut().zip(x) {
        *yv = table[(v as i32 + 128) as usize & 0xff];
    }
    Ok(())
}

/// One i16 code through a 513-entry table: entries `i = (x + 32768) >> 7` and `i + 1`, blended by the
/// low 7 bits with rounding half away from zero. The table's length must be checked by the caller.
#[inline(always)]
pub fn lut_i16_one(table: &[i16; LUT_I16_LEN], x: i16) -> i16 {
    let u = (x as i32 + 32768) as usize;
    let (i, frac) = (u >> 7, (u & 127) as i64);
    let (a, b) = (table[i] as i64, table[i + 1] as i64);
    (a + rshift_round((b - a) * frac, 7)).clamp(i16::MIN as i64, i16::MAX as i64) as i16
}

/// `y[i] = interp(table, x[i])`, see [`lut_i16_one`]. Lengths: table 513, y as x.
pub fn lut_i16(table: &[i16], x: &[i16], y: &mut [i16]) -> Result<(), KernelError> {
    let table: &[i16; LUT_I16_LEN] = table.try_into().map_err(|_| KernelError::Length {
        what: "lut table",
        expected: LUT_I16_LEN,
        actual: table.len(),
    })?;
    exact("lut y", x.len(), y.len())?;
    for (yv, &v) in y.iter_mut().zip(x) {
        *yv = lut_i16_one(table, v);
    }
    Ok(())
}

fn check_scale(s: f32, what: &'static str) -> Result<f64, KernelError> {
    if s.is_finite() && s > 0.0 {
        Ok(s as f64)
    } else {
        Err(KernelError::BadParam { what })
    }
}

/// The code of `act(x)` on the output's grid; NaN (a function undefined at this input, such as the
/// log of a negative code the calibration never saw) maps to the output zero point.
fn code(act: &ActParams, x: f64, s_y: f64, z_y: i32, lo: i32, hi: i32) -> i32 {
    let v = super::float::scalar(act, x as f32) as f64;
    if v.is_nan() {
        return z_y.clamp(lo, hi);
    }
    (libm::round(v / s_y) + z_y as f64).clamp(lo as f64, hi as f64) as i32
}

/// The i8 table of `act` from input codes `(s_x, z_x)` to output codes `(s_y, z_y)`.
pub fn build_lut_i8(
    act: &ActParams,
    s_x: f32,
    z_x: i32,
    s_y: f32,
    z_y: i32,
) -> Result<[i8; LUT_I8_LEN], KernelError> {
    super::kind(act)?;
    let (s_x, s_y) = (
        check_scale(s_x, "lut input scale")?,
        check_scale(s_y, "lut output scale")?,
    );
    let mut t = [0i8; LUT_I8_LEN];
    for (i, e) in t.iter_mut().enumerate() {
        let q = i as i32 - 128;
        *e = code(act, s_x * (q - z_x) as f64, s_y, z_y, -128, 127) as i8;
    }
    Ok(t)
}

/// The i16 table of `act` from symmetric input codes of scale `s_x` to output codes of scale `s_y`.
pub fn build_lut_i16(
    act: &ActParams,
    s_x: f32,
    s_y: f32,
) -> Result<[i16; LUT_I16_LEN], KernelError> {
    super::kind(act)?;
    let (s_x, s_y) = (
        check_scale(s_x, "lut input scale")?,
        check_scale(s_y, "lut output scale")?,
    );
    let mut t = [0i16; LUT_I16_LEN];
    for (i, e) in t.iter_mut().enumerate() {
        let q = i as i64 * 128 - 32768;
        *e = code(act, s_x * q as f64, s_y, 0, -32768, 32767) as i16;
    }
    Ok(t)
}
