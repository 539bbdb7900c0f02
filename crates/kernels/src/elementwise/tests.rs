use rill_format::{BinaryKind, BinaryParams};
use std::vec;

use super::float::{binary, binary_scalar_fn};
use crate::testutil::{prod, Rng};
use crate::KernelError;

fn bp(kind: BinaryKind, shape: &[u32], sa: &[u32], sb: &[u32]) -> BinaryParams {
    let mut p = BinaryParams {
        kind: kind as u32,
        rank: shape.len() as u32,
        out_shape: [0; 6],
        a_strides: [0; 6],
        b_strides: [0; 6],
    };
    p.out_shape[..shape.len()].copy_from_slice(shape);
    p.a_strides[..shape.len()].copy_from_slice(sa);
    p.b_strides[..shape.len()].copy_from_slice(sb);
    p
}

#[test]
fn broadcast_row() {
    // [2, 3] + [3]: b's row repeats
    let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let b = [10.0, 20.0, 30.0];
    let mut y = [0.0; 6];
    binary(
        &bp(BinaryKind::Add, &[2, 3], &[3, 1], &[0, 1]),
        &a,
        &b,
        &mut y,
    )
    .unwrap();
    assert_eq!(y, [11.0, 22.0, 33.0, 14.0, 25.0, 36.0]);
}

#[test]
fn broadcast_outer() {
    // [2, 1] + [1, 3] = [2, 3]: y[i, j] = a[i] + b[j]
    let mut y = [0.0; 6];
    binary(
        &bp(BinaryKind::Add, &[2, 3], &[1, 0], &[0, 1]),
        &[1.0, 2.0],
        &[10.0, 20.0, 30.0],
        &mut y,
    )
    .unwrap();
    assert_eq!(y, [11.0, 21.0, 31.0, 12.0, 22.0, 32.0]);
    // [2, 1] - [1, 3]
    binary(
        &bp(BinaryKind::Sub, &[2, 3], &[1, 0], &[0, 1]),
        &[1.0, 2.0],
        &[10.0, 20.0, 30.0],
        &mut y,
    )
    .unwrap();
    assert_eq!(y, [-9.0, -19.0, -29.0, -8.0, -18.0, -28.0]);
}

#[test]
fn every_kind() {
    let a = [2.0, -3.0, 9.0];
    let b = [4.0, 2.0, 0.5];
    let cases: [(BinaryKind, [f32; 3]); 7] = [
        (BinaryKind::Add, [6.0, -1.0, 9.5]),
        (BinaryKind::Sub, [-2.0, -5.0, 8.5]),
        (BinaryKind::Mul, [8.0, -6.0, 4.5]),
        (BinaryKind::Div, [0.5, -1.5, 18.0]),
        (BinaryKind::Pow, [16.0, 9.0, 3.0]),
        (BinaryKind::Max, [4.0, 2.0, 9.0]),
        (BinaryKind::Min, [2.0, -3.0, 0.5]),
    ];
    for (kind, want) in cases {
        let mut y = [0.0; 3];
        binary(&bp(kind, &[3], &[1], &[1]), &a, &b, &mut y).unwrap();
        assert_eq!(y, want, "{kind:?}");
    }
    assert!(binary_scalar_fn(BinaryKind::Max, f32::NAN, 1.0).is_nan());
    assert!(binary_scalar_fn(BinaryKind::Min, 1.0, f32::NAN).is_nan());
    assert_eq!(binary_scalar_fn(BinaryKind::Div, 1.0, 0.0), f32::INFINITY);
}

#[test]
fn rank_0_and_scalar_broadcast() {
    let mut y = [0.0];
    binary(&bp(BinaryKind::Mul, &[], &[], &[]), &[3.0], &[4.0], &mut y).unwrap();
    assert_eq!(y, [12.0]);
    // a [2, 2, 2] * scalar b
    let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
    let mut y = [0.0; 8];
    binary(
        &bp(BinaryKind::Mul, &[2, 2, 2], &[4, 2, 1], &[0, 0, 0]),
        &a,
        &[-1.0],
        &mut y,
    )
    .unwrap();
    assert_eq!(y, [-1.0, -2.0, -3.0, -4.0, -5.0, -6.0, -7.0, -8.0]);
    // middle-axis broadcast: a [2, 1, 2] + b [1, 3, 1] -> [2, 3, 2]
    let mut y = [0.0; 12];
    binary(
        &bp(BinaryKind::Add, &[2, 3, 2], &[2, 0, 1], &[0, 1, 0]),
        &[1.0, 2.0, 3.0, 4.0],
        &[10.0, 20.0, 30.0],
        &mut y,
    )
    .unwrap();
    assert_eq!(
        y,
        [11.0, 12.0, 21.0, 22.0, 31.0, 32.0, 13.0, 14.0, 23.0, 24.0, 33.0, 34.0]
    );
}

#[test]
fn errors() {
    let p = bp(BinaryKind::Add, &[2, 3], &[3, 1], &[0, 1]);
    let (a, b) = ([0.0; 6], [0.0; 3]);
    let mut y = [0.0; 6];
    assert!(binary(&p, &a, &b, &mut y).is_ok());
    assert!(matches!(
        binary(&p, &a, &b, &mut y[..5]),
        Err(KernelError::Length { .. })
    ));
    assert!(binary(&p, &a[..5], &b, &mut y).is_err());
    assert!(binary(&p, &a, &b[..2], &mut y).is_err());
    assert!(matches!(
        binary(&BinaryParams { kind: 7, ..p }, &a, &b, &mut y),
        Err(KernelError::BadParam { .. })
    ));
    assert!(matches!(
        binary(&BinaryParams { rank: 7, ..p }, &a, &b, &mut y),
        Err(KernelError::BadParam { .. })
    ));
    let huge = bp(BinaryKind::Add, &[u32::MAX; 6], &[1; 6], &[1; 6]);
    assert!(matches!(
        binary(&huge, &a, &b, &mut y),
        Err(KernelError::Overflow { .. })
    ));
    let far = bp(BinaryKind::Add, &[2, 3], &[u32::MAX, u32::MAX], &[0, 1]);
    assert!(binary(&far, &a, &b, &mut y).is_err());
    // empty output: nothing read
    assert!(binary(
        &bp(BinaryKind::Add, &[0, 3], &[3, 1], &[0, 1]),
        &[],
        &b,
        &mut []
    )
    .is_ok());
}

#[test]
fn fuzz() {
    let mut rng = Rng::new(31);
    let mut ok = 0;
    for _ in 0..4000 {
        let mut p = bp(BinaryKind::Add, &[], &[], &[]);
        p.kind = rng.small(7);
        p.rank = rng.small(7);
        for j in 0..6 {
            p.out_shape[j] = rng.dim();
            p.a_strides[j] = if rng.chance(2) { 0 } else { rng.dim() };
            p.b_strides[j] = if rng.chance(2) { 0 } else { rng.dim() };
        }
        let n = prod(&p.out_shape[..(p.rank as usize).min(6)]);
        let a = rng.vec_near(n);
        let b = rng.vec_near(n);
        let mut y = vec![0.0; rng.len(n)];
        ok += binary(&p, &a, &b, &mut y).is_ok() as usize;
    }
    assert!(ok > 100, "too few valid cases: {ok}");
}
