//! The step form against the whole-window pool (the reference): a causal pool over time, fed one
//! frame at a time through a `Window`, gives the whole-window output at every step, warm-up included.
use rill_format::{PoolKind, PoolParams, WindowParams};
use std::vec;
use std::vec::Vec;

use crate::testutil::Rng;
use crate::window::window;

/// x `[C, T, F]` (time on H) or `[C, F, T]` (time on W), causal over time, whole window.
fn whole(
    kind: PoolKind,
    include: u32,
    on_w: bool,
    c: u32,
    t: u32,
    f: u32,
    k: u32,
    d: u32,
) -> PoolParams {
    let (kf, sf) = (2.min(f), 2.min(f));
    let out_f = (f - kf) / sf + 1;
    let mut p = PoolParams {
        kind: kind as u32,
        batch: 1,
        channels: c,
        in_h: t,
        in_w: f,
        out_h: t,
        out_w: out_f,
        k_h: k,
        k_w: kf,
        stride_h: 1,
        stride_w: sf,
        dil_h: d,
        dil_w: 1,
        pad_top: (k - 1) * d,
        pad_left: 0,
        count_include_pad: include,
        global: 0,
    };
    if on_w {
        (p.in_h, p.in_w, p.out_h, p.out_w) = (p.in_w, p.in_h, p.out_w, p.out_h);
        (p.k_h, p.k_w, p.stride_h, p.stride_w) = (p.k_w, p.k_h, p.stride_w, p.stride_h);
        (p.dil_h, p.dil_w, p.pad_top, p.pad_left) = (p.dil_w, p.dil_h, p.pad_left, p.pad_top);
    }
    p
}

fn step_params(w: &PoolParams, on_w: bool) -> PoolParams {
    let mut s = *w;
    if on_w {
        (s.in_w, s.out_w, s.dil_w, s.pad_left) = (s.k_w, 1, 1, 0);
    } else {
        (s.in_h, s.out_h, s.dil_h, s.pad_top) = (s.k_h, 1, 1, 0);
    }
    s
}

/// Element `t` of the time axis of a `[C, A, B]` tensor (time on A, or on B when `on_w`).
fn frame<T: Copy>(x: &[T], dims: (usize, usize, usize), on_w: bool, t: usize) -> Vec<T> {
    let (c, a, b) = dims;
    let mut out = vec![];
    for ci in 0..c {
        if on_w {
            for ai in 0..a {
                out.push(x[(ci * a + ai) * b + t]);
            }
        } else {
            out.extend_from_slice(&x[(ci * a + t) * b..][..b]);
        }
    }
    out
}

fn cases() -> Vec<(PoolKind, u32, bool, u32)> {
    let mut v = vec![];
    for kind in [PoolKind::Max, PoolKind::Avg] {
        for include in [0, 1] {
            for on_w in [false, true] {
                for d in [1, 2] {
                    if kind == PoolKind::Max && include == 1 {
                        continue;
                    }
                    v.push((kind, include, on_w, d));
                }
            }
        }
    }
    v
}

/// How the whole-window pool `w` is run step by step: its input and output dims, the step op and
/// the window of its taps.
struct Stepping {
    dims: (usize, usize, usize),
    out_dims: (usize, usize, usize),
    s: PoolParams,
    wp: WindowParams,
}

fn stepping(w: &PoolParams, on_w: bool, c: u32, f: u32, k: u32, d: u32) -> Stepping {
    let (outer, inner) = if on_w { (c * f, 1) } else { (c, f) };
    Stepping {
        dims: (c as usize, w.in_h as usize, w.in_w as usize),
        out_dims: (c as usize, w.out_h as usize, w.out_w as usize),
        s: step_params(w, on_w),
        wp: WindowParams {
            outer,
            inner,
            taps: k,
            dilation: d,
        },
    }
}

#[test]
fn f32_steps_equal_the_whole_window_pool() {
    let mut rng = Rng::new(7);
    let (c, t, f, k) = (2u32, 9u32, 4u32, 3u32);
    for (kind, include, on_w, d) in cases() {
        let w = whole(kind, include, on_w, c, t, f, k, d);
        let x: Vec<f32> = (0..c * t * f)
            .map(|_| (rng.below(4001) as f32 - 2000.0) / 1000.0)
            .collect();
        let mut y = vec![0.0; (c * w.out_h * w.out_w) as usize];
        super::float::pool(&w, &x, &mut y).unwrap();
        let Stepping {
            dims,
            out_dims,
            s,
            wp,
        } = stepping(&w, on_w, c, f, k, d);
        let (outer, inner) = (wp.outer, wp.inner);
        let mut ring = vec![0.0; (wp.slots().unwrap() * outer * inner) as usize];
        let (mut head, mut valid) = (vec![0], vec![0]);
        let mut taps = vec![0.0; (outer * k * inner) as usize];
        for step in 0..t as usize {
            let xs = frame(&x, dims, on_w, step);
            window(&wp, &xs, &mut taps, &mut ring, &mut head, Some(&mut valid)).unwrap();
            let mut ys = vec![0.0; (c * s.out_h * s.out_w) as usize];
            super::float::pool_step(&s, &taps, Some(valid[0]), &mut ys).unwrap();
            assert_eq!(
                ys,
                frame(&y, out_dims, on_w, step),
                "{kind:?} {include} {on_w} d{d} step {step}"
            );
        }
    }
}

#[test]
fn fixed_steps_equal_the_whole_window_pool() {
    let mut rng = Rng::new(11);
    let (c, t, f, k) = (3u32, 8u32, 2u32, 3u32);
    for (kind, include, on_w, d) in cases() {
        let w = whole(kind, include, on_w, c, t, f, k, d);
        let z = -7;
        let x: Vec<i8> = (0..c * t * f)
            .map(|_| (rng.below(256) as i32 - 128) as i8)
            .collect();
        let mut y = vec![0i8; (c * w.out_h * w.out_w) as usize];
        super::fixed::pool(&w, &x, z, &mut y).unwrap();
        let Stepping {
            dims,
            out_dims,
            s,
            wp,
        } = stepping(&w, on_w, c, f, k, d);
        let (outer, inner) = (wp.outer, wp.inner);
        // The ring starts at the zero point, as `reset` leaves it.
        let mut ring = vec![z as i8; (wp.slots().unwrap() * outer * inner) as usize];
        let (mut head, mut valid) = (vec![0], vec![0]);
        let mut taps = vec![0i8; (outer * k * inner) as usize];
        for step in 0..t as usize {
            let xs = frame(&x, dims, on_w, step);
            window(&wp, &xs, &mut taps, &mut ring, &mut head, Some(&mut valid)).unwrap();
            let mut ys = vec![0i8; (c * s.out_h * s.out_w) as usize];
            super::fixed::pool_step(&s, &taps, z, Some(valid[0]), &mut ys).unwrap();
            assert_eq!(
                ys,
                frame(&y, out_dims, on_w, step),
                "{kind:?} {include} {on_w} d{d} step {step}"
            );
        }
    }
}

#[test]
fn a_valid_count_outside_the_window_or_no_time_axis_is_an_error() {
    let w = whole(PoolKind::Max, 0, false, 1, 5, 2, 3, 1);
    let s = step_params(&w, false);
    let x = [0.0f32; 6];
    let mut y = [0.0f32; 1];
    assert!(super::float::pool_step(&s, &x, Some(0), &mut y).is_err());
    assert!(super::float::pool_step(&s, &x, Some(4), &mut y).is_err());
    assert!(super::float::pool_step(&s, &x, Some(-1), &mut y).is_err());
    assert!(super::float::pool_step(&w, &[0.0; 10], Some(1), &mut [0.0; 5]).is_err());
}
