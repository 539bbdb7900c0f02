use libm::{expf, tanhf};
use rill_format::{ActKind, ActParams, RnnParams};
use std::vec;
use std::vec::Vec;

use super::float::{gru_step, lstm_step, rnn, rnn_step};
use super::*;
use crate::testutil::{assert_close, prod, Rng};

const SIG: ActParams = ActParams::new(ActKind::Sigmoid, 0.0, 0.0);
const TANH: ActParams = ActParams::new(ActKind::Tanh, 0.0, 0.0);

fn sig(x: f32) -> f32 {
    1.0 / (1.0 + expf(-x))
}

/// A layer with ONNX's default activations for its cell.
fn params(cell: u32, direction: u32, seq: u32, batch: u32, input: u32, hidden: u32) -> RnnParams {
    let fgh = match cell {
        0 => [TANH, TANH, TANH],
        _ => [SIG, TANH, TANH],
    };
    RnnParams {
        cell,
        direction,
        seq_len: seq,
        batch,
        input_size: input,
        hidden,
        layout: 0,
        linear_before_reset: 0,
        input_forget: 0,
        clip: 0.0,
        acts: [fgh[0], fgh[1], fgh[2], fgh[0], fgh[1], fgh[2]],
    }
}

struct Case {
    p: RnnParams,
    x: Vec<f32>,
    w: Vec<f32>,
    r: Vec<f32>,
    b: Option<Vec<f32>>,
    h0: Option<Vec<f32>>,
    c0: Option<Vec<f32>>,
    pp: Option<Vec<f32>>,
}

struct Out {
    y: Vec<f32>,
    y_h: Vec<f32>,
    y_c: Vec<f32>,
}

impl Case {
    fn inputs(&self) -> RnnInputs<'_, f32> {
        RnnInputs {
            x: &self.x,
            w: &self.w,
            r: &self.r,
            b: self.b.as_deref(),
            initial_h: self.h0.as_deref(),
            initial_c: self.c0.as_deref(),
            p: self.pp.as_deref(),
        }
    }

    fn dirs(&self) -> usize {
        if self.p.direction == 2 {
            2
        } else {
            1
        }
    }

    /// Runs the kernel with every output requested.
    fn run(&self) -> Out {
        let p = &self.p;
        let (seq, batch, hidden) = (p.seq_len as usize, p.batch as usize, p.hidden as usize);
        let state = self.dirs() * batch * hidden;
        let mut out = Out {
            y: vec![f32::NAN; seq * state],
            y_h: vec![f32::NAN; state],
            y_c: vec![f32::NAN; state],
        };
        let mut scratch = vec![f32::NAN; scratch_len(p).unwrap()];
        let y_c = if p.cell == 2 {
            Some(&mut out.y_c[..])
        } else {
            None
        };
        let o = RnnOutputs {
            y: Some(&mut out.y),
            y_h: Some(&mut out.y_h),
            y_c,
        };
        rnn(p, self.inputs(), o, &mut scratch).unwrap();
        out
    }
}

/// A direct, time-major transcription of the ONNX formulas, keeping every state.
fn reference(c: &Case) -> Out {
    let p = &c.p;
    let (seq, batch, ni, nh) = (
        p.seq_len as usize,
        p.batch as usize,
        p.input_size as usize,
        p.hidden as usize,
    );
    let dirs = c.dirs();
    let g = [1, 3, 4][p.cell as usize];
    let gh = g * nh;
    let lay1 = p.layout == 1;
    let xv = |t: usize, b: usize, k: usize| {
        c.x[if lay1 {
            (b * seq + t) * ni + k
        } else {
            (t * batch + b) * ni + k
        }]
    };
    let yi = |t: usize, d: usize, b: usize, j: usize| {
        if lay1 {
            ((b * seq + t) * dirs + d) * nh + j
        } else {
            ((t * dirs + d) * batch + b) * nh + j
        }
    };
    let si = |d: usize, b: usize, j: usize| {
        if lay1 {
            (b * dirs + d) * nh + j
        } else {
            (d * batch + b) * nh + j
        }
    };
    let wv = |d: usize, row: usize, k: usize| c.w[(d * gh + row) * ni + k];
    let rv = |d: usize, row: usize, k: usize| c.r[(d * gh + row) * nh + k];
    let wb = |d: usize, row: usize| c.b.as_ref().map_or(0.0, |b| b[d * 2 * gh + row]);
    let rb = |d: usize, row: usize| c.b.as_ref().map_or(0.0, |b| b[d * 2 * gh + gh + row]);
    let pv =
        |d: usize, k: usize, j: usize| c.pp.as_ref().map_or(0.0, |pp| pp[d * 3 * nh + k * nh + j]);
    let clip = |v: f32| {
        if p.clip > 0.0 {
            v.max(-p.clip).min(p.clip)
        } else {
            v
        }
    };
    let act = |a: &ActParams, v: f32| match ActKind::from_u32(a.kind).unwrap() {
        ActKind::Sigmoid => sig(v),
        ActKind::Tanh => tanhf(v),
        ActKind::Relu => v.max(0.0),
        ActKind::LeakyRelu => {
            if v < 0.0 {
                a.alpha * v
            } else {
                v
            }
        }
        ActKind::HardSigmoid => (a.alpha * v + a.beta).clamp(0.0, 1.0),
        ActKind::Softsign => v / (1.0 + v.abs()),
        ActKind::Identity => v,
        k => panic!("reference lacks {k:?}"),
    };
    let mut out = Out {
        y: vec![0.0; seq * dirs * batch * nh],
        y_h: vec![0.0; dirs * batch * nh],
        y_c: vec![0.0; dirs * batch * nh],
    };
    for d in 0..dirs {
        let (f, gg, hh) = (&p.acts[3 * d], &p.acts[3 * d + 1], &p.acts[3 * d + 2]);
        let mut hs: Vec<Vec<f32>> = (0..batch)
            .map(|b| {
                (0..nh)
                    .map(|j| c.h0.as_ref().map_or(0.0, |h| h[si(d, b, j)]))
                    .collect()
            })
            .collect();
        let mut cs: Vec<Vec<f32>> = (0..batch)
            .map(|b| {
                (0..nh)
                    .map(|j| c.c0.as_ref().map_or(0.0, |h| h[si(d, b, j)]))
                    .collect()
            })
            .collect();
        let times: Vec<usize> = if p.direction == 1 || d == 1 {
            (0..seq).rev().collect()
        } else {
            (0..seq).collect()
        };
        for &t in &times {
            for b in 0..batch {
                let hp = hs[b].clone();
                let cp = cs[b].clone();
                let xpart = |row: usize| (0..ni).map(|k| wv(d, row, k) * xv(t, b, k)).sum::<f32>();
                let hpart = |row: usize| (0..nh).map(|k| rv(d, row, k) * hp[k]).sum::<f32>();
                let gate = |gi: usize, j: usize| {
                    xpart(gi * nh + j)
                        + hpart(gi * nh + j)
                        + wb(d, gi * nh + j)
                        + rb(d, gi * nh + j)
                };
                match p.cell {
                    0 => {
                        for j in 0..nh {
                            hs[b][j] = act(f, clip(gate(0, j)));
                        }
                    }
                    1 => {
                        let z: Vec<f32> = (0..nh).map(|j| act(f, clip(gate(0, j)))).collect();
                        let r: Vec<f32> = (0..nh).map(|j| act(f, clip(gate(1, j)))).collect();
                        for j in 0..nh {
                            let row = 2 * nh + j;
                            let pre = if p.linear_before_reset == 1 {
                                xpart(row) + wb(d, row) + r[j] * (hpart(row) + rb(d, row))
                            } else {
                                let rh: f32 = (0..nh).map(|k| rv(d, row, k) * (r[k] * hp[k])).sum();
                                xpart(row) + rh + rb(d, row) + wb(d, row)
                            };
                            let cand = act(gg, clip(pre));
                            hs[b][j] = (1.0 - z[j]) * cand + z[j] * hp[j];
                        }
                    }
                    _ => {
                        for j in 0..nh {
                            let i = act(f, clip(gate(0, j) + pv(d, 0, j) * cp[j]));
                            let fg = if p.input_forget == 1 {
                                1.0 - i
                            } else {
                                act(f, clip(gate(2, j) + pv(d, 2, j) * cp[j]))
                            };
                            let cc = act(gg, clip(gate(3, j)));
                            let cn = fg * cp[j] + i * cc;
                            let o = act(f, clip(gate(1, j) + pv(d, 1, j) * cn));
                            cs[b][j] = cn;
                            hs[b][j] = o * act(hh, cn);
                        }
                    }
                }
                for j in 0..nh {
                    out.y[yi(t, d, b, j)] = hs[b][j];
                }
            }
        }
        for b in 0..batch {
            for j in 0..nh {
                out.y_h[si(d, b, j)] = hs[b][j];
                out.y_c[si(d, b, j)] = cs[b][j];
            }
        }
    }
    out
}

#[test]
fn lstm_one_step_by_hand() {
    // I = H = 1. W, R rows in gate order i o f c; B = Wb then Rb; P = pi po pf.
    let case = |input_forget: u32, clip: f32| Case {
        p: RnnParams {
            input_forget,
            clip,
            ..params(2, 0, 1, 1, 1, 1)
        },
        x: vec![0.5],
        w: vec![0.1, 0.2, 0.3, 0.4],
        r: vec![0.5, 0.6, 0.7, 0.8],
        b: Some(vec![0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08]),
        h0: Some(vec![0.2]),
        c0: Some(vec![-0.3]),
        pp: Some(vec![0.1, 0.2, 0.3]),
    };
    let (x, h0, c0) = (0.5f32, 0.2f32, -0.3f32);
    let i = sig(0.1 * x + 0.5 * h0 + 0.1 * c0 + 0.01 + 0.05);
    let f = sig(0.3 * x + 0.7 * h0 + 0.3 * c0 + 0.03 + 0.07);
    let g = tanhf(0.4 * x + 0.8 * h0 + 0.04 + 0.08);
    let c = f * c0 + i * g;
    let o = sig(0.2 * x + 0.6 * h0 + 0.2 * c + 0.02 + 0.06);
    let h = o * tanhf(c);
    let out = case(0, 0.0).run();
    assert_close(&out.y, &[h], 1e-6);
    assert_close(&out.y_h, &[h], 1e-6);
    assert_close(&out.y_c, &[c], 1e-6);

    // input_forget: f = 1 - i
    let c = (1.0 - i) * c0 + i * g;
    let o = sig(0.2 * x + 0.6 * h0 + 0.2 * c + 0.02 + 0.06);
    let out = case(1, 0.0).run();
    assert_close(&out.y_c, &[c], 1e-6);
    assert_close(&out.y_h, &[o * tanhf(c)], 1e-6);

    // clip 0.1: every pre-activation above lies in (0.1, 0.5) except i's and f's, which are clipped too
    let cl = |v: f32| v.clamp(-0.1, 0.1);
    let i = sig(cl(0.1 * x + 0.5 * h0 + 0.1 * c0 + 0.01 + 0.05));
    let f = sig(cl(0.3 * x + 0.7 * h0 + 0.3 * c0 + 0.03 + 0.07));
    let g = tanhf(cl(0.4 * x + 0.8 * h0 + 0.04 + 0.08));
    let c = f * c0 + i * g;
    let o = sig(cl(0.2 * x + 0.6 * h0 + 0.2 * c + 0.02 + 0.06));
    let out = case(0, 0.1).run();
    assert_close(&out.y_c, &[c], 1e-6);
    assert_close(&out.y_h, &[o * tanhf(c)], 1e-6);
}

#[test]
fn gru_one_step_by_hand() {
    // I = 1, H = 2: W rows z0 z1 r0 r1 h0 h1; R rows likewise, two columns each.
    let case = |lbr: u32| Case {
        p: RnnParams {
            linear_before_reset: lbr,
            ..params(1, 0, 1, 1, 1, 2)
        },
        x: vec![0.7],
        w: vec![0.1, -0.2, 0.3, 0.4, -0.5, 0.6],
        r: vec![
            0.1, 0.2, 0.3, -0.1, -0.2, 0.1, 0.05, 0.3, 0.4, -0.3, 0.2, 0.1,
        ],
        b: Some(vec![
            0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.10, 0.11, 0.12,
        ]),
        h0: Some(vec![0.5, -0.4]),
        c0: None,
        pp: None,
    };
    let (x, h) = (0.7f32, [0.5f32, -0.4]);
    let z = [
        sig(0.1 * x + (0.1 * h[0] + 0.2 * h[1]) + 0.01 + 0.07),
        sig(-0.2 * x + (0.3 * h[0] - 0.1 * h[1]) + 0.02 + 0.08),
    ];
    let r = [
        sig(0.3 * x + (-0.2 * h[0] + 0.1 * h[1]) + 0.03 + 0.09),
        sig(0.4 * x + (0.05 * h[0] + 0.3 * h[1]) + 0.04 + 0.10),
    ];
    // linear_before_reset = 0: the reset gate scales h before R_h
    let rh = [r[0] * h[0], r[1] * h[1]];
    let c0 = [
        tanhf(-0.5 * x + (0.4 * rh[0] - 0.3 * rh[1]) + 0.11 + 0.05),
        tanhf(0.6 * x + (0.2 * rh[0] + 0.1 * rh[1]) + 0.12 + 0.06),
    ];
    let want0 = [
        (1.0 - z[0]) * c0[0] + z[0] * h[0],
        (1.0 - z[1]) * c0[1] + z[1] * h[1],
    ];
    // linear_before_reset = 1: it scales R_h h + Rb_h
    let c1 = [
        tanhf(-0.5 * x + 0.05 + r[0] * (0.4 * h[0] - 0.3 * h[1] + 0.11)),
        tanhf(0.6 * x + 0.06 + r[1] * (0.2 * h[0] + 0.1 * h[1] + 0.12)),
    ];
    let want1 = [
        (1.0 - z[0]) * c1[0] + z[0] * h[0],
        (1.0 - z[1]) * c1[1] + z[1] * h[1],
    ];
    let out = case(0).run();
    assert_close(&out.y, &want0, 1e-6);
    assert_close(&out.y_h, &want0, 1e-6);
    let out = case(1).run();
    assert_close(&out.y, &want1, 1e-6);
    assert_ne!(want0, want1);
}

#[test]
fn rnn_one_step_by_hand() {
    // I = H = 2, no initial state: h = tanh(W x + Wb + Rb)
    let c = Case {
        p: params(0, 0, 1, 1, 2, 2),
        x: vec![1.0, -2.0],
        w: vec![0.5, 0.25, -1.0, 0.125],
        r: vec![9.0, 9.0, 9.0, 9.0], // multiplies the zero initial state
        b: Some(vec![0.1, 0.2, 0.3, 0.4]),
        h0: None,
        c0: None,
        pp: None,
    };
    let want = [tanhf(0.5 - 0.5 + 0.1 + 0.3), tanhf(-1.0 - 0.25 + 0.2 + 0.4)];
    assert_close(&c.run().y, &want, 1e-6);
    // two steps, reverse: step t=1 first from h = 0, then t=0 from that state
    let c = Case {
        p: RnnParams {
            seq_len: 2,
            direction: 1,
            ..c.p
        },
        x: vec![1.0, -2.0, 0.0, 0.0],
        r: vec![0.5, 0.0, 0.0, -0.5],
        ..c
    };
    let h1 = [tanhf(0.1 + 0.3), tanhf(0.2 + 0.4)];
    let h0 = [
        tanhf(0.5 - 0.5 + 0.5 * h1[0] + 0.4),
        tanhf(-1.0 - 0.25 - 0.5 * h1[1] + 0.6),
    ];
    let out = c.run();
    assert_close(&out.y, &[h0[0], h0[1], h1[0], h1[1]], 1e-6);
    assert_close(&out.y_h, &h0, 1e-6);
}

fn random_case(rng: &mut Rng, cell: u32, direction: u32, layout: u32) -> Case {
    let (seq, batch, input, hidden) = (
        rng.below(4) as u32,
        1 + rng.below(3) as u32,
        1 + rng.below(3) as u32,
        1 + rng.below(3) as u32,
    );
    let mut p = RnnParams {
        layout,
        ..params(cell, direction, seq, batch, input, hidden)
    };
    if rng.chance(3) {
        p.clip = 0.3;
    }
    p.linear_before_reset = (cell == 1 && rng.chance(2)) as u32;
    p.input_forget = (cell == 2 && rng.chance(3)) as u32;
    let others = [
        ActParams::new(ActKind::HardSigmoid, 0.2, 0.5),
        ActParams::new(ActKind::LeakyRelu, 0.1, 0.0),
        ActParams::new(ActKind::Relu, 0.0, 0.0),
        ActParams::new(ActKind::Softsign, 0.0, 0.0),
    ];
    for a in p.acts.iter_mut() {
        if rng.chance(4) {
            *a = others[rng.below(4) as usize];
        }
    }
    let dirs = if direction == 2 { 2 } else { 1 };
    let (g, nh) = ([1, 3, 4][cell as usize], hidden as usize);
    let state = dirs * batch as usize * nh;
    let mut opt = |n: usize| {
        if rng.chance(3) {
            None
        } else {
            Some(rng.vec(n))
        }
    };
    let b = opt(dirs * 2 * g * nh);
    let h0 = opt(state);
    let c0 = if cell == 2 { opt(state) } else { None };
    let pp = if cell == 2 { opt(dirs * 3 * nh) } else { None };
    Case {
        x: rng.vec((seq * batch * input) as usize),
        w: rng.vec(dirs * g * nh * input as usize),
        r: rng.vec(dirs * g * nh * nh),
        b,
        h0,
        c0,
        pp,
        p,
    }
}

#[test]
fn every_cell_direction_and_layout_against_reference() {
    let mut rng = Rng::new(11);
    for cell in 0..3 {
        for direction in 0..3 {
            for layout in 0..2 {
                for _ in 0..15 {
                    let c = random_case(&mut rng, cell, direction, layout);
                    let (got, want) = (c.run(), reference(&c));
                    assert_close(&got.y, &want.y, 2e-6);
                    assert_close(&got.y_h, &want.y_h, 2e-6);
                    if cell == 2 {
                        assert_close(&got.y_c, &want.y_c, 2e-6);
                    }
                }
            }
        }
    }
}

/// f16-stored W and R: the reference transcription run on the same weights rounded to f16 and
/// widened back (exactly), so the two may differ only by summation rounding.
#[test]
fn f16_weights_equal_the_reference_on_f16_rounded_weights() {
    let mut rng = Rng::new(21);
    for cell in 0..3 {
        for direction in 0..3 {
            for _ in 0..10 {
                let mut c = random_case(&mut rng, cell, direction, 0);
                let w16: Vec<half::f16> = c.w.iter().map(|&v| half::f16::from_f32(v)).collect();
                let r16: Vec<half::f16> = c.r.iter().map(|&v| half::f16::from_f32(v)).collect();
                c.w = w16.iter().map(|v| v.to_f32()).collect();
                c.r = r16.iter().map(|v| v.to_f32()).collect();
                let want = reference(&c);
                let p = &c.p;
                let state = c.dirs() * p.batch as usize * p.hidden as usize;
                let mut y = vec![f32::NAN; p.seq_len as usize * state];
                let mut y_h = vec![f32::NAN; state];
                let mut scratch = vec![f32::NAN; scratch_len(p).unwrap()];
                let i = RnnInputs {
                    x: &c.x,
                    w: &w16[..],
                    r: &r16[..],
                    b: c.b.as_deref(),
                    initial_h: c.h0.as_deref(),
                    initial_c: c.c0.as_deref(),
                    p: c.pp.as_deref(),
                };
                let o = RnnOutputs {
                    y: Some(&mut y),
                    y_h: Some(&mut y_h),
                    y_c: None,
                };
                rnn(p, i, o, &mut scratch).unwrap();
                assert_close(&y, &want.y, 2e-6);
                assert_close(&y_h, &want.y_h, 2e-6);
            }
        }
    }
}

/// A layer whose cell kind is not in the compiled set is an error naming that, not a silent no-op.
#[test]
fn a_cell_kind_outside_the_compiled_set_is_refused() {
    let mut rng = Rng::new(22);
    let c = random_case(&mut rng, 1, 0, 0); // GRU
    let p = &c.p;
    let state = c.dirs() * p.batch as usize * p.hidden as usize;
    let mut y_h = vec![0.0; state];
    let mut scratch = vec![0.0; scratch_len(p).unwrap()];
    let o = RnnOutputs {
        y: None,
        y_h: Some(&mut y_h),
        y_c: None,
    };
    let r = super::float::rnn_cells::<f32, { cells::LSTM | cells::RNN }>(
        p,
        c.inputs(),
        o,
        &mut scratch,
    );
    assert!(
        matches!(r, Err(KernelError::BadParam { what }) if what.contains("not compiled")),
        "{r:?}"
    );
    let o = RnnOutputs {
        y: None,
        y_h: Some(&mut y_h),
        y_c: None,
    };
    let r = super::float::rnn_cells::<f32, { cells::GRU }>(p, c.inputs(), o, &mut scratch);
    assert_eq!(r, Ok(()));
}

#[test]
fn outputs_are_independent() {
    let mut rng = Rng::new(12);
    let c = random_case(&mut rng, 2, 2, 1);
    let full = c.run();
    let mut scratch = vec![0.0; scratch_len(&c.p).unwrap()];
    let mut y_h = vec![0.0; full.y_h.len()];
    let o = RnnOutputs {
        y: None,
        y_h: Some(&mut y_h),
        y_c: None,
    };
    rnn(&c.p, c.inputs(), o, &mut scratch).unwrap();
    assert_eq!(y_h, full.y_h);
    let mut y_c = vec![0.0; full.y_c.len()];
    let o = RnnOutputs {
        y: None,
        y_h: None,
        y_c: Some(&mut y_c),
    };
    rnn(&c.p, c.inputs(), o, &mut scratch).unwrap();
    assert_eq!(y_c, full.y_c);
    let o = RnnOutputs {
        y: None,
        y_h: None,
        y_c: None,
    };
    assert!(rnn(&c.p, c.inputs(), o, &mut scratch).is_ok());
}

#[test]
fn steps_reproduce_the_layer() {
    let mut rng = Rng::new(13);
    for cell in 0..3 {
        let mut c = random_case(&mut rng, cell, 2, 0);
        c.p.batch = 1;
        c.p.seq_len = 3;
        c.x = rng.vec(3 * c.p.input_size as usize);
        c.h0 = c.h0.map(|h| h[..2 * c.p.hidden as usize].to_vec());
        c.c0 = c.c0.map(|h| h[..2 * c.p.hidden as usize].to_vec());
        let full = c.run();
        let (ni, nh) = (c.p.input_size as usize, c.p.hidden as usize);
        let mut gates = vec![0.0; 4 * nh];
        for slot in 0..2 {
            let wts = CellWeights::of(&c.p, &c.inputs(), slot).unwrap();
            let mut h =
                c.h0.as_ref()
                    .map_or(vec![0.0; nh], |h| h[slot * nh..][..nh].to_vec());
            let mut cs =
                c.c0.as_ref()
                    .map_or(vec![0.0; nh], |h| h[slot * nh..][..nh].to_vec());
            let times: Vec<usize> = if slot == 0 {
                vec![0, 1, 2]
            } else {
                vec![2, 1, 0]
            };
            for t in times {
                let x = &c.x[t * ni..][..ni];
                match cell {
                    0 => rnn_step(&c.p, slot, &wts, x, &mut h, &mut gates).unwrap(),
                    1 => gru_step(&c.p, slot, &wts, x, &mut h, &mut gates).unwrap(),
                    _ => lstm_step(&c.p, slot, &wts, x, &mut h, &mut cs, &mut gates).unwrap(),
                }
                assert_eq!(
                    h,
                    full.y[(t * 2 + slot) * nh..][..nh],
                    "cell {cell} slot {slot} t {t}"
                );
            }
        }
    }
}

#[test]
fn scratch_sizes() {
    assert_eq!(scratch_len(&params(0, 0, 1, 1, 1, 5)), Some(15));
    assert_eq!(scratch_len(&params(1, 0, 1, 1, 1, 5)), Some(25));
    assert_eq!(scratch_len(&params(2, 2, 100, 8, 1, 5)), Some(30));
    assert_eq!(scratch_len(&params(3, 0, 1, 1, 1, 5)), None);
    assert_eq!(
        scratch_len(&params(2, 0, 1, 1, 1, u32::MAX)).is_some(),
        usize::BITS > 32
    );
}

#[test]
fn errors() {
    let mut rng = Rng::new(14);
    let c = random_case(&mut rng, 2, 2, 0);
    let c = Case {
        b: Some(vec![0.0; 2 * 8 * c.p.hidden as usize]),
        ..c
    };
    let n = |p: &RnnParams| scratch_len(p).unwrap_or(0);
    let run = |c: &Case, p: &RnnParams, scratch: usize| {
        let mut s = vec![0.0; scratch];
        let o = RnnOutputs {
            y: None,
            y_h: None,
            y_c: None,
        };
        rnn(p, c.inputs(), o, &mut s)
    };
    assert!(run(&c, &c.p, n(&c.p)).is_ok());
    let bad_param =
        |p: RnnParams| matches!(run(&c, &p, n(&c.p)), Err(KernelError::BadParam { .. }));
    assert!(bad_param(RnnParams { hidden: 0, ..c.p }));
    assert!(bad_param(RnnParams {
        input_size: 0,
        ..c.p
    }));
    assert!(bad_param(RnnParams { cell: 3, ..c.p }));
    assert!(bad_param(RnnParams {
        direction: 3,
        ..c.p
    }));
    assert!(bad_param(RnnParams { layout: 2, ..c.p }));
    assert!(bad_param(RnnParams {
        linear_before_reset: 2,
        ..c.p
    }));
    assert!(bad_param(RnnParams {
        input_forget: u32::MAX,
        ..c.p
    }));
    let mut p = c.p;
    p.acts[5].kind = 77;
    assert!(bad_param(p));
    // an unused slot may hold anything: RNN uses only f, forward only slot 0
    let mut p = params(0, 0, 1, 1, 1, 1);
    p.acts[1].kind = 77;
    p.acts[3].kind = 77;
    assert!(check(&p).is_ok());
    assert!(run(&c, &c.p, n(&c.p) - 1).is_err()); // scratch
    assert!(matches!(
        run(
            &c,
            &RnnParams {
                seq_len: u32::MAX,
                batch: u32::MAX,
                ..c.p
            },
            8
        ),
        Err(KernelError::Overflow { .. })
    ));
    assert!(run(
        &c,
        &RnnParams {
            seq_len: c.p.seq_len + 1,
            ..c.p
        },
        n(&c.p)
    )
    .is_err());
    let short = Case {
        w: c.w[1..].to_vec(),
        ..random_case(&mut rng, 2, 2, 0)
    };
    assert!(matches!(
        run(&short, &short.p, n(&short.p)),
        Err(KernelError::Length { .. })
    ));
    let short = Case {
        b: Some(vec![0.0; 3]),
        ..random_case(&mut rng, 2, 2, 0)
    };
    assert!(run(&short, &short.p, n(&short.p)).is_err());

    // initial_c, peepholes and y_c belong to LSTM
    let g = Case {
        c0: Some(vec![0.0; 2]),
        ..random_case(&mut rng, 1, 0, 0)
    };
    let g = Case {
        p: RnnParams {
            batch: 2,
            hidden: 1,
            ..g.p
        },
        h0: None,
        ..g
    };
    assert!(matches!(
        run(&g, &g.p, 8),
        Err(KernelError::BadParam { .. })
    ));
    let g = Case {
        pp: Some(vec![0.0; 3 * g.p.hidden as usize]),
        c0: None,
        ..g
    };
    assert!(matches!(
        run(&g, &g.p, 8),
        Err(KernelError::BadParam { .. })
    ));

    // outputs of the wrong length
    let c = random_case(&mut rng, 1, 1, 1);
    let mut s = vec![0.0; n(&c.p)];
    let mut y = vec![0.0; 1000];
    let o = RnnOutputs {
        y: Some(&mut y),
        y_h: None,
        y_c: None,
    };
    assert!(matches!(
        rnn(&c.p, c.inputs(), o, &mut s),
        Err(KernelError::Length { .. })
    ));
    let o = RnnOutputs {
        y: None,
        y_h: Some(&mut y),
        y_c: None,
    };
    assert!(rnn(&c.p, c.inputs(), o, &mut s).is_err());

    // step functions: wrong cell, slot, lengths
    let c = random_case(&mut rng, 2, 0, 0);
    let (ni, nh) = (c.p.input_size as usize, c.p.hidden as usize);
    let wts = CellWeights::of(&c.p, &c.inputs(), 0).unwrap();
    assert!(CellWeights::of(&c.p, &c.inputs(), 1).is_err());
    let (x, mut h, mut cs, mut gates) = (
        vec![0.0; ni],
        vec![0.0; nh],
        vec![0.0; nh],
        vec![0.0; 4 * nh],
    );
    assert!(lstm_step(&c.p, 0, &wts, &x, &mut h, &mut cs, &mut gates).is_ok());
    assert!(lstm_step(&c.p, 1, &wts, &x, &mut h, &mut cs, &mut gates).is_err());
    assert!(gru_step(&c.p, 0, &wts, &x, &mut h, &mut gates).is_err());
    assert!(rnn_step(&c.p, 0, &wts, &x, &mut h, &mut gates).is_err());
    assert!(lstm_step(&c.p, 0, &wts, &x[1..], &mut h, &mut cs, &mut gates).is_err());
    assert!(lstm_step(&c.p, 0, &wts, &x, &mut h, &mut cs[1..], &mut gates).is_err());
    assert!(lstm_step(&c.p, 0, &wts, &x, &mut h, &mut cs, &mut gates[1..]).is_err());
    let cut = CellWeights {
        r: &wts.r[1..],
        ..wts
    };
    assert!(lstm_step(&c.p, 0, &cut, &x, &mut h, &mut cs, &mut gates).is_err());
}

#[test]
fn huge_sequence_without_work_returns_at_once() {
    // seq 2^32 - 1 with every output empty (batch 0) or absent: nothing to compute.
    let p = params(2, 2, u32::MAX, 0, 1, 1);
    let (w, r) = (vec![0.0; 8], vec![0.0; 8]);
    let i = RnnInputs {
        x: &[],
        w: &w,
        r: &r,
        b: None,
        initial_h: None,
        initial_c: None,
        p: None,
    };
    let o = RnnOutputs {
        y: Some(&mut []),
        y_h: Some(&mut []),
        y_c: Some(&mut []),
    };
    assert!(rnn(&p, i, o, &mut [0.0; 6]).is_ok());
}

#[test]
fn fuzz() {
    let mut rng = Rng::new(15);
    let mut ok = 0;
    for _ in 0..4000 {
        let mut p = params(
            rng.small(3),
            rng.small(3),
            rng.dim(),
            rng.dim(),
            rng.dim(),
            rng.dim(),
        );
        if rng.chance(2) {
            let mut small = || 1 + rng.below(3) as u32;
            p = params(
                p.cell % 3,
                p.direction % 3,
                small(),
                small(),
                small(),
                small(),
            );
        }
        p.layout = rng.small(2);
        p.linear_before_reset = rng.small(2);
        p.input_forget = rng.small(2);
        p.clip = rng.f32();
        if rng.chance(8) {
            p.acts[rng.below(6) as usize].kind = rng.small(19);
        }
        let dirs = if p.direction == 2 { 2 } else { 1 };
        let g = [1, 3, 4].get(p.cell as usize).copied().unwrap_or(4);
        let x = rng.vec_near(prod(&[p.seq_len, p.batch, p.input_size]));
        let w = rng.vec_near(prod(&[dirs, g, p.hidden, p.input_size]));
        let r = rng.vec_near(prod(&[dirs, g, p.hidden, p.hidden]));
        let state = prod(&[dirs, p.batch, p.hidden]);
        let mut bufs: Vec<Vec<f32>> = [
            prod(&[dirs, 2, g, p.hidden]),
            state,
            state,
            prod(&[dirs, 3, p.hidden]),
        ]
        .iter()
        .map(|&n| rng.vec_near(n))
        .collect();
        let mut opt = |v: &mut Vec<f32>| {
            if rng.chance(2) {
                Some(core::mem::take(v))
            } else {
                None
            }
        };
        let (b, h0, c0, pp) = (
            opt(&mut bufs[0]),
            opt(&mut bufs[1]),
            opt(&mut bufs[2]),
            opt(&mut bufs[3]),
        );
        let i = RnnInputs {
            x: &x,
            w: &w,
            r: &r,
            b: b.as_deref(),
            initial_h: h0.as_deref(),
            initial_c: c0.as_deref(),
            p: pp.as_deref(),
        };
        let mut y = vec![0.0; rng.len(prod(&[p.seq_len, dirs, p.batch, p.hidden]))];
        let (mut y_h, mut y_c) = (vec![0.0; rng.len(state)], vec![0.0; rng.len(state)]);
        let mut scratch = vec![0.0; rng.len(scratch_len(&p))];
        let o = RnnOutputs {
            y: if rng.chance(2) { Some(&mut y) } else { None },
            y_h: if rng.chance(2) { Some(&mut y_h) } else { None },
            y_c: if rng.chance(3) { Some(&mut y_c) } else { None },
        };
        ok += rnn(&p, i, o, &mut scratch).is_ok() as usize;
    }
    assert!(ok > 50, "too few valid cases: {ok}");
}
