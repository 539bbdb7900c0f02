//! Integer concat: inputs requantized to the output's scale and zero point.
use rill_format::ConcatParams;
use std::vec;
use std::vec::Vec;

use super::fixed::concat;
use crate::fixed::{quantize_multiplier, OutQ, QAct, QMul};
use crate::testutil::q::{assert_codes, dequantize, quantize, range, span};
use crate::testutil::Rng;
use crate::KernelError;

fn qm(real: f64) -> QMul {
    quantize_multiplier(real).unwrap()
}

#[test]
fn equal_scales_copy_the_codes() {
    let one = qm(1.0);
    let a = [-128i8, 127, 0, 5];
    let b = [-1i8, 1];
    let mut y = [0i8; 6];
    concat(
        &ConcatParams { outer: 2, inner: 1 },
        &[(&a, 9, one), (&b, 9, one)],
        OutQ::plain::<i8>(9),
        &mut y,
    )
    .unwrap();
    assert_eq!(y, [-128, 127, -1, 0, 5, 1]);
    let a16 = [-32768i16, 32767, 0, -1];
    let mut y16 = [0i16; 4];
    concat(
        &ConcatParams { outer: 1, inner: 2 },
        &[(&a16, 0, one)],
        OutQ::plain::<i16>(0),
        &mut y16,
    )
    .unwrap();
    assert_eq!(y16, a16);
}

#[test]
fn differing_scales_by_hand() {
    // a: s = 0.2, z = 10 -> M = 2; b: s = 0.05, z = -128 -> M = 1/2; output s = 0.1, z = 0.
    // a codes [10 11 127] -> [0 2 234 -> 127]; b codes [-128 -127 -125 127] -> [0 0.5 -> 1, 1.5 -> 2,
    // 127.5 -> 128 -> 127]; c: s = 0.05, z = -100: -103 -> -1.5 -> -2, -101 -> -0.5 -> -1.
    let a = [10i8, 11, 127];
    let b = [-128i8, -127, -125, 127];
    let c = [-103i8, -101];
    let mut y = [0i8; 9];
    concat(
        &ConcatParams { outer: 1, inner: 1 },
        &[(&a, 10, qm(2.0)), (&b, -128, qm(0.5)), (&c, -100, qm(0.5))],
        OutQ::plain::<i8>(0),
        &mut y,
    )
    .unwrap();
    assert_eq!(y, [0, 2, 127, 0, 1, 2, 127, -2, -1]);
    // Output zero point at the extremes, and a fused Relu (lo = z_y).
    let mut y = [0i8; 3];
    concat(
        &ConcatParams { outer: 1, inner: 1 },
        &[(&a, 10, qm(0.5))],
        OutQ::plain::<i8>(-128),
        &mut y,
    )
    .unwrap();
    // [0, 0.5 -> 1, 58.5 -> 59] - 128.
    assert_eq!(y, [-128, -127, -69]);
    let relu = OutQ {
        z: 127,
        lo: 127,
        hi: 127,
    };
    let mut y2 = [0i8; 2];
    concat(
        &ConcatParams { outer: 1, inner: 1 },
        &[(&c, -100, qm(0.5))],
        relu,
        &mut y2,
    )
    .unwrap();
    assert_eq!(y2, [127, 127]);
    // i16: 32767 at M = 2 saturates, -32768 at M = 1/2 is -16384, -3 -> -1.5 -> -2.
    let mut y16 = [0i16; 3];
    concat(
        &ConcatParams { outer: 1, inner: 1 },
        &[
            (&[32767i16][..], 0, qm(2.0)),
            (&[-32768i16, -3][..], 0, qm(0.5)),
        ],
        OutQ::plain::<i16>(0),
        &mut y16,
    )
    .unwrap();
    assert_eq!(y16, [32767, -16384, -2]);
}

#[test]
fn interleaves_blocks_per_outer_index() {
    // outer 2, inner 2: a is [2, 1, 2], b is [2, 2, 2]; y is [2, 3, 2].
    let one = qm(1.0);
    let a = [1i8, 2, 3, 4];
    let b = [10i8, 11, 12, 13, 14, 15, 16, 17];
    let mut y = [0i8; 12];
    concat(
        &ConcatParams { outer: 2, inner: 2 },
        &[(&a, 0, one), (&b, 0, one)],
        OutQ::plain::<i8>(0),
        &mut y,
    )
    .unwrap();
    assert_eq!(y, [1, 2, 10, 11, 12, 13, 3, 4, 14, 15, 16, 17]);
}

fn against_float<T: QAct>(seed: u64) {
    // Three inputs of different ranges concatenated on the middle axis of [2, len_i, 3].
    let mut rng = Rng::new(seed);
    let lens = [2usize, 4, 1];
    let ranges = [(3.0f32, 1.0f32), (0.2, -0.1), (1.0, 0.8)];
    let xs: Vec<Vec<f32>> = lens
        .iter()
        .zip(ranges)
        .map(|(&l, (mul, add))| rng.vec(2 * l * 3).iter().map(|v| v * mul + add).collect())
        .collect();
    let qs: Vec<(f32, i32)> = xs
        .iter()
        .map(|x| {
            let (lo, hi) = span(x);
            range::<T>(lo, hi)
        })
        .collect();
    let codes: Vec<Vec<T>> = xs
        .iter()
        .zip(&qs)
        .map(|(x, &(s, z))| quantize(x, s, z))
        .collect();
    let deq: Vec<Vec<f32>> = codes
        .iter()
        .zip(&qs)
        .map(|(c, &(s, z))| dequantize(c, s, z))
        .collect();
    let p = ConcatParams { outer: 2, inner: 3 };
    let refs: Vec<&[f32]> = deq.iter().map(|v| v.as_slice()).collect();
    let mut yf = vec![0f32; 2 * 7 * 3];
    super::concat(&p, &refs, &mut yf).unwrap();
    let (lo, hi) = span(&yf);
    let (s_y, z_y) = range::<T>(lo, hi);
    let inputs: Vec<(&[T], i32, QMul)> = codes
        .iter()
        .zip(&qs)
        .map(|(c, &(s, z))| (c.as_slice(), z, qm(s as f64 / s_y as f64)))
        .collect();
    let mut y = vec![T::default(); yf.len()];
    concat(&p, &inputs, OutQ::plain::<T>(z_y), &mut y).unwrap();
    assert_codes(&y, &yf, s_y, z_y, 1);
}

#[test]
fn matches_float_within_one_lsb() {
    for seed in 0..30 {
        against_float::<i8>(seed);
        against_float::<i16>(seed);
    }
}

#[test]
fn errors() {
    let one = qm(1.0);
    let o = OutQ::plain::<i8>(0);
    let p = ConcatParams { outer: 2, inner: 1 };
    let mut y = [3i8; 4];
    assert!(matches!(
        concat::<i8>(&p, &[], o, &mut y),
        Err(KernelError::BadParam { .. })
    ));
    let len = |r: Result<(), KernelError>| matches!(r, Err(KernelError::Length { .. }));
    assert!(len(concat(&p, &[(&[0i8; 3][..], 0, one)], o, &mut y[..3])));
    assert!(len(concat(&p, &[(&[0i8; 2][..], 0, one)], o, &mut y)));
    assert!(len(concat(
        &ConcatParams { outer: 0, inner: 1 },
        &[(&[0i8; 2][..], 0, one)],
        o,
        &mut y
    )));
    assert_eq!(y, [3; 4]);
    assert!(matches!(
        concat(
            &ConcatParams {
                outer: u32::MAX,
                inner: u32::MAX
            },
            &[(&[0i8; 2][..], 0, one)],
            o,
            &mut y
        ),
        Err(KernelError::Overflow { .. }) | Err(KernelError::Length { .. })
    ));
}
