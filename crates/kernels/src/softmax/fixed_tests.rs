//! Integer softmax against hand-computed rows and the f32 kernel on dequantized inputs.
use rill_format::SoftmaxParams;
use std::vec;
use std::vec::Vec;

use super::fixed::{
    build_softmax_table_i16, build_softmax_table_i8, log2_sum_q30, softmax, TABLE_LEN_I16,
    TABLE_LEN_I8,
};
use super::float;
use crate::fixed::QAct;
use crate::testutil::Rng;
use crate::KernelError;

const LN2: f32 = core::f32::consts::LN_2;

fn sp(outer: u32, axis_len: u32, inner: u32, log: u32) -> SoftmaxParams {
    SoftmaxParams {
        outer,
        axis_len,
        inner,
        log,
    }
}

fn run8(p: &SoftmaxParams, x: &[i8], s_x: f32) -> Vec<i8> {
    let t = build_softmax_table_i8(s_x, false, 0.0, 0).unwrap();
    let mut y = vec![0i8; x.len()];
    softmax(p, x, &t, &mut y).unwrap();
    y
}

fn run16(p: &SoftmaxParams, x: &[i16], s_x: f32) -> Vec<i16> {
    let t = build_softmax_table_i16(s_x, false, 0.0, 0).unwrap();
    let mut y = vec![0i16; x.len()];
    softmax(p, x, &t, &mut y).unwrap();
    y
}

fn log8(p: &SoftmaxParams, x: &[i8], s_x: f32, s_y: f32, z_y: i32) -> Vec<i8> {
    let t = build_softmax_table_i8(s_x, true, s_y, z_y).unwrap();
    let mut y = vec![0i8; x.len()];
    softmax(p, x, &t, &mut y).unwrap();
    y
}

fn log16(p: &SoftmaxParams, x: &[i16], s_x: f32, s_y: f32, z_y: i32) -> Vec<i16> {
    let t = build_softmax_table_i16(s_x, true, s_y, z_y).unwrap();
    let mut y = vec![0i16; x.len()];
    softmax(p, x, &t, &mut y).unwrap();
    y
}

#[test]
fn all_equal_inputs_are_uniform() {
    // p = 1/4 -> i8 64 - 128 = -64, i16 8192; p = 1/3 -> 85.33 - 128 -> -43, 10922.67 -> 10923.
    assert_eq!(run8(&sp(1, 4, 1, 0), &[7; 4], 0.1), [-64; 4]);
    assert_eq!(run8(&sp(1, 3, 1, 0), &[-128; 3], 0.1), [-43; 3]);
    assert_eq!(run16(&sp(1, 4, 1, 0), &[-300; 4], 0.01), [8192; 4]);
    assert_eq!(run16(&sp(1, 3, 1, 0), &[32767; 3], 0.01), [10923; 3]);
    // One element: p = 1 saturates.
    assert_eq!(run8(&sp(1, 1, 1, 0), &[-5], 0.1), [127]);
    assert_eq!(run16(&sp(1, 1, 1, 0), &[-5], 0.1), [32767]);
    // Log-softmax of n equal inputs: -ln(n). n = 4, s_y = 1/16: -22.18 -> 127 - 22 = 105; i16 with
    // s_y = 1/4096: -5678.2 -> -5678.
    assert_eq!(
        log8(&sp(1, 4, 1, 1), &[3; 4], 0.5, 1.0 / 16.0, 127),
        [105; 4]
    );
    assert_eq!(
        log16(&sp(1, 4, 1, 1), &[3; 4], 0.5, 1.0 / 4096.0, 0),
        [-5678; 4]
    );
}

#[test]
fn dominant_input_saturates() {
    // exp(-255) and exp(-655.35) vanish: p = 1 -> 127 / 32767, the rest 0 -> -128 / 0.
    assert_eq!(
        run8(&sp(1, 3, 1, 0), &[-128, 127, -128], 1.0),
        [-128, 127, -128]
    );
    assert_eq!(run16(&sp(1, 2, 1, 0), &[32767, -32768], 0.01), [32767, 0]);
    // Log: ln(S) = 0, so y = z_y for the maximum, and -255 / s_y saturates.
    assert_eq!(
        log8(&sp(1, 2, 1, 1), &[127, -128], 1.0, 1.0 / 16.0, 127),
        [127, -128]
    );
    assert_eq!(
        log16(&sp(1, 2, 1, 1), &[-32768, 32767], 0.01, 16.0 / 32768.0, 0),
        [-32768, 0]
    );
}

#[test]
fn code_extremes() {
    // i8, s_x = 0.02, codes 127 and -128: d = -255, e = exp(-5.1) = 0.006097; p = 0.99394, 0.00606:
    // 254.449 - 128 -> 126 and 1.551 - 128 -> -126.
    assert_eq!(run8(&sp(1, 2, 1, 0), &[127, -128], 0.02), [126, -126]);
    // i16, s_x = 1e-4, d = -65535: e = exp(-6.5535) = 0.0014251; p * 32768 = 32721.37, 46.63.
    assert_eq!(run16(&sp(1, 2, 1, 0), &[32767, -32768], 1e-4), [32721, 47]);
}

#[test]
fn middle_axis_with_inner() {
    // x as [outer 2, axis 3, inner 2], s_x = ln 2 so exp(d s_x) = 2^d.
    // outer 0: column 0 codes [10, 9, 8] (d = 0, -1, -2), column 1 [0, 2, 1] (d = -2, 0, -1):
    //   2^d / (7/4) = 4/7, 2/7, 1/7 -> i8 146.29, 73.14, 36.57 - 128 = 18, -55, -91;
    //   i16 18724.57, 9362.29, 4681.14 -> 18725, 9362, 4681.
    // outer 1: column 0 [5, 5, 5] -> 1/3 each; column 1 [-128, 127, -128] -> 2^-255 ~ 0, 1, 0.
    let p = sp(2, 3, 2, 0);
    let x: [i8; 12] = [10, 0, 9, 2, 8, 1, 5, -128, 5, 127, 5, -128];
    assert_eq!(
        run8(&p, &x, LN2),
        [18, -91, -55, 18, -91, -55, -43, -128, -43, 127, -43, -128]
    );
    let x16: Vec<i16> = x.iter().map(|&v| v.into()).collect();
    assert_eq!(
        run16(&p, &x16, LN2),
        [18725, 4681, 9362, 18725, 4681, 9362, 10923, 0, 10923, 32767, 10923, 0]
    );
    // Log, outer 0 only: d s_x - ln(7/4) = -0.5596, -1.2528, -1.9459; s_y = 1/16:
    // -8.95, -20.04, -31.13 -> 127 - 9, - 20, - 31 = 118, 107, 96.
    let p = sp(1, 3, 2, 1);
    assert_eq!(
        log8(&p, &x[..6], LN2, 1.0 / 16.0, 127),
        [118, 96, 107, 118, 96, 107]
    );
}

#[test]
fn huge_and_tiny_input_scales() {
    // s_x = 1e30: every d != 0 gives exp = 0; two maxima share 1/2 -> 128 - 128 = 0, 16384.
    assert_eq!(run8(&sp(1, 3, 1, 0), &[3, 2, 3], 1e30), [0, -128, 0]);
    assert_eq!(run16(&sp(1, 3, 1, 0), &[3, 2, 3], 1e30), [16384, 0, 16384]);
    assert_eq!(run8(&sp(1, 2, 1, 0), &[3, 2], f32::MAX), [127, -128]);
    // s_x = 1e-9: exp(-255e-9) = 1 - 2.6e-7, uniform to far below one LSB of i8. For i16,
    // exp(-65535e-9) = 1 - 6.55e-5: p * 32768 = 16384.537, 16383.463; at s_x = 1e-11, 16384.005.
    assert_eq!(run8(&sp(1, 2, 1, 0), &[127, -128], 1e-9), [0, 0]);
    assert_eq!(
        run16(&sp(1, 2, 1, 0), &[32767, -32768], 1e-9),
        [16385, 16383]
    );
    assert_eq!(
        run16(&sp(1, 2, 1, 0), &[32767, -32768], 1e-11),
        [16384, 16384]
    );
    // Log with a huge ratio s_x / s_y: d = -1 saturates, the maximum gives ln(1) = 0 -> z_y.
    assert_eq!(log8(&sp(1, 2, 1, 1), &[3, 2], 1e30, 1e-3, 127), [127, -128]);
    assert_eq!(log16(&sp(1, 2, 1, 1), &[3, 2], 1e30, 1e-3, 0), [0, -32768]);
}

#[test]
fn onnx_large_number() {
    // ONNX softmax_large_number / logsoftmax_large_number: rows [0, 1, 2, 3] and
    // [10000, 10001, 10002, 10003] give the same result, softmax
    // [0.0320586, 0.0871443, 0.2368828, 0.6439143] and log-softmax x - 3.4401897.
    // i16 with s_x = 1/3 holds both rows exactly (codes 3x, at most 30009).
    // Softmax * 32768 = 1050.496, 2855.545, 7762.176, 21099.78.
    // Log-softmax with s_y = 4/32768: -28182.03, -19990.03, -11798.03, -3606.03.
    let x: [i16; 8] = [0, 3, 6, 9, 30000, 30003, 30006, 30009];
    let s_x = 1.0 / 3.0;
    let want = [1050, 2856, 7762, 21100];
    assert_eq!(run16(&sp(2, 4, 1, 0), &x, s_x)[..4], want);
    assert_eq!(run16(&sp(2, 4, 1, 0), &x, s_x)[4..], want);
    let want = [-28182, -19990, -11798, -3606];
    let y = log16(&sp(2, 4, 1, 1), &x, s_x, 4.0 / 32768.0, 0);
    assert_eq!((&y[..4], &y[4..]), (&want[..], &want[..]));
    // i8 with the calibrated range [0, 10003] (s_x = 10003/255, z_x = -128): the first row is all
    // code -128, the second all 127; both uniform.
    let x: [i8; 8] = [-128, -128, -128, -128, 127, 127, 127, 127];
    assert_eq!(run8(&sp(2, 4, 1, 0), &x, 10003.0 / 255.0), [-64; 8]);
}

/// Exact (f64) softmax or log-softmax of `(q - z_x) s_x` along the axis, the differences to the
/// maximum taken in integers first.
fn reference(p: &SoftmaxParams, q: &[i32], s_x: f32, log: bool) -> Vec<f64> {
    let (axis, inner) = (p.axis_len as usize, p.inner as usize);
    let mut out = vec![0f64; q.len()];
    for (qb, ob) in q
        .chunks_exact(axis * inner)
        .zip(out.chunks_exact_mut(axis * inner))
    {
        for i in 0..inner {
            let max = qb[i..]
                .iter()
                .step_by(inner)
                .fold(i32::MIN, |m, &v| m.max(v));
            let t = |v: i32| f64::from(v - max) * f64::from(s_x);
            let sum: f64 = qb[i..]
                .iter()
                .step_by(inner)
                .map(|&v| libm::exp(t(v)))
                .sum();
            for (o, &v) in ob[i..]
                .iter_mut()
                .step_by(inner)
                .zip(qb[i..].iter().step_by(inner))
            {
                *o = if log {
                    t(v) - libm::log(sum)
                } else {
                    libm::exp(t(v)) / sum
                };
            }
        }
    }
    out
}

/// Over random tensors: (max |y - exact|, max |y - round(f32)|) in output LSBs, where `exact` is the
/// f64 result on the dequantized input quantized without rounding (`v / s_y + z_y`, clamped to the
/// code range) and `f32` the f32 kernel on the dequantized input, quantized the same way.
fn max_err<T: QAct>(log: bool, seed: u64) -> (f64, f64) {
    let mut rng = Rng::new(seed);
    let (mut worst, mut worst_f32) = (0f64, 0f64);
    for _ in 0..400 {
        let (outer, axis, inner) = (
            1 + rng.below(3) as u32,
            1 + rng.below(40) as u32,
            1 + rng.below(3) as u32,
        );
        let n = (outer * axis * inner) as usize;
        // s_x log-uniform in [2^-12, 2^2] (i16: divided by 256 so the code range covers similar reals).
        let mut s_x = libm::exp2f(-12.0 + 14.0 * rng.below(1000) as f32 / 1000.0);
        if T::WIDE {
            s_x /= 256.0;
        }
        let z_x = if T::WIDE {
            0
        } else {
            rng.below(256) as i32 - 128
        };
        let span = (T::MAX - T::MIN + 1) as u64;
        let q: Vec<i32> = (0..n)
            .map(|_| {
                // Sometimes a narrow cluster, sometimes the full range.
                if rng.chance(2) {
                    T::MIN + rng.below(span) as i32
                } else {
                    (T::MAX - rng.below(span / 64) as i32).max(T::MIN)
                }
            })
            .collect();
        let x: Vec<T> = q.iter().map(|&v| T::sat(v)).collect();
        let xf: Vec<f32> = q.iter().map(|&v| (v - z_x) as f32 * s_x).collect();
        let p = sp(outer, axis, inner, log as u32);
        let exact = reference(&p, &q, s_x, log);
        let mut yf = vec![0f32; n];
        float::softmax(&p, &xf, &mut yf).unwrap();
        let (s_y, z_y) = if !log {
            if T::WIDE {
                (1.0 / 32768.0, 0)
            } else {
                (1.0 / 256.0, -128)
            }
        } else {
            // Calibrated on this tensor: [min, 0].
            let lo = exact.iter().fold(0f64, |m, &v| m.min(v)).min(-1e-3) as f32;
            if T::WIDE {
                (-lo / 32767.0, 0)
            } else {
                (-lo / 255.0, 127)
            }
        };
        let mut y = vec![T::default(); n];
        if T::WIDE {
            let t = build_softmax_table_i16(s_x, log, s_y, z_y).unwrap();
            softmax(&p, &x, &t, &mut y).unwrap();
        } else {
            let t = build_softmax_table_i8(s_x, log, s_y, z_y).unwrap();
            softmax(&p, &x, &t, &mut y).unwrap();
        }
        let code = |v: f64| {
            (v / f64::from(s_y) + f64::from(z_y)).clamp(f64::from(T::MIN), f64::from(T::MAX))
        };
        for (i, ((yv, e), f)) in y.iter().zip(&exact).zip(&yf).enumerate() {
            let got = f64::from(yv.get());
            let (r, rf) = (code(*e), code(f64::from(*f)).round());
            assert!(
                (got - r).abs() <= 0.6 && (got - rf).abs() <= 1.0,
                "log {log} wide {} s_x {s_x} element {i}: got {got}, exact {r}, f32 {rf}",
                T::WIDE,
            );
            worst = worst.max((got - r).abs());
            worst_f32 = worst_f32.max((got - rf).abs());
        }
    }
    (worst, worst_f32)
}

#[test]
fn random_against_exact_and_f32() {
    // Within 0.5 LSB of the exact unrounded result up to the table error (so the same code as the
    // exactly rounded result except at near-ties), and at most 1 LSB from the rounded f32 kernel.
    let e8 = max_err::<i8>(false, 1);
    let e16 = max_err::<i16>(false, 2);
    let l8 = max_err::<i8>(true, 3);
    let l16 = max_err::<i16>(true, 4);
    std::println!(
        "(vs exact, vs f32) softmax i8 {e8:?}, i16 {e16:?}; log-softmax i8 {l8:?}, i16 {l16:?}"
    );
    for (what, (exact, f32)) in [
        ("softmax i8", e8),
        ("softmax i16", e16),
        ("log i8", l8),
        ("log i16", l16),
    ] {
        assert!(exact <= 0.501, "{what}: {exact} from exact");
        assert!(f32 <= 1.0, "{what}: {f32} from f32");
    }
}

#[test]
fn long_axis_stays_accurate() {
    // 4096 equal i16 inputs: p = 1/4096 -> 8 exactly; log: -ln 4096 = -8.3178 at s_y = 16/32768:
    // -17035.0... -> -17035.
    let x = vec![100i16; 4096];
    assert_eq!(run16(&sp(1, 4096, 1, 0), &x, 0.01), vec![8i16; 4096]);
    let y = log16(&sp(1, 4096, 1, 1), &x, 0.01, 16.0 / 32768.0, 0);
    let want = (-(4096f64.ln()) * 2048.0).round() as i16;
    assert_eq!(want, -17035);
    assert!(y.iter().all(|&v| v == want));
}

#[test]
fn builder_errors() {
    for s in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        assert!(build_softmax_table_i8(s, false, 0.0, 0).is_err());
        assert!(build_softmax_table_i16(s, true, 0.1, 0).is_err());
    }
    for s in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        assert!(build_softmax_table_i8(0.1, true, s, 0).is_err());
        assert!(build_softmax_table_i16(0.1, true, s, 0).is_err());
    }
    assert!(build_softmax_table_i8(0.1, true, 0.1, 128).is_err());
    assert!(build_softmax_table_i16(0.1, true, 0.1, -32769).is_err());
    // Softmax ignores s_y and z_y.
    assert!(build_softmax_table_i8(0.1, false, f32::NAN, 1000).is_ok());
}

#[test]
fn length_and_table_errors() {
    let t8 = build_softmax_table_i8(0.1, false, 0.0, 0).unwrap();
    let t16 = build_softmax_table_i16(0.1, false, 0.0, 0).unwrap();
    let l8 = build_softmax_table_i8(0.1, true, 0.1, 0).unwrap();
    let p = sp(1, 3, 1, 0);
    let x = [1i8, 2, 3];
    let mut y = [5i8; 3];
    let length = |what, expected, actual| KernelError::Length {
        what,
        expected,
        actual,
    };
    assert_eq!(
        softmax(&p, &x[..2], &t8, &mut y),
        Err(length("softmax x", 3, 2))
    );
    assert_eq!(
        softmax(&p, &x, &t8, &mut y[..2]),
        Err(length("softmax y", 3, 2))
    );
    assert_eq!(
        softmax(&p, &x, &t8[..TABLE_LEN_I8 - 1], &mut y),
        Err(length("softmax table", TABLE_LEN_I8, TABLE_LEN_I8 - 1))
    );
    // An i16 table for i8 codes: wrong length; the log flag must match the header.
    assert_eq!(
        softmax(&p, &x, &t16, &mut y),
        Err(length("softmax table", TABLE_LEN_I8, TABLE_LEN_I16))
    );
    assert!(matches!(
        softmax(&sp(1, 3, 1, 1), &x, &t8, &mut y),
        Err(KernelError::BadParam { .. })
    ));
    assert!(matches!(
        softmax(&p, &x, &l8, &mut y),
        Err(KernelError::BadParam { .. })
    ));
    // An i8 table padded to the i16 length: header says 8 bits.
    let mut padded = [0i32; TABLE_LEN_I16];
    padded[..TABLE_LEN_I8].copy_from_slice(&t8);
    let x16 = [1i16, 2, 3];
    let mut y16 = [5i16; 3];
    assert!(matches!(
        softmax(&p, &x16, &padded, &mut y16),
        Err(KernelError::BadParam { .. })
    ));
    // Out-of-range header parameters.
    for (word, v) in [(1, 200), (2, 27), (2, 41), (4, 1 << 20), (4, -1), (6, -1)] {
        let mut bad = l8;
        bad[word] = v;
        assert!(matches!(
            softmax(&sp(1, 3, 1, 1), &x, &bad, &mut y),
            Err(KernelError::BadParam { .. })
        ));
    }
    assert!(matches!(
        softmax(&sp(1, 3, 1, 2), &x, &t8, &mut y),
        Err(KernelError::BadParam { .. })
    ));
    assert_eq!(
        softmax(&sp(u32::MAX, u32::MAX, u32::MAX, 0), &x, &t8, &mut y),
        Err(KernelError::Overflow { what: "softmax x" })
    );
    // Nothing written on error.
    assert_eq!(y, [5; 3]);
    assert_eq!(y16, [5; 3]);
    // Empty tensors are fine, but the table is still checked.
    assert_eq!(softmax::<i8>(&sp(0, 3, 1, 0), &[], &t8, &mut []), Ok(()));
    assert!(softmax::<i8>(&sp(0, 3, 1, 0), &[], &t8[..5], &mut []).is_err());
}

#[test]
fn corrupt_tables_do_not_panic() {
    let mut rng = Rng::new(9);
    for round in 0..300 {
        let log = round % 2 == 1;
        let mut t8 = build_softmax_table_i8(0.05, log, 0.05, 0).unwrap();
        let mut t16 = build_softmax_table_i16(0.05, log, 0.001, 0).unwrap();
        for w in t8[1..].iter_mut().chain(t16[1..].iter_mut()) {
            if rng.chance(3) {
                *w = rng.next() as i32;
            }
        }
        let n = 1 + rng.below(50) as usize;
        let x8: Vec<i8> = (0..n).map(|_| rng.next() as i8).collect();
        let x16: Vec<i16> = (0..n).map(|_| rng.next() as i16).collect();
        let p = sp(1, n as u32, 1, log as u32);
        let _ = softmax(&p, &x8, &t8, &mut vec![0i8; n]);
        let _ = softmax(&p, &x16, &t16, &mut vec![0i16; n]);
    }
}

#[test]
fn integer_log2_of_the_sum() {
    // log2(S / 2^30) in Q30 against f64, over the whole range of sums (2^30 ..= 2^62).
    let mut rng = Rng::new(5);
    for _ in 0..2000 {
        let s = (1i64 << 30) + (rng.next() >> (2 + rng.below(33))) as i64;
        let got = log2_sum_q30(s) as f64 / (1u64 << 30) as f64;
        let want = libm::log2(s as f64) - 30.0;
        assert!((got - want).abs() < 4e-9, "S {s}: {got} vs {want}");
    }
    assert_eq!(log2_sum_q30(1 << 30), 0);
    assert_eq!(log2_sum_q30(1 << 31), 1 << 30);
    assert_eq!(log2_sum_q30(1 << 62), 32 << 30);
    // 3 * 2^30: log2 3 = 1.5849625007 -> 1701840526.5 in Q30.
    assert!((log2_sum_q30(3 << 30) - 1_701_840_526).abs() <= 2);
}

#[test]
fn long_random_axis() {
    // n = 4096 random i16 codes in a narrow band (so many terms count) and n = 65536 i8 codes:
    // within the documented bound of the exact result (int16: 0.5 + 1.5 (n + 1) 2^-15 LSB).
    let mut rng = Rng::new(11);
    let q16: Vec<i32> = (0..4096).map(|_| 32767 - rng.below(3000) as i32).collect();
    let x16: Vec<i16> = q16.iter().map(|&v| v as i16).collect();
    let p = sp(1, 4096, 1, 0);
    let exact = reference(&p, &q16, 1e-3, false);
    let y = run16(&p, &x16, 1e-3);
    for (&g, &e) in y.iter().zip(&exact) {
        assert!(
            (f64::from(g) - e * 32768.0).abs() <= 0.5 + 0.19,
            "{g} vs {}",
            e * 32768.0
        );
    }
    let q8: Vec<i32> = (0..65536).map(|_| rng.below(256) as i32 - 128).collect();
    let x8: Vec<i8> = q8.iter().map(|&v| v as i8).collect();
    let p = sp(1, 65536, 1, 0);
    let exact = reference(&p, &q8, 0.1, false);
    for (&g, &e) in run8(&p, &x8, 0.1).iter().zip(&exact) {
        assert!((f64::from(g) - (e * 256.0 - 128.0)).abs() <= 0.501);
    }
    // The log-softmax of the same i8 row, s_y = 1/8, z_y = 127.
    let p = sp(1, 65536, 1, 1);
    let exact = reference(&p, &q8, 0.1, true);
    for (&g, &e) in log8(&p, &x8, 0.1, 0.125, 127).iter().zip(&exact) {
        let r = (e * 8.0 + 127.0).clamp(-128.0, 127.0);
        assert!((f64::from(g) - r).abs() <= 0.501, "{g} vs {r}");
    }
}
