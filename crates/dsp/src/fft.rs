//! In-place fixed-point complex FFT (radix 2, decimation in time) on i32 data with Q30 twiddles.
//!
//! No per-stage scaling: every intermediate value of a decimation-in-time FFT is the DFT of a
//! sub-sequence of the input, so its magnitude is at most the input's L1 norm (sum of magnitudes). The
//! caller keeps that norm below `2^30` (the front end normalises each frame so), which leaves room in i32
//! for the rounding of up to 9 stages. Products are formed in
//! i64 and rounded to nearest, so the error is about one LSB per stage instead of the 1-bit-per-stage loss
//! of a scaled Q15 FFT.

/// Forward transform `X[k] = sum_n x[n] e^{-2 pi i k n / n_fft}` of `re + i im` in place.
///
/// `cos[k]`, `sin[k]` hold `cos`, `sin` of `2 pi k / n_fft` in Q30 for `k < n_fft / 2`. Does nothing
/// unless `re` and `im` have the same power-of-two length `n_fft >= 2` and the twiddle slices are long
/// enough; the front end only calls it with validated lengths.
pub(crate) fn fft_q30(re: &mut [i32], im: &mut [i32], cos: &[i32], sin: &[i32]) {
    let n = re.len();
    if n < 2 || !n.is_power_of_two() || im.len() != n || cos.len() < n / 2 || sin.len() < n / 2 {
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
    const HALF: i64 = 1 << 29;
    let mut len = 2;
    while len <= n {
        let half = len / 2;
        let stride = n / len;
        for base in (0..n).step_by(len) {
            for j in 0..half {
                let (c, s) = (cos[j * stride] as i64, sin[j * stride] as i64);
                let (a, b) = (base + j, base + j + half);
                let (br, bi) = (re[b] as i64, im[b] as i64);
                // b * (c - i s): the forward transform's twiddle is e^{-i theta}.
                let tr = ((br * c + bi * s + HALF) >> 30) as i32;
                let ti = ((bi * c - br * s + HALF) >> 30) as i32;
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
        fft_q30(&mut re, &mut im, &t.cos, &t.sin);
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
        fft_q30(&mut re, &mut im, &t.cos, &t.sin);
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
        fft_q30(&mut re, &mut im, &t.cos, &t.sin);
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
        fft_q30(&mut re, &mut im, &t.cos, &t.sin);
        assert_eq!(re[0], 512 * ((1 << 21) - 1));
        assert!(re[1..].iter().chain(im.iter()).all(|v| v.abs() <= 2));
    }
}
