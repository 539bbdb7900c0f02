//! Portable versions of the DSP instructions, bit for bit what the hardware computes.

/// SXTB16: bytes 0 and 2 of `v`, each sign-extended to a halfword (byte 0 in the low half).
#[inline(always)]
pub(crate) fn sxtb16(v: u32) -> u32 {
    let lo = v as u8 as i8 as i16 as u16 as u32;
    let hi = (v >> 16) as u8 as i8 as i16 as u16 as u32;
    lo | hi << 16
}

/// SXTB16 with ROR #8: bytes 1 and 3 of `v`, each sign-extended to a halfword.
#[inline(always)]
pub(crate) fn sxtb16_ror8(v: u32) -> u32 {
    sxtb16(v.rotate_right(8))
}

/// SMLAD: `acc + lo(a) lo(b) + hi(a) hi(b)` on signed halfwords, wrapping modulo 2^32 as the
/// hardware does (it only sets the sticky Q flag on overflow).
#[inline(always)]
pub(crate) fn smlad(a: u32, b: u32, acc: i32) -> i32 {
    let lo = (a as i16 as i32).wrapping_mul(b as i16 as i32);
    let hi = ((a >> 16) as i16 as i32).wrapping_mul((b >> 16) as i16 as i32);
    acc.wrapping_add(lo).wrapping_add(hi)
}

/// SMLAL: `(hi:lo + a b) >> 32`, wrapping modulo 2^64 as the hardware does.
#[inline(always)]
pub(crate) fn smlal_hi(lo: u32, hi: i32, a: i32, b: i32) -> i32 {
    let acc = ((hi as i64) << 32 | lo as i64).wrapping_add(a as i64 * b as i64);
    (acc >> 32) as i32
}
