use rill_format::ConcatParams;
use std::vec;
use std::vec::Vec;

use super::concat;
use crate::testutil::Rng;
use crate::KernelError;

#[test]
fn middle_axis() {
    // a [2, 1, 2] and b [2, 2, 2] along axis 1 -> [2, 3, 2]
    let a = [1.0, 2.0, 3.0, 4.0];
    let b = [10.0, 11.0, 12.0, 13.0, 20.0, 21.0, 22.0, 23.0];
    let mut y = [0.0; 12];
    concat(&ConcatParams { outer: 2, inner: 2 }, &[&a, &b], &mut y).unwrap();
    assert_eq!(
        y,
        [1.0, 2.0, 10.0, 11.0, 12.0, 13.0, 3.0, 4.0, 20.0, 21.0, 22.0, 23.0]
    );
}

#[test]
fn first_and_last_axis_i32() {
    let mut y = [0i32; 5];
    concat(
        &ConcatParams { outer: 1, inner: 1 },
        &[&[1, 2], &[3], &[4, 5]],
        &mut y,
    )
    .unwrap();
    assert_eq!(y, [1, 2, 3, 4, 5]);
    // last axis of [2, n]: outer 2, inner 1
    let mut y = [0i32; 6];
    concat(
        &ConcatParams { outer: 2, inner: 1 },
        &[&[1, 2], &[3, 4, 5, 6]],
        &mut y,
    )
    .unwrap();
    assert_eq!(y, [1, 3, 4, 2, 5, 6]);
}

#[test]
fn errors() {
    let p = ConcatParams { outer: 2, inner: 2 };
    let (a, b) = ([0.0; 4], [0.0; 8]);
    let mut y = [0.0; 12];
    assert!(concat(&p, &[&a, &b], &mut y).is_ok());
    assert!(matches!(
        concat(&p, &[&a, &b], &mut y[..11]),
        Err(KernelError::Length { .. })
    ));
    assert!(concat(&p, &[&a[..3], &b], &mut y[..11]).is_err());
    assert!(matches!(
        concat::<f32>(&p, &[], &mut []),
        Err(KernelError::BadParam { .. })
    ));
    assert!(concat(&ConcatParams { outer: 0, inner: 2 }, &[&a], &mut y[..4]).is_err());
    assert!(concat(
        &ConcatParams {
            outer: u32::MAX,
            inner: 1
        },
        &[&[] as &[f32]],
        &mut []
    )
    .is_ok());
    let huge = ConcatParams {
        outer: u32::MAX,
        inner: u32::MAX,
    };
    assert!(concat(&huge, &[&a], &mut y[..4]).is_err());
}

#[test]
fn fuzz() {
    let mut rng = Rng::new(61);
    let mut ok = 0;
    for _ in 0..4000 {
        let p = ConcatParams {
            outer: rng.dim(),
            inner: rng.dim(),
        };
        let unit = (p.outer as usize).checked_mul(p.inner as usize);
        let n = rng.below(4) as usize;
        let ins: Vec<Vec<f32>> = (0..n)
            .map(|_| {
                let k = rng.below(3) as usize;
                rng.vec_near(unit.and_then(|u| u.checked_mul(k)))
            })
            .collect();
        let refs: Vec<&[f32]> = ins.iter().map(|v| &v[..]).collect();
        let total: usize = ins.iter().map(|v| v.len()).sum();
        let mut y = vec![0.0; rng.len(Some(total))];
        ok += concat(&p, &refs, &mut y).is_ok() as usize;
    }
    assert!(ok > 100, "too few valid cases: {ok}");
}
