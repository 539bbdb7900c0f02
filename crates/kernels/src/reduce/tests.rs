use rill_format::{ReduceKind, ReduceParams};
use std::vec;

use super::float::reduce;
use crate::testutil::{assert_close, prod, Rng};
use crate::KernelError;

fn rp(kind: ReduceKind, shape: &[u32], mask: u32) -> ReduceParams {
    let mut p = ReduceParams {
        kind: kind as u32,
        rank: shape.len() as u32,
        in_shape: [0; 6],
        axes_mask: mask,
    };
    p.in_shape[..shape.len()].copy_from_slice(shape);
    p
}

/// x[i, j, k] = 100 i + 10 j + k, shape [2, 3, 4]
fn x234() -> [f32; 24] {
    core::array::from_fn(|n| (100 * (n / 12) + 10 * (n / 4 % 3) + n % 4) as f32)
}

#[test]
fn mean_over_middle_axis() {
    // mean over j of 100 i + 10 j + k = 100 i + 10 + k
    let mut y = [0.0; 8];
    reduce(&rp(ReduceKind::Mean, &[2, 3, 4], 0b010), &x234(), &mut y).unwrap();
    assert_close(
        &y,
        &[10.0, 11.0, 12.0, 13.0, 110.0, 111.0, 112.0, 113.0],
        1e-6,
    );
}

#[test]
fn mean_over_outer_axes() {
    // mean over i and k of 100 i + 10 j + k = 50 + 10 j + 1.5
    let mut y = [0.0; 3];
    reduce(&rp(ReduceKind::Mean, &[2, 3, 4], 0b101), &x234(), &mut y).unwrap();
    assert_close(&y, &[51.5, 61.5, 71.5], 1e-6);
}

#[test]
fn sum_max_min_and_edges() {
    let x = x234();
    let mut y = [0.0; 2];
    // sum over j, k of 100 i + 10 j + k: 12 * 100 i + 4 * 10 * (0 + 1 + 2) + 3 * (0 + 1 + 2 + 3) = 1200 i + 138
    reduce(&rp(ReduceKind::Sum, &[2, 3, 4], 0b110), &x, &mut y).unwrap();
    assert_eq!(y, [138.0, 1338.0]);
    reduce(&rp(ReduceKind::Max, &[2, 3, 4], 0b110), &x, &mut y).unwrap();
    assert_eq!(y, [23.0, 123.0]);
    reduce(&rp(ReduceKind::Min, &[2, 3, 4], 0b110), &x, &mut y).unwrap();
    assert_eq!(y, [0.0, 100.0]);
    // all axes
    let mut y1 = [0.0];
    reduce(&rp(ReduceKind::Max, &[2, 3, 4], 0b111), &x, &mut y1).unwrap();
    assert_eq!(y1, [123.0]);
    // no axes: a copy
    let mut y24 = [0.0; 24];
    reduce(&rp(ReduceKind::Mean, &[2, 3, 4], 0), &x, &mut y24).unwrap();
    assert_eq!(y24, x);
    // rank 0
    reduce(&rp(ReduceKind::Sum, &[], 0), &[7.0], &mut y1).unwrap();
    assert_eq!(y1, [7.0]);
    // empty reduction
    let mut y2 = [0.0; 2];
    for (kind, want) in [
        (ReduceKind::Sum, 0.0),
        (ReduceKind::Max, f32::NEG_INFINITY),
        (ReduceKind::Min, f32::INFINITY),
    ] {
        reduce(&rp(kind, &[2, 0], 0b10), &[], &mut y2).unwrap();
        assert_eq!(y2, [want; 2]);
    }
    reduce(&rp(ReduceKind::Mean, &[2, 0], 0b10), &[], &mut y2).unwrap();
    assert!(y2.iter().all(|v| v.is_nan()));
    // NaN propagates through max and min
    reduce(
        &rp(ReduceKind::Max, &[3], 1),
        &[1.0, f32::NAN, 2.0],
        &mut y1,
    )
    .unwrap();
    assert!(y1[0].is_nan());
    reduce(
        &rp(ReduceKind::Min, &[3], 1),
        &[f32::NAN, 1.0, 2.0],
        &mut y1,
    )
    .unwrap();
    assert!(y1[0].is_nan());
}

#[test]
fn errors() {
    let x = x234();
    let mut y = [0.0; 8];
    let p = rp(ReduceKind::Mean, &[2, 3, 4], 0b010);
    assert!(reduce(&p, &x, &mut y).is_ok());
    assert!(matches!(
        reduce(&p, &x, &mut y[..7]),
        Err(KernelError::Length { .. })
    ));
    assert!(reduce(&p, &x[..23], &mut y).is_err());
    assert!(matches!(
        reduce(&ReduceParams { kind: 4, ..p }, &x, &mut y),
        Err(KernelError::BadParam { .. })
    ));
    assert!(matches!(
        reduce(&ReduceParams { rank: 7, ..p }, &x, &mut y),
        Err(KernelError::BadParam { .. })
    ));
    assert!(matches!(
        reduce(
            &ReduceParams {
                axes_mask: 0b1000,
                ..p
            },
            &x,
            &mut y
        ),
        Err(KernelError::BadParam { .. })
    ));
    assert!(reduce(
        &ReduceParams {
            axes_mask: u32::MAX,
            ..p
        },
        &x,
        &mut y
    )
    .is_err());
    let huge = rp(ReduceKind::Sum, &[u32::MAX; 6], 1);
    assert!(matches!(
        reduce(&huge, &x, &mut y),
        Err(KernelError::Overflow { .. })
    ));
}

#[test]
fn fuzz() {
    let mut rng = Rng::new(41);
    let mut ok = 0;
    for _ in 0..4000 {
        let mut p = rp(ReduceKind::Mean, &[], 0);
        p.kind = rng.small(4);
        p.rank = rng.small(7);
        p.axes_mask = if rng.chance(10) {
            rng.next() as u32
        } else {
            rng.below(64) as u32
        };
        for d in p.in_shape.iter_mut() {
            *d = rng.dim();
        }
        let r = (p.rank as usize).min(6);
        let kept: std::vec::Vec<u32> = (0..r)
            .filter(|&a| (p.axes_mask >> a) & 1 == 0)
            .map(|a| p.in_shape[a])
            .collect();
        let x = rng.vec_near(prod(&p.in_shape[..r]));
        let mut y = vec![0.0; rng.len(prod(&kept))];
        ok += reduce(&p, &x, &mut y).is_ok() as usize;
    }
    assert!(ok > 100, "too few valid cases: {ok}");
}
