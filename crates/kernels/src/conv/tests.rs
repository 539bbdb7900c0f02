use rill_format::{ActKind, ActParams, ConvParams};
use std::vec;
use std::vec::Vec;

use super::float::conv;
use crate::testutil::{assert_close, prod, Rng};
use crate::KernelError;

/// 1-D conv (H = 1), one batch, no groups, no activation.
fn p1(c_in: u32, in_w: u32, c_out: u32, out_w: u32, k_w: u32) -> ConvParams {
    ConvParams {
        batch: 1,
        c_in,
        in_h: 1,
        in_w,
        c_out,
        out_h: 1,
        out_w,
        k_h: 1,
        k_w,
        stride_h: 1,
        stride_w: 1,
        dil_h: 1,
        dil_w: 1,
        pad_top: 0,
        pad_left: 0,
        groups: 1,
        act: ActParams::IDENTITY,
    }
}

fn run(p: &ConvParams, x: &[f32], w: &[f32], b: Option<&[f32]>) -> Vec<f32> {
    let mut y = vec![f32::NAN; (p.batch * p.c_out * p.out_h * p.out_w) as usize];
    conv(p, x, w, b, &mut y).unwrap();
    y
}

#[test]
fn dilated_padded_1d_by_hand() {
    let x = [1.0, 2.0, 3.0, 4.0, 5.0];
    let w = [1.0, 10.0, 100.0];
    // dilation 2, pad 2 both sides: y[o] = w0 x[o-2] + w1 x[o] + w2 x[o+2], x outside 0..5 is 0.
    // o=0: 0 + 10*1 + 100*3 = 310   o=1: 0 + 10*2 + 100*4 = 420   o=2: 1 + 10*3 + 100*5 = 531
    // o=3: 2 + 10*4 + 0 = 42         o=4: 3 + 10*5 + 0 = 53
    let p = ConvParams {
        dil_w: 2,
        pad_left: 2,
        ..p1(1, 5, 1, 5, 3)
    };
    assert_eq!(run(&p, &x, &w, None), [310.0, 420.0, 531.0, 42.0, 53.0]);
    // stride 2 keeps o = 0, 2, 4
    let p = ConvParams {
        stride_w: 2,
        ..ConvParams { out_w: 3, ..p }
    };
    assert_eq!(run(&p, &x, &w, None), [310.0, 531.0, 53.0]);
}

#[test]
fn conv_2d_bias_relu_by_hand() {
    let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]; // 3x3
    let w = [1.0, 2.0, 3.0, 4.0]; // 2x2
                                  // y00 = 1*1 + 2*2 + 3*4 + 4*5 = 37, y01 = 2 + 6 + 15 + 24 = 47,
                                  // y10 = 4 + 10 + 21 + 32 = 67, y11 = 5 + 12 + 24 + 36 = 77; then - 40 and relu.
    let p = ConvParams {
        in_h: 3,
        in_w: 3,
        out_h: 2,
        out_w: 2,
        k_h: 2,
        k_w: 2,
        act: ActParams::new(ActKind::Relu, 0.0, 0.0),
        ..p1(1, 3, 1, 2, 2)
    };
    assert_eq!(run(&p, &x, &w, Some(&[-40.0])), [0.0, 7.0, 27.0, 37.0]);
    // pad 1 all round, 4x4 output; corner y00 sees only x00 under w11: 4*1 = 4.
    let p = ConvParams {
        pad_top: 1,
        pad_left: 1,
        out_h: 4,
        out_w: 4,
        act: ActParams::IDENTITY,
        ..p
    };
    let y = run(&p, &x, &w, None);
    // y[3][3] sees only x22 under w00: 9; y[0][3] sees x02 under w10: 3*3 = 9; y[3][0]: x20 under w01: 2*7 = 14
    assert_eq!((y[0], y[15], y[3], y[12]), (4.0, 9.0, 9.0, 14.0));
    assert_eq!(y[5], 37.0);
}

#[test]
fn depthwise_by_hand() {
    let x = [1.0, 2.0, 3.0, 10.0, 20.0, 30.0]; // 2 channels of 3
    let w = [1.0, 1.0, 1.0, -1.0]; // ch0 [1 1], ch1 [1 -1]
                                   // ch0: [1+2, 2+3] = [3, 5]; ch1: [10-20, 20-30] + 100 = [90, 90]
    let p = ConvParams {
        groups: 2,
        ..p1(2, 3, 2, 2, 2)
    };
    assert_eq!(run(&p, &x, &w, Some(&[0.0, 100.0])), [3.0, 5.0, 90.0, 90.0]);
}

#[test]
fn grouped_by_hand() {
    let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]; // 4 channels of 2
    let w = [1.0, 10.0, 100.0, 1000.0]; // out0 <- ch0, ch1; out1 <- ch2, ch3 (1x1 kernel)
                                        // out0 = [1 + 10*3, 2 + 10*4] = [31, 42]; out1 = [100*5 + 1000*7, 100*6 + 1000*8] = [7500, 8600]
    let p = ConvParams {
        groups: 2,
        ..p1(4, 2, 2, 2, 1)
    };
    assert_eq!(run(&p, &x, &w, None), [31.0, 42.0, 7500.0, 8600.0]);
}

#[test]
fn padding_implied_by_output_size() {
    let x = [1.0, 2.0, 3.0];
    let w = [1.0, 1.0, 1.0];
    // out 3 with no left padding implies 2 on the right: [1+2+3, 2+3, 3]
    assert_eq!(run(&p1(1, 3, 1, 3, 3), &x, &w, None), [6.0, 5.0, 3.0]);
    // pad_left 2, one output: window over positions -2, -1, 0
    assert_eq!(
        run(
            &ConvParams {
                pad_left: 2,
                ..p1(1, 3, 1, 1, 3)
            },
            &x,
            &w,
            None
        ),
        [1.0]
    );
    // windows entirely in padding give the bias
    let p = ConvParams {
        pad_left: 10,
        ..p1(1, 3, 1, 2, 3)
    };
    assert_eq!(run(&p, &x, &w, Some(&[0.5])), [0.5, 0.5]);
}

/// Direct formula with signed positions, every tap visited.
fn conv_ref(p: &ConvParams, x: &[f32], w: &[f32], b: &[f32]) -> Vec<f32> {
    let u = |v: u32| v as i64;
    let (cg, og) = (u(p.c_in / p.groups), u(p.c_out / p.groups));
    let mut y = Vec::new();
    for n in 0..u(p.batch) {
        for o in 0..u(p.c_out) {
            for oh in 0..u(p.out_h) {
                for ow in 0..u(p.out_w) {
                    let mut s = b[o as usize];
                    for c in 0..cg {
                        let ci = o / og * cg + c;
                        for kh in 0..u(p.k_h) {
                            for kw in 0..u(p.k_w) {
                                let ih = oh * u(p.stride_h) + kh * u(p.dil_h) - u(p.pad_top);
                                let iw = ow * u(p.stride_w) + kw * u(p.dil_w) - u(p.pad_left);
                                if ih < 0 || iw < 0 || ih >= u(p.in_h) || iw >= u(p.in_w) {
                                    continue;
                                }
                                let xi = ((n * u(p.c_in) + ci) * u(p.in_h) + ih) * u(p.in_w) + iw;
                                let wi = ((o * cg + c) * u(p.k_h) + kh) * u(p.k_w) + kw;
                                s += x[xi as usize] * w[wi as usize];
                            }
                        }
                    }
                    y.push(s);
                }
            }
        }
    }
    y
}

#[test]
fn random_against_direct_formula() {
    let mut rng = Rng::new(3);
    for _ in 0..200 {
        let groups = 1 + rng.below(3) as u32;
        let p = ConvParams {
            batch: 1 + rng.below(2) as u32,
            c_in: groups * (1 + rng.below(2) as u32),
            in_h: 1 + rng.below(5) as u32,
            in_w: 1 + rng.below(6) as u32,
            c_out: groups * (1 + rng.below(2) as u32),
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
            groups,
            act: ActParams::IDENTITY,
        };
        let x = rng.vec((p.batch * p.c_in * p.in_h * p.in_w) as usize);
        let w = rng.vec((p.c_out * p.c_in / groups * p.k_h * p.k_w) as usize);
        let b = rng.vec(p.c_out as usize);
        assert_close(&run(&p, &x, &w, Some(&b)), &conv_ref(&p, &x, &w, &b), 1e-5);
    }
}

#[test]
fn errors() {
    let p = p1(1, 3, 1, 3, 3);
    let (x, w) = ([1.0; 3], [1.0; 3]);
    let mut y = [0.0; 3];
    assert!(conv(&p, &x, &w, None, &mut y).is_ok());
    assert!(matches!(
        conv(&p, &x, &w, None, &mut y[..2]),
        Err(KernelError::Length { .. })
    ));
    assert!(conv(&p, &x[..2], &w, None, &mut y).is_err());
    assert!(conv(&p, &x, &w[..2], None, &mut y).is_err());
    assert!(conv(&p, &x, &w, Some(&[]), &mut y).is_err());
    for bad in [
        ConvParams { stride_w: 0, ..p },
        ConvParams { stride_h: 0, ..p },
        ConvParams { dil_w: 0, ..p },
        ConvParams { dil_h: 0, ..p },
        ConvParams { groups: 0, ..p },
        ConvParams { groups: 2, ..p },
        ConvParams {
            act: ActParams {
                kind: 1000,
                alpha: 0.0,
                beta: 0.0,
            },
            ..p
        },
    ] {
        assert!(
            matches!(
                conv(&bad, &x, &w, None, &mut y),
                Err(KernelError::BadParam { .. })
            ),
            "{bad:?}"
        );
    }
    let huge = ConvParams {
        in_w: u32::MAX,
        c_in: u32::MAX,
        batch: u32::MAX,
        ..p
    };
    assert!(matches!(
        conv(&huge, &x, &w, None, &mut y),
        Err(KernelError::Overflow { .. })
    ));
    // Huge strides, dilations, padding and kernel sizes: positions are computed without overflow.
    let far = ConvParams {
        stride_w: u32::MAX,
        dil_w: u32::MAX,
        pad_left: u32::MAX,
        ..p1(1, 3, 1, 3, 1)
    };
    // o = 1 starts at u32::MAX - pad = 0 and reads x[0]; o = 0 lies in padding, o = 2 past the input.
    assert_eq!(run(&far, &x, &[2.0], None), [0.0, 2.0, 0.0]);
}

#[test]
fn fuzz() {
    let mut rng = Rng::new(4);
    let mut ok = 0;
    for _ in 0..4000 {
        let groups = rng.small(4);
        let mut p = ConvParams {
            batch: rng.dim(),
            c_in: rng.dim(),
            in_h: rng.dim(),
            in_w: rng.dim(),
            c_out: rng.dim(),
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
            groups,
            act: ActParams {
                kind: rng.small(19),
                alpha: 0.1,
                beta: 1.0,
            },
        };
        if rng.chance(2) {
            p.c_in = groups.wrapping_mul(rng.small(3));
            p.c_out = groups.wrapping_mul(rng.small(3));
        }
        let cg = p.c_in.checked_div(groups).unwrap_or(1);
        let x = rng.vec_near(prod(&[p.batch, p.c_in, p.in_h, p.in_w]));
        let w = rng.vec_near(prod(&[p.c_out, cg, p.k_h, p.k_w]));
        let b = rng.vec_near(Some(p.c_out as usize));
        let mut y = vec![0.0; rng.len(prod(&[p.batch, p.c_out, p.out_h, p.out_w]))];
        let bias = if rng.chance(2) { Some(&b[..]) } else { None };
        ok += conv(&p, &x, &w, bias, &mut y).is_ok() as usize;
    }
    assert!(ok > 100, "too few valid cases: {ok}");
}
