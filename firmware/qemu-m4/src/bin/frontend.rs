//! The `rill-dsp` MFCC front end on a Cortex-M4F (QEMU `mps2-an386`): streams the whole of
//! `models/kws_dscnn/demo.wav` through `Frontend::push`, compares every feature with the numpy reference
//! `tests/data/frontend/demo_mfcc.npy` (both embedded in flash), and prints over semihosting
//!
//! ```text
//! frontend frames=<n> max_abs_err=<x> mean_abs_err=<x> fnv=<hash> new_insns=<n> insns_per_frame=<n>
//! ```
//!
//! `fnv` is the FNV-1a hash of the little-endian Q16 feature bytes, for comparing with the host
//! (`tools/mcu-frontend.sh`). Instructions are counted as in `main.rs` (timer 0 under `-icount
//! shift=0`, ±40 per reading); `insns_per_frame` includes the sample pushes. Exit status 1 when the error
//! exceeds the host test's bounds (1e-4 max, 1.5e-5 mean) or the inputs cannot be parsed.
#![no_std]
#![no_main]

use core::fmt::Write as _;
use core::hint::black_box;

#[path = "../icount.rs"]
mod icount;

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hio};
use icount::{insns, timer_now, timer_start};
use panic_semihosting as _;
use rill_dsp::{mfcc_to_f32, Frontend, FrontendConfig};

static WAV: &[u8] = include_bytes!("../../../../models/kws_dscnn/demo.wav");
static NPY: &[u8] = include_bytes!("../../../../tests/data/frontend/demo_mfcc.npy");

fn halt() -> ! {
    loop {
        cortex_m::asm::wfi();
    }
}

/// The PCM16 bytes of the first `data` chunk of a RIFF/WAVE file.
fn wav_data(b: &[u8]) -> Option<&[u8]> {
    if b.get(0..4)? != b"RIFF" || b.get(8..12)? != b"WAVE" {
        return None;
    }
    let mut pos = 12;
    loop {
        let id = b.get(pos..pos + 4)?;
        let len = u32::from_le_bytes(b.get(pos + 4..pos + 8)?.try_into().ok()?) as usize;
        let body = b.get(pos + 8..pos + 8 + len)?;
        if id == b"data" {
            return Some(body);
        }
        pos += 8 + len + (len & 1);
    }
}

/// The little-endian f32 payload of a version 1 `.npy` file.
fn npy_data(b: &[u8]) -> Option<&[u8]> {
    if b.get(0..6)? != b"\x93NUMPY" || *b.get(6)? != 1 {
        return None;
    }
    let hlen = u16::from_le_bytes(b.get(8..10)?.try_into().ok()?) as usize;
    b.get(10 + hlen..)
}

#[entry]
fn main() -> ! {
    let mut out = hio::hstdout().unwrap_or_else(|_| {
        debug::exit(debug::EXIT_FAILURE);
        halt()
    });
    let (Some(pcm), Some(reference)) = (wav_data(WAV), npy_data(NPY)) else {
        let _ = writeln!(out, "frontend error=cannot parse demo.wav or demo_mfcc.npy");
        debug::exit(debug::EXIT_FAILURE);
        halt()
    };
    timer_start();

    let t0 = timer_now();
    let fe = Frontend::new(black_box(FrontendConfig::KWS));
    let t1 = timer_now();
    let Ok(mut fe) = fe else {
        let _ = writeln!(out, "frontend error=Frontend::new failed");
        debug::exit(debug::EXIT_FAILURE);
        halt()
    };
    let new_insns = insns(t0, t1);

    let mut want = reference
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]));
    let (mut frames, mut count, mut max, mut sum) = (0u64, 0u32, 0f32, 0f32);
    let mut fnv: u64 = 0xcbf2_9ce4_8422_2325;
    let mut frame_insns = 0u64;
    let mut missing = false;
    // Chunks of one hop, as an audio driver would deliver them.
    let samples = pcm
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]));
    let mut chunk = [0i16; 320];
    let mut n = 0;
    let mut feed = |fe: &mut Frontend, chunk: &[i16]| {
        let t0 = timer_now();
        let mut got = [0i32; 10];
        let mut emitted = 0;
        fe.push(black_box(chunk), |f| {
            got.copy_from_slice(f);
            emitted += 1;
        });
        let t1 = timer_now();
        frame_insns += insns(t0, t1);
        if emitted == 1 {
            frames += 1;
            for v in got {
                for b in v.to_le_bytes() {
                    fnv = (fnv ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
                }
                match want.next() {
                    Some(w) => {
                        let e = (mfcc_to_f32(v) - w).abs();
                        max = max.max(e);
                        sum += e;
                        count += 1;
                    }
                    None => missing = true,
                }
            }
        }
    };
    for s in samples {
        chunk[n] = s;
        n += 1;
        if n == chunk.len() {
            feed(&mut fe, &chunk);
            n = 0;
        }
    }
    feed(&mut fe, &chunk[..n]);
    let mean = sum / count.max(1) as f32;
    let per_frame = frame_insns / frames.max(1);
    let _ = writeln!(
        out,
        "frontend frames={frames} max_abs_err={max:.2e} mean_abs_err={mean:.2e} fnv={fnv:016x} \
         new_insns={new_insns} insns_per_frame={per_frame}"
    );
    let ok = !missing && want.next().is_none() && max <= 1e-4 && mean <= 1.5e-5;
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    halt()
}
