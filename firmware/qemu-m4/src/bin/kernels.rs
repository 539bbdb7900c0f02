//! Instructions per MAC of the portable fixed-point kernels (`rill-kernels`) on a Cortex-M4F (QEMU
//! `mps2-an386`): runs each kernel once on synthetic deterministic data and prints, over semihosting,
//!
//! ```text
//! kernel=<name> macs=<n> insns=<n> per_mac=<x.xx>
//! ```
//!
//! Instructions are counted as in `main.rs`: under `-icount shift=0` the CMSDK APB timer 0 ticks
//! once per 40 instructions, each reading good to ±40. Exit status 0 when every kernel ran, 1 on
//! the first error (printed as `kernel=<name> error=<message>`). `tools/mcu-kernels.sh` builds, runs
//! and tabulates it.
#![no_std]
#![no_main]

use core::fmt::Write as _;
use core::hint::black_box;
use core::ptr::addr_of_mut;

#[path = "../icount.rs"]
mod icount;

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hio};
use icount::{insns, timer_now, timer_start};
use panic_semihosting as _;
use rill_format::{ActKind, ActParams, CellKind, ConvParams, DenseParams, Direction, RnnParams};
use rill_kernels::conv::fixed::conv;
use rill_kernels::dense::fixed::dense;
use rill_kernels::fixed::{requant_acc, OutQ, QAct, QMul};
use rill_kernels::rnn::fixed::{rnn, scratch_len_fixed, RnnFixedInputs, RnnFixedOutputs, RnnQ};
use rill_kernels::KernelError;

// Shapes.
const FC_K: usize = 256;
const FC_N: usize = 256;
const PW_PX: usize = 7 * 7;
const PW_C: usize = 64;
const DW_H: usize = 25;
const DW_W: usize = 5;
const DW_C: usize = 64;
const SEQ: usize = 49;
const IN: usize = 40;
const HID: usize = 64;
const ROWS: usize = 4 * HID;
/// `(G + 3) * H` for an LSTM, checked against `scratch_len_fixed` at run time.
const SCRATCH: usize = (4 + 3) * HID;

/// Everything the kernels read and write, filled at run time (no heap, nothing in flash).
struct Data {
    fc_x: [i8; FC_K],
    fc_w: [i8; FC_N * FC_K],
    fc_y: [i8; FC_N],
    pw_x: [i8; PW_C * PW_PX],
    pw_w: [i8; PW_C * PW_C],
    pw_y: [i8; PW_C * PW_PX],
    dw_x: [i8; DW_C * DW_H * DW_W],
    dw_w: [i8; DW_C * 9],
    dw_y: [i8; DW_C * DW_H * DW_W],
    bias: [i32; FC_N],
    muls: [QMul; FC_N],
    lstm_w: [i8; ROWS * IN],
    lstm_r: [i8; ROWS * HID],
    lstm_x8: [i8; SEQ * IN],
    lstm_y8: [i8; SEQ * HID],
    lstm_x16: [i16; SEQ * IN],
    lstm_y16: [i16; SEQ * HID],
    scratch: [i32; SCRATCH],
}

static mut DATA: Data = Data {
    fc_x: [0; FC_K],
    fc_w: [0; FC_N * FC_K],
    fc_y: [0; FC_N],
    pw_x: [0; PW_C * PW_PX],
    pw_w: [0; PW_C * PW_C],
    pw_y: [0; PW_C * PW_PX],
    dw_x: [0; DW_C * DW_H * DW_W],
    dw_w: [0; DW_C * 9],
    dw_y: [0; DW_C * DW_H * DW_W],
    bias: [0; FC_N],
    muls: [QMul { m0: 0, shift: 0 }; FC_N],
    lstm_w: [0; ROWS * IN],
    lstm_r: [0; ROWS * HID],
    lstm_x8: [0; SEQ * IN],
    lstm_y8: [0; SEQ * HID],
    lstm_x16: [0; SEQ * IN],
    lstm_y16: [0; SEQ * HID],
    scratch: [0; SCRATCH],
};

/// A small LCG (Numerical Recipes constants); `next` gives values in `[-range, range]`.
struct Lcg(u32);

impl Lcg {
    fn next(&mut self, range: i32) -> i32 {
        self.0 = self.0.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        ((self.0 >> 8) % (2 * range as u32 + 1)) as i32 - range
    }
    fn fill_i8(&mut self, v: &mut [i8], range: i32) {
        v.iter_mut().for_each(|e| *e = self.next(range) as i8);
    }
    fn fill_i16(&mut self, v: &mut [i16], range: i32) {
        v.iter_mut().for_each(|e| *e = self.next(range) as i16);
    }
}

fn fill(d: &mut Data) {
    let mut g = Lcg(0x5EED_1234);
    g.fill_i8(&mut d.fc_x, 127);
    g.fill_i8(&mut d.fc_w, 127);
    g.fill_i8(&mut d.pw_x, 127);
    g.fill_i8(&mut d.pw_w, 127);
    g.fill_i8(&mut d.dw_x, 127);
    g.fill_i8(&mut d.dw_w, 127);
    g.fill_i8(&mut d.lstm_w, 127);
    g.fill_i8(&mut d.lstm_r, 127);
    g.fill_i8(&mut d.lstm_x8, 127);
    g.fill_i16(&mut d.lstm_x16, 32767);
    d.bias.iter_mut().for_each(|b| *b = g.next(1000));
    d.muls.fill(QMul {
        m0: 1 << 30,
        shift: -6,
    });
}

fn lstm_params() -> RnnParams {
    let (sig, tanh) = (
        ActParams::new(ActKind::Sigmoid, 0.0, 0.0),
        ActParams::new(ActKind::Tanh, 0.0, 0.0),
    );
    RnnParams {
        cell: CellKind::Lstm as u32,
        direction: Direction::Forward as u32,
        seq_len: SEQ as u32,
        batch: 1,
        input_size: IN as u32,
        hidden: HID as u32,
        layout: 0,
        linear_before_reset: 0,
        input_forget: 0,
        clip: 0.0,
        // ONNX defaults f, g, h = sigmoid, tanh, tanh; the reverse slot is unused.
        acts: [sig, tanh, tanh, sig, tanh, tanh],
    }
}

#[inline(never)]
fn run_fc(d: &mut Data) -> Result<(), KernelError> {
    let p = DenseParams {
        m: 1,
        k: FC_K as u32,
        n: FC_N as u32,
        act: ActParams::IDENTITY,
    };
    dense::<i8, i8>(
        black_box(&p),
        &d.fc_x,
        &d.fc_w,
        &d.bias,
        &d.muls,
        OutQ::plain::<i8>(-3),
        &mut d.fc_y,
    )
}

fn conv_params(c: usize, h: usize, w: usize, k: usize, groups: usize) -> ConvParams {
    ConvParams {
        batch: 1,
        c_in: c as u32,
        in_h: h as u32,
        in_w: w as u32,
        c_out: c as u32,
        out_h: h as u32,
        out_w: w as u32,
        k_h: k as u32,
        k_w: k as u32,
        stride_h: 1,
        stride_w: 1,
        dil_h: 1,
        dil_w: 1,
        pad_top: (k / 2) as u32,
        pad_left: (k / 2) as u32,
        groups: groups as u32,
        act: ActParams::IDENTITY,
    }
}

#[inline(never)]
fn run_pw(d: &mut Data) -> Result<(), KernelError> {
    let p = conv_params(PW_C, 7, 7, 1, 1);
    conv::<i8, i8>(
        black_box(&p),
        &d.pw_x,
        -5,
        &d.pw_w,
        &d.bias[..PW_C],
        &d.muls[..PW_C],
        OutQ::plain::<i8>(-3),
        &mut d.pw_y,
    )
}

#[inline(never)]
fn run_dw(d: &mut Data) -> Result<(), KernelError> {
    let p = conv_params(DW_C, DW_H, DW_W, 3, DW_C);
    conv::<i8, i8>(
        black_box(&p),
        &d.dw_x,
        -5,
        &d.dw_w,
        &d.bias[..DW_C],
        &d.muls[..DW_C],
        OutQ::plain::<i8>(-3),
        &mut d.dw_y,
    )
}

#[inline(never)]
fn run_lstm<T: QAct>(
    x: &[T],
    y: &mut [T],
    w: &[i8],
    r: &[i8],
    bias: &[i32],
    muls: &[QMul],
    scratch: &mut [i32],
) -> Result<(), KernelError> {
    let p = lstm_params();
    if scratch_len_fixed(&p)? > scratch.len() {
        return Err(KernelError::BadParam {
            what: "kernels.rs: SCRATCH is too small",
        });
    }
    let q = RnnQ {
        z_x: 0,
        z_h: 0,
        w_bias: bias,
        r_bias: bias,
        w_mul: muls,
        r_mul: muls,
        h_mul: QMul {
            m0: 1 << 30,
            shift: if T::WIDE { -15 } else { -23 },
        },
        h_to_q15: QMul {
            m0: 1 << 30,
            shift: 0,
        },
        cell_k: 4,
        clip_q12: 0,
    };
    rnn::<T, i8>(
        black_box(&p),
        &q,
        RnnFixedInputs {
            x,
            w,
            r,
            initial_h: None,
            initial_c: None,
        },
        RnnFixedOutputs {
            y: Some(y),
            y_h: None,
            y_c: None,
        },
        scratch,
    )
}

/// Buffers of the edge-shape checks: small layers whose row, pixel and channel counts are not
/// multiples of the DSP loops' blocks, checked against direct formulas.
struct Check {
    x: [i8; 512],
    w: [i8; 4096],
    y: [i8; 512],
    bias: [i32; 80],
    muls: [QMul; 80],
}

static mut CHECK: Check = Check {
    x: [0; 512],
    w: [0; 4096],
    y: [0; 512],
    bias: [0; 80],
    muls: [QMul { m0: 0, shift: 0 }; 80],
};

/// `out(requant(bias + acc))` as the kernels define it.
fn code(acc: i64, b: i32, m: QMul, out: OutQ) -> i8 {
    out.apply::<i8>(requant_acc::<i8>(b as i64 + acc, m))
}

/// Dense, pointwise and depthwise layers of awkward shapes (rows past the last quad and block,
/// pixels past the last four, channels not in whole groups of eight), multipliers of both
/// requantization forms, zero points and fused clamps at the extremes, against direct formulas:
/// the DSP loops must give the portable reference's bits. `Err(name)` of the first mismatch.
fn check_edges(c: &mut Check) -> Result<(), &'static str> {
    let mut g = Lcg(0xC0FF_EE11);
    let outs = [
        OutQ::plain::<i8>(-3),
        OutQ::plain::<i8>(127),
        OutQ::plain::<i8>(-128),
        OutQ {
            z: -128,
            lo: -128,
            hi: 127,
        },
        OutQ {
            z: 5,
            lo: 5,
            hi: 60,
        },
    ];
    for round in 0..4 {
        let range = if round == 0 { 127 } else { 128 };
        g.fill_i8(&mut c.x, range);
        g.fill_i8(&mut c.w, range);
        if round == 1 {
            c.x.fill(-128);
        }
        for (j, (b, m)) in c.bias.iter_mut().zip(c.muls.iter_mut()).enumerate() {
            *b = g.next(1 << 16);
            // Mostly the usual small multipliers, some at or above 1/2 (the general form).
            *m = match j % 7 {
                0 => QMul {
                    m0: 1 << 30,
                    shift: 0,
                },
                1 => QMul {
                    m0: i32::MAX,
                    shift: -1,
                },
                _ => QMul {
                    m0: (1 << 30) + g.next(1 << 29),
                    shift: -6 - (j as i32 % 9),
                },
            };
        }
        let out = outs[round % outs.len()];
        // Dense: (k, n).
        for (k, n) in [(40, 37), (256, 13), (24, 5), (8, 70), (13, 9)] {
            let p = DenseParams {
                m: 1,
                k: k as u32,
                n: n as u32,
                act: ActParams::IDENTITY,
            };
            let (x, w) = (&c.x[..k], &c.w[..n * k]);
            dense::<i8, i8>(&p, x, w, &c.bias[..n], &c.muls[..n], out, &mut c.y[..n])
                .map_err(|_| "dense edge: error")?;
            for j in 0..n {
                let acc: i64 = (0..k).map(|i| x[i] as i64 * w[j * k + i] as i64).sum();
                if c.y[j] != code(acc, c.bias[j], c.muls[j], out) {
                    return Err("dense edge: DSP != reference");
                }
            }
        }
        // Pointwise: (c_in, c_out, h, w).
        for (ci, co, h, wd) in [
            (16, 19, 5, 3),
            (24, 17, 3, 3),
            (8, 33, 2, 7),
            (12, 6, 3, 3),
            (64, 5, 1, 6),
        ] {
            let plane = h * wd;
            let p = ConvParams {
                c_in: ci as u32,
                c_out: co as u32,
                in_h: h as u32,
                in_w: wd as u32,
                out_h: h as u32,
                out_w: wd as u32,
                ..conv_params(ci, h, wd, 1, 1)
            };
            let (x, w) = (&c.x[..ci * plane], &c.w[..co * ci]);
            conv::<i8, i8>(
                &p,
                x,
                -7,
                w,
                &c.bias[..co],
                &c.muls[..co],
                out,
                &mut c.y[..co * plane],
            )
            .map_err(|_| "pointwise edge: error")?;
            for o in 0..co {
                for px in 0..plane {
                    let acc: i64 = (0..ci)
                        .map(|i| x[i * plane + px] as i64 * w[o * ci + i] as i64)
                        .sum();
                    if c.y[o * plane + px] != code(acc, c.bias[o], c.muls[o], out) {
                        return Err("pointwise edge: DSP != reference");
                    }
                }
            }
        }
        // Depthwise 3x3, padding 1: (channels, h, w), padding taps read the zero point.
        for (ch, h, wd, z) in [(3, 6, 7, -128), (2, 9, 1, 127), (4, 4, 20, 0)] {
            let plane = h * wd;
            let p = conv_params(ch, h, wd, 3, ch);
            let (x, w) = (&c.x[..ch * plane], &c.w[..ch * 9]);
            conv::<i8, i8>(
                &p,
                x,
                z,
                w,
                &c.bias[..ch],
                &c.muls[..ch],
                out,
                &mut c.y[..ch * plane],
            )
            .map_err(|_| "depthwise edge: error")?;
            for o in 0..ch {
                for (oh, ow) in (0..h).flat_map(|oh| (0..wd).map(move |ow| (oh, ow))) {
                    let mut acc = 0i64;
                    for (kh, kw) in (0..3).flat_map(|kh| (0..3).map(move |kw| (kh, kw))) {
                        let (ih, iw) = (oh as i64 + kh as i64 - 1, ow as i64 + kw as i64 - 1);
                        let inside = (0..h as i64).contains(&ih) && (0..wd as i64).contains(&iw);
                        let v = if inside {
                            x[o * plane + ih as usize * wd + iw as usize] as i64
                        } else {
                            z as i64
                        };
                        acc += v * w[o * 9 + kh * 3 + kw] as i64;
                    }
                    if c.y[o * plane + oh * wd + ow] != code(acc, c.bias[o], c.muls[o], out) {
                        return Err("depthwise edge: DSP != reference");
                    }
                }
            }
        }
    }
    Ok(())
}

fn report(
    out: &mut hio::HostStream,
    name: &str,
    macs: u64,
    f: impl FnOnce() -> Result<(), KernelError>,
) -> bool {
    let t0 = timer_now();
    let r = f();
    let t1 = timer_now();
    match r {
        Ok(()) => {
            let n = insns(t0, t1);
            let centi = (n * 100 + macs / 2) / macs;
            let _ = writeln!(
                out,
                "kernel={name} macs={macs} insns={n} per_mac={}.{:02}",
                centi / 100,
                centi % 100
            );
            true
        }
        Err(e) => {
            let _ = writeln!(out, "kernel={name} error={e}");
            false
        }
    }
}

#[entry]
fn main() -> ! {
    let mut out = hio::hstdout().unwrap_or_else(|_| {
        debug::exit(debug::EXIT_FAILURE);
        halt()
    });
    timer_start();
    // SAFETY: the only reference to DATA, taken once here.
    let d: &mut Data = unsafe { &mut *addr_of_mut!(DATA) };
    fill(d);
    let d = black_box(d);

    let fc_macs = (FC_K * FC_N) as u64;
    let pw_macs = (PW_PX * PW_C * PW_C) as u64;
    let dw_macs = (DW_H * DW_W * DW_C * 9) as u64;
    let lstm_macs = (SEQ * ROWS * (IN + HID)) as u64;
    let mut ok = true;
    ok &= report(&mut out, "fc_s8_256x256", fc_macs, || run_fc(d));
    ok &= report(&mut out, "conv1x1_s8_7x7_64to64", pw_macs, || run_pw(d));
    ok &= report(&mut out, "dwconv3x3_s8_25x5_64ch", dw_macs, || run_dw(d));
    ok &= report(&mut out, "lstm_s8_49x40x64", lstm_macs, || {
        run_lstm::<i8>(
            &d.lstm_x8,
            &mut d.lstm_y8,
            &d.lstm_w,
            &d.lstm_r,
            &d.bias,
            &d.muls,
            &mut d.scratch,
        )
    });
    ok &= report(&mut out, "lstm_s16_49x40x64", lstm_macs, || {
        run_lstm::<i16>(
            &d.lstm_x16,
            &mut d.lstm_y16,
            &d.lstm_w,
            &d.lstm_r,
            &d.bias,
            &d.muls,
            &mut d.scratch,
        )
    });
    // SAFETY: the only reference to CHECK, taken once here.
    let c: &mut Check = unsafe { &mut *addr_of_mut!(CHECK) };
    if let Err(what) = check_edges(black_box(c)) {
        let _ = writeln!(out, "kernel=edges error={what}");
        ok = false;
    }
    black_box(&d.fc_y);
    black_box(&d.pw_y);
    black_box(&d.dw_y);
    black_box(&d.lstm_y8);
    black_box(&d.lstm_y16);
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    halt()
}

/// Only reached if the host ignored the semihosting exit; `mcu-run`'s timeout then ends QEMU.
fn halt() -> ! {
    loop {
        cortex_m::asm::wfi();
    }
}
