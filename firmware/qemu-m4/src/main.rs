//! Runs every embedded model once on a Cortex-M4F (QEMU `mps2-an386`) with the real `rill-runtime`
//! and prints, per model, over semihosting:
//!
//! ```text
//! model=<name> out_crc32=<8 hex> out_len=<elements> out_bytes=<n> insns=<n> load_insns=<n> head=<4 x 8 hex>
//! ```
//!
//! `out_crc32` is CRC-32/ISO-HDLC (zlib's) of the output bytes (all graph outputs in order, little
//! endian; f32, i32, i8 or i16), `head` the first four output values as 32-bit patterns (integers
//! sign-extended), `insns` the instructions one
//! `invoke()` executed and `load_insns` those of `Model::from_bytes` (validation, including the file
//! CRC). Exit status 0 when every model ran, 1 on the first error (printed as
//! `model=<name> error=<message>`).
//!
//! Instruction counting: under `-icount shift=0` (as `mcu-run` runs QEMU) the virtual clock advances
//! 1 ns per guest instruction and the CMSDK APB timer 0 ticks at 25 MHz, so one tick is 40
//! instructions; each reading is good to ±40.
#![no_std]
#![no_main]

use core::arch::asm;
use core::fmt::Write as _;
use core::hint::black_box;

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hio};
use panic_semihosting as _;
use rill_runtime::{DType, Error, Model, Session};

/// 16-byte alignment for embedded model files, inputs and the arena.
#[repr(C, align(16))]
pub struct Aligned<T: ?Sized>(pub T);

/// One embedded model.
pub struct Entry {
    pub name: &'static str,
    pub model: &'static [u8],
    /// Graph inputs as raw little-endian bytes, concatenated in input order.
    pub input: &'static [u8],
    /// The file's `arena_bytes`, read by build.rs.
    pub arena_bytes: u32,
}

mod models {
    #[allow(unused_imports)] // Aligned is unused when no model is embedded
    use super::{Aligned, Entry};
    include!(concat!(env!("OUT_DIR"), "/models.rs"));
}

static mut ARENA: Aligned<[u8; models::ARENA_BYTES]> = Aligned([0; models::ARENA_BYTES]);

/// CMSDK APB timer 0 (25 MHz): CTRL, VALUE (counts down), RELOAD.
const TIMER0_CTRL: *mut u32 = 0x4000_0000 as *mut u32;
const TIMER0_VALUE: *mut u32 = 0x4000_0004 as *mut u32;
const TIMER0_RELOAD: *mut u32 = 0x4000_0008 as *mut u32;
/// Guest instructions per timer tick under `-icount shift=0` (1 ns per instruction, 25 MHz timer).
const INSNS_PER_TICK: u64 = 40;

fn timer_start() {
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
fn timer_now() -> u32 {
    let v: u32;
    // SAFETY: a 32-bit load from the timer's VALUE register.
    unsafe {
        asm!("ldr {v}, [{a}]", a = in(reg) TIMER0_VALUE, v = lateout(reg) v, options(nostack, preserves_flags))
    };
    v
}

fn insns(t0: u32, t1: u32) -> u64 {
    u64::from(t0.wrapping_sub(t1)) * INSNS_PER_TICK
}

/// CRC-32/ISO-HDLC (zlib's `crc32`), bitwise: small and fast enough for outputs of a few KiB.
fn crc32_update(mut crc: u32, data: &[u8]) -> u32 {
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    crc
}

#[inline(never)]
fn load(bytes: &'static [u8]) -> Result<Model<'static>, Error> {
    Model::from_bytes(bytes)
}

#[inline(never)]
fn invoke(session: &mut Session) -> Result<(), Error> {
    session.invoke()
}

/// What went wrong with a model, for the error line.
enum Failure {
    Runtime(Error, &'static str),
    Input(&'static str),
}

fn run_model(entry: &Entry, arena: &mut [u8], out: &mut hio::HostStream) -> Result<(), Failure> {
    // Opaque to the optimiser: LTO must not specialise kernels on the constant model data.
    let bytes: &'static [u8] = black_box(entry.model);
    let input: &'static [u8] = black_box(entry.input);

    let t0 = timer_now();
    let model = load(bytes);
    let t1 = timer_now();
    let model = model.map_err(|e| Failure::Runtime(e, ""))?;
    let load_insns = insns(t0, t1);
    if model.arena_bytes() != entry.arena_bytes as usize {
        return Err(Failure::Input(
            "arena_bytes differs from the one build.rs read",
        ));
    }
    let op_err = |model: &Model<'static>, e: Error| match e {
        Error::Op { op, .. } => Failure::Runtime(e, model.op_name(op)),
        e => Failure::Runtime(e, ""),
    };

    let mut session = Session::new(&model, arena).map_err(|e| op_err(&model, e))?;
    let mut rest = input;
    for i in 0..model.input_count() {
        let info = model.input(i).map_err(|e| op_err(&model, e))?;
        let (data, tail) = rest
            .split_at_checked(info.size)
            .ok_or(Failure::Input("input.bin is too short"))?;
        rest = tail;
        let set = match info.dtype {
            DType::F32 => session.set_input_f32(i, bytemuck::cast_slice(data)),
            DType::I32 => session.set_input_i32(i, bytemuck::cast_slice(data)),
            DType::I8 => session.set_input_i8(i, bytemuck::cast_slice(data)),
            DType::I16 => session.set_input_i16(i, bytemuck::cast_slice(data)),
            _ => return Err(Failure::Input("graph input is not f32, i32, i8 or i16")),
        };
        set.map_err(|e| op_err(&model, e))?;
    }
    if !rest.is_empty() {
        return Err(Failure::Input(
            "input.bin is longer than the model's inputs",
        ));
    }

    let t0 = timer_now();
    let result = invoke(&mut session);
    let t1 = timer_now();
    result.map_err(|e| op_err(&model, e))?;
    let run_insns = insns(t0, t1);

    let mut crc = !0u32;
    let (mut len, mut n_bytes) = (0usize, 0usize);
    let mut head = [0u32; 4];
    for i in 0..model.output_count() {
        let info = model.output(i).map_err(|e| op_err(&model, e))?;
        let bytes: &[u8] = match info.dtype {
            DType::F32 => {
                bytemuck::cast_slice(session.output_f32(i).map_err(|e| op_err(&model, e))?)
            }
            DType::I32 => {
                bytemuck::cast_slice(session.output_i32(i).map_err(|e| op_err(&model, e))?)
            }
            DType::I8 => bytemuck::cast_slice(session.output_i8(i).map_err(|e| op_err(&model, e))?),
            DType::I16 => {
                bytemuck::cast_slice(session.output_i16(i).map_err(|e| op_err(&model, e))?)
            }
            _ => return Err(Failure::Input("graph output is not f32, i32, i8 or i16")),
        };
        let size = info.dtype.size().max(1);
        for e in bytes.chunks_exact(size) {
            if len < head.len() {
                // The element's bits, sign-extended from its width.
                let mut w = [0u8; 4];
                w[..size].copy_from_slice(e);
                let v = u32::from_le_bytes(w);
                let shift = 32 - 8 * size as u32;
                head[len] = (((v << shift) as i32) >> shift) as u32;
            }
            len += 1;
        }
        crc = crc32_update(crc, bytes);
        n_bytes += bytes.len();
    }
    let _ = write!(
        out,
        "model={} out_crc32={:08x} out_len={} out_bytes={} insns={} load_insns={} head=",
        entry.name, !crc, len, n_bytes, run_insns, load_insns
    );
    for (k, w) in head.iter().take(len).enumerate() {
        let _ = write!(out, "{}{:08x}", if k > 0 { "," } else { "" }, w);
    }
    let _ = writeln!(out);
    Ok(())
}

#[entry]
fn main() -> ! {
    let mut out = hio::hstdout().unwrap_or_else(|_| {
        debug::exit(debug::EXIT_FAILURE);
        halt()
    });
    timer_start();
    // SAFETY: the only reference to ARENA, taken once here.
    let arena: &mut [u8] = unsafe { &mut (*core::ptr::addr_of_mut!(ARENA)).0 };

    let mut status = debug::EXIT_SUCCESS;
    if models::MODELS.is_empty() {
        let _ = writeln!(
            out,
            "error=no models embedded: run tools/mcu.sh (or set RILL_MODELS_DIR)"
        );
        status = debug::EXIT_FAILURE;
    }
    for entry in models::MODELS {
        match run_model(entry, arena, &mut out) {
            Ok(()) => {}
            Err(Failure::Runtime(e, node)) if !node.is_empty() => {
                let _ = writeln!(out, "model={} error={e} (node '{node}')", entry.name);
                status = debug::EXIT_FAILURE;
            }
            Err(Failure::Runtime(e, _)) => {
                let _ = writeln!(out, "model={} error={e}", entry.name);
                status = debug::EXIT_FAILURE;
            }
            Err(Failure::Input(why)) => {
                let _ = writeln!(out, "model={} error={why}", entry.name);
                status = debug::EXIT_FAILURE;
            }
        }
    }
    debug::exit(status);
    halt()
}

/// Only reached if the host ignored the semihosting exit; `mcu-run`'s timeout then ends QEMU.
fn halt() -> ! {
    loop {
        cortex_m::asm::wfi();
    }
}
