//! Integer pooling on codes against hand-computed windows and the f32 kernel.
use rill_format::{PoolKind, PoolParams};
use std::vec;
use std::vec::Vec;

use super::fixed::pool;
use crate::fixed::QAct;
use crate::testutil::q::{assert_codes, dequantize, quantize, range, span};
use crate::testutil::Rng;
use crate::KernelError;

fn p1(kind: PoolKind, in_w: u32, out_w: u32, k_w: u32, stride: u32, pad: u32, inc: u32) -> PoolParams {
    PoolParams {
        kind: kind as u32,
        batch: 1,
        channels: 1,
        in_h: 1,
        in_w,
        out_h: 1,
        out_w,
        k_h: 1,
        k_w,
        stride_h: 1,
        stride_w: stride,
        dil_h: 1,
        dil_w: 1,
        pad_top: 0,
        pad_left: pad,
        count_include_pad: inc,
        global: 0,
    }
}

#[test]
fn max_ignores_padding_and_empty_windows_give_min() {
    // Negative codes at a padded border: the padding must not win (it is no value at all).
    let p = p1(PoolKind::Max, 3, 3, 3, 1, 1, 0);
    let mut y = [0i8; 3];
    pool(&p, &[-128i8, -100, -50], 0, &mut y).unwrap();
    assert_eq!(y, [-100, -50, -50]);
    // pad 1, k 1: the first window is all padding.
    let p = p1(PoolKind::Max, 2, 3, 1, 1, 1, 0);
    pool(&p, &[5i8, -7], 0, &mut y).unwrap();
    assert_eq!(y, [-128, 5, -7]);
    let mut y16 = [0i16; 3];
    pool(&p, &[32767i16, -32768], 0, &mut y16).unwrap();
    assert_eq!(y16, [-32768, 32767, -32768]);
}

#[test]
fn average_rounds_half_away_from_zero() {
    // Windows of 2, stride 2: sums 3 -> 1.5 -> 2, -3 -> -1.5 -> -2, 23 -> 11.5 -> 12,
    // -253 -> -126.5 -> -127 (the codes are averaged, the zero point passes through).
    let p = p1(PoolKind::Avg, 8, 4, 2, 2, 0, 0);
    let mut y = [0i8; 4];
    pool(&p, &[1i8, 2, -1, -2, 10, 13, -128, -125], 0, &mut y).unwrap();
    assert_eq!(y, [2, -2, 12, -127]);
    // All-equal and extreme inputs stay put; 32767 + 32767 does not overflow.
    let mut y16 = [0i16; 4];
    pool(&p, &[32767i16, 32767, -32768, -32768, -32768, -32767, 7, 7], 0, &mut y16).unwrap();
    assert_eq!(y16, [32767, -32768, -32768, 7]);
    pool(&p, &[127i8, 127, -128, -128, 127, 126, -1, -1], 0, &mut y).unwrap();
    // 253 / 2 = 126.5 -> 127.
    assert_eq!(y, [127, -128, 127, -1]);
}

#[test]
fn average_padding_counts_the_zero_point() {
    // x = [4 8], k 3, pad 1 each side, z = 3: include_pad -> (4 + 8 + 3) / 3 = 5; exclude -> 12/2 = 6.
    let mut y = [0i8; 2];
    pool(&p1(PoolKind::Avg, 2, 2, 3, 1, 1, 1), &[4i8, 8], 3, &mut y).unwrap();
    assert_eq!(y, [5, 5]);
    pool(&p1(PoolKind::Avg, 2, 2, 3, 1, 1, 0), &[4i8, 8], 3, &mut y).unwrap();
    assert_eq!(y, [6, 6]);
    // z at the extremes: z = -128 with include_pad: (-128 + -128 + 127) / 3 = -43 (real: 255/3 = 85
    // above z: -128 + 85 = -43).
    pool(&p1(PoolKind::Avg, 2, 2, 3, 1, 1, 1), &[-128i8, 127], -128, &mut y).unwrap();
    assert_eq!(y, [-43, -43]);
    // z = 127: (127 + 127 - 128) / 3 = 42.
    pool(&p1(PoolKind::Avg, 2, 2, 3, 1, 1, 1), &[127i8, -128], 127, &mut y).unwrap();
    assert_eq!(y, [42, 42]);
    // A window with no in-bounds tap gives z either way.
    let mut y3 = [0i8; 3];
    pool(&p1(PoolKind::Avg, 2, 3, 1, 1, 1, 0), &[5i8, 9], -17, &mut y3).unwrap();
    assert_eq!(y3, [-17, 5, 9]);
    pool(&p1(PoolKind::Avg, 2, 3, 1, 1, 1, 1), &[5i8, 9], 127, &mut y3).unwrap();
    assert_eq!(y3, [127, 5, 9]);
}

fn against_float<T: QAct>(seed: u64, p: &PoolParams) {
    let mut rng = Rng::new(seed);
    let nx = (p.batch * p.channels * p.in_h * p.in_w) as usize;
    let xf: Vec<f32> = rng.vec(nx).iter().map(|v| v * 3.0 + 1.0).collect();
    let (lo, hi) = span(&xf);
    let (s, z) = range::<T>(lo, hi);
    let xq: Vec<T> = quantize(&xf, s, z);
    let xd = dequantize(&xq, s, z);
    let ny = (p.batch * p.channels * p.out_h * p.out_w) as usize;
    let mut yf = vec![0f32; ny];
    super::float::pool(p, &xd, &mut yf).unwrap();
    let mut y = vec![T::default(); ny];
    pool(p, &xq, z, &mut y).unwrap();
    // Max is exact (the codes of the dequantized maximum); average within 1 LSB.
    let tol = if p.kind == PoolKind::Max as u32 { 0 } else { 1 };
    assert_codes(&y, &yf, s, z, tol);
}

#[test]
fn matches_float() {
    let base = PoolParams {
        kind: 0,
        batch: 2,
        channels: 3,
        in_h: 7,
        in_w: 6,
        out_h: 4,
        out_w: 3,
        k_h: 3,
        k_w: 3,
        stride_h: 2,
        stride_w: 2,
        dil_h: 1,
        dil_w: 1,
        pad_top: 1,
        pad_left: 1,
        count_include_pad: 0,
        global: 0,
    };
    let layers = [
        base,
        PoolParams {
            count_include_pad: 1,
            ..base
        },
        // Global average.
        PoolParams {
            out_h: 1,
            out_w: 1,
            k_h: 7,
            k_w: 6,
            pad_top: 0,
            pad_left: 0,
            global: 1,
            ..base
        },
        // Dilated, stride 1, 1-D.
        PoolParams {
            in_h: 1,
            out_h: 1,
            k_h: 1,
            pad_top: 0,
            out_w: 4,
            dil_w: 2,
            stride_w: 1,
            ..base
        },
    ];
    for (i, p) in layers.iter().enumerate() {
        for kind in [PoolKind::Max, PoolKind::Avg] {
            let p = PoolParams {
                kind: kind as u32,
                ..*p
            };
            for seed in 0..10 {
                against_float::<i8>(seed * 7 + i as u64, &p);
                against_float::<i16>(seed * 7 + i as u64, &p);
            }
        }
    }
}

#[test]
fn errors() {
    let p = p1(PoolKind::Avg, 4, 2, 2, 2, 0, 0);
    let x = [0i8; 4];
    let mut y = [3i8; 2];
    let bad = |q: PoolParams, y: &mut [i8]| matches!(pool(&q, &x, 0, y), Err(KernelError::BadParam { .. }));
    assert!(bad(PoolParams { kind: 2, ..p }, &mut y));
    assert!(bad(PoolParams { stride_w: 0, ..p }, &mut y));
    assert!(bad(PoolParams { dil_h: 0, ..p }, &mut y));
    assert!(bad(PoolParams { k_w: 0, ..p }, &mut y));
    assert!(bad(PoolParams { count_include_pad: 2, ..p }, &mut y));
    assert!(bad(PoolParams { global: 2, ..p }, &mut y));
    assert!(matches!(pool(&p, &x[..3], 0, &mut y), Err(KernelError::Length { .. })));
    assert!(matches!(pool(&p, &x, 0, &mut y[..1]), Err(KernelError::Length { .. })));
    assert_eq!(y, [3, 3]);
}
