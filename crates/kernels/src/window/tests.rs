use std::vec;
use std::vec::Vec;

use super::*;

fn params(outer: u32, inner: u32, taps: u32, dilation: u32) -> WindowParams {
    WindowParams {
        outer,
        inner,
        taps,
        dilation,
    }
}

/// The taps by definition: frame `t - (taps - 1 - k) * d` of the whole sequence, 0 before the start.
fn taps_of(seq: &[Vec<i32>], t: usize, p: &WindowParams) -> Vec<i32> {
    let (outer, inner, taps, d) = (
        p.outer as usize,
        p.inner as usize,
        p.taps as usize,
        p.dilation as usize,
    );
    let mut y = vec![0; outer * taps * inner];
    for o in 0..outer {
        for k in 0..taps {
            let ago = (taps - 1 - k) * d;
            for i in 0..inner {
                y[(o * taps + k) * inner + i] = if ago <= t {
                    seq[t - ago][o * inner + i]
                } else {
                    0
                };
            }
        }
    }
    y
}

#[test]
fn every_step_sees_the_frames_a_dilated_causal_window_covers() {
    for (outer, inner, taps, d) in [
        (1, 1, 3, 1),
        (3, 1, 3, 4),
        (2, 5, 2, 3),
        (4, 2, 1, 1),
        (1, 1, 5, 2),
        (2, 4, 3, 2),
        (2, 3, 2, 1),
    ] {
        let p = params(outer, inner, taps, d);
        let frame = (outer * inner) as usize;
        let slots = p.slots().unwrap() as usize;
        let seq: Vec<Vec<i32>> = (0..40)
            .map(|t: i32| (0..frame).map(|e| 1000 * t + e as i32 + 1).collect())
            .collect();
        let (mut ring, mut head) = (vec![0; slots * frame], vec![0]);
        let mut y = vec![-1; frame * taps as usize];
        for (t, x) in seq.iter().enumerate() {
            window(&p, x, &mut y, &mut ring, &mut head, None).unwrap();
            assert_eq!(y, taps_of(&seq, t, &p), "step {t} of {p:?}");
        }
    }
}

#[test]
fn hand_case_three_taps_dilation_two() {
    // Frames 10, 20, 30, 40, 50: at the fifth step the taps are t-4, t-2, t = 10, 30, 50.
    let p = params(1, 1, 3, 2);
    let (mut ring, mut head, mut y) = (vec![0i8; 4], vec![0], vec![0i8; 3]);
    for x in [10, 20, 30, 40, 50] {
        window(&p, &[x], &mut y, &mut ring, &mut head, None).unwrap();
    }
    assert_eq!(y, [10, 30, 50]);
}

#[test]
fn bad_lengths_and_heads_are_errors_not_panics() {
    let p = params(2, 1, 3, 1);
    let (mut ring, mut y) = (vec![0f32; 4], vec![0f32; 6]);
    assert!(
        window(&p, &[1.0, 2.0], &mut y, &mut ring, &mut [7], None).is_err(),
        "head past the ring"
    );
    assert!(
        window(&p, &[1.0, 2.0], &mut y, &mut ring, &mut [-1], None).is_err(),
        "negative head"
    );
    assert!(
        window(&p, &[1.0], &mut y, &mut ring, &mut [0], None).is_err(),
        "short x"
    );
    assert!(
        window(&p, &[1.0, 2.0], &mut y, &mut ring[..3], &mut [0], None).is_err(),
        "short ring"
    );
    assert!(
        window(
            &params(2, 1, 0, 1),
            &[1.0, 2.0],
            &mut y,
            &mut ring,
            &mut [0],
            None
        )
        .is_err(),
        "zero taps"
    );
    assert!(
        window::<f32>(
            &params(u32::MAX, u32::MAX, 3, 1),
            &[],
            &mut [],
            &mut [],
            &mut [0],
            None
        )
        .is_err(),
        "overflowing frame"
    );
}

#[test]
fn valid_counts_the_taps_that_hold_frames_of_this_window() {
    // taps 3, dilation 2: the ring fills after 4 steps; tap ages 4, 2, 0.
    let p = params(1, 1, 3, 2);
    let (mut ring, mut head, mut y, mut valid) = (vec![0i16; 4], vec![0], vec![0i16; 3], vec![0]);
    let mut got = vec![];
    for t in 0..9 {
        window(
            &p,
            &[t as i16 + 1],
            &mut y,
            &mut ring,
            &mut head,
            Some(&mut valid),
        )
        .unwrap();
        got.push(valid[0]);
        assert!((0..8).contains(&head[0]), "head {} at step {t}", head[0]);
    }
    assert_eq!(got, [1, 1, 2, 2, 3, 3, 3, 3, 3]);
    assert_eq!(y, [5, 7, 9], "steps 5, 7, 9 once the ring has wrapped");
}

#[test]
fn a_single_tap_window_has_one_valid_tap() {
    let p = params(2, 1, 1, 1);
    let (mut y, mut valid) = (vec![0.0f32; 2], vec![9]);
    window(&p, &[1.0, 2.0], &mut y, &mut [], &mut [0], Some(&mut valid)).unwrap();
    assert_eq!((y, valid), (vec![1.0, 2.0], vec![1]));
}
