//! Integer reductions against hand-computed codes and the f32 kernel.
use rill_format::{ReduceKind, ReduceParams, MAX_RANK};
use std::vec;
use std::vec::Vec;

use super::fixed::reduce;
use crate::fixed::{quantize_multiplier, OutQ, QAct, QMul};
use crate::testutil::q::{assert_codes, dequantize, quantize, range, span};
use crate::testutil::Rng;
use crate::KernelError;

fn rp(kind: ReduceKind, shape: &[u32], axes_mask: u32) -> ReduceParams {
    let mut in_shape = [0; MAX_RANK];
    in_shape[..shape.len()].copy_from_slice(shape);
    ReduceParams {
        kind: kind as u32,
        rank: shape.len() as u32,
        in_shape,
        axes_mask,
    }
}

fn qm(real: f64) -> QMul {
    quantize_multiplier(real).unwrap()
}

#[test]
fn sum_and_mean_by_hand() {
    // [[1 2 3] [-1 -2 -4]], z_x = 1 -> [[0 1 2] [-2 -3 -5]]: row sums 3 and -10.
    let x = [1i8, 2, 3, -1, -2, -4];
    let mut y = [0i8; 2];
    // M = 1/2: 1.5 -> 2, -5.
    reduce(&rp(ReduceKind::Sum, &[2, 3], 0b10), &x, 1, qm(0.5), OutQ::plain::<i8>(0), &mut y).unwrap();
    assert_eq!(y, [2, -5]);
    // Mean with 1/3 folded into M: 1, -3.33 -> -3; z_y = 100: 101, 97.
    reduce(&rp(ReduceKind::Mean, &[2, 3], 0b10), &x, 1, qm(1.0 / 3.0), OutQ::plain::<i8>(100), &mut y)
        .unwrap();
    assert_eq!(y, [101, 97]);
    // Column sums [-2 -2 -3] with M = 1/2: -1, -1, -1.5 -> -2 (negative tie away from zero).
    let mut y3 = [0i8; 3];
    reduce(&rp(ReduceKind::Sum, &[2, 3], 0b01), &x, 1, qm(0.5), OutQ::plain::<i8>(0), &mut y3).unwrap();
    assert_eq!(y3, [-1, -1, -2]);
    // All axes: total -7, M = 1 -> -7; rank 0 is one element.
    let mut y1 = [0i8; 1];
    reduce(&rp(ReduceKind::Sum, &[2, 3], 0b11), &x, 1, qm(1.0), OutQ::plain::<i8>(0), &mut y1).unwrap();
    assert_eq!(y1, [-7]);
    reduce(&rp(ReduceKind::Mean, &[], 0), &[-5i8], -10, qm(1.0), OutQ::plain::<i8>(3), &mut y1).unwrap();
    assert_eq!(y1, [8]);
}

#[test]
fn max_and_min_by_hand_with_extreme_zero_points() {
    // z_x = 127: codes [127 -128 0] are reals 0, -255, -127 (units of s_x). M = 1/2 and z_y = 0:
    // max 0 -> 0, min -255 -> -127.5 -> -128.
    let x = [127i8, -128, 0];
    let mut y = [9i8; 1];
    reduce(&rp(ReduceKind::Max, &[3], 1), &x, 127, qm(0.5), OutQ::plain::<i8>(0), &mut y).unwrap();
    assert_eq!(y, [0]);
    reduce(&rp(ReduceKind::Min, &[3], 1), &x, 127, qm(0.5), OutQ::plain::<i8>(0), &mut y).unwrap();
    assert_eq!(y, [-128]);
    // z_x = -128, z_y = -128, M = 1: max is 255 above z -> saturates 127; min -> -128.
    reduce(&rp(ReduceKind::Max, &[3], 1), &x, -128, qm(1.0), OutQ::plain::<i8>(-128), &mut y).unwrap();
    assert_eq!(y, [127]);
    reduce(&rp(ReduceKind::Min, &[3], 1), &x, -128, qm(1.0), OutQ::plain::<i8>(-128), &mut y).unwrap();
    assert_eq!(y, [-128]);
    // i16 extremes.
    let mut y16 = [0i16; 1];
    let x16 = [32767i16, -32768, 5];
    reduce(&rp(ReduceKind::Max, &[3], 1), &x16, 0, qm(1.0), OutQ::plain::<i16>(0), &mut y16).unwrap();
    assert_eq!(y16, [32767]);
    reduce(&rp(ReduceKind::Min, &[3], 1), &x16, 0, qm(1.0), OutQ::plain::<i16>(0), &mut y16).unwrap();
    assert_eq!(y16, [-32768]);
    // Fused Relu clamps Min at z_y.
    let relu = OutQ { z: 4, lo: 4, hi: 32767 };
    reduce(&rp(ReduceKind::Min, &[3], 1), &x16, 0, qm(1.0), relu, &mut y16).unwrap();
    assert_eq!(y16, [4]);
}

#[test]
fn i16_sums_beyond_i32_and_empty_reductions() {
    // 70000 * 32767 = 2293690000 > 2^31: accumulated in i64; M = 2^-17 -> 17499.47 -> 17499.
    let x = vec![32767i16; 70000];
    let mut y = [0i16; 1];
    reduce(&rp(ReduceKind::Sum, &[70000], 1), &x, 0, qm(2f64.powi(-17)), OutQ::plain::<i16>(0), &mut y)
        .unwrap();
    assert_eq!(y, [17499]);
    // M = 2^-16 saturates: 34998.9 -> 32767.
    reduce(&rp(ReduceKind::Sum, &[70000], 1), &x, 0, qm(2f64.powi(-16)), OutQ::plain::<i16>(0), &mut y)
        .unwrap();
    assert_eq!(y, [32767]);
    // An empty reduced axis gives the output zero point for every kind.
    for kind in [ReduceKind::Mean, ReduceKind::Sum, ReduceKind::Max, ReduceKind::Min] {
        let mut y = [0i8; 2];
        reduce(&rp(kind, &[2, 0], 0b10), &[], 5, qm(1.0), OutQ::plain::<i8>(-9), &mut y).unwrap();
        assert_eq!(y, [-9, -9], "{kind:?}");
    }
}

fn against_float<T: QAct>(seed: u64, kind: ReduceKind, shape: &[u32], mask: u32) {
    let mut rng = Rng::new(seed);
    let n: usize = shape.iter().map(|&d| d as usize).product();
    let xf: Vec<f32> = rng.vec(n).iter().map(|v| v + 0.7).collect();
    let (lo, hi) = span(&xf);
    let (s_x, z_x) = range::<T>(lo, hi);
    let xq: Vec<T> = quantize(&xf, s_x, z_x);
    let xd = dequantize(&xq, s_x, z_x);
    let p = rp(kind, shape, mask);
    let count: usize = (0..shape.len())
        .filter(|&a| mask >> a & 1 == 1)
        .map(|a| shape[a] as usize)
        .product();
    let ny = n / count;
    let mut yf = vec![0f32; ny];
    super::float::reduce(&p, &xd, &mut yf).unwrap();
    let (ylo, yhi) = span(&yf);
    let (s_y, z_y) = range::<T>(ylo, yhi);
    let mut real = s_x as f64 / s_y as f64;
    if kind == ReduceKind::Mean {
        real /= count as f64;
    }
    let mut y = vec![T::default(); ny];
    reduce(&p, &xq, z_x, qm(real), OutQ::plain::<T>(z_y), &mut y).unwrap();
    assert_codes(&y, &yf, s_y, z_y, 1);
}

#[test]
fn matches_float_within_one_lsb() {
    let cases: [(&[u32], u32); 5] = [
        (&[4, 5, 6], 0b010),
        (&[4, 5, 6], 0b101),
        (&[2, 3, 4, 5], 0b1010),
        (&[64], 0b1),
        (&[3, 7], 0b11),
    ];
    for (i, (shape, mask)) in cases.iter().enumerate() {
        for kind in [ReduceKind::Mean, ReduceKind::Sum, ReduceKind::Max, ReduceKind::Min] {
            for seed in 0..5 {
                against_float::<i8>(seed * 10 + i as u64, kind, shape, *mask);
                against_float::<i16>(seed * 10 + i as u64, kind, shape, *mask);
            }
        }
    }
}

#[test]
fn errors() {
    let m = qm(1.0);
    let o = OutQ::plain::<i8>(0);
    let x = [0i8; 6];
    let mut y = [1i8; 2];
    let bad = |p: ReduceParams, y: &mut [i8]| matches!(reduce(&p, &x, 0, m, o, y), Err(KernelError::BadParam { .. }));
    let p = rp(ReduceKind::Sum, &[2, 3], 0b10);
    assert!(bad(ReduceParams { kind: 4, ..p }, &mut y));
    assert!(bad(ReduceParams { rank: 7, ..p }, &mut y));
    assert!(bad(ReduceParams { axes_mask: 0b100, ..p }, &mut y));
    assert!(matches!(reduce(&p, &x[..5], 0, m, o, &mut y), Err(KernelError::Length { .. })));
    assert!(matches!(reduce(&p, &x, 0, m, o, &mut [0i8; 3]), Err(KernelError::Length { .. })));
    assert_eq!(y, [1, 1]);
}
