//! The Cortex-M DSP extension's SMLAD and SXTB16 through `asm!`: LLVM has no stable intrinsics for
//! them and does not form SMLAD from plain Rust. Same semantics as `portable.rs`.
use core::arch::asm;

/// SXTB16: bytes 0 and 2 of `v`, each sign-extended to a halfword (byte 0 in the low half).
#[inline(always)]
pub(crate) fn sxtb16(v: u32) -> u32 {
    let r: u32;
    // SAFETY: a register-only instruction of ARMv7E-M (this module is built only for DSP targets).
    unsafe {
        asm!("sxtb16 {r}, {v}", v = in(reg) v, r = lateout(reg) r,
             options(pure, nomem, nostack, preserves_flags));
    }
    r
}

/// SXTB16 with ROR #8: bytes 1 and 3 of `v`, each sign-extended to a halfword.
#[inline(always)]
pub(crate) fn sxtb16_ror8(v: u32) -> u32 {
    let r: u32;
    // SAFETY: as `sxtb16`.
    unsafe {
        asm!("sxtb16 {r}, {v}, ror #8", v = in(reg) v, r = lateout(reg) r,
             options(pure, nomem, nostack, preserves_flags));
    }
    r
}

/// SMLAD: `acc + lo(a) lo(b) + hi(a) hi(b)` on signed halfwords, modulo 2^32.
#[inline(always)]
pub(crate) fn smlad(a: u32, b: u32, mut acc: i32) -> i32 {
    // SAFETY: a register-only instruction of ARMv7E-M; it may set the sticky Q flag, which nothing
    // in Rust code reads (hence no `preserves_flags`). The accumulator is read and written in place
    // so the register allocator keeps it in one register across a loop.
    unsafe {
        asm!("smlad {acc}, {a}, {b}, {acc}", a = in(reg) a, b = in(reg) b, acc = inout(reg) acc,
             options(pure, nomem, nostack));
    }
    acc
}
