//! Integer convolution against a direct computation of `sum (q_x - z_x) q_w` over an explicitly
//! padded input, hand-computed cases and the f32 kernel.
use rill_format::{ActParams, ConvParams};
use std::vec;
use std::vec::Vec;

use super::fixed::{conv, conv_paths, needs_generic, paths};
use crate::fixed::{quantize_multiplier, OutQ, QAct, QMul};
use crate::testutil::q::{assert_codes, dequantize, quantize, range, span, weights};
use crate::testutil::Rng;
use crate::KernelError;

#[allow(clippy::too_many_arguments)]
fn cp(
    c_in: u32,
    (in_h, in_w): (u32, u32),
    c_out: u32,
    (out_h, out_w): (u32, u32),
    (k_h, k_w): (u32, u32),
    (stride_h, stride_w): (u32, u32),
    (dil_h, dil_w): (u32, u32),
    (pad_top, pad_left): (u32, u32),
    groups: u32,
) -> ConvParams {
    ConvParams {
        batch: 1,
        c_in,
        in_h,
        in_w,
        c_out,
        out_h,
        out_w,
        k_h,
        k_w,
        stride_h,
        stride_w,
        dil_h,
        dil_w,
        pad_top,
        pad_left,
        groups,
        act: ActParams::IDENTITY,
    }
}

fn qm(real: f64) -> QMul {
    quantize_multiplier(real).unwrap()
}

/// `round_half_away_from_zero(v / 2^sh)`.
fn rnd(v: i64, sh: u32) -> i64 {
    let d = 1i64 << sh;
    if v >= 0 {
        (v + d / 2) / d
    } else {
        -((-v + d / 2) / d)
    }
}

/// The real-zero accumulator `B[o] + sum (x_pad - z_x) w` of every output, the input padded
/// explicitly with `z_x` (positions before the input by pad_top/pad_left, after it as implied by the
/// output size).
fn direct_acc<T: QAct>(p: &ConvParams, x: &[T], z_x: i32, w: &[i8], b: &[i64]) -> Vec<i64> {
    let u = |v: u32| v as usize;
    let (c_in, c_out, g) = (u(p.c_in), u(p.c_out), u(p.groups));
    let (cin_g, cout_g) = (c_in / g, c_out / g);
    // Padded extent large enough for every tap.
    let ph = u(p.pad_top) + u(p.in_h) + u(p.out_h) * u(p.stride_h) + u(p.k_h) * u(p.dil_h);
    let pw = u(p.pad_left) + u(p.in_w) + u(p.out_w) * u(p.stride_w) + u(p.k_w) * u(p.dil_w);
    let mut out = Vec::new();
    for bt in 0..u(p.batch) {
        let mut xp = vec![z_x as i64; c_in * ph * pw];
        for c in 0..c_in {
            for h in 0..u(p.in_h) {
                for wi in 0..u(p.in_w) {
                    let v = x[((bt * c_in + c) * u(p.in_h) + h) * u(p.in_w) + wi].get();
                    xp[(c * ph + h + u(p.pad_top)) * pw + wi + u(p.pad_left)] = v as i64;
                }
            }
        }
        for o in 0..c_out {
            let grp = o / cout_g;
            for oh in 0..u(p.out_h) {
                for ow in 0..u(p.out_w) {
                    let mut acc = b[o];
                    for c in 0..cin_g {
                        for kh in 0..u(p.k_h) {
                            for kw in 0..u(p.k_w) {
                                let ih = oh * u(p.stride_h) + kh * u(p.dil_h);
                                let iw = ow * u(p.stride_w) + kw * u(p.dil_w);
                                let xv = xp[((grp * cin_g + c) * ph + ih) * pw + iw];
                                let wv = w[((o * cin_g + c) * u(p.k_h) + kh) * u(p.k_w) + kw];
                                acc += (xv - z_x as i64) * wv as i64;
                            }
                        }
                    }
                    out.push(acc);
                }
            }
        }
    }
    out
}

/// The converter's folded bias `B - z_x * sum w[o]`.
fn fold(b: &[i64], w: &[i8], z_x: i32) -> Vec<i32> {
    let per = w.len() / b.len();
    b.iter()
        .zip(w.chunks_exact(per))
        .map(|(&b, wr)| (b - z_x as i64 * wr.iter().map(|&v| v as i64).sum::<i64>()) as i32)
        .collect()
}

#[test]
fn padding_taps_read_the_input_zero_point_1d() {
    // x = [10 20 30], z_x = 5, w = [1 2 3], pad 1 each side, M = 1/2:
    // ow0: (pad)0*1 + 5*2 + 15*3 = 55 -> 27.5 -> 28; ow1: 5 + 30 + 75 = 110 -> 55;
    // ow2: 15*1 + 25*2 + (pad)0 = 65 -> 32.5 -> 33.
    let p = cp(1, (1, 3), 1, (1, 3), (1, 3), (1, 1), (1, 1), (0, 1), 1);
    let w = [1i8, 2, 3];
    let bias = fold(&[0], &w, 5);
    assert_eq!(bias, [-30]);
    let mut y = [0i8; 3];
    conv(
        &p,
        &[10i8, 20, 30],
        5,
        &w,
        &bias,
        &[qm(0.5)],
        OutQ::plain::<i8>(0),
        &mut y,
    )
    .unwrap();
    assert_eq!(y, [28, 55, 33]);
    // z_x = -128 (the extreme): the input -128 is a real zero, so only 127 at the centre counts.
    let bias = fold(&[0], &w, -128);
    conv(
        &p,
        &[-128i8, 127, -128],
        -128,
        &w,
        &bias,
        &[qm(1.0 / 4.0)],
        OutQ::plain::<i8>(0),
        &mut y,
    )
    .unwrap();
    // ow0: 255*3 = 765 -> 191.25 saturates 127; ow1: 255*2 = 510 -> 127.5 -> 128 -> 127;
    // ow2: 255*1 -> 63.75 -> 64.
    assert_eq!(y, [127, 127, 64]);
    // z_x = 127: -128 is the real -255; ow0 = 0 (pad, 0, 0); ow1 = -255*3 / 4 = -191.25 saturates -128;
    // ow2 = -255*2 / 4 = -127.5 -> -128 (tie away from zero).
    let bias = fold(&[0], &w, 127);
    conv(
        &p,
        &[127i8, 127, -128],
        127,
        &w,
        &bias,
        &[qm(1.0 / 4.0)],
        OutQ::plain::<i8>(0),
        &mut y,
    )
    .unwrap();
    assert_eq!(y, [0, -128, -128]);
}

#[test]
fn depthwise_2d_padding_by_hand() {
    // Two channels of 2x2 all equal to z_x + 1 (a real 1), 3x3 kernels of ones (channel 0) and twos
    // (channel 1), pad 1: every output sees the 4 input taps, the 5 padding taps add nothing.
    // acc = 4 on channel 0, M = 1/8: 0.5 -> 1 (tie); channel 1: 8 - 12 (bias) = -4: -0.5 -> -1.
    let p = cp(2, (2, 2), 2, (2, 2), (3, 3), (1, 1), (1, 1), (1, 1), 2);
    let z_x = -100;
    let x = [(z_x + 1) as i8; 8];
    let mut w = [1i8; 18];
    w[9..].fill(2);
    let bias = fold(&[0, -12], &w, z_x);
    let mut y = [0i8; 8];
    conv(
        &p,
        &x,
        z_x,
        &w,
        &bias,
        &[qm(0.125); 2],
        OutQ::plain::<i8>(0),
        &mut y,
    )
    .unwrap();
    assert_eq!(y, [1, 1, 1, 1, -1, -1, -1, -1]);
}

#[test]
fn fused_relu_and_saturation() {
    // 1x1 conv, M = 1: y = z_y + (x - z_x) w, Relu clamps at z_y, the type range at -128/127.
    let p = cp(1, (1, 4), 2, (1, 4), (1, 1), (1, 1), (1, 1), (0, 0), 1);
    let z_x = 3;
    let x = [3i8, 4, -125, 127];
    let w = [1i8, -1];
    let bias = fold(&[0, 0], &w, z_x);
    let relu = OutQ {
        z: -20,
        lo: -20,
        hi: 127,
    };
    let mut y = [0i8; 8];
    conv(&p, &x, z_x, &w, &bias, &[qm(1.0); 2], relu, &mut y).unwrap();
    // ch0: x - 3 = [0 1 -128 124] -> [-20 -19 -20(relu) 104]; ch1: negated [-20 -21 108 -144].
    assert_eq!(y, [-20, -19, -20, 104, -20, -20, 108, -20]);
    conv(
        &p,
        &x,
        z_x,
        &w,
        &bias,
        &[qm(2.0); 2],
        OutQ::plain::<i8>(0),
        &mut y,
    )
    .unwrap();
    assert_eq!(y, [0, 2, -128, 127, 0, -2, 127, -128]);
    let mut y16 = [0i16; 8];
    let x16 = [0i16, 1, -32768, 32767];
    let b16 = fold(&[0, 0], &w, 0);
    conv(
        &p,
        &x16,
        0,
        &w,
        &b16,
        &[qm(1.0); 2],
        OutQ::plain::<i16>(0),
        &mut y16,
    )
    .unwrap();
    assert_eq!(y16, [0, 1, -32768, 32767, 0, -1, 32767, -32767]);
}

/// Random layers (1-D and 2-D, stride, dilation, padding on all sides, groups and depthwise, batch
/// 2) against the direct formula, bit for bit, with a dyadic multiplier `num / 2^sh` whose
/// product is exact.
fn random_against_direct<T: QAct>(seed: u64) {
    let mut rng = Rng::new(seed);
    let r = |rng: &mut Rng, n: u64| 1 + rng.below(n) as u32;
    let two_d = rng.chance(2);
    let groups = r(&mut rng, 3);
    let depthwise = rng.chance(3);
    let (c_in, c_out) = if depthwise {
        (groups, groups * r(&mut rng, 2))
    } else {
        (groups * r(&mut rng, 3), groups * r(&mut rng, 3))
    };
    let (in_h, k_h, s_h, d_h, pt) = if two_d {
        (
            r(&mut rng, 6),
            r(&mut rng, 3),
            r(&mut rng, 2),
            r(&mut rng, 2),
            rng.below(3) as u32,
        )
    } else {
        (1, 1, 1, 1, 0)
    };
    let (in_w, k_w, s_w, d_w, pl) = (
        r(&mut rng, 8),
        r(&mut rng, 4),
        r(&mut rng, 3),
        r(&mut rng, 2),
        rng.below(3) as u32,
    );
    // Output sizes: full coverage plus up to 2 positions of padding below / right.
    let span_h = (k_h - 1) * d_h + 1;
    let span_w = (k_w - 1) * d_w + 1;
    let out_h = (pt + in_h + rng.below(3) as u32).saturating_sub(span_h) / s_h + 1;
    let out_w = (pl + in_w + rng.below(3) as u32).saturating_sub(span_w) / s_w + 1;
    let mut p = cp(
        c_in,
        (in_h, in_w),
        c_out,
        (out_h, out_w),
        (k_h, k_w),
        (s_h, s_w),
        (d_h, d_w),
        (pt, pl),
        groups,
    );
    p.batch = 2;
    let nx = (2 * c_in * in_h * in_w) as usize;
    let nw = (c_out * (c_in / groups) * k_h * k_w) as usize;
    let z_x = if T::WIDE {
        [0, 1000, -32768][rng.below(3) as usize]
    } else {
        [-128, 127, 0, rng.below(256) as i32 - 128][rng.below(4) as usize]
    };
    let x: Vec<T> = (0..nx)
        .map(|_| T::sat(T::MIN + rng.below((T::MAX - T::MIN + 1) as u64) as i32))
        .collect();
    let w: Vec<i8> = (0..nw)
        .map(|_| (rng.below(255) as i32 - 127) as i8)
        .collect();
    let b: Vec<i64> = (0..c_out)
        .map(|_| rng.below(20001) as i64 - 10000)
        .collect();
    let bias = fold(&b, &w, z_x);
    let sh = if T::WIDE {
        8 + rng.below(6) as u32
    } else {
        10 + rng.below(6) as u32
    };
    let num = 1 + rng.below(7) as i64;
    let m = qm(num as f64 / (1u64 << sh) as f64);
    let z_y = if T::WIDE {
        0
    } else {
        rng.below(256) as i32 - 128
    };
    let mut y = vec![T::default(); (2 * c_out * out_h * out_w) as usize];
    conv(
        &p,
        &x,
        z_x,
        &w,
        &bias,
        &vec![m; c_out as usize],
        OutQ::plain::<T>(z_y),
        &mut y,
    )
    .unwrap();
    let acc = direct_acc(&p, &x, z_x, &w, &b);
    for (i, (&g, &a)) in y.iter().zip(&acc).enumerate() {
        let want = (z_y as i64 + rnd(a * num, sh)).clamp(T::MIN as i64, T::MAX as i64) as i32;
        assert_eq!(
            g.get(),
            want,
            "seed {seed} element {i}: acc {a}, params {p:?}, z_x {z_x}"
        );
    }
}

#[test]
fn random_layers_equal_the_direct_formula() {
    for seed in 0..300 {
        random_against_direct::<i8>(seed);
        random_against_direct::<i16>(seed);
    }
}

/// Quantized as the converter does, against the f32 kernel on the dequantized operands.
fn against_float<T: QAct>(seed: u64, p: &ConvParams) {
    let mut rng = Rng::new(seed);
    let nx = (p.batch * p.c_in * p.in_h * p.in_w) as usize;
    let c_out = p.c_out as usize;
    let nw = c_out * (p.c_in / p.groups * p.k_h * p.k_w) as usize;
    // Inputs not centred on 0, so that z_x != 0 and padding matters.
    let xf: Vec<f32> = rng.vec(nx).iter().map(|v| v + 1.5).collect();
    let wf = rng.vec(nw);
    let bf: Vec<f32> = rng.vec(c_out).iter().map(|v| v * 0.5).collect();
    let (lo, hi) = span(&xf);
    let (s_x, z_x) = range::<T>(lo, hi);
    let xq: Vec<T> = quantize(&xf, s_x, z_x);
    let xd = dequantize(&xq, s_x, z_x);
    let (wq, s_w, wd) = weights(&wf, c_out);
    let per = nw / c_out;
    let bq: Vec<f64> = (0..c_out)
        .map(|c| (bf[c] as f64 / (s_x as f64 * s_w[c] as f64)).round())
        .collect();
    let bd: Vec<f32> = (0..c_out)
        .map(|c| (bq[c] * s_x as f64 * s_w[c] as f64) as f32)
        .collect();
    let ny = (p.batch * p.c_out * p.out_h * p.out_w) as usize;
    let mut yf = vec![0f32; ny];
    super::float::conv(p, &xd, &wd, Some(&bd), &mut yf).unwrap();
    let (ylo, yhi) = span(&yf);
    let (s_y, z_y) = range::<T>(ylo, yhi);
    let bias: Vec<i32> = (0..c_out)
        .map(|c| {
            let ws: i64 = wq[c * per..][..per].iter().map(|&v| v as i64).sum();
            (bq[c] as i64 - z_x as i64 * ws) as i32
        })
        .collect();
    let muls: Vec<QMul> = s_w
        .iter()
        .map(|&s| qm(s_x as f64 * s as f64 / s_y as f64))
        .collect();
    let mut y = vec![T::default(); ny];
    conv(
        p,
        &xq,
        z_x,
        &wq,
        &bias,
        &muls,
        OutQ::plain::<T>(z_y),
        &mut y,
    )
    .unwrap();
    assert_codes(&y, &yf, s_y, z_y, 1);
}

#[test]
fn matches_float_within_one_lsb() {
    let layers = [
        // 2-D 3x3 pad 1, stride 1.
        cp(3, (5, 6), 4, (5, 6), (3, 3), (1, 1), (1, 1), (1, 1), 1),
        // 2-D 3x3 stride 2, dilation 2 with padding.
        cp(2, (7, 7), 3, (4, 4), (3, 3), (2, 2), (2, 2), (2, 2), 1),
        // Depthwise 3x3 pad 1.
        cp(4, (4, 5), 4, (4, 5), (3, 3), (1, 1), (1, 1), (1, 1), 4),
        // 1-D k 5 pad 2 stride 1, and strided / dilated 1-D.
        cp(3, (1, 16), 5, (1, 16), (1, 5), (1, 1), (1, 1), (0, 2), 1),
        cp(2, (1, 16), 2, (1, 7), (1, 3), (1, 2), (1, 3), (0, 2), 2),
        // 1x1 pointwise.
        cp(8, (3, 3), 6, (3, 3), (1, 1), (1, 1), (1, 1), (0, 0), 1),
    ];
    for (i, p) in layers.iter().enumerate() {
        for seed in 0..5 {
            against_float::<i8>(seed * 10 + i as u64, p);
            against_float::<i16>(seed * 10 + i as u64, p);
        }
    }
}

#[test]
fn errors() {
    let p = cp(2, (1, 4), 2, (1, 4), (1, 3), (1, 1), (1, 1), (0, 1), 1);
    let (x, w, b, m) = ([0i8; 8], [0i8; 12], [0i32; 2], [qm(1.0); 2]);
    let o = OutQ::plain::<i8>(0);
    let mut y = [5i8; 8];
    assert!(conv(&p, &x, 0, &w, &b, &m, o, &mut y).is_ok());
    let mut y = [5i8; 8];
    let len = |r: Result<(), KernelError>| matches!(r, Err(KernelError::Length { .. }));
    assert!(len(conv(&p, &x[..7], 0, &w, &b, &m, o, &mut y)));
    assert!(len(conv(&p, &x, 0, &w[..11], &b, &m, o, &mut y)));
    assert!(len(conv(&p, &x, 0, &w, &b[..1], &m, o, &mut y)));
    assert!(len(conv(&p, &x, 0, &w, &b, &m[..1], o, &mut y)));
    assert!(len(conv(&p, &x, 0, &w, &b, &m, o, &mut y[..7])));
    assert_eq!(y, [5; 8]);
    for bad in [
        ConvParams { stride_w: 0, ..p },
        ConvParams { dil_h: 0, ..p },
        ConvParams { groups: 0, ..p },
        ConvParams { groups: 3, ..p },
    ] {
        assert!(matches!(
            conv(&bad, &x, 0, &w, &b, &m, o, &mut y),
            Err(KernelError::BadParam { .. })
        ));
    }
    // i16 weights need i16 activations.
    assert!(matches!(
        conv(&p, &x, 0, &[0i16; 12], &b, &m, o, &mut y),
        Err(KernelError::BadParam { .. })
    ));
    assert_eq!(y, [5; 8]);
}

/// The convolution as it was before the fast paths: per output, every channel and valid tap in
/// i64, and the padding correction from the whole kernel's weight sum.
#[allow(clippy::too_many_arguments)]
fn conv_reference<T: QAct, W: QAct>(
    p: &ConvParams,
    x: &[T],
    z_x: i32,
    w: &[W],
    bias: &[i32],
    muls: &[QMul],
    out: OutQ,
) -> Vec<i32> {
    let u = |v: u32| v as i64;
    let (c_in, c_out, groups) = (u(p.c_in), u(p.c_out), u(p.groups));
    let (cin_g, cout_g) = (c_in / groups, c_out / groups);
    let (in_h, in_w, k_h, k_w) = (u(p.in_h), u(p.in_w), u(p.k_h), u(p.k_w));
    let mut y = Vec::new();
    for b in 0..u(p.batch) {
        for o in 0..c_out {
            let grp = o / cout_g;
            for oh in 0..u(p.out_h) {
                for ow in 0..u(p.out_w) {
                    let mut acc = bias[o as usize] as i64;
                    for c in 0..cin_g {
                        for kh in 0..k_h {
                            for kw in 0..k_w {
                                let ih = oh * u(p.stride_h) + kh * u(p.dil_h) - u(p.pad_top);
                                let iw = ow * u(p.stride_w) + kw * u(p.dil_w) - u(p.pad_left);
                                let wv =
                                    w[(((o * cin_g + c) * k_h + kh) * k_w + kw) as usize].get();
                                let xv = if (0..in_h).contains(&ih) && (0..in_w).contains(&iw) {
                                    let ci = b * c_in + grp * cin_g + c;
                                    x[((ci * in_h + ih) * in_w + iw) as usize].get()
                                } else {
                                    z_x
                                };
                                acc += wv as i64 * xv as i64;
                            }
                        }
                    }
                    let v = crate::fixed::requant_acc::<T>(acc, muls[o as usize]);
                    y.push(out.apply::<T>(v).get());
                }
            }
        }
    }
    y
}

/// Codes all at the minimum (mode 0), all at the maximum (1), or random.
fn codes_in<T: QAct>(rng: &mut Rng, len: usize, mode: u64) -> Vec<T> {
    (0..len)
        .map(|_| {
            T::sat(match mode {
                0 => T::MIN,
                1 => T::MAX,
                _ => T::MIN + rng.below((T::MAX - T::MIN + 1) as u64) as i32,
            })
        })
        .collect()
}

/// The kernel against [`conv_reference`] on random codes (sometimes all at an extreme), zero points
/// at the code range's ends and inside, and three output stages (full range at either end's zero
/// point, a narrow clamp).
fn fast_vs_reference<T: QAct, W: QAct>(p: &ConvParams, seed: u64) {
    let mut rng = Rng::new(seed);
    let (c_in, c_out) = (p.c_in as usize, p.c_out as usize);
    let x_len = p.batch as usize * c_in * (p.in_h * p.in_w) as usize;
    let w_len = c_out * c_in / p.groups as usize * (p.k_h * p.k_w) as usize;
    let (mx, mw) = (rng.below(5), rng.below(5));
    let x: Vec<T> = codes_in(&mut rng, x_len, mx);
    let w: Vec<W> = codes_in(&mut rng, w_len, mw);
    let bias: Vec<i32> = (0..c_out)
        .map(|_| rng.below(1 << 16) as i32 - (1 << 15))
        .collect();
    let muls: Vec<QMul> = (0..c_out)
        .map(|_| qm(1.0 / (1 + rng.below(1 << 14)) as f64))
        .collect();
    let y_len = p.batch as usize * c_out * (p.out_h * p.out_w) as usize;
    for z_x in [T::MIN, T::MAX, 0, 3] {
        for out in [
            OutQ::plain::<T>(T::MIN),
            OutQ::plain::<T>(T::MAX),
            OutQ {
                z: -2,
                lo: -9,
                hi: 30,
            },
        ] {
            let want = conv_reference(p, &x, z_x, &w, &bias, &muls, out);
            let mut y = vec![T::default(); y_len];
            conv::<T, W>(p, &x, z_x, &w, &bias, &muls, out, &mut y).unwrap();
            let got: Vec<i32> = y.iter().map(|v| v.get()).collect();
            assert_eq!(got, want, "{p:?} z_x {z_x} out {out:?} seed {seed}");
            // A build without the fast paths: the column buffer, the same codes.
            let mut y = vec![T::default(); y_len];
            conv_paths::<T, W, { paths::GENERIC }>(p, &x, z_x, &w, &bias, &muls, out, &mut y)
                .unwrap();
            let got: Vec<i32> = y.iter().map(|v| v.get()).collect();
            assert_eq!(
                got, want,
                "{p:?} z_x {z_x} out {out:?} seed {seed} (no fast path)"
            );
            // Without the generic loop either: the same codes, or refused (before writing y)
            // exactly when `needs_generic` says so.
            let mut y = vec![T::default(); y_len];
            let r = conv_paths::<T, W, 0>(p, &x, z_x, &w, &bias, &muls, out, &mut y);
            if needs_generic(p, z_x, T::WIDE) {
                assert!(
                    matches!(r, Err(KernelError::BadParam { .. })),
                    "{p:?} z_x {z_x}: {r:?}"
                );
                assert!(y.iter().all(|v| v.get() == 0));
            } else {
                r.unwrap();
                let got: Vec<i32> = y.iter().map(|v| v.get()).collect();
                assert_eq!(
                    got, want,
                    "{p:?} z_x {z_x} out {out:?} seed {seed} (no generic loop)"
                );
            }
        }
    }
}

fn all_types(p: &ConvParams, seed: u64) {
    fast_vs_reference::<i8, i8>(p, seed);
    fast_vs_reference::<i16, i8>(p, seed);
    fast_vs_reference::<i16, i16>(p, seed);
}

const CHANNELS: [u32; 6] = [1, 3, 4, 5, 17, 64];

#[test]
fn pointwise_fast_path_equals_the_reference() {
    let mut seed = 0;
    for &c_in in &CHANNELS {
        for &c_out in &CHANNELS {
            for (h, w) in [(1, 1), (3, 5), (7, 7)] {
                seed += 1;
                all_types(
                    &cp(
                        c_in,
                        (h, w),
                        c_out,
                        (h, w),
                        (1, 1),
                        (1, 1),
                        (1, 1),
                        (0, 0),
                        1,
                    ),
                    seed,
                );
            }
        }
    }
    // Many blocks of gathered pixel pairs (2 KB hold 2 pairs of 256 channels), channels in whole
    // groups and not, an odd pixel and an odd output channel count.
    for (c_in, seed) in [(256, 490), (255, 491), (130, 492)] {
        all_types(
            &cp(c_in, (5, 5), 7, (5, 5), (1, 1), (1, 1), (1, 1), (0, 0), 1),
            seed,
        );
    }
    // Batch 2, and past the gather buffer (c_in > 256: the generic loop).
    let mut p = cp(5, (2, 3), 6, (2, 3), (1, 1), (1, 1), (1, 1), (0, 0), 1);
    p.batch = 2;
    all_types(&p, 500);
    all_types(
        &cp(300, (1, 2), 3, (1, 2), (1, 1), (1, 1), (1, 1), (0, 0), 1),
        501,
    );
    // 1x1 that is not pointwise: stride 2, padding, an output past the input.
    all_types(
        &cp(4, (5, 5), 3, (3, 3), (1, 1), (2, 2), (1, 1), (0, 0), 1),
        502,
    );
    all_types(
        &cp(4, (3, 3), 3, (5, 5), (1, 1), (1, 1), (1, 1), (1, 1), 1),
        503,
    );
}

#[test]
fn depthwise_fast_path_equals_the_reference() {
    let mut seed = 1000;
    // (in, out, kernel, stride, dilation, padding)
    type Case = (
        (u32, u32),
        (u32, u32),
        (u32, u32),
        (u32, u32),
        (u32, u32),
        (u32, u32),
    );
    let cases: [Case; 12] = [
        ((25, 5), (25, 5), (3, 3), (1, 1), (1, 1), (1, 1)),
        ((5, 6), (3, 4), (3, 3), (1, 1), (1, 1), (0, 0)),
        ((1, 1), (1, 1), (3, 3), (1, 1), (1, 1), (1, 1)),
        ((6, 7), (3, 4), (3, 3), (2, 2), (1, 1), (1, 1)),
        ((7, 7), (7, 7), (3, 3), (1, 1), (2, 2), (2, 2)),
        ((8, 5), (4, 3), (3, 2), (2, 2), (2, 1), (1, 0)),
        ((4, 4), (6, 6), (5, 5), (1, 1), (1, 1), (3, 3)),
        ((9, 1), (9, 1), (3, 1), (1, 1), (1, 1), (1, 0)),
        ((6, 6), (8, 8), (2, 2), (1, 1), (1, 1), (2, 2)),
        ((3, 3), (3, 3), (1, 1), (1, 1), (1, 1), (0, 0)),
        ((4, 4), (2, 2), (3, 3), (3, 3), (1, 1), (0, 0)),
        ((2, 3), (4, 5), (3, 3), (1, 1), (1, 1), (2, 2)),
    ];
    for &c in &CHANNELS[..5] {
        for &(i, o, k, s, d, pad) in &cases {
            seed += 1;
            all_types(&cp(c, i, c, o, k, s, d, pad, c), seed);
        }
    }
    // Several bands per plane (a tall plane), and a row wider than the band buffer (generic).
    all_types(
        &cp(2, (600, 3), 2, (600, 3), (3, 3), (1, 1), (1, 1), (1, 1), 2),
        2000,
    );
    all_types(
        &cp(
            1,
            (3, 1100),
            1,
            (3, 1100),
            (3, 3),
            (1, 1),
            (1, 1),
            (1, 1),
            1,
        ),
        2001,
    );
    // Channel multiplier 2 (groups = c_in < c_out) is not depthwise: the generic loop.
    all_types(
        &cp(3, (4, 4), 6, (4, 4), (3, 3), (1, 1), (1, 1), (1, 1), 3),
        2002,
    );
}

#[test]
fn depthwise_zero_point_outside_the_code_range_takes_the_generic_loop() {
    // A malformed zero point cannot be stored as padding: the result must still be the formula's.
    let p = cp(2, (4, 4), 2, (4, 4), (3, 3), (1, 1), (1, 1), (1, 1), 2);
    let mut rng = Rng::new(9);
    let x: Vec<i8> = codes_in(&mut rng, 32, 2);
    let w: Vec<i8> = codes_in(&mut rng, 18, 2);
    let (bias, muls) = ([5, -7], [qm(0.01); 2]);
    let out = OutQ::plain::<i8>(0);
    let want = conv_reference(&p, &x, 1000, &w, &bias, &muls, out);
    let mut y = [0i8; 32];
    conv::<i8, i8>(&p, &x, 1000, &w, &bias, &muls, out, &mut y).unwrap();
    assert_eq!(y.iter().map(|&v| v as i32).collect::<Vec<_>>(), want);
}

#[test]
fn generic_grouped_conv_equals_the_reference() {
    let mut seed = 3000;
    for (c_in, c_out, groups) in [(4, 6, 2), (6, 4, 2), (5, 5, 1), (3, 6, 3)] {
        for pad in [(0, 0), (1, 2)] {
            seed += 1;
            all_types(
                &cp(
                    c_in,
                    (5, 4),
                    c_out,
                    (4, 5),
                    (3, 2),
                    (1, 1),
                    (1, 2),
                    pad,
                    groups,
                ),
                seed,
            );
            all_types(
                &cp(
                    c_in,
                    (7, 6),
                    c_out,
                    (3, 3),
                    (2, 3),
                    (2, 2),
                    (2, 1),
                    pad,
                    groups,
                ),
                seed + 50,
            );
        }
    }
    // 1-D dilated (a TCN layer), and a receptive field past the column buffer (60 * 9 > 512:
    // the generic loop).
    all_types(
        &cp(17, (1, 20), 5, (1, 20), (1, 3), (1, 1), (1, 4), (0, 8), 1),
        3100,
    );
    all_types(
        &cp(60, (3, 3), 5, (3, 3), (3, 3), (1, 1), (1, 1), (1, 1), 1),
        3101,
    );
}

#[test]
fn column_buffer_with_a_zero_point_outside_the_code_range_takes_the_generic_loop() {
    let p = cp(3, (4, 4), 2, (4, 4), (3, 3), (1, 1), (1, 1), (1, 1), 1);
    let mut rng = Rng::new(10);
    let x: Vec<i8> = codes_in(&mut rng, 48, 2);
    let w: Vec<i8> = codes_in(&mut rng, 54, 2);
    let (bias, muls) = ([5, -7], [qm(0.01); 2]);
    let out = OutQ::plain::<i8>(0);
    let want = conv_reference(&p, &x, -1000, &w, &bias, &muls, out);
    let mut y = [0i8; 32];
    conv::<i8, i8>(&p, &x, -1000, &w, &bias, &muls, out, &mut y).unwrap();
    assert_eq!(y.iter().map(|&v| v as i32).collect::<Vec<_>>(), want);
}
