//! Band-limited resampling for `pitch_shift`: a Kaiser-windowed sinc interpolator with
//! `scipy.signal.resample`'s time alignment ([`sinc_resample`]), in place of librosa's soxr.

use std::f64::consts::PI;

/// Half-length of the resampling filter, in samples of the lower of the two rates.
const RESAMPLE_HALF_WIDTH: usize = 32;
/// Kaiser window shape of the resampling filter (about 80 dB stopband attenuation).
const RESAMPLE_KAISER_BETA: f64 = 8.0;
/// Cutoff (-6 dB) of the resampling filter as a fraction of the lower Nyquist frequency: the
/// passband is flat to about 84 % of it and the stopband starts at about 100 %.
const RESAMPLE_ROLLOFF: f64 = 0.92;
/// Filter phases tabulated per sample (linear interpolation between them).
const RESAMPLE_PHASES: usize = 512;

/// Modified Bessel function of the first kind, order 0 (power series).
fn bessel_i0(x: f64) -> f64 {
    let q = x * x / 4.0;
    let (mut sum, mut term) = (1.0f64, 1.0f64);
    for k in 1..100 {
        term *= q / (k * k) as f64;
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

/// `sum(a[i] * b[i])` over equal lengths that are a multiple of 8, in 8 lanes (vectorises).
#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
}

/// Band-limited resampling of `x` to `num` samples, with scipy's time alignment (output sample
/// `k` is the input interpolated at time `k * len(x) / num`, as `scipy.signal.resample`), by a
/// Kaiser-windowed sinc: `RESAMPLE_HALF_WIDTH` zero crossings either side at the lower rate,
/// cutoff `RESAMPLE_ROLLOFF` of the lower Nyquist frequency. Samples outside `x` are zero (no
/// wrap-around, unlike the FFT method). Cost: `num * 4 * RESAMPLE_HALF_WIDTH / min(1, ratio)`
/// multiply-adds, whatever the lengths' prime factors.
pub(super) fn sinc_resample(x: &[f64], num: usize) -> Vec<f64> {
    let nx = x.len();
    if nx == 0 || num == 0 {
        return vec![0.0; num];
    }
    let ratio = num as f64 / nx as f64;
    let band = ratio.min(1.0);
    // Cutoff, as a fraction of the input's Nyquist frequency.
    let fc = RESAMPLE_ROLLOFF * band;
    // Taps either side, in input samples, rounded up to a multiple of 4 (lanes of `dot`).
    let half = ((RESAMPLE_HALF_WIDTH as f64 / band).ceil() as usize).next_multiple_of(4);
    let taps = 2 * half;
    let i0_beta = bessel_i0(RESAMPLE_KAISER_BETA);
    let kernel = |d: f64| -> f64 {
        let u = d / half as f64;
        if u.abs() >= 1.0 {
            return 0.0;
        }
        let w = bessel_i0(RESAMPLE_KAISER_BETA * (1.0 - u * u).sqrt()) / i0_beta;
        let arg = PI * fc * d;
        let sinc = if arg == 0.0 { 1.0 } else { arg.sin() / arg };
        fc * sinc * w
    };
    // Row p holds the taps for fractional position p / PHASES: tap m sits at distance
    // `p / PHASES + half - 1 - m` from the output time.
    // Row P - p is row p reversed, so only half the rows are evaluated.
    let mut table = vec![0.0f32; (RESAMPLE_PHASES + 1) * taps];
    for p in 0..=RESAMPLE_PHASES / 2 {
        let frac = p as f64 / RESAMPLE_PHASES as f64;
        for m in 0..taps {
            let h = kernel(frac + (half - 1) as f64 - m as f64) as f32;
            table[p * taps + m] = h;
            table[(RESAMPLE_PHASES - p) * taps + (taps - 1 - m)] = h;
        }
    }
    let mut padded = vec![0.0f32; nx + 2 * half + 1];
    for (d, &s) in padded[half..half + nx].iter_mut().zip(x) {
        *d = s as f32;
    }
    let step = nx as f64 / num as f64;
    (0..num)
        .map(|k| {
            let t = k as f64 * step;
            let i = t.floor();
            let pos = (t - i) * RESAMPLE_PHASES as f64;
            let p = (pos as usize).min(RESAMPLE_PHASES - 1);
            let a = pos - p as f64;
            // First tap at input index i - half + 1, i.e. padded index i + 1.
            let xs = &padded[i as usize + 1..i as usize + 1 + taps];
            let r0 = &table[p * taps..(p + 1) * taps];
            let r1 = &table[(p + 1) * taps..(p + 2) * taps];
            let v0 = f64::from(dot(xs, r0));
            let v1 = f64::from(dot(xs, r1));
            v0 + a * (v1 - v0)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::augment::test_support::fft_resample;

    #[test]
    fn fft_resample_matches_scipy() {
        // scipy.signal.resample(np.array([1., 2., 3., 4., 5.]), n) for n = 3, 8, 2 (scipy 1.17.1)
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        let cases: [(usize, &[f64]); 3] = [
            (3, &[2.0, 2.308018291562351, 4.691981708437648]),
            (
                8,
                &[
                    1.0,
                    0.9947245331128161,
                    2.6236180795288266,
                    3.058777487951724,
                    3.0,
                    4.355436074421371,
                    5.376381920471173,
                    3.591061904514089,
                ],
            ),
            (2, &[2.0, 4.0]),
        ];
        for (num, want) in cases {
            let got = fft_resample(&x, num);
            assert_eq!(got.len(), num);
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() < 1e-12, "{num}: {got:?}");
            }
        }
    }

    #[test]
    fn sinc_resample_is_band_limited_interpolation() {
        // Sinusoids below the passband, sampled at rate 1: the output at sample k must be the
        // continuous signal at time k * nx / num (scipy's alignment), away from the edges.
        let signal = |t: f64, top: f64| {
            0.4 * (2.0 * PI * 0.05 * top * t + 0.3).sin()
                + 0.3 * (2.0 * PI * 0.21 * top * t).sin()
                + 0.2 * (2.0 * PI * 0.4 * top * t + 1.0).sin()
                + 0.1
        };
        for (nx, num) in [
            (20_000usize, 10_000usize),
            (20_000, 17_818),
            (17_818, 20_000),
            (10_001, 20_002),
            (9_999, 9_999),
        ] {
            let top = (num as f64 / nx as f64).min(1.0); // content up to 0.4 * top cycles/sample
            let x: Vec<f64> = (0..nx).map(|i| signal(i as f64, top)).collect();
            let y = sinc_resample(&x, num);
            assert_eq!(y.len(), num);
            let margin = 200;
            let err = (margin..num - margin)
                .map(|k| (y[k] - signal(k as f64 * nx as f64 / num as f64, top)).abs())
                .fold(0.0f64, f64::max);
            assert!(err < 5e-4, "{nx} -> {num}: {err}");
        }
        // Downsampling by 2 removes a tone above the new Nyquist instead of aliasing it.
        let x: Vec<f64> = (0..20_000)
            .map(|i| (2.0 * PI * 0.35 * i as f64).sin())
            .collect();
        let y = sinc_resample(&x, 10_000);
        let leak = (y[200..9800].iter().map(|v| v * v).sum::<f64>() / 9600.0).sqrt();
        assert!(leak < 1e-3, "{leak}");
    }
}
