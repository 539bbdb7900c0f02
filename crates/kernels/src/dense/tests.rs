use rill_format::{ActKind, ActParams, DenseParams, MatMulParams};
use std::vec;
use std::vec::Vec;

use super::float::{dense, matmul};
use crate::testutil::{assert_close, prod, Rng};
use crate::KernelError;

fn dp(m: u32, k: u32, n: u32, act: ActParams) -> DenseParams {
    DenseParams { m, k, n, act }
}

fn mp(m: u32, k: u32, n: u32, batch: &[u32], a_stride: &[u32], b_stride: &[u32]) -> MatMulParams {
    let mut p = MatMulParams {
        m,
        k,
        n,
        batch_rank: batch.len() as u32,
        batch: [0; 4],
        a_stride: [0; 4],
        b_stride: [0; 4],
    };
    p.batch[..batch.len()].copy_from_slice(batch);
    p.a_stride[..batch.len()].copy_from_slice(a_stride);
    p.b_stride[..batch.len()].copy_from_slice(b_stride);
    p
}

#[test]
fn dense_2x3_by_hand() {
    let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // [[1 2 3] [4 5 6]]
    let w = [1.0, 0.0, -1.0, 2.0, 1.0, 0.0]; // rows [1 0 -1], [2 1 0]
    let b = [10.0, -20.0];
    // y00 = 1 - 3 + 10 = 8, y01 = 2 + 2 - 20 = -16, y10 = 4 - 6 + 10 = 8, y11 = 8 + 5 - 20 = -7
    let mut y = [0.0; 4];
    dense(&dp(2, 3, 2, ActParams::IDENTITY), &x, &w, Some(&b), &mut y).unwrap();
    assert_eq!(y, [8.0, -16.0, 8.0, -7.0]);
    dense(
        &dp(2, 3, 2, ActParams::new(ActKind::Relu, 0.0, 0.0)),
        &x,
        &w,
        Some(&b),
        &mut y,
    )
    .unwrap();
    assert_eq!(y, [8.0, 0.0, 8.0, 0.0]);
    // no bias: 1 - 3 = -2, 2 + 2 = 4, 4 - 6 = -2, 8 + 5 = 13
    dense(&dp(2, 3, 2, ActParams::IDENTITY), &x, &w, None, &mut y).unwrap();
    assert_eq!(y, [-2.0, 4.0, -2.0, 13.0]);
}

#[test]
fn dense_k0_is_bias() {
    let mut y = [9.0; 4];
    let act = ActParams::new(ActKind::Relu, 0.0, 0.0);
    dense::<f32>(&dp(2, 0, 2, act), &[], &[], Some(&[1.5, -1.0]), &mut y).unwrap();
    assert_eq!(y, [1.5, 0.0, 1.5, 0.0]);
}

#[test]
fn matmul_broadcast_b_by_hand() {
    // a: [2, 2, 3], b: [3, 2] broadcast over the batch.
    let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, -1.0, 0.0, 1.0, 2.0, 2.0, 2.0];
    let b = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0]; // [[1 0] [0 1] [1 1]]
                                            // a0 b = [[1+3, 2+3], [4+6, 5+6]], a1 b = [[-1+1, 0+1], [2+2, 2+2]]
    let mut y = [0.0; 8];
    matmul(&mp(2, 3, 2, &[2], &[6], &[0]), &a, &b, &mut y).unwrap();
    assert_eq!(y, [4.0, 5.0, 10.0, 11.0, 0.0, 1.0, 4.0, 4.0]);
    // No batch axes: one product.
    let mut y1 = [0.0; 4];
    matmul(&mp(2, 3, 2, &[], &[], &[]), &a[..6], &b, &mut y1).unwrap();
    assert_eq!(y1, [4.0, 5.0, 10.0, 11.0]);
}

/// Naive matmul over explicit 2-D batch indices.
fn matmul_ref(
    m: usize,
    k: usize,
    n: usize,
    batch: [usize; 2],
    sa: [usize; 2],
    sb: [usize; 2],
    a: &[f32],
    b: &[f32],
) -> Vec<f32> {
    let mut y = Vec::new();
    for i0 in 0..batch[0] {
        for i1 in 0..batch[1] {
            let (ao, bo) = (i0 * sa[0] + i1 * sa[1], i0 * sb[0] + i1 * sb[1]);
            for r in 0..m {
                for c in 0..n {
                    let mut s = 0.0;
                    for t in 0..k {
                        s += a[ao + r * k + t] * b[bo + t * n + c];
                    }
                    y.push(s);
                }
            }
        }
    }
    y
}

#[test]
fn matmul_two_batch_axes_broadcast() {
    let mut rng = Rng::new(7);
    let (m, k, n) = (3, 4, 2);
    // a: [2, 1, 3, 4] broadcast on axis 1; b: [1, 3, 4, 2] broadcast on axis 0.
    let a = rng.vec(2 * m * k);
    let b = rng.vec(3 * k * n);
    let (sa, sb) = ([m * k, 0], [0, k * n]);
    let want = matmul_ref(m, k, n, [2, 3], sa, sb, &a, &b);
    let mut y = vec![0.0; want.len()];
    let p = mp(3, 4, 2, &[2, 3], &[sa[0] as u32, 0], &[0, sb[1] as u32]);
    matmul(&p, &a, &b, &mut y).unwrap();
    assert_close(&y, &want, 1e-6);
}

#[test]
fn errors() {
    let id = ActParams::IDENTITY;
    let mut y = [0.0; 4];
    let x = [0.0; 6];
    assert!(matches!(
        dense(&dp(2, 3, 2, id), &x, &x, None, &mut y[..3]),
        Err(KernelError::Length { .. })
    ));
    assert!(dense(&dp(2, 3, 2, id), &x[..5], &x, None, &mut y).is_err());
    assert!(dense(&dp(2, 3, 2, id), &x, &x[..5], None, &mut y).is_err());
    assert!(dense(&dp(2, 3, 2, id), &x, &x, Some(&[1.0]), &mut y).is_err());
    let bad = ActParams {
        kind: 99,
        alpha: 0.0,
        beta: 0.0,
    };
    assert!(matches!(
        dense(&dp(2, 3, 2, bad), &x, &x, None, &mut y),
        Err(KernelError::BadParam { .. })
    ));
    let huge = dp(u32::MAX, u32::MAX, u32::MAX, id);
    assert!(dense(&huge, &x, &x, None, &mut y).is_err());
    // m huge, n = 0: empty output, rejected on x's length rather than looping.
    assert!(dense::<f32>(&dp(u32::MAX, 0, 0, id), &[], &[], None, &mut []).is_ok());

    assert!(matches!(
        matmul(
            &MatMulParams {
                batch_rank: 5,
                ..mp(1, 1, 1, &[], &[], &[])
            },
            &[1.0],
            &[1.0],
            &mut y[..1]
        ),
        Err(KernelError::BadParam { .. })
    ));
    assert!(matmul(&mp(2, 3, 2, &[2], &[6], &[0]), &x, &x, &mut y).is_err()); // y too short
    let mut y8 = [0.0; 8];
    assert!(matmul(&mp(2, 3, 2, &[2], &[6], &[0]), &x, &x, &mut y8).is_err()); // a too short (needs 12)
    assert!(matmul(&mp(2, 3, 2, &[2], &[0], &[u32::MAX]), &x, &x, &mut y8).is_err());
    let p = mp(
        u32::MAX,
        u32::MAX,
        1,
        &[u32::MAX, u32::MAX],
        &[1, 1],
        &[1, 1],
    );
    assert!(matches!(
        matmul(&p, &x, &x, &mut y),
        Err(KernelError::Overflow { .. })
    ));
}

#[test]
fn fuzz() {
    let mut rng = Rng::new(2);
    let mut ok = [0; 2];
    for _ in 0..4000 {
        let (m, k, n) = (rng.dim(), rng.dim(), rng.dim());
        let act = ActParams {
            kind: rng.small(19),
            alpha: rng.f32(),
            beta: rng.f32(),
        };
        let x = rng.vec_near(prod(&[m, k]));
        let w = rng.vec_near(prod(&[n, k]));
        let b = rng.vec_near(Some(n as usize));
        let mut y = vec![0.0; rng.len(prod(&[m, n]))];
        let bias = if rng.chance(2) { Some(&b[..]) } else { None };
        ok[0] += dense(&dp(m, k, n, act), &x, &w, bias, &mut y).is_ok() as usize;

        let br = rng.small(5);
        let mut p = mp(m, k, n, &[], &[], &[]);
        p.batch_rank = br;
        for j in 0..4 {
            p.batch[j] = rng.dim();
            p.a_stride[j] = if rng.chance(3) { 0 } else { rng.dim() };
            p.b_stride[j] = if rng.chance(3) { 0 } else { rng.dim() };
        }
        let nb = prod(&p.batch[..(br as usize).min(4)]);
        let y_len = nb.and_then(|nb| prod(&[m, n]).and_then(|mn| nb.checked_mul(mn)));
        let a = rng.vec_near(prod(&[m, k, 3]));
        let b = rng.vec_near(prod(&[k, n, 3]));
        let mut y = vec![0.0; rng.len(y_len)];
        ok[1] += matmul(&p, &a, &b, &mut y).is_ok() as usize;
    }
    assert!(ok.iter().all(|&n| n > 100), "too few valid cases: {ok:?}");
}

#[test]
fn f16_weights_give_the_f32_result_of_the_same_values() {
    // Weights exactly representable in f16: the f16 kernel must match the f32 one bit for bit.
    let p = DenseParams {
        m: 2,
        k: 3,
        n: 2,
        act: rill_format::ActParams::IDENTITY,
    };
    let w32 = [0.5f32, -1.25, 2.0, 0.0625, 3.5, -0.75];
    let w16: Vec<half::f16> = w32.iter().map(|&v| half::f16::from_f32(v)).collect();
    let x = [1.0f32, 2.0, -3.0, 0.5, 0.25, 4.0];
    let (mut a, mut b) = ([0f32; 4], [0f32; 4]);
    dense(&p, &x, &w32, Some(&[0.1, -0.2]), &mut a).unwrap();
    dense(&p, &x, &w16, Some(&[0.1, -0.2]), &mut b).unwrap();
    assert_eq!(a, b);
    // Hand value: row 0 of x . row 0 of w + 0.1 = 0.5 - 2.5 - 6 + 0.1.
    assert!((a[0] - (-7.9)).abs() < 1e-6);
}
