//! The grouped, blocked dot products against the one-product-at-a-time reference.
use std::vec::Vec;

use super::{dot_rows, plain};
use crate::fixed::QAct;
use crate::testutil::Rng;

fn codes<T: QAct>(rng: &mut Rng, n: usize, extreme: bool) -> Vec<T> {
    (0..n)
        .map(|_| {
            let v = if extreme {
                if rng.chance(2) {
                    T::MIN
                } else {
                    T::MAX
                }
            } else {
                T::MIN + rng.below((T::MAX - T::MIN + 1) as u64) as i32
            };
            T::sat(v)
        })
        .collect()
}

fn check<T: QAct, W: QAct>(k: usize, n: usize, seed: u64, extreme: bool) {
    let mut rng = Rng::new(seed);
    let x: Vec<T> = codes(&mut rng, k, extreme);
    let w: Vec<W> = codes(&mut rng, n * k, extreme);
    let want: Vec<i64> = (0..n).map(|j| plain(&x, &w[j * k..][..k])).collect();
    let mut got = Vec::new();
    dot_rows(&x, &w, n, |j, a| got.push((j, a)));
    let got_rows: Vec<usize> = got.iter().map(|g| g.0).collect();
    assert_eq!(got_rows, (0..n).collect::<Vec<_>>(), "k {k} n {n}");
    let got: Vec<i64> = got.iter().map(|g| g.1).collect();
    assert_eq!(got, want, "k {k} n {n} extreme {extreme}");
}

const LENS: [usize; 16] = [0, 1, 3, 4, 5, 7, 8, 9, 12, 17, 63, 64, 255, 256, 257, 515];

#[test]
fn grouped_dot_products_equal_the_plain_loop() {
    for (s, &k) in LENS.iter().enumerate() {
        for n in [1, 3, 4, 5, 9] {
            for extreme in [false, true] {
                let seed = (s * 31 + n) as u64 * 2 + extreme as u64;
                check::<i8, i8>(k, n, seed, extreme);
                check::<i16, i8>(k, n, seed, extreme);
                check::<i16, i16>(k, n, seed, extreme);
            }
        }
    }
}

#[test]
fn blocks_keep_long_sums_exact() {
    // Past one i16 x i8 block (256) and, with every product at its extreme, where a single i32
    // accumulator would overflow: 2^22 * 1024 = 2^32.
    check::<i16, i8>(1024 + 3, 4, 7, true);
    let x = std::vec![i16::MIN; 1030];
    let w = std::vec![i8::MIN; 4 * 1030];
    dot_rows(&x, &w, 4, |_, a| assert_eq!(a, 1030 * (1 << 22)));
    // Past one i8 block (2^16): 2^14 * 70000 > 2^31.
    let x = std::vec![i8::MIN; 70_000];
    let w = std::vec![i8::MIN; 70_000];
    dot_rows(&x, &w, 1, |_, a| assert_eq!(a, 70_000 * (1 << 14)));
    check::<i8, i8>(70_001, 5, 9, true);
}
