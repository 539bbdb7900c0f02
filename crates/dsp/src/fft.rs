//! Fixed-point FFT of a real frame: a radix-2 decimation-in-time complex FFT of half the length on
//! i32 data with Q30 twiddles, then the usual split into the bins of the real transform.
//!
//! No per-stage scaling: every intermediate value of a decimation-in-time FFT is the DFT of a
//! sub-sequence of the input, so its magnitude is at most the input's L1 norm (sum of magnitudes), and
//! so is every bin of the split. The caller keeps that norm below `2^30` (the front end normalises each
//! frame so), which leaves room in i32 for the rounding of up to 9 stages. Products are formed in i64 and
//! rounded to nearest, so the error is about one LSB per stage instead of the 1-bit-per-stage loss of a
//! scaled Q15 FFT.

const HALF: i64 = 1 << 29;

/// `(x_re + i x_im) * (c - i s)` in Q30, rounded: the forward transform's twiddle is `e^{-i theta}`.
fn twiddle(x_re: i64, x_im: i64, c: i64, s: i64) -> (i64, i64) {
    (
        (x_re * c + x_im * s + HALF) >> 30,
        (x_im * c - x_re * s + HALF) >> 30,
    )
}

/// Forward transform `X[k] = sum_m x[m] e^{-2 pi i k m / n}` of `re + i im` (length `n`) in place.
///
/// `cos[k]`, `sin[k]` hold `cos`, `sin` of `2 pi k / (n * tw_step)` in Q30 for `k < n * tw_step / 2`, so
/// one table serves every length that divides its own. Does nothing unless `re` and `im` have the same
/// power-of-two length `n >= 2`, `tw_step >= 1` and the tables are long enough; the front end only calls
/// it with validated lengths.
pub(crate) fn fft_q30(re: &mut [i32], im: &mut [i32], cos: &[i32], sin: &[i32], tw_step: usize) {
    let n = re.len();
    let tw_len = n * tw_step / 2;
    if n < 2
        || !n.is_power_of_two()
        || im.len() != n
        || tw_step == 0
        || cos.len() < tw_len
        || sin.len() < tw_len
    {
        return;
    }
    let bits = n.trailing_zeros();
    for i in 0..n {
        let j = i.reverse_bits() >> (usize::BITS - bits);
        if j > i {
            re.swap(i, j);
            im.swap(i, j);
        }
    }
    let mut len = 2;
    while len <= n {
        let half = len / 2;
        let stride = n / len * tw_step;
        for base in (0..n).step_by(len) {
            for j in 0..half {
                let (c, s) = (cos[j * stride] as i64, sin[j * stride] as i64);
                let (a, b) = (base + j, base + j + half);
                let (tr, ti) = twiddle(re[b] as i64, im[b] as i64, c, s);
                let (tr, ti) = (tr as i32, ti as i32);
                let (ar, ai) = (re[a], im[a]);
                re[a] = ar.wrapping_add(tr);
                im[a] = ai.wrapping_add(ti);
                re[b] = ar.wrapping_sub(tr);
                im[b] = ai.wrapping_sub(ti);
            }
        }
        len *= 2;
    }
}

/// Twice bin `k` (`0..=n`) of the `2n`-point real transform `X` of `y`, given `Z = fft_q30` of the
/// packed `z[m] = y[2m] + i y[2m+1]` (`re`, `im`, length `n`) and the `2n`-point twiddle tables:
///
/// `2 X[k] = (Z[k] + conj Z[n-k]) + W^k (Z[k] - conj Z[n-k]) / i`, `W = e^{-2 pi i / 2n}`, `Z[n] = Z[0]`.
///
/// Returning `2 X` keeps the halving exact; each component is below `2^31` when the L1 norm of `y` is
/// below `2^30`. Returns `(0, 0)` for `k > n` or inconsistent lengths.
pub(crate) fn real_bin_x2(
    re: &[i32],
    im: &[i32],
    cos: &[i32],
    sin: &[i32],
    k: usize,
) -> (i64, i64) {
    let n = re.len();
    if n == 0 || k > n {
        return (0, 0);
    }
    let (ka, kb) = (k % n, (n - k) % n);
    let (Some(&ar), Some(&ai), Some(&br), Some(&bi)) =
        (re.get(ka), im.get(ka), re.get(kb), im.get(kb))
    else {
        return (0, 0);
    };
    let (ar, ai, br, bi) = (ar as i64, ai as i64, br as i64, bi as i64);
    // W^n = e^{-i pi} = -1 lies just past the table.
    let (c, s) = match (cos.get(k), sin.get(k)) {
        (Some(&c), Some(&s)) if k < n => (c as i64, s as i64),
        _ => (-(1 << 30), 0),
    };
    let (er, ei) = (ar + br, ai - bi);
    let (or, oi) = twiddle(ai + bi, br - ar, c, s);
    (er + or, ei + oi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FrontendConfig;
    use crate::tables::Tables;

    fn twiddles(n: usize) -> Tables {
        let cfg = FrontendConfig {
            fft_len: n,
            frame_len: n,
            hop: n,
            ..FrontendConfig::KWS
        };
        Tables::new(&cfg).unwrap()
    }

    #[test]
    fn impulse_gives_a_flat_spectrum() {
        let t = twiddles(512);
        let mut re = [0i32; 512];
        let mut im = [0i32; 512];
        re[0] = 1 << 20;
        fft_q30(&mut re, &mut im, &t.cos, &t.sin, 1);
        for k in 0..512 {
            assert_eq!((re[k], im[k]), (1 << 20, 0), "bin {k}");
        }
    }

    #[test]
    fn delayed_impulse_rotates_by_the_delay() {
        // x[n] = A delta[n - 128] -> X[k] = A e^{-i pi k / 2} = A (1, -i, -1, i)[k mod 4].
        let t = twiddles(512);
        let mut re = [0i32; 512];
        let mut im = [0i32; 512];
        let a = 1 << 20;
        re[128] = a;
        fft_q30(&mut re, &mut im, &t.cos, &t.sin, 1);
        let want = [(a, 0), (0, -a), (-a, 0), (0, a)];
        for k in 0..512 {
            let (wr, wi) = want[k % 4];
            assert!(
                (re[k] - wr).abs() <= 2 && (im[k] - wi).abs() <= 2,
                "bin {k}: {} {}",
                re[k],
                im[k]
            );
        }
    }

    #[test]
    fn cosine_at_a_bin_centre_lands_in_two_bins() {
        // x[n] = A cos(2 pi 10 n / 512) -> X[10] = X[502] = A * 512 / 2, every other bin 0.
        let t = twiddles(512);
        let a = 1i64 << 20;
        let mut re = [0i32; 512];
        let mut im = [0i32; 512];
        for n in 0..512 {
            // Independent of the twiddle table: std's f64 cos.
            re[n] = (a as f64 * (2.0 * core::f64::consts::PI * 10.0 * n as f64 / 512.0).cos())
                .round() as i32;
        }
        fft_q30(&mut re, &mut im, &t.cos, &t.sin, 1);
        let peak = (a * 256) as f64;
        for k in 0..512 {
            let want = if k == 10 || k == 502 { peak } else { 0.0 };
            // Rounding the input to integers and ~1 LSB per stage: a few hundred LSB of 2^28.
            assert!((re[k] as f64 - want).abs() < 400.0, "bin {k}: {}", re[k]);
            assert!((im[k] as f64).abs() < 400.0, "bin {k}: {}", im[k]);
        }
    }

    #[test]
    fn largest_allowed_input_does_not_overflow() {
        // Every sample at +2^21 - 1: all the energy in bin 0, 512 (2^21 - 1) < 2^31.
        let t = twiddles(512);
        let mut re = [(1 << 21) - 1; 512];
        let mut im = [0i32; 512];
        fft_q30(&mut re, &mut im, &t.cos, &t.sin, 1);
        assert_eq!(re[0], 512 * ((1 << 21) - 1));
        assert!(re[1..].iter().chain(im.iter()).all(|v| v.abs() <= 2));
    }

    #[test]
    fn real_split_of_a_cosine_at_a_bin_centre() {
        // y[n] = A cos(2 pi 10 n / 512) + B (DC) + C (-1)^n (Nyquist): X[10] = 256 A, X[0] = 512 B,
        // X[256] = 512 C, every other bin 0; real_bin_x2 returns twice those.
        let t = twiddles(512);
        let (a, b, c) = (1i64 << 20, 1000i64, 3000i64);
        let y: std::vec::Vec<f64> = (0..512)
            .map(|n| {
                let alt = if n % 2 == 0 { c } else { -c };
                a as f64 * (2.0 * core::f64::consts::PI * 10.0 * n as f64 / 512.0).cos()
                    + (b + alt) as f64
            })
            .collect();
        let mut re: std::vec::Vec<i32> = (0..256).map(|m| y[2 * m].round() as i32).collect();
        let mut im: std::vec::Vec<i32> = (0..256).map(|m| y[2 * m + 1].round() as i32).collect();
        fft_q30(&mut re, &mut im, &t.cos, &t.sin, 2);
        for k in 0..=256 {
            let want = match k {
                0 => 2.0 * 512.0 * b as f64,
                10 => 2.0 * 256.0 * a as f64,
                256 => 2.0 * 512.0 * c as f64,
                _ => 0.0,
            };
            let (xr, xi) = real_bin_x2(&re, &im, &t.cos, &t.sin, k);
            assert!(
                (xr as f64 - want).abs() < 800.0 && (xi as f64).abs() < 800.0,
                "bin {k}: {xr} {xi}"
            );
        }
        assert_eq!(real_bin_x2(&re, &im, &t.cos, &t.sin, 257), (0, 0));
    }
}
