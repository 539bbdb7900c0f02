use rill_format::CopyParams;
use std::vec;

use super::strided_copy;
use crate::testutil::{prod, Rng};
use crate::KernelError;

fn cp(shape: &[u32], strides: &[i32], offset: u32) -> CopyParams {
    let mut p = CopyParams {
        rank: shape.len() as u32,
        out_shape: [0; 6],
        in_strides: [0; 6],
        offset,
    };
    p.out_shape[..shape.len()].copy_from_slice(shape);
    p.in_strides[..shape.len()].copy_from_slice(strides);
    p
}

#[test]
fn transpose() {
    // x [2, 3] -> y [3, 2]: y[i, j] = x[j, i] at j * 3 + i
    let x = [1, 2, 3, 4, 5, 6];
    let mut y = [0; 6];
    strided_copy(&cp(&[3, 2], &[1, 3], 0), &x, &mut y).unwrap();
    assert_eq!(y, [1, 4, 2, 5, 3, 6]);
}

#[test]
fn reversed_slice() {
    // x[8:2:-2] = x[8], x[6], x[4]
    let x: [f32; 10] = core::array::from_fn(|i| i as f32);
    let mut y = [0.0; 3];
    strided_copy(&cp(&[3], &[-2], 8), &x, &mut y).unwrap();
    assert_eq!(y, [8.0, 6.0, 4.0]);
    // reverse the rows of [2, 3], keeping columns: x[::-1, :]
    let mut y = [0.0; 6];
    strided_copy(&cp(&[2, 3], &[-3, 1], 3), &x[..6], &mut y).unwrap();
    assert_eq!(y, [3.0, 4.0, 5.0, 0.0, 1.0, 2.0]);
}

#[test]
fn expand_and_rank_0() {
    // [1, 2] expanded to [3, 2]
    let mut y = [0; 6];
    strided_copy(&cp(&[3, 2], &[0, 1], 0), &[7, 8], &mut y).unwrap();
    assert_eq!(y, [7, 8, 7, 8, 7, 8]);
    let mut y = [0];
    strided_copy(&cp(&[], &[], 2), &[1, 2, 3], &mut y).unwrap();
    assert_eq!(y, [3]);
}

#[test]
fn errors() {
    let x = [0.0f32; 6];
    let mut y = [0.0; 6];
    assert!(matches!(
        strided_copy(&cp(&[3, 2], &[1, 3], 0), &x, &mut y[..5]),
        Err(KernelError::Length { .. })
    ));
    // furthest position 1 * 2 + 3 * 1 + 1 = 6
    assert_eq!(
        strided_copy(&cp(&[3, 2], &[1, 3], 1), &x, &mut y),
        Err(KernelError::IndexOutOfRange { index: 6, len: 6 })
    );
    // reversed past the start: 1 - 2 * 1 = -1
    assert_eq!(
        strided_copy(&cp(&[3], &[-1], 1), &x, &mut y[..3]),
        Err(KernelError::IndexOutOfRange { index: -1, len: 6 })
    );
    assert!(strided_copy(&cp(&[], &[], 6), &x, &mut y[..1]).is_err());
    assert!(matches!(
        strided_copy(
            &CopyParams {
                rank: 7,
                ..cp(&[1], &[1], 0)
            },
            &x,
            &mut y[..1]
        ),
        Err(KernelError::BadParam { .. })
    ));
    let huge = cp(&[u32::MAX, u32::MAX], &[i32::MIN, i32::MAX], 0);
    assert!(strided_copy(&huge, &x, &mut y).is_err());
    let far = cp(&[2; 6], &[i32::MAX; 6], u32::MAX);
    assert!(strided_copy(&far, &x, &mut vec![0.0; 64]).is_err());
    // empty output: nothing read, no position checked
    assert!(strided_copy(&cp(&[0, 3], &[1, 1], 1000), &x, &mut []).is_ok());
}

#[test]
fn fuzz() {
    let mut rng = Rng::new(71);
    let mut ok = 0;
    for _ in 0..4000 {
        let mut p = cp(&[], &[], 0);
        p.rank = rng.small(7);
        p.offset = if rng.chance(4) {
            rng.dim()
        } else {
            rng.below(16) as u32
        };
        for j in 0..6 {
            p.out_shape[j] = rng.dim();
            p.in_strides[j] = match rng.below(8) {
                0 => i32::MIN,
                1 => i32::MAX,
                _ => rng.below(9) as i32 - 4,
            };
        }
        let n = prod(&p.out_shape[..(p.rank as usize).min(6)]);
        let x = rng.vec_near(n.and_then(|n| n.checked_mul(2)));
        let mut y = vec![0.0; rng.len(n)];
        ok += strided_copy(&p, &x, &mut y).is_ok() as usize;
    }
    assert!(ok > 100, "too few valid cases: {ok}");
}
