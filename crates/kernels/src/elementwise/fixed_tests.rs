//! Integer binary ops against hand-computed codes and the f32 kernel with broadcasting.
use rill_format::{BinaryKind, BinaryParams, MAX_RANK};
use std::vec;
use std::vec::Vec;

use super::fixed::{binary, BinaryQ};
use crate::fixed::{quantize_multiplier, OutQ, QAct, QMul};
use crate::testutil::q::{assert_codes, dequantize, quantize, range, span};
use crate::testutil::Rng;
use crate::KernelError;

fn bp(kind: BinaryKind, shape: &[u32], sa: &[u32], sb: &[u32]) -> BinaryParams {
    let mut p = BinaryParams {
        kind: kind as u32,
        rank: shape.len() as u32,
        out_shape: [0; MAX_RANK],
        a_strides: [0; MAX_RANK],
        b_strides: [0; MAX_RANK],
    };
    p.out_shape[..shape.len()].copy_from_slice(shape);
    p.a_strides[..shape.len()].copy_from_slice(sa);
    p.b_strides[..shape.len()].copy_from_slice(sb);
    p
}

fn qm(real: f64) -> QMul {
    quantize_multiplier(real).unwrap()
}

/// The converter's parameters for `kind` (TFLite's scheme, docs/numerics.md).
fn params<T: QAct>(kind: BinaryKind, a: (f32, i32), b: (f32, i32), y: (f32, i32)) -> BinaryQ {
    let (sa, sb, sy) = (a.0 as f64, b.0 as f64, y.0 as f64);
    if kind == BinaryKind::Mul {
        return BinaryQ {
            z_a: a.1,
            z_b: b.1,
            m_a: QMul::default(),
            m_b: QMul::default(),
            m_y: qm(sa * sb / sy),
            left_shift: 0,
            out: OutQ::plain::<T>(y.1),
        };
    }
    let ls = if T::WIDE { 15 } else { 20 };
    let smax = sa.max(sb);
    BinaryQ {
        z_a: a.1,
        z_b: b.1,
        m_a: qm(sa / (2.0 * smax)),
        m_b: qm(sb / (2.0 * smax)),
        m_y: qm(2.0 * smax / ((1u64 << ls) as f64 * sy)),
        left_shift: ls,
        out: OutQ::plain::<T>(y.1),
    }
}

fn run<T: QAct>(kind: BinaryKind, a: &[T], b: &[T], q: &BinaryQ) -> Vec<T> {
    let n = a.len() as u32;
    let mut y = vec![T::default(); a.len()];
    binary(&bp(kind, &[n], &[1], &[1]), a, b, q, &mut y).unwrap();
    y
}

#[test]
fn add_and_sub_by_hand() {
    // Equal scales, s_y = s: exact sums, saturated at the i8 range.
    let q = params::<i8>(BinaryKind::Add, (0.1, 0), (0.1, 0), (0.1, 0));
    assert_eq!(run(BinaryKind::Add, &[10i8, -128, 127, 0], &[5, -1, 127, 0], &q), [15, -128, 127, 0]);
    assert_eq!(run(BinaryKind::Sub, &[10i8, -128, 127, 0], &[5, 1, -1, 0], &q), [5, -128, 127, 0]);
    // s_y = 2 s: halves with ties away from zero: 3 -> 2, -3 -> -2, 1 -> 1, -1 -> -1.
    let q = params::<i8>(BinaryKind::Add, (0.1, 0), (0.1, 0), (0.2, 0));
    assert_eq!(run(BinaryKind::Add, &[1i8, -1, 0, 0], &[2, -2, 1, -1], &q), [2, -2, 1, -1]);
    // Zero points at the extremes: a = -128 with z_a = -128 is 0; b = 127 with z_b = 127 is 0;
    // z_y = -128 and z_y = 127.
    let q = params::<i8>(BinaryKind::Add, (0.1, -128), (0.1, 127), (0.1, -128));
    assert_eq!(run(BinaryKind::Add, &[-128i8, -118, 127], &[127, 127, 126], &q), [-128, -118, 126]);
    let q = params::<i8>(BinaryKind::Add, (0.1, -128), (0.1, 127), (0.1, 127));
    assert_eq!(run(BinaryKind::Add, &[-128i8, -118, -128], &[127, 127, 117], &q), [127, 127, 117]);
    // Different input scales s_a = 0.5, s_b = 0.25, s_y = 0.5 (m_a = 1/2, m_b = 1/4): 0.75 -> 1.5 -> 2;
    // 1.5 - 1 = 0.5 -> 1; -0.5 -> -1; -0.75 -> -1.5 -> -2 (ties away from zero after the rescale).
    let q = params::<i8>(BinaryKind::Add, (0.5, 0), (0.25, 0), (0.5, 0));
    assert_eq!(run(BinaryKind::Add, &[1i8, 3, -3, -1], &[1, -4, 4, -1], &q), [2, 1, -1, -2]);
    // i16 (left shift 15): exact and saturating.
    let q = params::<i16>(BinaryKind::Add, (0.5, 0), (0.5, 0), (0.5, 0));
    assert_eq!(
        run(BinaryKind::Add, &[32767i16, -32768, 1000, -32768], &[1, -1, -3000, 32767], &q),
        [32767, -32768, -2000, -1]
    );
    let q = params::<i16>(BinaryKind::Sub, (0.5, 0), (0.5, 0), (1.0, 0));
    assert_eq!(run(BinaryKind::Sub, &[32767i16, -32768, 3, -3], &[-32768, 32767, 0, 0], &q), [32767, -32768, 2, -2]);
}

#[test]
fn fused_relu_and_clip() {
    let mut q = params::<i8>(BinaryKind::Add, (0.1, 0), (0.1, 0), (0.1, -10));
    q.out = OutQ {
        z: -10,
        lo: -10,
        hi: 127,
    };
    assert_eq!(run(BinaryKind::Add, &[-5i8, 5, 100], &[-5, 5, 100], &q), [-10, 0, 127]);
    // Clip(0, 1) at s_y = 0.1: [z, z + 10].
    q.out.hi = 0;
    assert_eq!(run(BinaryKind::Add, &[-5i8, 5, 100, 3], &[-5, 5, 100, 3], &q), [-10, 0, 0, -4]);
}

#[test]
fn mul_by_hand() {
    // (3 - 1)(5 + 2) = 14, M = 1/4: 3.5 -> 4; (-1 - 1)(5 + 2) = -14 -> -4.
    let q = BinaryQ {
        z_a: 1,
        z_b: -2,
        m_a: QMul::default(),
        m_b: QMul::default(),
        m_y: qm(0.25),
        left_shift: 0,
        out: OutQ::plain::<i8>(0),
    };
    assert_eq!(run(BinaryKind::Mul, &[3i8, -1, -128], &[5, 5, -128], &q), [4, -4, 127]);
    // i8 activations times an i16 constant: 100 * 300 = 30000, M = 2^-8: 117.19 -> 117; z_y = -128.
    let q = BinaryQ {
        z_a: 0,
        z_b: 0,
        m_y: qm(2f64.powi(-8)),
        out: OutQ::plain::<i8>(-128),
        ..q
    };
    let mut y = [0i8; 3];
    binary::<i8, i16>(&bp(BinaryKind::Mul, &[3], &[1], &[1]), &[100, -128, 127], &[300, -32768, 32767], &q, &mut y)
        .unwrap();
    // -128 * -32768 / 256 = 16384 -> saturates; 127 * 32767 / 256 = 16255 -> saturates.
    assert_eq!(y, [-11, 127, 127]);
    // i16: 32767 * 32767 with M = 2^-15: 32766.0 -> 32766; -32768 * 32767 -> -32767.
    let q16 = BinaryQ {
        m_y: qm(2f64.powi(-15)),
        out: OutQ::plain::<i16>(0),
        ..q
    };
    assert_eq!(run(BinaryKind::Mul, &[32767i16, -32768], &[32767, 32767], &q16), [32766, -32767]);
}

#[test]
fn max_and_min_by_hand() {
    // Different scales: a in 0.3, b in 0.1, y in 0.1: max(0.3, 0.2) = 0.3 -> 3; max(-0.3, -0.2) -> -2.
    let q = params::<i8>(BinaryKind::Max, (0.3, 0), (0.1, 0), (0.1, 0));
    assert_eq!(run(BinaryKind::Max, &[1i8, -1, 5], &[2, -2, 16], &q), [3, -2, 16]);
    assert_eq!(run(BinaryKind::Min, &[1i8, -1, 5], &[2, -2, 16], &q), [2, -3, 15]);
}

fn against_float<T: QAct>(seed: u64, kind: BinaryKind) {
    // a [2, 3, 4] against b [3, 1] broadcast over axes 0 and 2.
    let mut rng = Rng::new(seed);
    let af: Vec<f32> = rng.vec(24).iter().map(|v| v * 2.0 + 0.5).collect();
    let bf: Vec<f32> = rng.vec(3).iter().map(|v| v * 0.3 - 0.1).collect();
    let (sa, za) = {
        let (lo, hi) = span(&af);
        range::<T>(lo, hi)
    };
    let (sb, zb) = {
        let (lo, hi) = span(&bf);
        range::<T>(lo, hi)
    };
    let aq: Vec<T> = quantize(&af, sa, za);
    let bq: Vec<T> = quantize(&bf, sb, zb);
    let (ad, bd) = (dequantize(&aq, sa, za), dequantize(&bq, sb, zb));
    let p = bp(kind, &[2, 3, 4], &[12, 4, 1], &[0, 1, 0]);
    let mut yf = vec![0f32; 24];
    super::float::binary(&p, &ad, &bd, &mut yf).unwrap();
    let (lo, hi) = span(&yf);
    let (sy, zy) = range::<T>(lo, hi);
    let q = params::<T>(kind, (sa, za), (sb, zb), (sy, zy));
    let mut y = vec![T::default(); 24];
    binary(&p, &aq, &bq, &q, &mut y).unwrap();
    assert_codes(&y, &yf, sy, zy, 1);
    // Swapped: the broadcast operand first.
    let p = bp(kind, &[2, 3, 4], &[0, 1, 0], &[12, 4, 1]);
    super::float::binary(&p, &bd, &ad, &mut yf).unwrap();
    let (lo, hi) = span(&yf);
    let (sy, zy) = range::<T>(lo, hi);
    let q = params::<T>(kind, (sb, zb), (sa, za), (sy, zy));
    binary(&p, &bq, &aq, &q, &mut y).unwrap();
    assert_codes(&y, &yf, sy, zy, 1);
}

#[test]
fn matches_float_within_one_lsb() {
    for kind in [BinaryKind::Add, BinaryKind::Sub, BinaryKind::Mul, BinaryKind::Max, BinaryKind::Min] {
        for seed in 0..30 {
            against_float::<i8>(seed, kind);
            against_float::<i16>(seed, kind);
        }
    }
}

#[test]
fn errors() {
    let q8 = params::<i8>(BinaryKind::Add, (0.1, 0), (0.1, 0), (0.1, 0));
    let q16 = params::<i16>(BinaryKind::Add, (0.1, 0), (0.1, 0), (0.1, 0));
    let bad = |r: Result<(), KernelError>| matches!(r, Err(KernelError::BadParam { .. }));
    let mut y = [7i8; 2];
    let mut y16 = [7i16; 2];
    let p = |k: BinaryKind| bp(k, &[2], &[1], &[1]);
    for k in [BinaryKind::Div, BinaryKind::Pow] {
        assert!(bad(binary(&p(k), &[1i8; 2], &[1i8; 2], &q8, &mut y)), "{k:?}");
        assert!(bad(binary(&p(k), &[1i16; 2], &[1i16; 2], &q16, &mut y16)), "{k:?}");
    }
    let mut unknown = p(BinaryKind::Add);
    unknown.kind = 7;
    assert!(bad(binary(&unknown, &[1i8; 2], &[1i8; 2], &q8, &mut y)));
    // Mixed code types: only Mul.
    for k in [BinaryKind::Add, BinaryKind::Sub, BinaryKind::Max, BinaryKind::Min] {
        assert!(bad(binary::<i8, i16>(&p(k), &[1; 2], &[1; 2], &q8, &mut y)), "{k:?}");
        assert!(bad(binary::<i16, i8>(&p(k), &[1; 2], &[1; 2], &q16, &mut y16)), "{k:?}");
    }
    // Left shifts beyond the headroom.
    let q = BinaryQ { left_shift: 21, ..q8 };
    assert!(bad(binary(&p(BinaryKind::Add), &[1i8; 2], &[1i8; 2], &q, &mut y)));
    let q = BinaryQ { left_shift: 16, ..q16 };
    assert!(bad(binary(&p(BinaryKind::Add), &[1i16; 2], &[1i16; 2], &q, &mut y16)));
    assert_eq!(y, [7, 7]);
    assert_eq!(y16, [7, 7]);
    // Lengths: y exact, a and b at least the furthest element read.
    let len = |r: Result<(), KernelError>| matches!(r, Err(KernelError::Length { .. }));
    assert!(len(binary(&p(BinaryKind::Add), &[1i8; 1], &[1i8; 2], &q8, &mut y)));
    assert!(len(binary(&p(BinaryKind::Add), &[1i8; 2], &[1i8; 1], &q8, &mut y)));
    assert!(len(binary(&p(BinaryKind::Add), &[1i8; 2], &[1i8; 2], &q8, &mut y[..1])));
    assert!(binary(&bp(BinaryKind::Add, &[2], &[1], &[0]), &[1i8; 2], &[1i8; 1], &q8, &mut y).is_ok());
    assert_eq!(y, [2, 2]);
    let mut big = bp(BinaryKind::Add, &[2], &[1], &[1]);
    big.rank = 7;
    assert!(bad(binary(&big, &[1i8; 2], &[1i8; 2], &q8, &mut y)));
}
