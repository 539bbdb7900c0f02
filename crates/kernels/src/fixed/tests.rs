//! Requantization against exact rational arithmetic (i128), at rounding and saturation edges.
use super::requant::*;

/// The exact value `acc * m0 / 2^(31 - shift)` rounded half away from zero, in i128.
fn exact(acc: i64, m: QMul, frac_bits: u32) -> i128 {
    let _ = frac_bits;
    let num = acc as i128 * m.m0 as i128;
    let bits = (31 - m.shift) as u32;
    let den = 1i128 << bits;
    let q = num / den;
    let r = num % den;
    if 2 * r.abs() >= den {
        q + num.signum()
    } else {
        q
    }
}

#[test]
fn multiplier_represents_the_real_value() {
    for &real in &[
        1.0,
        0.5,
        0.75,
        0.1,
        1e-3,
        3.9e-7,
        2.0,
        1234.5,
        0.999_999_999_9,
    ] {
        let m = quantize_multiplier(real).unwrap();
        let back = m.m0 as f64 * (2f64).powi(m.shift - 31);
        assert!(
            (back - real).abs() <= real * 1e-9,
            "{real}: {m:?} -> {back}"
        );
        assert!(
            m.m0 >= 1 << 30,
            "{real}: mantissa {:#x} not normalised",
            m.m0
        );
    }
    assert_eq!(quantize_multiplier(0.0), Some(QMul { m0: 0, shift: 0 }));
    assert_eq!(
        quantize_multiplier(1e-30),
        Some(QMul { m0: 0, shift: 0 }),
        "vanishing scale is zero, not an error"
    );
    assert_eq!(quantize_multiplier(f64::NAN), None);
    assert_eq!(quantize_multiplier(f64::INFINITY), None);
    assert_eq!(quantize_multiplier(-1.0), None);
    assert_eq!(quantize_multiplier(2f64.powi(31)), None);
}

#[test]
fn requantize_rounds_half_away_from_zero() {
    let half = quantize_multiplier(0.5).unwrap();
    // Hand-computed: 3 * 0.5 = 1.5 -> 2; -3 * 0.5 = -1.5 -> -2; 1 * 0.5 -> 1; -1 * 0.5 -> -1; 2 * 0.5 = 1.
    for (acc, want) in [(3, 2), (-3, -2), (1, 1), (-1, -1), (2, 1), (-2, -1), (0, 0)] {
        assert_eq!(requantize(acc, half), want, "{acc} * 0.5");
    }
    let quarter = quantize_multiplier(0.25).unwrap();
    for (acc, want) in [(1, 0), (2, 1), (-2, -1), (3, 1), (-3, -1), (6, 2), (-6, -2)] {
        assert_eq!(requantize(acc, quarter), want, "{acc} * 0.25");
    }
}

#[test]
fn requantize_equals_exact_rounding_over_a_sweep() {
    let mut x: u64 = 0x1234_5678;
    for _ in 0..200_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let acc = (x as i64 >> 16) as i32;
        let m = QMul {
            m0: ((x >> 33) as i32) | (1 << 30),
            shift: (x % 40) as i32 - 31,
        };
        let want = exact(acc as i64, m, 0).clamp(i32::MIN as i128, i32::MAX as i128) as i32;
        assert_eq!(requantize(acc, m), want, "acc {acc} m {m:?}");
    }
}

#[test]
fn requantize_equals_exact_rounding_for_any_multiplier_word() {
    // Malformed files may hold any mantissa (negative, zero, below 2^30) and any shift (clamped
    // to MIN_SHIFT..=MAX_SHIFT).
    let mut x: u64 = 0x9E37_79B9;
    for i in 0..200_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let acc = match i % 4 {
            0 => i32::MIN,
            1 => (x >> 40) as i32 - (1 << 23),
            _ => (x >> 8) as i32,
        };
        let m = QMul {
            m0: (x >> 32) as i32,
            shift: (x % 80) as i32 - 40,
        };
        let clamped = QMul {
            shift: m.shift.clamp(MIN_SHIFT, MAX_SHIFT),
            ..m
        };
        let want = exact(acc as i64, clamped, 0).clamp(i32::MIN as i128, i32::MAX as i128) as i32;
        assert_eq!(requantize(acc, m), want, "acc {acc} m {m:?}");
    }
}

#[test]
fn requantize_saturates_instead_of_wrapping() {
    let big = quantize_multiplier(1024.0).unwrap();
    assert_eq!(requantize(i32::MAX, big), i32::MAX);
    assert_eq!(requantize(i32::MIN, big), i32::MIN);
    let one = QMul {
        m0: i32::MAX,
        shift: 1,
    }; // ~2.0
    assert_eq!(requantize(i32::MIN, one), i32::MIN);
}

#[test]
fn requantize_i64_matches_exact_within_the_q15_mantissa() {
    for &(acc, real) in &[
        (1i64 << 40, 1e-6),
        (-(1i64 << 35), 3.3e-5),
        (123_456_789, 0.001),
        (-7, 0.5),
    ] {
        let m = quantize_multiplier(real).unwrap();
        let got = requantize_i64(acc, m) as f64;
        let want = acc as f64 * real;
        // Q15 mantissa: relative error <= 2^-15, plus the final half-LSB rounding.
        assert!(
            (got - want).abs() <= want.abs() * 2f64.powi(-15) + 0.5 + 1e-9,
            "{acc} * {real}: {got} vs {want}"
        );
    }
    assert_eq!(
        requantize_i64(i64::MAX, quantize_multiplier(1.0).unwrap()),
        i32::MAX
    );
}

#[test]
fn branch_free_rounding_equals_exact_at_the_extremes() {
    // Every shift, accumulators and mantissas at and near their extremes, both signs, and ties.
    let accs = [
        i32::MIN,
        i32::MIN + 1,
        -3,
        -2,
        -1,
        0,
        1,
        2,
        3,
        i32::MAX - 1,
        i32::MAX,
    ];
    let m0s = [i32::MIN, -(1 << 30), 1 << 30, (1 << 30) + 1, i32::MAX];
    for shift in MIN_SHIFT..=MAX_SHIFT {
        for &m0 in &m0s {
            let m = QMul { m0, shift };
            for &acc in &accs {
                let want = exact(acc as i64, m, 31).clamp(i32::MIN as i128, i32::MAX as i128);
                assert_eq!(requantize(acc, m) as i128, want, "acc {acc} m {m:?}");
            }
        }
    }
}

#[test]
fn requant_plan_equals_requantize() {
    let mut rng = crate::testutil::Rng::new(5);
    let accs = [
        i32::MIN,
        i32::MIN + 1,
        -(1 << 20) - 1,
        -3,
        -2,
        -1,
        0,
        1,
        2,
        3,
        i32::MAX,
    ];
    for shift in MIN_SHIFT - 2..=MAX_SHIFT + 2 {
        for m0 in [
            i32::MIN,
            -(1 << 30),
            0,
            1 << 30,
            (1 << 30) + 12345,
            i32::MAX,
        ] {
            let m = QMul { m0, shift };
            let plan = Requant::new(m);
            let random = (0..200).map(|_| rng.next() as i32 >> rng.below(31));
            for acc in accs.into_iter().chain(random) {
                assert_eq!(plan.apply(acc), requantize(acc, m), "acc {acc} m {m:?}");
            }
            // Ties: accumulators whose product is an odd multiple of half the divisor.
            let bits = 31 - shift.clamp(MIN_SHIFT, MAX_SHIFT);
            if m0 == 1 << 30 && bits <= 31 + 30 {
                for k in [-3i64, -1, 1, 3] {
                    let acc = (k << (bits - 1)) >> 30;
                    if let Ok(acc) = i32::try_from(acc) {
                        assert_eq!(plan.apply(acc), requantize(acc, m), "tie acc {acc} m {m:?}");
                    }
                }
            }
        }
    }
}

/// `FastRq` against `requantize` over every shift of the fast form, mantissas at the edges and
/// accumulators at rounding ties, zero and the i32 extremes.
#[test]
fn fast_requant_is_requantize() {
    let mut seed = 0x1234_5678_9abc_def0u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let m0s = [
        0,
        1,
        2,
        1 << 30,
        (1 << 30) + 1,
        i32::MAX,
        0x5555_5555,
        1 << 16,
    ];
    for shift in MIN_SHIFT..=-1 {
        let bits = (31 - shift) as u32;
        for &m0 in &m0s {
            let m = QMul { m0, shift };
            let f = FastRq::new(m).expect("fast form");
            let mut accs = std::vec![0, 1, -1, i32::MAX, i32::MIN, i32::MIN + 1, 127, -128];
            // Accumulators whose product lands on and beside a rounding tie.
            for t in 0..8i64 {
                let tie = ((2 * t + 1) << (bits - 1)) / (m0.max(1) as i64);
                for d in -2..=2 {
                    for s in [1, -1] {
                        let a = (s * tie + d).clamp(i32::MIN as i64, i32::MAX as i64);
                        accs.push(a as i32);
                    }
                }
            }
            for _ in 0..64 {
                accs.push(next() as i32);
                accs.push((next() as i32) >> (next() % 31));
            }
            for &a in &accs {
                let want = requantize(a, m);
                assert_eq!(f.apply(a), want, "acc {a} m {m:?}");
                assert_eq!(FastRq::apply_with(m, a), want, "acc {a} m {m:?}");
            }
        }
    }
    for m in [
        QMul { m0: -5, shift: -3 },
        QMul {
            m0: 1 << 30,
            shift: 0,
        },
        QMul {
            m0: 1 << 30,
            shift: 5,
        },
        QMul {
            m0: 1 << 30,
            shift: -32,
        },
    ] {
        assert!(FastRq::new(m).is_none(), "{m:?}");
    }
}

/// `OutQ::fast` against `OutQ::apply`, fused activation bounds inside, across and outside the
/// code range.
#[test]
fn fast_out_is_apply() {
    use super::{OutQ, QAct};
    fn check<T: QAct + core::fmt::Debug + PartialEq>() {
        let zs = [
            0,
            -128,
            127,
            5,
            -3,
            (1 << 30) - 1,
            1 - (1 << 30),
            40000,
            -40000,
        ];
        let bounds = [
            -70000, -32768, -129, -128, -5, 0, 3, 6, 127, 128, 32767, 70000,
        ];
        let vs = [
            0,
            1,
            -1,
            1 << 30,
            -(1 << 30),
            200,
            -200,
            127,
            -128,
            32767,
            -32768,
            99999,
        ];
        for &z in &zs {
            for &lo in &bounds {
                for &hi in &bounds {
                    let o = OutQ { z, lo, hi };
                    let f = o.fast::<T>().expect("|z| < 2^30");
                    for &v in &vs {
                        assert_eq!(f.apply::<T>(v), o.apply::<T>(v), "{o:?} v {v}");
                    }
                }
            }
        }
        assert!(OutQ {
            z: 1 << 30,
            lo: 0,
            hi: 0
        }
        .fast::<T>()
        .is_none());
    }
    check::<i8>();
    check::<i16>();
}

/// `FastOut::apply_full` is `apply` wherever `full` holds.
#[test]
fn fast_out_full_is_apply() {
    use super::{OutQ, QAct};
    fn check<T: QAct + core::fmt::Debug + PartialEq>() {
        for z in [0, T::MIN, T::MAX, 7, -(1 << 29)] {
            let f = OutQ::plain::<T>(z).fast::<T>().unwrap();
            assert!(f.full::<T>());
            for v in [0, 1, -1, 1 << 30, -(1 << 30), 200, -200, 40000, -40000] {
                assert_eq!(f.apply_full::<T>(v), f.apply::<T>(v), "z {z} v {v}");
            }
        }
        let relu = OutQ {
            z: 3,
            lo: 3,
            hi: T::MAX,
        };
        assert!(!relu.fast::<T>().unwrap().full::<T>());
    }
    check::<i8>();
    check::<i16>();
}
