//! The f32 reference kernels at the sizes the issue tracker's MCU targets use, for host comparison.
use criterion::{criterion_group, criterion_main, Criterion};
use rill_format::{ActParams, CellKind, ConvParams, DenseParams, Direction, RnnParams};
use rill_kernels::{conv, dense, rnn};

fn data(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 7919 % 1000) as f32 - 500.0) / 1000.0)
        .collect()
}

fn kernels(c: &mut Criterion) {
    let mut g = c.benchmark_group("f32");
    // Fully connected 256x256.
    let p = DenseParams {
        m: 1,
        k: 256,
        n: 256,
        act: ActParams::IDENTITY,
    };
    let (x, w, b) = (data(256), data(256 * 256), data(256));
    let mut y = vec![0.0; 256];
    g.bench_function("dense_256x256", |bn| {
        bn.iter(|| dense::float::dense(&p, &x, &w, Some(&b), &mut y).expect("dense"))
    });

    // 1x1 conv, 49 pixels, 64 -> 64 channels; depthwise 3x3 over 25x5x64.
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
    let p1 = conv_p(64, 7, 7, 1, 1);
    let (x1, w1, b1) = (data(64 * 49), data(64 * 64), data(64));
    let mut y1 = vec![0.0; 64 * 49];
    g.bench_function("conv_1x1_49px_64to64", |bn| {
        bn.iter(|| conv::float::conv(&p1, &x1, &w1, Some(&b1), &mut y1).expect("conv"))
    });
    let pd = conv_p(64, 25, 5, 3, 64);
    let (xd, wd) = (data(64 * 125), data(64 * 9));
    let mut yd = vec![0.0; 64 * 125];
    g.bench_function("depthwise_3x3_25x5x64", |bn| {
        bn.iter(|| conv::float::conv(&pd, &xd, &wd, Some(&b1), &mut yd).expect("dw"))
    });

    // LSTM: 49 steps, input 40, hidden 64.
    let acts = |k| ActParams::new(k, 0.0, 0.0);
    let mut a = [ActParams::IDENTITY; 6];
    a[..3].copy_from_slice(&[
        acts(rill_format::ActKind::Sigmoid),
        acts(rill_format::ActKind::Tanh),
        acts(rill_format::ActKind::Tanh),
    ]);
    let rp = RnnParams {
        cell: CellKind::Lstm as u32,
        direction: Direction::Forward as u32,
        seq_len: 49,
        batch: 1,
        input_size: 40,
        hidden: 64,
        layout: 0,
        linear_before_reset: 0,
        input_forget: 0,
        clip: 0.0,
        acts: a,
    };
    let (xs, ws, rs, bs) = (data(49 * 40), data(256 * 40), data(256 * 64), data(512));
    let mut ys = vec![0.0; 49 * 64];
    let mut scratch = vec![0.0; rnn::scratch_len(&rp).expect("scratch")];
    g.bench_function("lstm_49x40_h64", |bn| {
        bn.iter(|| {
            let inputs = rnn::RnnInputs {
                x: &xs,
                w: &ws,
                r: &rs,
                b: Some(&bs),
                initial_h: None,
                initial_c: None,
                p: None,
            };
            let outputs = rnn::RnnOutputs {
                y: Some(&mut ys),
                y_h: None,
                y_c: None,
            };
            rnn::float::rnn(&rp, inputs, outputs, &mut scratch).expect("lstm")
        })
    });
    g.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
