//! The smallest useful application of `rill-runtime`, for measuring the runtime's code in flash
//! (`tools/mcu-footprint.sh`): load the first embedded int8 model, run its window once, then feed the
//! same input step by step through the step program, and print both outputs' CRC-32 over
//! semihosting:
//!
//! ```text
//! model=<name> out_crc32=<8 hex> stream_crc32=<8 hex>
//! ```
//!
//! With `--features whole-window` the application stops after the whole window (an application
//! that never streams, built without the runtime's `stream` feature): `stream_crc32=none`, printed
//! only if the runtime refuses to stream, as such a build must.
//!
//! An error prints a number (which stage failed), not the runtime's error text: a deployed
//! application reports errors through `defmt` or a status code, and the `Display` impls of the
//! errors are not part of what running a model needs. Built with `--features baseline`, the model
//! runs are compiled out; the difference in code size is the runtime's.
#![no_std]
#![no_main]
#![cfg_attr(feature = "baseline", allow(dead_code, unused_imports))]

use core::fmt::Write as _;
use core::hint::black_box;

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hio};
use panic_semihosting as _;
use rill_runtime::{DType, Model, Session};

#[path = "../embedded.rs"]
pub mod embedded;

use embedded::{crc32_update, models, Aligned, Entry};

static mut ARENA: Aligned<[u8; models::ARENA_BYTES]> = Aligned([0; models::ARENA_BYTES]);

/// Largest frame (one time step of the input) the application slices out of its input.
const MAX_FRAME: usize = 1024;

/// Which stage failed.
#[derive(Clone, Copy)]
enum Stage {
    Load = 1,
    Session = 2,
    Input = 3,
    Invoke = 4,
    Output = 5,
    Stream = 6,
    Step = 7,
}

fn run(entry: &Entry, arena: &mut [u8]) -> Result<(u32, Option<u32>), Stage> {
    // Opaque to the optimiser: LTO must not specialise the runtime on the constant model data.
    let bytes: &'static [u8] = black_box(entry.model);
    let input: &[i8] = bytemuck::cast_slice(black_box(entry.input));
    let model = Model::from_bytes(bytes).map_err(|_| Stage::Load)?;
    let mut session = Session::new(&model, arena).map_err(|_| Stage::Session)?;
    let info = model.input(0).map_err(|_| Stage::Input)?;
    if model.input_count() != 1 || info.dtype != DType::I8 {
        return Err(Stage::Input);
    }
    session.set_input_i8(0, input).map_err(|_| Stage::Input)?;
    session.invoke().map_err(|_| Stage::Invoke)?;
    let out = session.output_i8(0).map_err(|_| Stage::Output)?;
    let whole = !crc32_update(!0, bytemuck::cast_slice(out));
    if cfg!(feature = "whole-window") {
        return match model.stream() {
            Err(rill_runtime::Error::StreamNotCompiled) => Ok((whole, None)),
            _ => Err(Stage::Stream),
        };
    }

    // The same input, one time step at a time.
    let stream = model.stream().map_err(|_| Stage::Stream)?;
    let axis = stream.input_axes[0].ok_or(Stage::Stream)?;
    let dims = info.shape;
    let len = *dims.get(axis).ok_or(Stage::Stream)? as usize;
    let inner: usize = dims
        .get(axis + 1..)
        .ok_or(Stage::Stream)?
        .iter()
        .map(|&d| d as usize)
        .product();
    let outer: usize = dims
        .get(..axis)
        .ok_or(Stage::Stream)?
        .iter()
        .map(|&d| d as usize)
        .product();
    if outer * inner > MAX_FRAME {
        return Err(Stage::Stream);
    }
    session.reset().map_err(|_| Stage::Stream)?;
    let mut frame = [0i8; MAX_FRAME];
    let mut crc = !0u32;
    for t in 0..len {
        for o in 0..outer {
            let src = input
                .get((o * len + t) * inner..(o * len + t + 1) * inner)
                .ok_or(Stage::Input)?;
            let dst = frame
                .get_mut(o * inner..(o + 1) * inner)
                .ok_or(Stage::Input)?;
            dst.copy_from_slice(src);
        }
        let frame = frame.get(..outer * inner).ok_or(Stage::Stream)?;
        session
            .set_step_input_i8(0, frame)
            .map_err(|_| Stage::Step)?;
        session.invoke_step().map_err(|_| Stage::Step)?;
        let y = session.step_output_i8(0).map_err(|_| Stage::Step)?;
        crc = crc32_update(crc, bytemuck::cast_slice(y));
    }
    Ok((whole, Some(!crc)))
}

#[entry]
fn main() -> ! {
    let Ok(mut out) = hio::hstdout() else {
        debug::exit(debug::EXIT_FAILURE);
        halt()
    };
    // SAFETY: the only reference to ARENA, taken once here.
    let arena: &mut [u8] = unsafe { &mut (*core::ptr::addr_of_mut!(ARENA)).0 };
    let Some(entry) = models::MODELS.first() else {
        let _ = writeln!(out, "error=no model embedded");
        debug::exit(debug::EXIT_FAILURE);
        halt()
    };
    // The result is opaque in every build: all of the application's report lines (the CRCs with
    // or without the streamed one, or the failed stage's number) and its CRC routine stay in
    // each, so the difference from the baseline is the runtime's code alone.
    let result = if cfg!(feature = "baseline") {
        let crc = crc32_update(!0, black_box(&[]));
        black_box(Ok((crc, Some(crc))))
    } else {
        black_box(run(entry, arena))
    };
    match result {
        Ok((whole, stream)) => {
            let _ = write!(
                out,
                "model={} out_crc32={whole:08x} stream_crc32=",
                entry.name
            );
            let _ = match stream {
                Some(stream) => writeln!(out, "{stream:08x}"),
                None => writeln!(out, "none"),
            };
            debug::exit(debug::EXIT_SUCCESS);
        }
        Err(stage) => {
            let _ = writeln!(out, "model={} error_stage={}", entry.name, stage as u32);
            debug::exit(debug::EXIT_FAILURE);
        }
    }
    halt()
}

/// Only reached if the host ignored the semihosting exit; `mcu-run`'s timeout then ends QEMU.
fn halt() -> ! {
    loop {
        cortex_m::asm::wfi();
    }
}
