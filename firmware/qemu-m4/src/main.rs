//! Runs every embedded model once on a Cortex-M4F (QEMU `mps2-an386`) with the real `rill-runtime`
//! and prints, per model, over semihosting:
//!
//! ```text
//! model=<name> out_crc32=<8 hex> out_len=<elements> out_bytes=<n> insns=<n> load_insns=<n> head=<4 x 8 hex> [stream_crc32=<8 hex> stream_bytes=<n> step_insns=<n>]
//! ```
//!
//! For a model that streams, the same input is then fed step by step through `Session::step`'s
//! program from a reset state: `stream_crc32` covers every step's output bytes (all outputs of a
//! step in order, step after step), `step_insns` is the mean instructions of one `invoke_step`.
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

use core::fmt::Write as _;
use core::hint::black_box;

mod icount;

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hio};
use icount::{insns, timer_now, timer_start};
use panic_semihosting as _;
use rill_runtime::{DType, Error, Model, Session};

pub mod embedded;

use embedded::{crc32_update, models, Aligned, Entry};

static mut ARENA: Aligned<[u8; models::ARENA_BYTES]> = Aligned([0; models::ARENA_BYTES]);

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
    if model.stream().is_ok() {
        let (crc, n_bytes, steps, step_insns) =
            stream(&model, &mut session, input).map_err(|e| match e {
                Failure::Runtime(e, _) => op_err(&model, e),
                other => other,
            })?;
        let _ = write!(
            out,
            " stream_crc32={:08x} stream_bytes={} step_insns={}",
            !crc,
            n_bytes,
            step_insns / steps.max(1) as u64
        );
    }
    let _ = writeln!(out);
    Ok(())
}

/// Largest frame (one time step of one input) the firmware slices out of an input.
const MAX_FRAME_BYTES: usize = 4096;

/// Feeds `input` (the whole window's bytes) step by step through the step program from a reset
/// state: (CRC state over every step's output bytes, their count, steps, instructions in
/// `invoke_step`).
fn stream(
    model: &Model<'static>,
    session: &mut Session,
    input: &'static [u8],
) -> Result<(u32, usize, usize, u64), Failure> {
    let rt = |e| Failure::Runtime(e, "");
    let info = model.stream().map_err(rt)?;
    session.reset().map_err(rt)?;
    let mut frame = Aligned([0u8; MAX_FRAME_BYTES]);
    let (mut crc, mut n_bytes, mut total) = (!0u32, 0usize, 0u64);
    for t in 0..info.window_len {
        let mut rest = input;
        for i in 0..model.input_count() {
            let win = model.input(i).map_err(rt)?;
            let (data, tail) = rest
                .split_at_checked(win.size)
                .ok_or(Failure::Input("input.bin is too short"))?;
            rest = tail;
            let axis = info.input_axes[i].ok_or(Failure::Input("an input has no time axis"))?;
            let size = win.dtype.size();
            let dims = win.shape;
            let len = *dims
                .get(axis)
                .ok_or(Failure::Input("time axis out of range"))? as usize;
            let inner: usize = dims[axis + 1..]
                .iter()
                .map(|&d| d as usize)
                .product::<usize>()
                * size;
            let outer: usize = dims[..axis].iter().map(|&d| d as usize).product();
            if outer * inner > MAX_FRAME_BYTES {
                return Err(Failure::Input(
                    "a frame is larger than the firmware's buffer",
                ));
            }
            for o in 0..outer {
                let src = data
                    .get((o * len + t) * inner..(o * len + t + 1) * inner)
                    .ok_or(Failure::Input("input.bin is too short"))?;
                frame.0[o * inner..(o + 1) * inner].copy_from_slice(src);
            }
            let f = &frame.0[..outer * inner];
            match win.dtype {
                DType::F32 => session.set_step_input_f32(i, bytemuck::cast_slice(f)),
                DType::I32 => session.set_step_input_i32(i, bytemuck::cast_slice(f)),
                DType::I8 => session.set_step_input_i8(i, bytemuck::cast_slice(f)),
                DType::I16 => session.set_step_input_i16(i, bytemuck::cast_slice(f)),
                _ => return Err(Failure::Input("graph input is not f32, i32, i8 or i16")),
            }
            .map_err(rt)?;
        }
        let t0 = timer_now();
        let r = invoke_step(session);
        let t1 = timer_now();
        r.map_err(rt)?;
        total += insns(t0, t1);
        for &o in model.file().step_outputs() {
            let bytes = session.tensor_bytes(o as usize).map_err(rt)?;
            crc = crc32_update(crc, bytes);
            n_bytes += bytes.len();
        }
    }
    Ok((crc, n_bytes, info.window_len, total))
}

#[inline(never)]
fn invoke_step(session: &mut Session) -> Result<(), Error> {
    session.invoke_step()
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
