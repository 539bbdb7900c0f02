//! Integer layer norm against hand-computed rows and the f32 kernel.
use rill_format::LayerNormParams;

use super::fixed::{layer_norm, LayerNormQ};
use crate::fixed::{quantize_multiplier, OutQ};

fn params(outer: u32, size: u32) -> LayerNormParams {
    LayerNormParams {
        outer,
        size,
        epsilon: 0.0,
    }
}

#[test]
fn hand_computed_row() {
    // x codes [1, 2, 3], z_x = 2 -> d = [-1, 0, 1]: S = 0, Q = 2, D = 3 * 2 = 6, sqrt 2.449...
    // normalized (n d - S) / sqrt(D) = [-3, 0, 3] / 2.449 = [-1.2247, 0, 1.2247].
    // gamma = 1 as code 16384 of s_g = 2^-14, beta = 0; M = 2^-15 * 2^-14 / s_y with s_y = 2^-6:
    // y = round(1.2247 * 64) = 78.
    let m = quantize_multiplier(2f64.powi(-15 - 14 + 6)).unwrap();
    let q = LayerNormQ {
        z_x: 2,
        eps: 0,
        mul: m,
        out: OutQ::plain::<i8>(0),
    };
    let x: [i8; 3] = [1, 2, 3];
    let mut y = [0i8; 3];
    layer_norm(&params(1, 3), &x, &[16384; 3], None, &q, &mut y).unwrap();
    assert_eq!(y, [-78, 0, 78]);
}

#[test]
fn constant_row_with_zero_epsilon_gives_beta() {
    // d = 0 everywhere: the variance is 0, the root clamps to 1, every normalized value is 0, so
    // y = requantize(beta): beta 2^15 * 3 units of 2^-15 s_g with M = 2^-15 -> 3.
    let q = LayerNormQ {
        z_x: 5,
        eps: 0,
        mul: quantize_multiplier(2f64.powi(-15)).unwrap(),
        out: OutQ::plain::<i8>(-1),
    };
    let mut y = [0i8; 4];
    layer_norm(
        &params(1, 4),
        &[5i8; 4],
        &[100; 4],
        Some(&[3 << 15; 4]),
        &q,
        &mut y,
    )
    .unwrap();
    assert_eq!(y, [2; 4]);
}

#[test]
fn matches_float_within_one_lsb() {
    let (outer, size) = (3usize, 16usize);
    let (s_x, z_x) = (0.05f32, -7i32);
    let codes: std::vec::Vec<i8> = (0..outer * size)
        .map(|i| (((i * 37 + 11) % 200) as i32 - 100) as i8)
        .collect();
    let xf: std::vec::Vec<f32> = codes
        .iter()
        .map(|&c| s_x * (c as i32 - z_x) as f32)
        .collect();
    let gamma: std::vec::Vec<f32> = (0..size).map(|j| 0.5 + 0.1 * j as f32).collect();
    let beta: std::vec::Vec<f32> = (0..size).map(|j| -0.3 + 0.05 * j as f32).collect();
    let eps = 1e-3f32;
    let p = LayerNormParams {
        outer: outer as u32,
        size: size as u32,
        epsilon: eps,
    };
    let mut yf = std::vec![0f32; outer * size];
    crate::norm::float::layer_norm(&p, &xf, &gamma, Some(&beta), &mut yf).unwrap();
    let s_g = gamma.iter().fold(0f32, |m, v| m.max(v.abs())) / 32767.0;
    let gq: std::vec::Vec<i16> = gamma.iter().map(|g| (g / s_g).round() as i16).collect();
    let bq: std::vec::Vec<i32> = beta
        .iter()
        .map(|b| (*b as f64 / (s_g as f64 / 32768.0)).round() as i32)
        .collect();
    let (s_y, z_y) = (0.02f32, 3i32);
    let n = size as f64;
    let q = LayerNormQ {
        z_x,
        eps: (n * n * eps as f64 / (s_x as f64 * s_x as f64)).round() as i64,
        mul: quantize_multiplier(s_g as f64 / 32768.0 / s_y as f64).unwrap(),
        out: OutQ::plain::<i8>(z_y),
    };
    let mut y = std::vec![0i8; outer * size];
    layer_norm(&p, &codes, &gq, Some(&bq), &q, &mut y).unwrap();
    for (i, (&c, &f)) in y.iter().zip(&yf).enumerate() {
        let want = ((f / s_y).round() as i32 + z_y).clamp(-128, 127);
        assert!(
            (c as i32 - want).abs() <= 1,
            "element {i}: {c} vs float {f} ({want})"
        );
    }
}

#[test]
fn bad_lengths_and_negative_epsilon_are_errors() {
    let q = LayerNormQ {
        z_x: 0,
        eps: 0,
        mul: quantize_multiplier(1.0).unwrap(),
        out: OutQ::plain::<i16>(0),
    };
    let mut y = [0i16; 4];
    assert!(layer_norm(&params(1, 4), &[0i16; 3], &[1; 4], None, &q, &mut y).is_err());
    assert!(layer_norm(&params(1, 4), &[0i16; 4], &[1; 3], None, &q, &mut y).is_err());
    assert!(layer_norm(
        &params(1, 4),
        &[0i16; 4],
        &[1; 4],
        Some(&[0; 2]),
        &q,
        &mut y
    )
    .is_err());
    let neg = LayerNormQ { eps: -1, ..q };
    assert!(layer_norm(&params(1, 4), &[0i16; 4], &[1; 4], None, &neg, &mut y).is_err());
    assert!(layer_norm(
        &params(u32::MAX, u32::MAX),
        &[0i16; 4],
        &[1; 4],
        None,
        &q,
        &mut y
    )
    .is_err());
}
