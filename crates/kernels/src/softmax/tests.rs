use rill_format::SoftmaxParams;
use std::vec;

use super::float::softmax;
use crate::testutil::{assert_close, prod, Rng};
use crate::KernelError;

fn sp(outer: u32, axis_len: u32, inner: u32, log: u32) -> SoftmaxParams {
    SoftmaxParams {
        outer,
        axis_len,
        inner,
        log,
    }
}

#[test]
fn softmax_of_1_2_3() {
    // e^1, e^2, e^3 over their sum 30.192874: 0.09003057, 0.24472847, 0.66524096
    let mut y = [0.0; 3];
    softmax(&sp(1, 3, 1, 0), &[1.0, 2.0, 3.0], &mut y).unwrap();
    assert_close(&y, &[0.090_030_57, 0.244_728_47, 0.665_240_96], 1e-6);
    // log: x - log(sum e^x) = x - 3.4076059
    softmax(&sp(1, 3, 1, 1), &[1.0, 2.0, 3.0], &mut y).unwrap();
    assert_close(&y, &[-2.407_606, -1.407_606, -0.407_606], 1e-6);
}

#[test]
fn large_inputs_stay_finite() {
    let mut y = [0.0; 2];
    // log(e^1000 / (e^1000 + e^1001)) = -log(1 + e) = -1.3132617; the other is -log(1 + e^-1) = -0.3132617
    softmax(&sp(1, 2, 1, 1), &[1000.0, 1001.0], &mut y).unwrap();
    assert_close(&y, &[-1.313_261_7, -0.313_261_7], 1e-6);
    softmax(&sp(1, 2, 1, 0), &[1000.0, 1001.0], &mut y).unwrap();
    assert_close(&y, &[0.268_941_43, 0.731_058_6], 1e-6);
    softmax(&sp(1, 2, 1, 0), &[-1000.0, -1000.0], &mut y).unwrap();
    assert_eq!(y, [0.5, 0.5]);
}

#[test]
fn middle_axis() {
    // x [2, 2, 3]: softmax over axis 1 pairs (x[o, 0, i], x[o, 1, i])
    let x = [0.0, 1.0, 2.0, 0.0, 0.0, 0.0, 5.0, 5.0, 5.0, 5.0, 6.0, 7.0];
    let mut y = [0.0; 12];
    softmax(&sp(2, 2, 3, 0), &x, &mut y).unwrap();
    let (a, b) = (0.731_058_6, 0.880_797_1); // sigmoid(1), sigmoid(2)
    assert_close(
        &y,
        &[
            0.5,
            a,
            b,
            0.5,
            1.0 - a,
            1.0 - b,
            0.5,
            1.0 - a,
            1.0 - b,
            0.5,
            a,
            b,
        ],
        1e-6,
    );
}

#[test]
fn errors() {
    let mut y = [0.0; 3];
    assert!(matches!(
        softmax(&sp(1, 3, 1, 0), &[1.0; 3], &mut y[..2]),
        Err(KernelError::Length { .. })
    ));
    assert!(softmax(&sp(1, 3, 1, 0), &[1.0; 2], &mut y).is_err());
    assert!(matches!(
        softmax(&sp(1, 3, 1, 2), &[1.0; 3], &mut y),
        Err(KernelError::BadParam { .. })
    ));
    assert!(matches!(
        softmax(&sp(u32::MAX, u32::MAX, u32::MAX, 0), &[1.0; 3], &mut y),
        Err(KernelError::Overflow { .. })
    ));
    assert!(softmax(&sp(u32::MAX, 0, u32::MAX, 0), &[], &mut []).is_ok());
}

#[test]
fn fuzz() {
    let mut rng = Rng::new(22);
    let mut ok = 0;
    for _ in 0..4000 {
        let p = sp(rng.dim(), rng.dim(), rng.dim(), rng.small(2));
        let x = rng.vec_near(prod(&[p.outer, p.axis_len, p.inner]));
        let mut y = vec![0.0; rng.len(prod(&[p.outer, p.axis_len, p.inner]))];
        ok += softmax(&p, &x, &mut y).is_ok() as usize;
    }
    assert!(ok > 100, "too few valid cases: {ok}");
}
