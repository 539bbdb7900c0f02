//! Instruction counting on QEMU `mps2-an386`, shared by the firmware's binaries: under
//! `-icount shift=0` (as `mcu-run` runs QEMU) the virtual clock advances 1 ns per guest instruction
//! and the CMSDK APB timer 0 ticks at 25 MHz, so one tick is 40 instructions; each reading is good
//! to ±40. DWT CYCCNT is not modelled by QEMU.
use core::arch::asm;

/// CMSDK APB timer 0 (25 MHz): CTRL, VALUE (counts down), RELOAD.
const TIMER0_CTRL: *mut u32 = 0x4000_0000 as *mut u32;
const TIMER0_VALUE: *mut u32 = 0x4000_0004 as *mut u32;
const TIMER0_RELOAD: *mut u32 = 0x4000_0008 as *mut u32;
/// Guest instructions per timer tick under `-icount shift=0` (1 ns per instruction, 25 MHz timer).
const INSNS_PER_TICK: u64 = 40;

pub fn timer_start() {
    // SAFETY: the timer's registers on mps2-an386; nothing else uses timer 0.
    unsafe {
        TIMER0_CTRL.write_volatile(0);
        TIMER0_RELOAD.write_volatile(0xFFFF_FFFF);
        TIMER0_VALUE.write_volatile(0xFFFF_FFFF);
        TIMER0_CTRL.write_volatile(1);
    }
}

/// Reads the timer with an `asm!` load that may touch memory (neither `nomem` nor `pure`), so the
/// compiler can move no memory access, and no call that might do one, across it.
#[inline(always)]
pub fn timer_now() -> u32 {
    let v: u32;
    // SAFETY: a 32-bit load from the timer's VALUE register.
    unsafe {
        asm!("ldr {v}, [{a}]", a = in(reg) TIMER0_VALUE, v = lateout(reg) v, options(nostack, preserves_flags))
    };
    v
}

/// Instructions between two readings (the timer counts down).
pub fn insns(t0: u32, t1: u32) -> u64 {
    u64::from(t0.wrapping_sub(t1)) * INSNS_PER_TICK
}
