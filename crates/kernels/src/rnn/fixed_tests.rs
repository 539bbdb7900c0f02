//! The fixed-point recurrent kernel: hand-computed integer cases, bit-exact agreement with the numpy
//! model of `docs/numerics.md` (`tools/numerics_ref.py`, cases written by `tools/gen_rnn_cases.py` to
//! `tests/data/numerics/*.json`), and closeness to the f32 kernel.
use rill_format::{ActKind, ActParams, RnnParams};
use std::string::String;
use std::vec;
use std::vec::Vec;

use super::fixed::*;
use super::{RnnInputs, RnnOutputs};
use crate::fixed::tables::{SIGMOID_Q12, TANH_Q12};
use crate::fixed::{quantize_multiplier, QAct, QMul};
use crate::testutil::Rng;
use crate::KernelError;

const SIG: ActParams = ActParams::new(ActKind::Sigmoid, 0.0, 0.0);
const TANH: ActParams = ActParams::new(ActKind::Tanh, 0.0, 0.0);
const RELU: ActParams = ActParams::new(ActKind::Relu, 0.0, 0.0);

/// `M = 2^e` exactly.
fn pow2(e: i32) -> QMul {
    QMul {
        m0: 1 << 30,
        shift: e + 1,
    }
}

fn params(cell: u32, direction: u32, seq: u32, batch: u32, input: u32, hidden: u32) -> RnnParams {
    let f = match cell {
        0 => TANH,
        _ => SIG,
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
        acts: [f, TANH, TANH, f, TANH, TANH],
    }
}

// ---- tables ----------------------------------------------------------------------------------

#[test]
fn table_entries_are_the_functions_at_the_grid_points() {
    // Hand values: sigmoid(-8) * 32768 = 10.99, sigmoid(0) = 0.5, sigmoid(1) * 32768 = 23955.05,
    // sigmoid(8) * 32768 = 32757.01; tanh(1) * 32768 = 24955.93, tanh(+-8) rounds to +-32768 (clamped
    // to 32767 above).
    assert_eq!(SIGMOID_Q12[0], 11);
    assert_eq!(SIGMOID_Q12[256], 16384);
    assert_eq!(SIGMOID_Q12[288], 23955);
    assert_eq!(SIGMOID_Q12[512], 32757);
    assert_eq!(TANH_Q12[256], 0);
    assert_eq!(TANH_Q12[288], 24956);
    assert_eq!(TANH_Q12[0], -32768);
    assert_eq!(TANH_Q12[512], 32767);
    // Exact entries: p = -32768 (-8.0), 0, 4096 (1.0).
    assert_eq!(sigmoid_q15(-32768), 11);
    assert_eq!(sigmoid_q15(0), 16384);
    assert_eq!(sigmoid_q15(4096), 23955);
    assert_eq!(tanh_q15(0), 0);
    assert_eq!(tanh_q15(4096), 24956);
    assert_eq!(tanh_q15(-4096), -24956);
}

#[test]
fn table_interpolates_at_midpoints_and_saturates() {
    // sigmoid(1/32) * 32768 = 16639.98 -> entry 257 = 16640; p = 64 is halfway: 16384 + 256 / 2.
    assert_eq!(SIGMOID_Q12[257], 16640);
    assert_eq!(sigmoid_q15(64), 16512);
    // tanh(-1/32) * 32768 = -1023.67 -> -1024; p = -64 is halfway between -1024 and 0.
    assert_eq!(tanh_q15(-64), -512);
    // Beyond +-8 the input saturates: the last interval's end, and the first entry.
    assert_eq!(tanh_q15(1 << 20), 32767);
    assert_eq!(tanh_q15(-(1 << 20)), -32768);
    assert_eq!(sigmoid_q15(-(1 << 20)), 11);
    assert_eq!(sigmoid_q15(i32::MAX), sigmoid_q15(32767));
    // Rounding of the interpolation is half away from zero: a table stepping by +-1 at its start.
    let mut t = [0i16; 513];
    t[1] = 1;
    assert_eq!(lut_q12(&t, -32768 + 64), 1); // 0.5 -> 1
    assert_eq!(lut_q12(&t, -32768 + 63), 0); // 0.49 -> 0
    t[1] = -1;
    assert_eq!(lut_q12(&t, -32768 + 64), -1); // -0.5 -> -1
    assert_eq!(lut_q12(&t, -32768 + 63), 0);
    assert_eq!(rshift_round(3, 1), 2);
    assert_eq!(rshift_round(-3, 1), -2);
    assert_eq!(rshift_round(-5, 2), -1);
}

// ---- hand-computed steps ---------------------------------------------------------------------

fn lstm_hand_q<'a>(bias: &'a [i32; 4], muls: &'a [QMul; 4], r_mul: &'a [QMul; 4]) -> RnnQ<'a> {
    RnnQ {
        z_x: 0,
        z_h: 3,
        w_bias: bias,
        r_bias: bias,
        w_mul: muls,
        r_mul,
        h_mul: pow2(-23),
        h_to_q15: pow2(0),
        cell_k: 4,
        clip_q12: 0,
    }
}

#[test]
fn one_hidden_lstm_step_by_hand() {
    // I = H = 1, x = 1, W = (0, 1, 0, 1) (gates i o f c), R = 0, biases 0, input multiplier 2^12:
    // pre-activations i = f = 0, o = g = 4096 (1.0), exact table entries: i = f = 16384,
    // o = 23955, g = 24956. c0 = 2048 in Q11 (k = 4), i.e. 1.0.
    // c = round(16384 * 2048 / 2^15) + round(16384 * 24956 / 2^19) = 1024 + round(779.875) = 1804.
    // tanh(c): c in Q12 = 3608 -> entry 284 + 24/128: 23066 + round(505 * 24 / 128 = 94.69) = 23161.
    // h = 3 + round(23955 * 23161 / 2^23 = 66.14) = 69.
    let p = params(2, 0, 1, 1, 1, 1);
    let (bias, muls, r_mul) = ([0; 4], [pow2(12); 4], [pow2(0); 4]);
    let q = lstm_hand_q(&bias, &muls, &r_mul);
    let (w, r) = ([0i8, 1, 0, 1], [0i8; 4]);
    let (mut h, mut c) = ([3i8], [2048i16]);
    let mut s = [0i32; 5];
    lstm_step_fixed(&p, &q, &w, &r, 0, &[1i8], &mut h, &mut c, &mut s).unwrap();
    assert_eq!((h, c), ([69], [1804]));

    // The same through the whole-layer kernel with the states as inputs.
    let mut y = [0i8];
    let mut y_c = [0i16];
    let mut scratch = [0i32; 7];
    rnn(
        &p,
        &q,
        RnnFixedInputs {
            x: &[1i8],
            w: &w,
            r: &r,
            initial_h: Some(&[3]),
            initial_c: Some(&[2048]),
        },
        RnnFixedOutputs {
            y: Some(&mut y),
            y_h: None,
            y_c: Some(&mut y_c),
        },
        &mut scratch,
    )
    .unwrap();
    assert_eq!((y, y_c), ([69], [1804]));
}

/// A one-unit Relu RNN: `h = z_h + requant(clip(sat16(px + ph)))` with unit multipliers.
fn relu_rnn_i16(x: i16, h0: i16, w_mul: QMul, h_mul: QMul, clip_q12: i32) -> i16 {
    let mut p = params(0, 0, 1, 1, 1, 1);
    p.acts[0] = RELU;
    let q = RnnQ {
        z_x: 0,
        z_h: 0,
        w_bias: &[0],
        r_bias: &[0],
        w_mul: &[w_mul],
        r_mul: &[w_mul],
        h_mul,
        h_to_q15: pow2(0),
        cell_k: 0,
        clip_q12,
    };
    let mut h = [h0];
    rnn_step_fixed(&p, &q, &[127i8], &[127i8], 0, &[x], &mut h, &mut [0; 2]).unwrap();
    h[0]
}

#[test]
fn pre_activations_saturate_and_clip() {
    // 100 * 127 = 12700 from each side: 25400 in Q3.12.
    assert_eq!(relu_rnn_i16(100, 100, pow2(0), pow2(0), 0), 25400);
    // The sum saturates to 32767: 32767 * 2^-8 = 128.
    assert_eq!(relu_rnn_i16(32767, 32767, pow2(2), pow2(-8), 0), 128);
    // Clip to 2.0 = 8192 in Q3.12; negative pre-activations give Relu's 0.
    assert_eq!(relu_rnn_i16(100, 100, pow2(0), pow2(0), 8192), 8192);
    assert_eq!(relu_rnn_i16(-100, -100, pow2(0), pow2(0), 8192), 0);
    assert_eq!(relu_rnn_i16(-100, 50, pow2(0), pow2(0), 0), 0);
    assert_eq!(relu_rnn_i16(-100, 150, pow2(0), pow2(0), 0), 6350);
    // The parts are summed before saturating: 300 * 127 = 38100 (past i16) and -200 * 127 = -25400
    // cancel to 12700, not to sat16(38100) - 25400 = 7367.
    assert_eq!(relu_rnn_i16(300, -200, pow2(0), pow2(0), 0), 12700);
}

// ---- errors ----------------------------------------------------------------------------------

#[test]
fn rejects_what_it_cannot_compute() {
    let p = params(2, 0, 1, 1, 1, 1);
    let (bias, muls, r_mul) = ([0; 4], [pow2(12); 4], [pow2(0); 4]);
    let q = lstm_hand_q(&bias, &muls, &r_mul);
    let (w, r) = ([0i8; 4], [0i8; 4]);
    let run = |p: &RnnParams, q: &RnnQ<'_>, x: &[i8], scratch: &mut [i32], c0: Option<&[i16]>| {
        let mut y = [0i8];
        let mut y_c = [0i16];
        rnn(
            p,
            q,
            RnnFixedInputs {
                x,
                w: &w,
                r: &r,
                initial_h: None,
                initial_c: c0,
            },
            RnnFixedOutputs {
                y: Some(&mut y),
                y_h: None,
                y_c: Some(&mut y_c),
            },
            scratch,
        )
    };
    assert_eq!(scratch_len_fixed(&p), Ok(7));
    assert!(run(&p, &q, &[0], &mut [0; 7], None).is_ok());
    assert!(matches!(
        run(&p, &q, &[0], &mut [0; 6], None),
        Err(KernelError::Length { .. })
    ));
    assert!(matches!(
        run(&p, &q, &[0, 0], &mut [0; 7], None),
        Err(KernelError::Length { .. })
    ));
    assert!(matches!(
        run(&p, &q, &[0], &mut [0; 7], Some(&[0, 0])),
        Err(KernelError::Length { .. })
    ));
    for k in [2, 16, -1] {
        let q = RnnQ { cell_k: k, ..q };
        assert!(matches!(
            run(&p, &q, &[0], &mut [0; 7], None),
            Err(KernelError::BadParam { .. })
        ));
    }
    let short = [0; 3];
    let q2 = RnnQ {
        w_bias: &short,
        ..q
    };
    assert!(matches!(
        run(&p, &q2, &[0], &mut [0; 7], None),
        Err(KernelError::Length { .. })
    ));
    let q2 = RnnQ {
        r_mul: &r_mul[..3],
        ..q
    };
    assert!(matches!(
        run(&p, &q2, &[0], &mut [0; 7], None),
        Err(KernelError::Length { .. })
    ));
    let mut p2 = p;
    p2.acts[2] = RELU;
    assert!(matches!(
        run(&p2, &q, &[0], &mut [0; 7], None),
        Err(KernelError::BadParam { .. })
    ));
    // A GRU takes no cell state; the step functions check the cell kind.
    let g = params(1, 0, 1, 1, 1, 1);
    let mut s = [0i32; 16];
    let gq = RnnQ {
        w_bias: &[0; 3],
        r_bias: &[0; 3],
        w_mul: &[pow2(0); 3],
        r_mul: &[pow2(0); 3],
        ..q
    };
    let mut y_c = [0i16];
    let e = rnn(
        &g,
        &gq,
        RnnFixedInputs {
            x: &[0i8],
            w: &[0i8; 3],
            r: &[0; 3],
            initial_h: None,
            initial_c: None,
        },
        RnnFixedOutputs {
            y: None,
            y_h: None,
            y_c: Some(&mut y_c),
        },
        &mut s,
    );
    assert!(matches!(e, Err(KernelError::BadParam { .. })));
    let e = lstm_step_fixed(
        &g,
        &gq,
        &[0i8; 3],
        &[0i8; 3],
        0,
        &[0i8],
        &mut [0],
        &mut [0],
        &mut s,
    );
    assert!(matches!(e, Err(KernelError::BadParam { .. })));
    let e = gru_step_fixed(&g, &gq, &[0i8; 3], &[0i8; 3], 1, &[0i8], &mut [0], &mut s);
    assert!(matches!(e, Err(KernelError::BadParam { .. })));
    let e = gru_step_fixed(
        &g,
        &gq,
        &[0i8; 3],
        &[0i8; 3],
        0,
        &[0i8],
        &mut [0],
        &mut s[..3],
    );
    assert!(matches!(e, Err(KernelError::Length { .. })));
}

#[test]
fn fuzzed_records_never_panic() {
    let mut rng = Rng::new(7);
    for _ in 0..3000 {
        let mut p = params(
            rng.small(3),
            rng.small(3),
            rng.below(4) as u32,
            rng.below(3) as u32,
            rng.below(4) as u32,
            rng.below(4) as u32,
        );
        p.layout = rng.small(2);
        p.linear_before_reset = rng.small(2);
        let words = rng.len(scratch_len_fixed(&p).ok());
        let rows = rng.below(30) as usize;
        let bias = vec![rng.next() as i32; rows];
        let muls = vec![
            QMul {
                m0: rng.next() as i32,
                shift: rng.next() as i32
            };
            rows
        ];
        let q = RnnQ {
            z_x: rng.next() as i32,
            z_h: rng.next() as i32,
            w_bias: &bias,
            r_bias: &bias,
            w_mul: &muls,
            r_mul: &muls,
            h_mul: muls.first().copied().unwrap_or_default(),
            h_to_q15: muls.last().copied().unwrap_or_default(),
            cell_k: rng.below(20) as i32 - 2,
            clip_q12: rng.next() as i32,
        };
        let vals = |rng: &mut Rng, max: u64| -> Vec<i16> {
            let n = rng.below(max);
            (0..n).map(|_| rng.next() as i16).collect()
        };
        let x = vals(&mut rng, 40);
        let w: Vec<i8> = (0..rng.below(60)).map(|_| rng.next() as i8).collect();
        let r: Vec<i8> = (0..rng.below(60)).map(|_| rng.next() as i8).collect();
        let h0 = vals(&mut rng, 20);
        let mut y = vals(&mut rng, 60);
        let mut y_h = vals(&mut rng, 20);
        let mut y_c = vals(&mut rng, 20);
        let mut s = vec![0i32; words];
        let _ = rnn(
            &p,
            &q,
            RnnFixedInputs {
                x: &x,
                w: &w,
                r: &r,
                initial_h: rng.chance(2).then_some(&h0[..]),
                initial_c: rng.chance(2).then_some(&h0[..]),
            },
            RnnFixedOutputs {
                y: Some(&mut y),
                y_h: rng.chance(2).then_some(&mut y_h[..]),
                y_c: rng.chance(2).then_some(&mut y_c[..]),
            },
            &mut s,
        );
    }
}

// ---- the numpy model, bit for bit --------------------------------------------------------------

/// Just enough JSON for the case files: objects, arrays, integers, strings, null.
#[derive(Debug)]
enum Json {
    Null,
    Num(i64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.at < self.s.len() && self.s[self.at].is_ascii_whitespace() {
            self.at += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.at) == Some(&c) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn string(&mut self) -> String {
        assert!(self.eat(b'"'), "string expected at {}", self.at);
        let start = self.at;
        while self.s[self.at] != b'"' {
            self.at += 1;
        }
        self.at += 1;
        String::from_utf8(self.s[start..self.at - 1].to_vec()).unwrap()
    }

    fn value(&mut self) -> Json {
        self.ws();
        match self.s[self.at] {
            b'n' => {
                assert_eq!(&self.s[self.at..self.at + 4], b"null");
                self.at += 4;
                Json::Null
            }
            b'"' => Json::Str(self.string()),
            b'[' => {
                self.at += 1;
                let mut v = Vec::new();
                if !self.eat(b']') {
                    loop {
                        v.push(self.value());
                        if self.eat(b']') {
                            break;
                        }
                        assert!(self.eat(b','), "',' expected at {}", self.at);
                    }
                }
                Json::Arr(v)
            }
            b'{' => {
                self.at += 1;
                let mut v = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        self.ws();
                        let k = self.string();
                        assert!(self.eat(b':'));
                        v.push((k, self.value()));
                        if self.eat(b'}') {
                            break;
                        }
                        assert!(self.eat(b','), "',' expected at {}", self.at);
                    }
                }
                Json::Obj(v)
            }
            _ => {
                let start = self.at;
                while self.at < self.s.len()
                    && (self.s[self.at] == b'-' || self.s[self.at].is_ascii_digit())
                {
                    self.at += 1;
                }
                let t = core::str::from_utf8(&self.s[start..self.at]).unwrap();
                Json::Num(
                    t.parse()
                        .unwrap_or_else(|_| panic!("number at {start}: {t:?}")),
                )
            }
        }
    }
}

fn parse(s: &str) -> Json {
    Parser {
        s: s.as_bytes(),
        at: 0,
    }
    .value()
}

impl Json {
    fn get(&self, k: &str) -> &Json {
        match self {
            Json::Obj(v) => {
                &v.iter()
                    .find(|(n, _)| n == k)
                    .unwrap_or_else(|| panic!("no {k}"))
                    .1
            }
            _ => panic!("not an object"),
        }
    }
    fn has(&self, k: &str) -> bool {
        matches!(self, Json::Obj(v) if v.iter().any(|(n, _)| n == k))
    }
    fn int(&self, k: &str) -> i64 {
        match self.get(k) {
            Json::Num(n) => *n,
            v => panic!("{k}: {v:?}"),
        }
    }
    fn ints(&self, k: &str) -> Option<Vec<i64>> {
        match self.get(k) {
            Json::Null => None,
            Json::Arr(v) => Some(
                v.iter()
                    .map(|e| match e {
                        Json::Num(n) => *n,
                        _ => panic!("{k}: not an integer"),
                    })
                    .collect(),
            ),
            v => panic!("{k}: {v:?}"),
        }
    }
    fn str(&self, k: &str) -> &str {
        match self.get(k) {
            Json::Str(s) => s,
            _ => panic!("{k}: not a string"),
        }
    }
}

fn pairs(v: &[i64]) -> Vec<QMul> {
    v.chunks_exact(2)
        .map(|m| QMul {
            m0: m[0] as i32,
            shift: m[1] as i32,
        })
        .collect()
}

fn codes<T: QAct>(v: &[i64]) -> Vec<T> {
    v.iter().map(|&c| T::sat(c as i32)).collect()
}

fn check_case<T: QAct, W: QAct>(c: &Json) {
    let name = c.str("name");
    let u = |k: &str| c.int(k) as u32;
    let mut p = params(
        u("cell"),
        u("direction"),
        u("seq"),
        u("batch"),
        u("input"),
        u("hidden"),
    );
    p.layout = u("layout");
    p.linear_before_reset = u("lbr");
    if c.int("act") == 1 {
        p.acts[0] = RELU;
        p.acts[3] = RELU;
    }
    let ints = |k: &str| c.ints(k).unwrap();
    let (w_bias, r_bias) = (ints("w_bias"), ints("r_bias"));
    let w_bias: Vec<i32> = w_bias.iter().map(|&v| v as i32).collect();
    let r_bias: Vec<i32> = r_bias.iter().map(|&v| v as i32).collect();
    let (w_mul, r_mul) = (pairs(&ints("w_mul")), pairs(&ints("r_mul")));
    let q = RnnQ {
        z_x: c.int("z_x") as i32,
        z_h: c.int("z_h") as i32,
        w_bias: &w_bias,
        r_bias: &r_bias,
        w_mul: &w_mul,
        r_mul: &r_mul,
        h_mul: pairs(&ints("h_mul"))[0],
        h_to_q15: pairs(&ints("h_to_q15"))[0],
        cell_k: c.int("cell_k") as i32,
        clip_q12: c.int("clip_q12") as i32,
    };
    let x: Vec<T> = codes(&ints("x"));
    let (w, r): (Vec<W>, Vec<W>) = (codes(&ints("w")), codes(&ints("r")));
    assert_eq!(
        ints("w")
            .iter()
            .chain(&ints("r"))
            .map(|&v| v as i32)
            .collect::<Vec<_>>(),
        w.iter().chain(&r).map(|v| v.get()).collect::<Vec<_>>(),
        "{name}: weight codes out of range"
    );
    let h0: Option<Vec<T>> = c.ints("initial_h").map(|v| codes(&v));
    let c0: Option<Vec<i16>> = c.ints("initial_c").map(|v| codes(&v));
    let want_y: Vec<T> = codes(&ints("y"));
    let want_h: Vec<T> = codes(&ints("y_h"));
    let want_c: Option<Vec<i16>> = c.ints("y_c").map(|v| codes(&v));
    // Values in the files are in range: saturating them above must not have changed any.
    assert_eq!(
        ints("y").iter().map(|&v| v as i32).collect::<Vec<_>>(),
        want_y.iter().map(|v| v.get()).collect::<Vec<_>>(),
        "{name}: y codes out of range"
    );
    let mut y = vec![T::default(); want_y.len()];
    let mut y_h = vec![T::default(); want_h.len()];
    let mut y_c = want_c.as_ref().map(|v| vec![0i16; v.len()]);
    let mut s = vec![0i32; scratch_len_fixed(&p).unwrap()];
    rnn(
        &p,
        &q,
        RnnFixedInputs {
            x: &x,
            w: &w,
            r: &r,
            initial_h: h0.as_deref(),
            initial_c: c0.as_deref(),
        },
        RnnFixedOutputs {
            y: Some(&mut y),
            y_h: Some(&mut y_h),
            y_c: y_c.as_deref_mut(),
        },
        &mut s,
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    let v = |s: &[T]| s.iter().map(|c| c.get()).collect::<Vec<_>>();
    assert_eq!(v(&y), v(&want_y), "{name}: y");
    assert_eq!(v(&y_h), v(&want_h), "{name}: y_h");
    assert_eq!(y_c, want_c, "{name}: y_c");
}

fn check_file(text: &str) -> usize {
    let Json::Arr(cases) = parse(text) else {
        panic!("not an array of cases")
    };
    for c in &cases {
        // "wbits" (weight code width) is present only on the i16-weight cases.
        let wbits = if c.has("wbits") { c.int("wbits") } else { 8 };
        match (c.int("mode"), wbits) {
            (8, 8) => check_case::<i8, i8>(c),
            (16, 8) => check_case::<i16, i8>(c),
            (16, 16) => check_case::<i16, i16>(c),
            m => panic!("mode, wbits {m:?}"),
        }
    }
    cases.len()
}

#[test]
fn lstm_equals_the_numpy_model() {
    let n = check_file(include_str!("../../../../tests/data/numerics/lstm.json"));
    assert_eq!(n, 18);
}

#[test]
fn gru_equals_the_numpy_model() {
    let n = check_file(include_str!("../../../../tests/data/numerics/gru.json"));
    assert_eq!(n, 36);
}

#[test]
fn rnn_equals_the_numpy_model() {
    let n = check_file(include_str!("../../../../tests/data/numerics/rnn.json"));
    assert_eq!(n, 36);
}

// ---- against the f32 kernel ------------------------------------------------------------------

/// Round half away from zero.
fn round(v: f64) -> f64 {
    libm::round(v)
}

/// `(scale, zero point)` of a real range widened to include 0, as the converter chooses them.
fn act_quant<T: QAct>(lo: f32, hi: f32) -> (f64, i32) {
    let (lo, hi) = (lo.min(0.0) as f64, hi.max(0.0) as f64);
    if T::WIDE {
        (lo.abs().max(hi) / 32767.0, 0)
    } else {
        let s = (hi - lo) / 255.0;
        (s, (round(-128.0 - lo / s) as i32).clamp(-128, 127))
    }
}

/// Per-row symmetric codes in `[-W::MAX, W::MAX]` (127 or 32767) and their scales.
fn quantize_rows<W: QAct>(m: &[f32], cols: usize) -> (Vec<W>, Vec<f64>) {
    let mut q = Vec::new();
    let mut s = Vec::new();
    let qmax = W::MAX as f64;
    for row in m.chunks_exact(cols) {
        let mx = row.iter().fold(0f64, |a, &v| a.max((v as f64).abs()));
        let sc = if mx == 0.0 { 1.0 } else { mx / qmax };
        q.extend(
            row.iter()
                .map(|&v| W::sat(round(v as f64 / sc).clamp(-qmax, qmax) as i32)),
        );
        s.push(sc);
    }
    (q, s)
}

/// Largest difference between the fixed kernel's hidden outputs (dequantized) and the f32 kernel's
/// on the same (dequantized) inputs, in hidden-state LSBs; parameters derived from the float layer as
/// `rill-convert`'s `quantize/rnn.rs` derives them. The f32 kernel gets the dequantized weight codes
/// `W`, or with `float_weights` the float weights themselves (so weight quantization counts too).
fn against_float<T: QAct, W: QAct>(
    seed: u64,
    cell: u32,
    direction: u32,
    lbr: u32,
    float_weights: bool,
) -> f64 {
    let mut rng = Rng::new(seed);
    let mut uni = |a: f64, b: f64| a + (b - a) * (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
    let (seq, batch, input, hidden) = (6usize, 2usize, 5usize, 4usize);
    let mut p = params(
        cell,
        direction,
        seq as u32,
        batch as u32,
        input as u32,
        hidden as u32,
    );
    p.linear_before_reset = lbr;
    let dirs = if direction == 2 { 2 } else { 1 };
    let g = super::gates(super::cell_kind(cell).unwrap());
    let rows = dirs * g * hidden;
    let w: Vec<f32> = (0..rows * input).map(|_| uni(-0.6, 0.6) as f32).collect();
    let r: Vec<f32> = (0..rows * hidden).map(|_| uni(-0.6, 0.6) as f32).collect();
    let b: Vec<f32> = (0..2 * rows).map(|_| uni(-0.3, 0.3) as f32).collect();
    let (sx, zx) = act_quant::<T>(-2.0, 2.5);
    let (sh, zh) = act_quant::<T>(-1.0, 1.0);
    let xq: Vec<T> = (0..seq * batch * input)
        .map(|_| T::sat(round(uni(-2.0, 2.5) / sx) as i32 + zx))
        .collect();
    let xf: Vec<f32> = xq
        .iter()
        .map(|c| (sx * (c.get() - zx) as f64) as f32)
        .collect();
    let (wq, sw) = quantize_rows::<W>(&w, input);
    let (rq, sr) = quantize_rows::<W>(&r, hidden);
    let dequant = |q: &[W], s: &[f64], cols: usize| -> Vec<f32> {
        q.iter()
            .enumerate()
            .map(|(i, c)| (c.get() as f64 * s[i / cols]) as f32)
            .collect()
    };
    let (wf, rf) = if float_weights {
        (w.clone(), r.clone())
    } else {
        (dequant(&wq, &sw, input), dequant(&rq, &sr, hidden))
    };
    // The f32 reference.
    let state = dirs * batch * hidden;
    let mut y = vec![0f32; seq * state];
    let mut y_c = vec![0f32; state];
    let is_lstm = cell == 2;
    let mut s = vec![0f32; super::scratch_len(&p).unwrap()];
    super::float::rnn(
        &p,
        RnnInputs {
            x: &xf,
            w: &wf,
            r: &rf,
            b: Some(&b),
            initial_h: None,
            initial_c: None,
            p: None,
        },
        RnnOutputs {
            y: Some(&mut y),
            y_h: None,
            y_c: is_lstm.then_some(&mut y_c[..]),
        },
        &mut s,
    )
    .unwrap();
    // The converter's parameters.
    let gh = g * hidden;
    let (mut w_bias, mut r_bias, mut w_mul, mut r_mul) = (vec![], vec![], vec![], vec![]);
    for row in 0..rows {
        let (d, gr) = (row / gh, row % gh);
        let (wb, rb) = (b[d * 2 * gh + gr] as f64, b[d * 2 * gh + gh + gr] as f64);
        let wsum: i32 = wq[row * input..][..input].iter().map(|c| c.get()).sum();
        let rsum: i32 = rq[row * hidden..][..hidden].iter().map(|c| c.get()).sum();
        w_bias.push(round(wb / (sx * sw[row])) as i32 - zx * wsum);
        let plain = cell == 1 && lbr == 0 && gr >= 2 * hidden;
        r_bias.push(round(rb / (sh * sr[row])) as i32 - if plain { 0 } else { zh * rsum });
        w_mul.push(quantize_multiplier(sx * sw[row] * 4096.0).unwrap());
        r_mul.push(quantize_multiplier(sh * sr[row] * 4096.0).unwrap());
    }
    let max_c = y_c.iter().fold(0f32, |a, &v| a.max(v.abs()));
    let mut k = 3;
    while k < 15 && max_c >= (1u32 << k) as f32 {
        k += 1;
    }
    let k = (k + 1).min(15);
    let bits = if is_lstm { 30 } else { 15 };
    let q = RnnQ {
        z_x: zx,
        z_h: zh,
        w_bias: &w_bias,
        r_bias: &r_bias,
        w_mul: &w_mul,
        r_mul: &r_mul,
        h_mul: quantize_multiplier(1.0 / ((1u64 << bits) as f64 * sh)).unwrap(),
        h_to_q15: quantize_multiplier(sh * 32768.0).unwrap(),
        cell_k: k,
        clip_q12: 0,
    };
    let mut yq = vec![T::default(); seq * state];
    let mut s = vec![0i32; scratch_len_fixed(&p).unwrap()];
    rnn(
        &p,
        &q,
        RnnFixedInputs {
            x: &xq,
            w: &wq,
            r: &rq,
            initial_h: None,
            initial_c: None,
        },
        RnnFixedOutputs {
            y: Some(&mut yq),
            y_h: None,
            y_c: None,
        },
        &mut s,
    )
    .unwrap();
    yq.iter()
        .zip(&y)
        .map(|(c, &f)| ((c.get() - zh) as f64 - f as f64 / sh).abs())
        .fold(0.0, f64::max)
}

#[test]
fn stays_close_to_the_float_kernel() {
    std::println!("cell dir lbr: max |fixed - f32| in LSB, i8 / i16");
    for seed in 0..4 {
        for (cell, lbr) in [(0, 0), (1, 0), (1, 1), (2, 0)] {
            for direction in 0..3 {
                let seed = seed * 31 + direction as u64;
                let e8 = against_float::<i8, i8>(seed, cell, direction, lbr, false);
                let e16 = against_float::<i16, i8>(seed, cell, direction, lbr, false);
                std::println!("{cell} {direction} {lbr}: {e8:.2} / {e16:.1}");
                // i8: within 1.5 LSB of the float layer; i16: tables, Q3.12 gates and Q0.15 products
                // limit accuracy to about 2^-12 of the [-1, 1] range, i.e. tens of i16 LSBs (1.5e-3).
                assert!(
                    e8 <= 1.5,
                    "i8 cell {cell} dir {direction} lbr {lbr}: {e8} LSB"
                );
                assert!(
                    e16 <= 48.0,
                    "i16 cell {cell} dir {direction} lbr {lbr}: {e16} LSB"
                );
            }
        }
    }
}

#[test]
fn i16_weights_stay_closer_to_the_float_layer() {
    // Against the f32 kernel on the float weights themselves, so the weights' quantization counts:
    // i8 weights (per-row scale max / 127) leave errors of 40-370 i16 LSBs, i16 weights (max / 32767)
    // bring them down to those of the tables and Q3.12 gates (4-17 LSB, within 24 asserted).
    std::println!("cell dir lbr: max |fixed - f32| in i16 LSB, i8 / i16 weights");
    let (mut worst8, mut worst16) = (0f64, 0f64);
    for seed in 0..4 {
        for (cell, lbr) in [(0, 0), (1, 0), (1, 1), (2, 0)] {
            for direction in 0..3 {
                let seed = seed * 31 + direction as u64;
                let e8 = against_float::<i16, i8>(seed, cell, direction, lbr, true);
                let e16 = against_float::<i16, i16>(seed, cell, direction, lbr, true);
                std::println!("{cell} {direction} {lbr}: {e8:.1} / {e16:.1}");
                assert!(
                    e16 <= 24.0,
                    "i16 weights cell {cell} dir {direction} lbr {lbr}: {e16} LSB"
                );
                assert!(
                    e16 < e8,
                    "cell {cell} dir {direction} lbr {lbr}: {e16} >= {e8} LSB"
                );
                worst8 = worst8.max(e8);
                worst16 = worst16.max(e16);
            }
        }
    }
    std::println!("worst: {worst8:.1} / {worst16:.1}");
    assert!(worst16 * 4.0 < worst8, "{worst16} vs {worst8}");
}

#[test]
fn i16_weights_need_i16_activations() {
    let mut p = params(0, 0, 1, 1, 1, 1);
    p.acts[0] = RELU;
    let q = RnnQ {
        z_x: 0,
        z_h: 0,
        w_bias: &[0],
        r_bias: &[0],
        w_mul: &[pow2(0)],
        r_mul: &[pow2(0)],
        h_mul: pow2(0),
        h_to_q15: pow2(0),
        cell_k: 0,
        clip_q12: 0,
    };
    let mut h = [0i8];
    let e = rnn_step_fixed(&p, &q, &[1i16], &[1i16], 0, &[1i8], &mut h, &mut [0; 2]);
    assert!(matches!(e, Err(KernelError::BadParam { .. })));
    let mut y = [0i8];
    let e = rnn(
        &p,
        &q,
        RnnFixedInputs {
            x: &[1i8],
            w: &[1i16],
            r: &[1i16],
            initial_h: None,
            initial_c: None,
        },
        RnnFixedOutputs {
            y: Some(&mut y),
            y_h: None,
            y_c: None,
        },
        &mut [0; 4],
    );
    assert!(matches!(e, Err(KernelError::BadParam { .. })));
    // With i16 activations: 300 * 20000 + 100 * 30000 = 9e6 (beyond any i8 x i8 sum) at M = 2^-12:
    // 2197.27 -> 2197.
    let q = RnnQ {
        w_mul: &[pow2(-12)],
        r_mul: &[pow2(-12)],
        ..q
    };
    let mut h = [100i16];
    rnn_step_fixed(
        &p,
        &q,
        &[20000i16],
        &[30000i16],
        0,
        &[300i16],
        &mut h,
        &mut [0; 2],
    )
    .unwrap();
    assert_eq!(h, [2197]);
}

/// The gate pre-activations four rows per pass against the row-at-a-time `px` + `ph` (the old
/// loop), for every cell kind, i8 and i16 activations and weights, sizes around the unroll of 4,
/// and codes at the extremes.
fn gates_vs_rows<T: QAct, W: QAct>(cell: u32, input: usize, hidden: usize, seed: u64) {
    let mut rng = Rng::new(seed);
    let p = params(cell, 0, 1, 1, input as u32, hidden as u32);
    let rows = [1, 3, 4][cell as usize] * hidden;
    let mode = rng.below(4);
    let code = |rng: &mut Rng, lo: i32, hi: i32| match mode {
        0 => lo,
        1 => hi,
        _ => lo + rng.below((hi - lo + 1) as u64) as i32,
    };
    let mut codes = |n: usize, lo: i32, hi: i32| -> Vec<i32> {
        (0..n).map(|_| code(&mut rng, lo, hi)).collect()
    };
    let x: Vec<T> = codes(input, T::MIN, T::MAX)
        .into_iter()
        .map(T::sat)
        .collect();
    let h: Vec<T> = codes(hidden, T::MIN, T::MAX)
        .into_iter()
        .map(T::sat)
        .collect();
    let w: Vec<W> = codes(rows * input, W::MIN, W::MAX)
        .into_iter()
        .map(W::sat)
        .collect();
    let r: Vec<W> = codes(rows * hidden, W::MIN, W::MAX)
        .into_iter()
        .map(W::sat)
        .collect();
    let bias: Vec<i32> = codes(rows, -(1 << 20), 1 << 20);
    let muls: Vec<QMul> = (0..rows)
        .map(|j| quantize_multiplier(1.0 / (1u64 << (8 + j % 20)) as f64).unwrap())
        .collect();
    // Every third seed, input multipliers of 1/2 and more on some rows (raw sensor inputs):
    // those rows take the long requantization, the others still the short one.
    let w_muls: Vec<QMul> = (0..rows)
        .map(|j| match (seed % 3, j % 3) {
            (0, 0) => quantize_multiplier(0.5 * (1 + j % 7) as f64).unwrap(),
            _ => muls[j],
        })
        .collect();
    let q = RnnQ {
        z_x: 0,
        z_h: 3,
        w_bias: &bias,
        r_bias: &bias,
        w_mul: &w_muls,
        r_mul: &muls,
        h_mul: pow2(-23),
        h_to_q15: pow2(0),
        cell_k: 4,
        clip_q12: if seed.is_multiple_of(2) { 0 } else { 3 << 12 },
    };
    let c = Cell::new(&p, &q, &w, &r, 0).unwrap();
    let mut got = vec![0i32; rows];
    c.gates(0, &x, &h, &mut got);
    let want: Vec<i32> = (0..rows)
        .map(|j| {
            let ph = c.ph::<T>(j, h.iter().map(|v| v.get()));
            c.clip(sat16(c.px(j, &x) as i64 + ph as i64))
        })
        .collect();
    assert_eq!(
        got, want,
        "cell {cell} input {input} hidden {hidden} seed {seed}"
    );
}

#[test]
fn grouped_gate_rows_equal_the_row_at_a_time_loop() {
    let mut seed = 0;
    for cell in 0..3 {
        // Inputs of no whole groups of eight (6: an IMU) with a hidden state of them (32, 64)
        // take the quads for the recurrent part only.
        for input in [1, 3, 4, 5, 6, 17, 40] {
            for hidden in [1, 3, 4, 5, 17, 32, 64] {
                seed += 1;
                gates_vs_rows::<i8, i8>(cell, input, hidden, seed);
                gates_vs_rows::<i16, i8>(cell, input, hidden, seed);
                gates_vs_rows::<i16, i16>(cell, input, hidden, seed);
            }
        }
    }
    // Past the i16 x i8 block of 256, and an input longer than one block with a hidden state
    // the quads would take.
    gates_vs_rows::<i16, i8>(2, 300, 5, 999);
    gates_vs_rows::<i8, i8>(2, 300, 16, 1000);
    gates_vs_rows::<i16, i8>(2, 300, 16, 1001);
}
