use rill_format::LayerNormParams;
use std::vec;

use super::float::layer_norm;
use crate::testutil::{assert_close, prod, Rng};
use crate::KernelError;

#[test]
fn known_mean_and_variance() {
    // row [1 2 3 4]: mean 2.5, var (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25
    // row [2 2 2 2]: mean 2, var 0 -> (x - mean) = 0 -> y = bias
    let x = [1.0, 2.0, 3.0, 4.0, 2.0, 2.0, 2.0, 2.0];
    let p = LayerNormParams {
        outer: 2,
        size: 4,
        epsilon: 1e-5,
    };
    let s = 1.0 / (1.25f32 + 1e-5).sqrt();
    let scale = [1.0, 2.0, 1.0, 0.5];
    let bias = [0.0, 0.0, 1.0, -1.0];
    let mut y = [0.0; 8];
    layer_norm(&p, &x, &scale, Some(&bias), &mut y).unwrap();
    let want = [
        -1.5 * s,
        -0.5 * s * 2.0,
        0.5 * s + 1.0,
        1.5 * s * 0.5 - 1.0,
        0.0,
        0.0,
        1.0,
        -1.0,
    ];
    assert_close(&y, &want, 1e-6);
    layer_norm(&p, &x, &scale, None, &mut y).unwrap();
    assert_close(&y[..4], &[-1.5 * s, -s, 0.5 * s, 0.75 * s], 1e-6);
    // unit scale: the normalized row has mean 0 and variance 1 (up to epsilon)
    layer_norm(&p, &x, &[1.0; 4], None, &mut y).unwrap();
    let var: f32 = y[..4].iter().map(|v| v * v).sum::<f32>() / 4.0;
    assert!((var - 1.0).abs() < 1e-4 && y[..4].iter().sum::<f32>().abs() < 1e-6);
}

#[test]
fn errors() {
    let p = LayerNormParams {
        outer: 2,
        size: 2,
        epsilon: 1e-5,
    };
    let x = [1.0; 4];
    let mut y = [0.0; 4];
    assert!(layer_norm(&p, &x, &[1.0; 2], None, &mut y).is_ok());
    assert!(matches!(
        layer_norm(&p, &x, &[1.0; 2], None, &mut y[..3]),
        Err(KernelError::Length { .. })
    ));
    assert!(layer_norm(&p, &x[..3], &[1.0; 2], None, &mut y).is_err());
    assert!(layer_norm(&p, &x, &[1.0; 3], None, &mut y).is_err());
    assert!(layer_norm(&p, &x, &[1.0; 2], Some(&[1.0]), &mut y).is_err());
    let huge = LayerNormParams {
        outer: u32::MAX,
        size: u32::MAX,
        epsilon: 0.0,
    };
    assert!(layer_norm(&huge, &x, &[], None, &mut y).is_err());
    // outer huge, size 0: nothing to do, no loop over the rows
    assert!(layer_norm(
        &LayerNormParams {
            outer: u32::MAX,
            size: 0,
            epsilon: 0.0
        },
        &[],
        &[],
        None,
        &mut []
    )
    .is_ok());
}

#[test]
fn fuzz() {
    let mut rng = Rng::new(21);
    let mut ok = 0;
    for _ in 0..4000 {
        let p = LayerNormParams {
            outer: rng.dim(),
            size: rng.dim(),
            epsilon: rng.f32(),
        };
        let x = rng.vec_near(prod(&[p.outer, p.size]));
        let s = rng.vec_near(Some(p.size as usize));
        let b = rng.vec_near(Some(p.size as usize));
        let mut y = vec![0.0; rng.len(prod(&[p.outer, p.size]))];
        let bias = if rng.chance(2) { Some(&b[..]) } else { None };
        ok += layer_norm(&p, &x, &s, bias, &mut y).is_ok() as usize;
    }
    assert!(ok > 100, "too few valid cases: {ok}");
}
