use rill_format::{ActKind, ActParams, UnaryParams};
use std::vec;
use std::vec::Vec;

use super::float::{apply, apply_in_place, scalar, unary};
use super::*;
use crate::testutil::{assert_close, Rng};

fn at(kind: ActKind, alpha: f32, beta: f32, x: f32) -> f32 {
    scalar(&ActParams::new(kind, alpha, beta), x)
}

/// (kind, alpha, beta, x, expected), expected values from the definitions, worked out by hand.
const CASES: &[(ActKind, f32, f32, f32, f32)] = &[
    (ActKind::Identity, 0.0, 0.0, -2.5, -2.5),
    (ActKind::Relu, 0.0, 0.0, -2.0, 0.0),
    (ActKind::Relu, 0.0, 0.0, 3.0, 3.0),
    (ActKind::LeakyRelu, 0.1, 0.0, -2.0, -0.2),
    (ActKind::LeakyRelu, 0.1, 0.0, 2.0, 2.0),
    (ActKind::Sigmoid, 0.0, 0.0, 0.0, 0.5),
    (ActKind::Sigmoid, 0.0, 0.0, 1.0, 0.731_058_6), // 1 / (1 + e^-1)
    (ActKind::Sigmoid, 0.0, 0.0, -1.0, 0.268_941_43),
    (ActKind::Sigmoid, 0.0, 0.0, 100.0, 1.0),
    (ActKind::Sigmoid, 0.0, 0.0, -200.0, 0.0),
    // ONNX HardSigmoid defaults alpha 0.2, beta 0.5: 0.2 * 1 + 0.5 = 0.7; -5 -> -0.5 -> 0; 5 -> 1.5 -> 1.
    (ActKind::HardSigmoid, 0.2, 0.5, 1.0, 0.7),
    (ActKind::HardSigmoid, 0.2, 0.5, -5.0, 0.0),
    (ActKind::HardSigmoid, 0.2, 0.5, 5.0, 1.0),
    (ActKind::Tanh, 0.0, 0.0, 0.5, 0.462_117_16),
    (ActKind::Tanh, 0.0, 0.0, -30.0, -1.0),
    // 0.5 * x * (1 + erf(x / sqrt 2)): erf(0.70710678) = 0.68268949.
    (ActKind::Gelu, 0.0, 0.0, 1.0, 0.841_344_7),
    (ActKind::Gelu, 0.0, 0.0, -1.0, -0.158_655_26),
    (ActKind::Gelu, 0.0, 0.0, 0.0, 0.0),
    // 0.5 * (1 + tanh(0.7978846 * (1 + 0.044715))) = 0.5 * (1 + tanh(0.8335557)) = 0.5 * 1.6823840.
    (ActKind::GeluTanh, 0.0, 0.0, 1.0, 0.841_192),
    (ActKind::Sqrt, 0.0, 0.0, 6.25, 2.5),
    (ActKind::Reciprocal, 0.0, 0.0, 4.0, 0.25),
    (ActKind::Reciprocal, 0.0, 0.0, 0.0, f32::INFINITY),
    (ActKind::Neg, 0.0, 0.0, 1.5, -1.5),
    (ActKind::Exp, 0.0, 0.0, 1.0, core::f32::consts::E),
    (ActKind::Exp, 0.0, 0.0, 0.0, 1.0),
    (ActKind::Abs, 0.0, 0.0, -3.0, 3.0),
    (ActKind::Clip, -1.0, 2.0, 5.0, 2.0),
    (ActKind::Clip, -1.0, 2.0, -5.0, -1.0),
    (ActKind::Clip, -1.0, 2.0, 0.5, 0.5),
    (ActKind::Clip, 3.0, 1.0, 0.0, 1.0), // min > max: numpy's clip gives max
    (ActKind::Clip, f32::NEG_INFINITY, 6.0, 7.0, 6.0), // Relu6
    (ActKind::Elu, 1.0, 0.0, 2.0, 2.0),
    (ActKind::Elu, 1.0, 0.0, -1.0, -0.632_120_56), // e^-1 - 1
    (ActKind::Elu, 0.5, 0.0, -1.0, -0.316_060_28),
    (ActKind::Log, 0.0, 0.0, core::f32::consts::E, 1.0),
    (ActKind::Log, 0.0, 0.0, 0.0, f32::NEG_INFINITY),
    (ActKind::Softplus, 0.0, 0.0, 0.0, core::f32::consts::LN_2),
    (ActKind::Softplus, 0.0, 0.0, 1.0, 1.313_261_7), // ln(1 + e)
    (ActKind::Softplus, 0.0, 0.0, 200.0, 200.0),
    (ActKind::Softplus, 0.0, 0.0, -200.0, 0.0),
    (ActKind::Softsign, 0.0, 0.0, 3.0, 0.75),
    (ActKind::Erf, 0.0, 0.0, 1.0, 0.842_700_8),
    (ActKind::Erf, 0.0, 0.0, -0.5, -0.520_499_9),
    (ActKind::Softsign, 0.0, 0.0, -1.0, -0.5),
    // x * clamp(x / 6 + 0.5, 0, 1)
    (ActKind::HardSwish, 0.0, 0.0, 1.0, 0.666_666_7),
    (ActKind::HardSwish, 0.0, 0.0, -1.0, -0.333_333_34),
    (ActKind::HardSwish, 0.0, 0.0, -3.0, 0.0),
    (ActKind::HardSwish, 0.0, 0.0, 4.0, 4.0),
];

#[test]
fn every_kind_at_known_points() {
    for &(kind, alpha, beta, x, want) in CASES {
        let got = at(kind, alpha, beta, x);
        assert!(
            got == want || (got - want).abs() <= 2e-7 * (1.0 + want.abs()),
            "{kind:?}({x}; {alpha}, {beta}) = {got}, want {want}"
        );
    }
    for v in 0..=18 {
        let kind = ActKind::from_u32(v).unwrap();
        assert!(CASES.iter().any(|c| c.0 == kind), "{kind:?} untested");
    }
}

#[test]
fn nan_propagates() {
    for v in 0..=18 {
        let kind = ActKind::from_u32(v).unwrap();
        let y = at(kind, -1.0, 1.0, f32::NAN);
        assert!(y.is_nan(), "{kind:?}(NaN) = {y}");
    }
}

#[test]
fn slices() {
    let relu = ActParams::new(ActKind::Relu, 0.0, 0.0);
    let x = [-1.0, 0.5, 2.0];
    let mut y = [0.0; 3];
    apply(&relu, &x, &mut y).unwrap();
    assert_eq!(y, [0.0, 0.5, 2.0]);
    let mut z = [-3.0, 4.0];
    apply_in_place(&ActParams::new(ActKind::Neg, 0.0, 0.0), &mut z).unwrap();
    assert_eq!(z, [3.0, -4.0]);
    let p = UnaryParams {
        len: 3,
        act: ActParams::new(ActKind::Abs, 0.0, 0.0),
    };
    unary(&p, &x, &mut y).unwrap();
    assert_close(&y, &[1.0, 0.5, 2.0], 0.0);
}

#[test]
fn errors() {
    let bad = ActParams {
        kind: 20, // one past the last kind
        alpha: 0.0,
        beta: 0.0,
    };
    let relu = ActParams::new(ActKind::Relu, 0.0, 0.0);
    assert_eq!(
        check(&bad),
        Err(KernelError::BadParam {
            what: "activation kind"
        })
    );
    assert!(check(&ActParams {
        kind: u32::MAX,
        ..bad
    })
    .is_err());
    assert!(check(&relu).is_ok());
    assert!(scalar(&bad, 1.0).is_nan());
    let mut y = [0.0; 2];
    assert!(apply(&bad, &[1.0, 2.0], &mut y).is_err());
    assert!(apply_in_place(&bad, &mut y).is_err());
    assert!(matches!(
        apply(&relu, &[1.0], &mut y),
        Err(KernelError::Length { .. })
    ));
    let p = UnaryParams { len: 3, act: relu };
    assert!(unary(&p, &[1.0, 2.0], &mut y).is_err());
    assert!(unary(&UnaryParams { len: 2, act: relu }, &[1.0, 2.0, 3.0], &mut y).is_err());
    assert!(unary(
        &UnaryParams {
            len: u32::MAX,
            act: relu
        },
        &[],
        &mut []
    )
    .is_err());
}

#[test]
fn fuzz() {
    let mut rng = Rng::new(1);
    let specials = [
        0.0,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        f32::MAX,
        f32::MIN,
        1e-45,
    ];
    for _ in 0..3000 {
        let act = ActParams {
            kind: rng.small(19),
            alpha: specials[rng.below(8) as usize],
            beta: rng.f32(),
        };
        let len = rng.dim();
        let xl = rng.len(Some(len as usize));
        let yl = rng.len(Some(len as usize));
        let mut x: Vec<f32> = rng.vec(xl);
        if let Some(v) = x.first_mut() {
            *v = specials[rng.below(8) as usize];
        }
        let mut y = vec![0.0; yl];
        let _ = unary(&UnaryParams { len, act }, &x, &mut y);
        let _ = apply(&act, &x, &mut y);
        let _ = apply_in_place(&act, &mut x);
        let _ = scalar(&act, specials[rng.below(8) as usize]);
    }
}
