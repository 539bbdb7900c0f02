use rill_format::{PoolKind, PoolParams};
use std::vec;
use std::vec::Vec;

use super::float::pool;
use crate::testutil::{assert_close, prod, Rng};
use crate::KernelError;

fn pp(kind: PoolKind, in_hw: (u32, u32), out_hw: (u32, u32), k: (u32, u32)) -> PoolParams {
    PoolParams {
        kind: kind as u32,
        batch: 1,
        channels: 1,
        in_h: in_hw.0,
        in_w: in_hw.1,
        out_h: out_hw.0,
        out_w: out_hw.1,
        k_h: k.0,
        k_w: k.1,
        stride_h: 1,
        stride_w: 1,
        dil_h: 1,
        dil_w: 1,
        pad_top: 0,
        pad_left: 0,
        count_include_pad: 0,
        global: 0,
    }
}

fn run(p: &PoolParams, x: &[f32]) -> Vec<f32> {
    let mut y = vec![f32::NAN; (p.batch * p.channels * p.out_h * p.out_w) as usize];
    pool(p, x, &mut y).unwrap();
    y
}

#[test]
fn avg_at_padded_border_by_hand() {
    let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]; // 3x3
                                                           // 2x2 windows, stride 2, pad 1 top/left: rows {-1, 0} and {1, 2}, columns likewise.
                                                           // y00 = x00 = 1; y01 = x01 + x02 = 5; y10 = x10 + x20 = 11; y11 = 5 + 6 + 8 + 9 = 28
    let p = PoolParams {
        stride_h: 2,
        stride_w: 2,
        pad_top: 1,
        pad_left: 1,
        ..pp(PoolKind::Avg, (3, 3), (2, 2), (2, 2))
    };
    // count_include_pad = 0 divides by in-bounds taps: 1/1, 5/2, 11/2, 28/4
    assert_eq!(run(&p, &x), [1.0, 2.5, 5.5, 7.0]);
    // count_include_pad = 1 divides by 4 everywhere
    assert_eq!(
        run(
            &PoolParams {
                count_include_pad: 1,
                ..p
            },
            &x
        ),
        [0.25, 1.25, 2.75, 7.0]
    );
}

#[test]
fn max_with_dilation_by_hand() {
    let x = [1.0, 5.0, 2.0, 4.0, 3.0, 0.0];
    // k 2, dilation 2: taps o and o + 2: max(1,2), max(5,4), max(2,3), max(4,0)
    let p = PoolParams {
        dil_w: 2,
        ..pp(PoolKind::Max, (1, 6), (1, 4), (1, 2))
    };
    assert_eq!(run(&p, &x), [2.0, 5.0, 3.0, 4.0]);
    // pad 1: taps o - 1 and o + 1: (-,5), (1,2), (5,4), (2,3), (4,0)
    let p = PoolParams {
        pad_left: 1,
        out_w: 5,
        ..p
    };
    assert_eq!(run(&p, &x), [5.0, 2.0, 5.0, 3.0, 4.0]);
}

#[test]
fn global_pools() {
    let x = [1.0, 2.0, 3.0, 4.0, -1.0, -1.0, -1.0, 5.0]; // 2 channels of 2x2
    let p = PoolParams {
        channels: 2,
        global: 1,
        ..pp(PoolKind::Avg, (2, 2), (1, 1), (2, 2))
    };
    assert_eq!(run(&p, &x), [2.5, 0.5]); // 10/4, 2/4
    assert_eq!(
        run(
            &PoolParams {
                kind: PoolKind::Max as u32,
                ..p
            },
            &x
        ),
        [4.0, 5.0]
    );
    // batch 2 of one channel each: the same planes
    assert_eq!(
        run(
            &PoolParams {
                batch: 2,
                channels: 1,
                ..p
            },
            &x
        ),
        [2.5, 0.5]
    );
}

#[test]
fn windows_in_padding() {
    let p = PoolParams {
        pad_left: 5,
        ..pp(PoolKind::Avg, (1, 2), (1, 1), (1, 2))
    };
    assert_eq!(run(&p, &[1.0, 2.0]), [0.0]);
    assert_eq!(
        run(
            &PoolParams {
                count_include_pad: 1,
                ..p
            },
            &[1.0, 2.0]
        ),
        [0.0]
    );
    assert_eq!(
        run(&PoolParams { kind: 0, ..p }, &[1.0, 2.0]),
        [f32::NEG_INFINITY]
    );
    assert!(run(
        &PoolParams {
            kind: 0,
            ..pp(PoolKind::Max, (1, 2), (1, 1), (1, 2))
        },
        &[f32::NAN, 1.0]
    )[0]
    .is_nan());
    assert!(run(
        &PoolParams {
            kind: 0,
            ..pp(PoolKind::Max, (1, 2), (1, 1), (1, 2))
        },
        &[1.0, f32::NAN]
    )[0]
    .is_nan());
}

/// Direct formula with signed positions, every tap visited.
fn pool_ref(p: &PoolParams, x: &[f32]) -> Vec<f32> {
    let u = |v: u32| v as i64;
    let mut y = Vec::new();
    for c in 0..u(p.batch * p.channels) {
        for oh in 0..u(p.out_h) {
            for ow in 0..u(p.out_w) {
                let (mut sum, mut max, mut n) = (0.0, f32::NEG_INFINITY, 0);
                for kh in 0..u(p.k_h) {
                    for kw in 0..u(p.k_w) {
                        let ih = oh * u(p.stride_h) + kh * u(p.dil_h) - u(p.pad_top);
                        let iw = ow * u(p.stride_w) + kw * u(p.dil_w) - u(p.pad_left);
                        if ih >= 0 && iw >= 0 && ih < u(p.in_h) && iw < u(p.in_w) {
                            let v = x[((c * u(p.in_h) + ih) * u(p.in_w) + iw) as usize];
                            sum += v;
                            max = max.max(v);
                            n += 1;
                        }
                    }
                }
                y.push(match (p.kind, p.count_include_pad) {
                    (0, _) => max,
                    (_, 1) => sum / (p.k_h * p.k_w) as f32,
                    _ if n == 0 => 0.0,
                    _ => sum / n as f32,
                });
            }
        }
    }
    y
}

#[test]
fn random_against_direct_formula() {
    let mut rng = Rng::new(5);
    for _ in 0..300 {
        let p = PoolParams {
            kind: rng.below(2) as u32,
            batch: 1 + rng.below(2) as u32,
            channels: 1 + rng.below(2) as u32,
            in_h: 1 + rng.below(5) as u32,
            in_w: 1 + rng.below(6) as u32,
            out_h: 1 + rng.below(5) as u32,
            out_w: 1 + rng.below(6) as u32,
            k_h: 1 + rng.below(3) as u32,
            k_w: 1 + rng.below(3) as u32,
            stride_h: 1 + rng.below(2) as u32,
            stride_w: 1 + rng.below(3) as u32,
            dil_h: 1 + rng.below(2) as u32,
            dil_w: 1 + rng.below(3) as u32,
            pad_top: rng.below(3) as u32,
            pad_left: rng.below(3) as u32,
            count_include_pad: rng.below(2) as u32,
            global: 0,
        };
        let x = rng.vec((p.batch * p.channels * p.in_h * p.in_w) as usize);
        assert_close(&run(&p, &x), &pool_ref(&p, &x), 1e-6);
    }
}

#[test]
fn errors() {
    let p = pp(PoolKind::Max, (1, 4), (1, 3), (1, 2));
    let x = [1.0; 4];
    let mut y = [0.0; 3];
    assert!(pool(&p, &x, &mut y).is_ok());
    assert!(matches!(
        pool(&p, &x, &mut y[..2]),
        Err(KernelError::Length { .. })
    ));
    assert!(pool(&p, &x[..3], &mut y).is_err());
    for bad in [
        PoolParams { kind: 2, ..p },
        PoolParams {
            kind: u32::MAX,
            ..p
        },
        PoolParams { stride_w: 0, ..p },
        PoolParams { stride_h: 0, ..p },
        PoolParams { dil_w: 0, ..p },
        PoolParams { dil_h: 0, ..p },
        PoolParams { k_w: 0, ..p },
        PoolParams {
            count_include_pad: 2,
            ..p
        },
        PoolParams { global: 7, ..p },
    ] {
        assert!(
            matches!(pool(&bad, &x, &mut y), Err(KernelError::BadParam { .. })),
            "{bad:?}"
        );
    }
    let huge = PoolParams {
        batch: u32::MAX,
        channels: u32::MAX,
        in_h: u32::MAX,
        ..p
    };
    assert!(matches!(
        pool(&huge, &x, &mut y),
        Err(KernelError::Overflow { .. })
    ));
    // A huge window over a small input costs the input size, not the window size.
    let big = PoolParams {
        k_h: u32::MAX,
        k_w: u32::MAX,
        pad_top: 1 << 31,
        pad_left: 1 << 31,
        ..pp(PoolKind::Avg, (1, 4), (1, 1), (1, 1))
    };
    assert_eq!(run(&big, &x), [1.0]);
}

#[test]
fn fuzz() {
    let mut rng = Rng::new(6);
    let mut ok = 0;
    for _ in 0..4000 {
        let p = PoolParams {
            kind: rng.small(2),
            batch: rng.dim(),
            channels: rng.dim(),
            in_h: rng.dim(),
            in_w: rng.dim(),
            out_h: rng.dim(),
            out_w: rng.dim(),
            k_h: rng.dim(),
            k_w: rng.dim(),
            stride_h: rng.dim(),
            stride_w: rng.dim(),
            dil_h: rng.dim(),
            dil_w: rng.dim(),
            pad_top: rng.dim(),
            pad_left: rng.dim(),
            count_include_pad: rng.small(2),
            global: rng.small(2),
        };
        let x = rng.vec_near(prod(&[p.batch, p.channels, p.in_h, p.in_w]));
        let mut y = vec![0.0; rng.len(prod(&[p.batch, p.channels, p.out_h, p.out_w]))];
        ok += pool(&p, &x, &mut y).is_ok() as usize;
    }
    assert!(ok > 100, "too few valid cases: {ok}");
}
