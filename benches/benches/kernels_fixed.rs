//! The fixed-point kernels (int8 and int16 codes) at the sizes of `kernels.rs`, one group per family,
//! with the f32 kernel of the same shape alongside where `kernels.rs` has none.
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rill_format::{
    ActKind, ActParams, BinaryKind, BinaryParams, ConvParams, DenseParams, PoolKind, PoolParams,
    MAX_RANK,
};
use rill_kernels::act::fixed::{build_lut_i16, build_lut_i8, lut_i16, lut_i8};
use rill_kernels::elementwise::fixed::BinaryQ;
use rill_kernels::fixed::{quantize_multiplier, OutQ, QAct, QMul};
use rill_kernels::{act, conv, dense, elementwise, pool};

/// Deterministic codes spread over `T`'s range.
fn codes<T: QAct>(n: usize) -> Vec<T> {
    let span = (T::MAX - T::MIN + 1) as usize;
    (0..n)
        .map(|i| T::sat(T::MIN + (i * 7919 % span) as i32))
        .collect()
}

fn weights(n: usize) -> Vec<i8> {
    (0..n)
        .map(|i| ((i * 7919 % 255) as i32 - 127) as i8)
        .collect()
}

fn data(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 7919 % 1000) as f32 - 500.0) / 1000.0)
        .collect()
}

fn qm(real: f64) -> QMul {
    quantize_multiplier(real).expect("multiplier")
}

fn dense_group(c: &mut Criterion) {
    let mut g = c.benchmark_group("fixed_dense");
    let p = DenseParams {
        m: 1,
        k: 256,
        n: 256,
        act: ActParams::IDENTITY,
    };
    let w = weights(256 * 256);
    let bias = vec![100i32; 256];
    let muls = vec![qm(1.0 / 4096.0); 256];
    let x8 = codes::<i8>(256);
    let mut y8 = vec![0i8; 256];
    g.bench_function(BenchmarkId::new("256x256", "i8"), |bn| {
        bn.iter(|| {
            dense::fixed::dense(&p, &x8, &w, &bias, &muls, OutQ::plain::<i8>(-3), &mut y8)
                .expect("dense")
        })
    });
    let x16 = codes::<i16>(256);
    let mut y16 = vec![0i16; 256];
    g.bench_function(BenchmarkId::new("256x256", "i16"), |bn| {
        bn.iter(|| {
            dense::fixed::dense(&p, &x16, &w, &bias, &muls, OutQ::plain::<i16>(0), &mut y16)
                .expect("dense")
        })
    });
    g.finish();
}

fn conv_group(c: &mut Criterion) {
    let mut g = c.benchmark_group("fixed_conv");
    let conv_p = |c_in, h, w, k, groups| ConvParams {
        batch: 1,
        c_in,
        in_h: h,
        in_w: w,
        c_out: 64,
        out_h: h,
        out_w: w,
        k_h: k,
        k_w: k,
        stride_h: 1,
        stride_w: 1,
        dil_h: 1,
        dil_w: 1,
        pad_top: k / 2,
        pad_left: k / 2,
        groups,
        act: ActParams::IDENTITY,
    };
    let bias = vec![100i32; 64];
    let muls = vec![qm(1.0 / 1024.0); 64];
    // 1x1, 49 pixels, 64 -> 64.
    let p1 = conv_p(64, 7, 7, 1, 1);
    let w1 = weights(64 * 64);
    let x8 = codes::<i8>(64 * 49);
    let mut y8 = vec![0i8; 64 * 49];
    g.bench_function(BenchmarkId::new("1x1_49px_64to64", "i8"), |bn| {
        bn.iter(|| {
            conv::fixed::conv(
                &p1,
                &x8,
                -3,
                &w1,
                &bias,
                &muls,
                OutQ::plain::<i8>(0),
                &mut y8,
            )
            .expect("conv")
        })
    });
    let x16 = codes::<i16>(64 * 49);
    let mut y16 = vec![0i16; 64 * 49];
    g.bench_function(BenchmarkId::new("1x1_49px_64to64", "i16"), |bn| {
        bn.iter(|| {
            conv::fixed::conv(
                &p1,
                &x16,
                0,
                &w1,
                &bias,
                &muls,
                OutQ::plain::<i16>(0),
                &mut y16,
            )
            .expect("conv")
        })
    });
    // Depthwise 3x3 over 25x5x64, pad 1; z_x = -3 takes the border correction path.
    let pd = conv_p(64, 25, 5, 3, 64);
    let wd = weights(64 * 9);
    let xd8 = codes::<i8>(64 * 125);
    let mut yd8 = vec![0i8; 64 * 125];
    g.bench_function(BenchmarkId::new("depthwise_3x3_25x5x64", "i8"), |bn| {
        bn.iter(|| {
            conv::fixed::conv(
                &pd,
                &xd8,
                -3,
                &wd,
                &bias,
                &muls,
                OutQ::plain::<i8>(0),
                &mut yd8,
            )
            .expect("dw")
        })
    });
    let xd16 = codes::<i16>(64 * 125);
    let mut yd16 = vec![0i16; 64 * 125];
    g.bench_function(BenchmarkId::new("depthwise_3x3_25x5x64", "i16"), |bn| {
        bn.iter(|| {
            conv::fixed::conv(
                &pd,
                &xd16,
                0,
                &wd,
                &bias,
                &muls,
                OutQ::plain::<i16>(0),
                &mut yd16,
            )
            .expect("dw")
        })
    });
    g.finish();
}

fn pool_group(c: &mut Criterion) {
    let mut g = c.benchmark_group("fixed_pool");
    // 3x3 stride 2 pad 1 over 64 x 16 x 16 -> 64 x 8 x 8, max and average.
    let base = PoolParams {
        kind: 0,
        batch: 1,
        channels: 64,
        in_h: 16,
        in_w: 16,
        out_h: 8,
        out_w: 8,
        k_h: 3,
        k_w: 3,
        stride_h: 2,
        stride_w: 2,
        dil_h: 1,
        dil_w: 1,
        pad_top: 1,
        pad_left: 1,
        count_include_pad: 0,
        global: 0,
    };
    let (x8, x16, xf) = (
        codes::<i8>(64 * 256),
        codes::<i16>(64 * 256),
        data(64 * 256),
    );
    for kind in [PoolKind::Max, PoolKind::Avg] {
        let p = PoolParams {
            kind: kind as u32,
            ..base
        };
        let name = format!("{kind:?}_3x3s2_16x16x64").to_lowercase();
        let mut y8 = vec![0i8; 64 * 64];
        g.bench_function(BenchmarkId::new(name.as_str(), "i8"), |bn| {
            bn.iter(|| pool::fixed::pool(&p, &x8, -5, &mut y8).expect("pool"))
        });
        let mut y16 = vec![0i16; 64 * 64];
        g.bench_function(BenchmarkId::new(name.as_str(), "i16"), |bn| {
            bn.iter(|| pool::fixed::pool(&p, &x16, 0, &mut y16).expect("pool"))
        });
        let mut yf = vec![0f32; 64 * 64];
        g.bench_function(BenchmarkId::new(name.as_str(), "f32"), |bn| {
            bn.iter(|| pool::float::pool(&p, &xf, &mut yf).expect("pool"))
        });
    }
    g.finish();
}

fn add_group(c: &mut Criterion) {
    let mut g = c.benchmark_group("fixed_add");
    // Residual add of two 64 x 49 activations with different scales.
    let n = 64 * 49;
    let mut p = BinaryParams {
        kind: BinaryKind::Add as u32,
        rank: 1,
        out_shape: [0; MAX_RANK],
        a_strides: [0; MAX_RANK],
        b_strides: [0; MAX_RANK],
    };
    p.out_shape[0] = n as u32;
    p.a_strides[0] = 1;
    p.b_strides[0] = 1;
    let q = |ls: u32, out: OutQ| BinaryQ {
        z_a: 3,
        z_b: -7,
        m_a: qm(0.5),
        m_b: qm(0.3),
        m_y: qm(2.0 / (1u64 << ls) as f64),
        left_shift: ls,
        out,
    };
    let (q8, q16) = (q(20, OutQ::plain::<i8>(1)), q(15, OutQ::plain::<i16>(0)));
    let (a8, b8) = (codes::<i8>(n), codes::<i8>(n + 13)[13..].to_vec());
    let mut y8 = vec![0i8; n];
    g.bench_function(BenchmarkId::new("64x49", "i8"), |bn| {
        bn.iter(|| elementwise::fixed::binary(&p, &a8, &b8, &q8, &mut y8).expect("add"))
    });
    let (a16, b16) = (codes::<i16>(n), codes::<i16>(n + 13)[13..].to_vec());
    let mut y16 = vec![0i16; n];
    g.bench_function(BenchmarkId::new("64x49", "i16"), |bn| {
        bn.iter(|| elementwise::fixed::binary(&p, &a16, &b16, &q16, &mut y16).expect("add"))
    });
    let (af, bf) = (data(n), data(n + 13)[13..].to_vec());
    let mut yf = vec![0f32; n];
    g.bench_function(BenchmarkId::new("64x49", "f32"), |bn| {
        bn.iter(|| elementwise::float::binary(&p, &af, &bf, &mut yf).expect("add"))
    });
    g.finish();
}

fn lut_group(c: &mut Criterion) {
    let mut g = c.benchmark_group("fixed_lut");
    // Tanh over 4096 elements: i8 table, interpolated i16 table, f32 function.
    let n = 4096;
    let tanh = ActParams::new(ActKind::Tanh, 0.0, 0.0);
    let t8 = build_lut_i8(&tanh, 4.0 / 128.0, 0, 1.0 / 128.0, 0).expect("lut");
    let t16 = build_lut_i16(&tanh, 8.0 / 32768.0, 1.0 / 32768.0).expect("lut");
    let x8 = codes::<i8>(n);
    let mut y8 = vec![0i8; n];
    g.bench_function(BenchmarkId::new("tanh_4096", "i8"), |bn| {
        bn.iter(|| lut_i8(&t8, &x8, &mut y8).expect("lut"))
    });
    let x16 = codes::<i16>(n);
    let mut y16 = vec![0i16; n];
    g.bench_function(BenchmarkId::new("tanh_4096", "i16"), |bn| {
        bn.iter(|| lut_i16(&t16, &x16, &mut y16).expect("lut"))
    });
    let xf = data(n);
    let mut yf = vec![0f32; n];
    g.bench_function(BenchmarkId::new("tanh_4096", "f32"), |bn| {
        bn.iter(|| act::float::apply(&tanh, &xf, &mut yf).expect("tanh"))
    });
    g.finish();
}

criterion_group!(
    benches,
    dense_group,
    conv_group,
    pool_group,
    add_group,
    lut_group
);
criterion_main!(benches);
