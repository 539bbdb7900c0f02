//! Integer dense and matmul against hand-computed codes and the f32 kernels.
use rill_format::{ActKind, ActParams, DenseParams, MatMulParams};
use std::vec;
use std::vec::Vec;

use super::fixed::matmul;
use crate::fixed::{quantize_multiplier, requantize, OutQ, QAct, QMul};
use crate::testutil::q::{assert_codes, dequantize, quantize, range, span, weights};
use crate::testutil::Rng;

fn dp(m: u32, k: u32, n: u32) -> DenseParams {
    DenseParams {
        m,
        k,
        n,
        act: ActParams::IDENTITY,
    }
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

/// The kernel with i8 weights (the common case; the hand cases below use integer literals).
fn dense<T: QAct>(
    p: &DenseParams,
    x: &[T],
    w: &[i8],
    bias: &[i32],
    muls: &[QMul],
    out: OutQ,
    y: &mut [T],
) -> Result<(), crate::KernelError> {
    super::fixed::dense::<T, i8>(p, x, w, bias, muls, out, y)
}

fn qm(real: f64) -> QMul {
    quantize_multiplier(real).unwrap()
}

#[test]
fn half_lsb_ties_round_away_from_zero() {
    // x = [1 2 3], rows [1 1 1] and [-1 2 0]: dot products 6 and 3; biases -1 and -10 give 5 and -7,
    // times M = 0.5: 2.5 -> 3 and -3.5 -> -4.
    let x: [i8; 3] = [1, 2, 3];
    let w: [i8; 6] = [1, 1, 1, -1, 2, 0];
    let mut y = [0i8; 2];
    let m = [qm(0.5); 2];
    dense(
        &dp(1, 3, 2),
        &x,
        &w,
        &[-1, -10],
        &m,
        OutQ::plain::<i8>(0),
        &mut y,
    )
    .unwrap();
    assert_eq!(y, [3, -4]);
    // Same in i16 (64-bit accumulation and the Q15 mantissa path).
    let x16: [i16; 3] = [1, 2, 3];
    let mut y16 = [0i16; 2];
    dense(
        &dp(1, 3, 2),
        &x16,
        &w,
        &[-1, -10],
        &m,
        OutQ::plain::<i16>(0),
        &mut y16,
    )
    .unwrap();
    assert_eq!(y16, [3, -4]);
    // Output zero point added after rounding: z = 10 -> [13, 6].
    dense(
        &dp(1, 3, 2),
        &x,
        &w,
        &[-1, -10],
        &m,
        OutQ::plain::<i8>(10),
        &mut y,
    )
    .unwrap();
    assert_eq!(y, [13, 6]);
}

#[test]
fn saturates_at_the_code_range() {
    // k = 1, w = 1, x = 0: acc = bias, M = 1.
    let m = [qm(1.0); 4];
    let mut y = [0i8; 4];
    dense(
        &dp(1, 1, 4),
        &[0i8],
        &[1, 1, 1, 1],
        &[127, 128, -128, -129],
        &m,
        OutQ::plain::<i8>(0),
        &mut y,
    )
    .unwrap();
    assert_eq!(y, [127, 127, -128, -128]);
    let mut y16 = [0i16; 4];
    dense(
        &dp(1, 1, 4),
        &[0i16],
        &[1, 1, 1, 1],
        &[32767, 32768, -32768, -1_000_000],
        &m,
        OutQ::plain::<i16>(0),
        &mut y16,
    )
    .unwrap();
    assert_eq!(y16, [32767, 32767, -32768, -32768]);
    // i16 accumulators beyond i32: bias i32::MAX plus 3 * 32767 * 127 is kept exact in i64,
    // M = 2^-20 -> (2^31 - 1 + 3 * 4161409) / 2^20 = 2059.9 -> 2060.
    let mut y1 = [0i16; 1];
    dense(
        &dp(1, 3, 1),
        &[32767i16; 3],
        &[127; 3],
        &[i32::MAX],
        &[qm(2f64.powi(-20))],
        OutQ::plain::<i16>(0),
        &mut y1,
    )
    .unwrap();
    assert_eq!(y1, [2060]);
}

#[test]
fn zero_points_at_the_extremes() {
    // z_y = 127: v = 0 -> 127, v = -255 -> -128, v = 1 saturates at 127.
    let m = [qm(1.0); 3];
    let mut y = [0i8; 3];
    dense(
        &dp(1, 1, 3),
        &[0i8],
        &[1; 3],
        &[0, -255, 1],
        &m,
        OutQ::plain::<i8>(127),
        &mut y,
    )
    .unwrap();
    assert_eq!(y, [127, -128, 127]);
    // z_y = -128: v = 255 -> 127, v = -1 -> -128.
    dense(
        &dp(1, 1, 3),
        &[0i8],
        &[1; 3],
        &[255, -1, 0],
        &m,
        OutQ::plain::<i8>(-128),
        &mut y,
    )
    .unwrap();
    assert_eq!(y, [127, -128, -128]);
    // z_x = -128 folded into the bias: x = [-128, 127], w = [1, 1], real sum (0) + (255) = 255;
    // B' = 0 - (-128) * 2 = 256, acc = 256 + (-1) = 255 -> with M = 1/2: 127.5 -> 128 -> z_y=-128: 0.
    let mut y1 = [0i8; 1];
    dense(
        &dp(1, 2, 1),
        &[-128i8, 127],
        &[1, 1],
        &[256],
        &[qm(0.5)],
        OutQ::plain::<i8>(-128),
        &mut y1,
    )
    .unwrap();
    assert_eq!(y1, [0]);
}

#[test]
fn all_equal_inputs() {
    // x all 5, w all 3, k = 8: acc = 120, M = 1/16 -> 7.5 -> 8 in every output.
    let mut y = [0i8; 6];
    dense(
        &dp(2, 8, 3),
        &[5i8; 16],
        &[3; 24],
        &[0; 3],
        &[qm(1.0 / 16.0); 3],
        OutQ::plain::<i8>(0),
        &mut y,
    )
    .unwrap();
    assert_eq!(y, [8; 6]);
}

#[test]
fn fused_relu_and_clip_clamp() {
    // Relu: lo = z_y = -5. Clip(-1, 2) with s_y = 0.25: lo = z + round(-1/0.25) = -9, hi = z + 8 = 3.
    let relu = OutQ {
        z: -5,
        lo: -5,
        hi: 127,
    };
    let clip = OutQ {
        z: -5,
        lo: -9,
        hi: 3,
    };
    let m = [qm(1.0); 4];
    let w = [1i8; 4];
    let b = [-20, -2, 3, 50];
    let mut y = [0i8; 4];
    dense(&dp(1, 1, 4), &[0i8], &w, &b, &m, relu, &mut y).unwrap();
    assert_eq!(y, [-5, -5, -2, 45]);
    dense(&dp(1, 1, 4), &[0i8], &w, &b, &m, clip, &mut y).unwrap();
    assert_eq!(y, [-9, -7, -2, 3]);
    let mut y16 = [0i16; 4];
    let clip16 = OutQ {
        z: 0,
        lo: -4,
        hi: 8,
    };
    dense(&dp(1, 1, 4), &[0i16], &w, &b, &m, clip16, &mut y16).unwrap();
    assert_eq!(y16, [-4, -2, 3, 8]);
}

#[test]
fn multiplier_extremes() {
    // Denormal and tiny scale ratios become the zero multiplier: every output is the zero point.
    for tiny in [1e-45f64, 1e-30, 2f64.powi(-40)] {
        let m = quantize_multiplier(tiny).unwrap();
        assert_eq!(m.m0, 0, "{tiny}");
        let mut y = [0i8; 2];
        dense(
            &dp(1, 1, 2),
            &[127i8],
            &[127; 2],
            &[i32::MAX - 20000, -7],
            &[m; 2],
            OutQ::plain::<i8>(3),
            &mut y,
        )
        .unwrap();
        assert_eq!(y, [3, 3]);
    }
    // Not representable: above 2^30, infinite, NaN, negative.
    for bad in [2f64.powi(31), 1e12, f64::INFINITY, f64::NAN, -1.0] {
        assert_eq!(quantize_multiplier(bad), None, "{bad}");
    }
    // Just below 2^30 is representable; an accumulator of 1 gives round(M) saturated to i32.
    let big = 2f64.powi(30) * 0.75;
    let m = quantize_multiplier(big).unwrap();
    assert_eq!(requantize(1, m), big as i32);
    assert_eq!(requantize(3, m), i32::MAX);
    // A huge multiplier on a dense saturates the output.
    let mut y = [0i8; 2];
    dense(
        &dp(1, 1, 2),
        &[1i8],
        &[1, -1],
        &[0, 0],
        &[m; 2],
        OutQ::plain::<i8>(0),
        &mut y,
    )
    .unwrap();
    assert_eq!(y, [127, -128]);
}

/// Kernel bug (see the report): `requantize_i64` clamps its shift of `15 - shift` to at least 1, so
/// every multiplier >= 2^14 (shift >= 15) is applied as if it were `2^(14 - shift)` times smaller.
/// In int16 mode any dense / conv / reduce / add with `s_x s_w / s_y >= 2^14` is wrong.
#[test]
fn i16_dense_with_a_multiplier_above_2_pow_14() {
    let mut y = [0i16; 1];
    dense(
        &dp(1, 1, 1),
        &[1i16],
        &[1],
        &[0],
        &[qm(16384.0)],
        OutQ::plain::<i16>(0),
        &mut y,
    )
    .unwrap();
    assert_eq!(y, [16384]);
}

/// Quantizes a random float dense layer as the converter does, runs the integer kernel and checks
/// every output against the f32 kernel on the dequantized operands.
fn dense_against_float<T: QAct>(seed: u64, act: ActKind) {
    let mut rng = Rng::new(seed);
    let (m, k, n) = (3usize, 24usize, 7usize);
    let xf = rng.vec(m * k);
    let wf: Vec<f32> = rng
        .vec(n * k)
        .iter()
        .map(|v| v * (0.2 + 0.1 * (seed % 3) as f32))
        .collect();
    let bf = rng.vec(n);
    let (lo, hi) = span(&xf);
    let (s_x, z_x) = range::<T>(lo, hi);
    let xq: Vec<T> = quantize(&xf, s_x, z_x);
    let (wq, s_w, wd) = weights(&wf, n);
    let xd = dequantize(&xq, s_x, z_x);
    let mut bias = vec![0i32; n];
    let mut bd = vec![0f32; n];
    let mut muls = vec![QMul::default(); n];
    let p = DenseParams {
        m: m as u32,
        k: k as u32,
        n: n as u32,
        act: ActParams::new(act, 0.0, 0.0),
    };
    let mut yf = vec![0f32; m * n];
    // Output range from the float result of the dequantized operands with unrounded bias first.
    super::float::dense(&p, &xd, &wd, Some(&bf), &mut yf).unwrap();
    let (ylo, yhi) = span(&yf);
    let (s_y, z_y) = range::<T>(ylo, yhi);
    for c in 0..n {
        let sxw = s_x as f64 * s_w[c] as f64;
        let bq = (bf[c] as f64 / sxw).round();
        bd[c] = (bq * sxw) as f32;
        let wsum: i64 = wq[c * k..][..k].iter().map(|&v| v as i64).sum();
        bias[c] = (bq as i64 - z_x as i64 * wsum) as i32;
        muls[c] = qm(sxw / s_y as f64);
    }
    super::float::dense(&p, &xd, &wd, Some(&bd), &mut yf).unwrap();
    let out = match act {
        ActKind::Relu => OutQ {
            z: z_y,
            lo: z_y,
            hi: T::MAX,
        },
        _ => OutQ::plain::<T>(z_y),
    };
    let mut y = vec![T::default(); m * n];
    dense(&p, &xq, &wq, &bias, &muls, out, &mut y).unwrap();
    assert_codes(&y, &yf, s_y, z_y, 1);
}

#[test]
fn dense_matches_float_within_one_lsb() {
    for seed in 1..20 {
        dense_against_float::<i8>(seed, ActKind::Identity);
        dense_against_float::<i16>(seed, ActKind::Identity);
        // Relu: the output range starts at 0, so z_y = -128 for i8.
        dense_against_float::<i8>(seed + 100, ActKind::Relu);
        dense_against_float::<i16>(seed + 100, ActKind::Relu);
    }
}

#[test]
fn matmul_by_hand() {
    // (3 - 1)(5 + 2) = 14 and (-1 - 1)(5 + 2) = -14, M = 1/4: 3.5 -> 4, -3.5 -> -4.
    let p = mp(2, 1, 1, &[], &[], &[]);
    let mut y = [0i8; 2];
    matmul(
        &p,
        &[3i8, -1],
        1,
        &[5i8],
        -2,
        qm(0.25),
        OutQ::plain::<i8>(0),
        &mut y,
    )
    .unwrap();
    assert_eq!(y, [4, -4]);
    let mut y16 = [0i16; 2];
    matmul(
        &p,
        &[3i16, -1],
        1,
        &[5i16],
        -2,
        qm(0.25),
        OutQ::plain::<i16>(0),
        &mut y16,
    )
    .unwrap();
    assert_eq!(y16, [4, -4]);
    // Extreme codes: (-128 - 127)(-128 - 127) = 65025, M = 1 saturates; z_a = -128: a = -128 is 0.
    let p1 = mp(1, 1, 1, &[], &[], &[]);
    let mut y1 = [0i8; 1];
    matmul(
        &p1,
        &[-128i8],
        127,
        &[-128i8],
        127,
        qm(1.0),
        OutQ::plain::<i8>(0),
        &mut y1,
    )
    .unwrap();
    assert_eq!(y1, [127]);
    matmul(
        &p1,
        &[-128i8],
        -128,
        &[-128i8],
        127,
        qm(1.0),
        OutQ::plain::<i8>(5),
        &mut y1,
    )
    .unwrap();
    assert_eq!(y1, [5]);
    // i16: 3 * 32767^2 = 3221028867 > 2^31: i64 accumulation,
    // M = 2^-16 -> 3 * 32767^2 / 65536 = 49149.0 -> saturates 32767; M = 2^-17 -> 24574.5 -> 24575.
    let p3 = mp(1, 3, 1, &[], &[], &[]);
    let mut y3 = [0i16; 1];
    matmul(
        &p3,
        &[32767i16; 3],
        0,
        &[32767i16; 3],
        0,
        qm(2f64.powi(-17)),
        OutQ::plain::<i16>(0),
        &mut y3,
    )
    .unwrap();
    assert_eq!(y3, [24575]);
    matmul(
        &p3,
        &[-32768i16; 3],
        0,
        &[32767i16; 3],
        0,
        qm(2f64.powi(-16)),
        OutQ::plain::<i16>(0),
        &mut y3,
    )
    .unwrap();
    assert_eq!(y3, [-32768]);
}

fn matmul_against_float<T: QAct>(seed: u64) {
    // a [2, 3, 5] times b [5, 4] broadcast over the batch (stride 0).
    let mut rng = Rng::new(seed);
    let (bt, m, k, n) = (2usize, 3usize, 5usize, 4usize);
    let af: Vec<f32> = rng.vec(bt * m * k);
    let bf: Vec<f32> = rng.vec(k * n).iter().map(|v| v * 0.5 + 0.3).collect();
    let (sa, za) = {
        let (lo, hi) = span(&af);
        range::<T>(lo, hi)
    };
    let (sb, zb) = {
        let (lo, hi) = span(&bf);
        range::<T>(lo, hi)
    };
    let aq: Vec<T> = quantize(&af, sa, za);
    let bq: Vec<T> = quantize(&bf, sb, zb);
    let (ad, bd) = (dequantize(&aq, sa, za), dequantize(&bq, sb, zb));
    let p = mp(
        m as u32,
        k as u32,
        n as u32,
        &[bt as u32],
        &[(m * k) as u32],
        &[0],
    );
    let mut yf = vec![0f32; bt * m * n];
    super::float::matmul(&p, &ad, &bd, &mut yf).unwrap();
    let (lo, hi) = span(&yf);
    let (sy, zy) = range::<T>(lo, hi);
    let mut y = vec![T::default(); bt * m * n];
    let my = qm(sa as f64 * sb as f64 / sy as f64);
    matmul(&p, &aq, za, &bq, zb, my, OutQ::plain::<T>(zy), &mut y).unwrap();
    assert_codes(&y, &yf, sy, zy, 1);
}

#[test]
fn matmul_of_two_activations_matches_float_within_one_lsb() {
    for seed in 1..20 {
        matmul_against_float::<i8>(seed);
        matmul_against_float::<i16>(seed);
    }
}

#[test]
fn length_errors() {
    let m = [qm(1.0); 2];
    let o = OutQ::plain::<i8>(0);
    let mut y = [0i8; 2];
    let p = dp(1, 3, 2);
    assert!(dense(&p, &[0i8; 2], &[0; 6], &[0; 2], &m, o, &mut y).is_err());
    assert!(dense(&p, &[0i8; 3], &[0; 5], &[0; 2], &m, o, &mut y).is_err());
    assert!(dense(&p, &[0i8; 3], &[0; 6], &[0; 1], &m, o, &mut y).is_err());
    assert!(dense(&p, &[0i8; 3], &[0; 6], &[0; 2], &m[..1], o, &mut y).is_err());
    assert!(dense(&p, &[0i8; 3], &[0; 6], &[0; 2], &m, o, &mut y[..1]).is_err());
    assert!(dense(
        &dp(u32::MAX, u32::MAX, 2),
        &[0i8; 3],
        &[0; 6],
        &[0; 2],
        &m,
        o,
        &mut y
    )
    .is_err());
    // The output is untouched on error.
    let mut y = [9i8; 2];
    assert!(dense(&p, &[1i8; 3], &[1; 6], &[0; 2], &m, o, &mut y[..]).is_ok());
    let mut y2 = [9i8; 2];
    assert!(dense(&p, &[1i8; 4], &[1; 6], &[0; 2], &m, o, &mut y2).is_err());
    assert_eq!(y2, [9, 9]);

    let mp1 = mp(2, 2, 2, &[2], &[4], &[4]);
    let mut y = [0i8; 8];
    assert!(matmul(&mp1, &[0i8; 8], 0, &[0i8; 8], 0, m[0], o, &mut y).is_ok());
    assert!(matmul(&mp1, &[0i8; 7], 0, &[0i8; 8], 0, m[0], o, &mut y).is_err());
    assert!(matmul(&mp1, &[0i8; 8], 0, &[0i8; 7], 0, m[0], o, &mut y).is_err());
    assert!(matmul(&mp1, &[0i8; 8], 0, &[0i8; 8], 0, m[0], o, &mut y[..7]).is_err());
    let mut bad = mp1;
    bad.batch_rank = 5;
    assert!(matmul(&bad, &[0i8; 8], 0, &[0i8; 8], 0, m[0], o, &mut y).is_err());
}

#[test]
fn i16_weights() {
    // i16 weights with i16 activations: 30000 * 30000 + (-30000) * 29999 = 30000, M = 1/3 -> 10000.
    let mut y = [0i16; 1];
    super::fixed::dense::<i16, i16>(
        &dp(1, 2, 1),
        &[30000i16, 29999],
        &[30000i16, -30000],
        &[0],
        &[qm(1.0 / 3.0)],
        OutQ::plain::<i16>(0),
        &mut y,
    )
    .unwrap();
    assert_eq!(y, [10000]);
    // i16 weights with i8 activations are refused (the i32 accumulator could overflow).
    let mut y8 = [7i8; 1];
    let r = super::fixed::dense::<i8, i16>(
        &dp(1, 1, 1),
        &[1i8],
        &[1i16],
        &[0],
        &[qm(1.0)],
        OutQ::plain::<i8>(0),
        &mut y8,
    );
    assert!(matches!(r, Err(crate::KernelError::BadParam { .. })));
    assert_eq!(y8, [7]);
}

/// The dense kernel as it was before the grouped dot products: one row at a time, i64.
fn dense_reference<T: QAct, W: QAct>(
    (m, k, n): (usize, usize, usize),
    x: &[T],
    w: &[W],
    bias: &[i32],
    muls: &[QMul],
    out: OutQ,
) -> Vec<T> {
    let mut y = vec![T::default(); m * n];
    for i in 0..m {
        for j in 0..n {
            let acc = (0..k).fold(bias[j] as i64, |a, t| {
                a + x[i * k + t].get() as i64 * w[j * k + t].get() as i64
            });
            y[i * n + j] = out.apply(crate::fixed::requant_acc::<T>(acc, muls[j]));
        }
    }
    y
}

/// All-minimum (mode 0), all-maximum (1) or random codes.
fn extreme_codes<T: QAct>(rng: &mut Rng, len: usize, mode: u64) -> Vec<T> {
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

fn dense_fast_vs_reference<T: QAct, W: QAct>(seed: u64, (m, k, n): (usize, usize, usize)) {
    let mut rng = Rng::new(seed);
    let (mx, mw) = (rng.below(4), rng.below(4));
    let x: Vec<T> = extreme_codes(&mut rng, m * k, mx);
    let w: Vec<W> = extreme_codes(&mut rng, n * k, mw);
    let bias: Vec<i32> = (0..n)
        .map(|_| rng.below(1 << 20) as i32 - (1 << 19))
        .collect();
    let muls: Vec<QMul> = (0..n)
        .map(|_| qm(1.0 / (1 + rng.below(1 << 16)) as f64))
        .collect();
    for out in [
        OutQ::plain::<T>(T::MIN),
        OutQ::plain::<T>(T::MAX),
        OutQ {
            z: 3,
            lo: -20,
            hi: 40,
        },
    ] {
        let want = dense_reference((m, k, n), &x, &w, &bias, &muls, out);
        let mut y = vec![T::default(); m * n];
        super::fixed::dense::<T, W>(
            &dp(m as u32, k as u32, n as u32),
            &x,
            &w,
            &bias,
            &muls,
            out,
            &mut y,
        )
        .unwrap();
        let codes = |v: &[T]| v.iter().map(|c| c.get()).collect::<Vec<_>>();
        assert_eq!(
            codes(&y),
            codes(&want),
            "seed {seed} m {m} k {k} n {n} out {out:?}"
        );
    }
}

#[test]
fn grouped_rows_match_the_row_at_a_time_reference() {
    let sizes = [1, 3, 4, 5, 17, 64];
    let mut seed = 0;
    for &k in &sizes {
        for &n in &sizes {
            for m in [1, 2] {
                seed += 1;
                dense_fast_vs_reference::<i8, i8>(seed, (m, k, n));
                dense_fast_vs_reference::<i16, i8>(seed, (m, k, n));
                dense_fast_vs_reference::<i16, i16>(seed, (m, k, n));
            }
        }
    }
    // Past the i16 x i8 block of 256 and the zero-length row.
    dense_fast_vs_reference::<i16, i8>(1000, (1, 600, 6));
    dense_fast_vs_reference::<i8, i8>(1001, (2, 0, 5));
}
