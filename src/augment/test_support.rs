//! Test signals and helpers the transforms' tests share, and `scipy.signal.resample` as a
//! reference resampler.

use std::f64::consts::PI;

use rand_chacha::ChaCha8Rng;
use realfft::RealFftPlanner;
use rustfft::FftPlanner;

use super::rng_for;
use crate::features::stft::hann_periodic;

pub(super) const SR: u32 = 48_000;

pub(super) fn tone(freq: f64, amp: f64, n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (amp * (2.0 * PI * freq * i as f64 / f64::from(SR)).sin()) as f32)
        .collect()
}

pub(super) fn rms(y: &[f32]) -> f64 {
    (y.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / y.len() as f64).sqrt()
}

/// Frequency (Hz) of the largest peak of a Hann-windowed segment, on a grid of 1 Hz (the
/// segment, cut to at most one second, is zero-padded to one second).
pub(super) fn peak_hz(segment: &[f32]) -> f64 {
    let n = SR as usize;
    let segment = &segment[..segment.len().min(n)];
    let w = hann_periodic(segment.len());
    let mut buf: Vec<rustfft::num_complex::Complex<f64>> = (0..n)
        .map(|i| {
            let v = segment.get(i).map_or(0.0, |&s| f64::from(s) * w[i]);
            rustfft::num_complex::Complex::new(v, 0.0)
        })
        .collect();
    FftPlanner::new().plan_fft_forward(n).process(&mut buf);
    (0..n / 2)
        .max_by(|&a, &b| buf[a].norm().total_cmp(&buf[b].norm()))
        .unwrap() as f64
}

/// A deterministic test signal: a chirp, two partials and a little pseudo-noise.
pub(super) fn rich(n: usize, sr: f64) -> Vec<f32> {
    let mut state = 12345u64;
    (0..n)
        .map(|i| {
            let t = i as f64 / sr;
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let noise = ((state >> 11) as f64 / (1u64 << 53) as f64) - 0.5;
            (0.3 * (2.0 * PI * (150.0 * t + 400.0 * t * t)).sin()
                + 0.2 * (2.0 * PI * 1234.5 * t).sin()
                + 0.05 * noise) as f32
        })
        .collect()
}

/// Test reference: `scipy.signal.resample(x, num)` for real `x`: keep (or zero-pad) the
/// lowest `num / 2 + 1` rfft bins, splitting or joining the Nyquist bin as scipy does, and
/// invert at length `num`.
pub(super) fn fft_resample(x: &[f64], num: usize) -> Vec<f64> {
    let nx = x.len();
    if nx == 0 || num == 0 {
        return vec![0.0; num];
    }
    let mut planner = RealFftPlanner::<f64>::new();
    let forward = planner.plan_fft_forward(nx);
    let inverse = planner.plan_fft_inverse(num);
    let mut input = x.to_vec();
    let mut spectrum = forward.make_output_vec();
    forward
        .process(&mut input, &mut spectrum)
        .expect("buffer lengths come from the plan");
    drop(input);
    let mut y = inverse.make_input_vec();
    let n = num.min(nx);
    let nyq = n / 2 + 1;
    y[..nyq].copy_from_slice(&spectrum[..nyq]);
    drop(spectrum);
    if n.is_multiple_of(2) {
        if num < nx {
            y[n / 2] *= 2.0;
        } else if nx < num {
            y[n / 2] *= 0.5;
        }
    }
    y[0].im = 0.0;
    if num.is_multiple_of(2) {
        y[num / 2].im = 0.0;
    }
    let mut out = inverse.make_output_vec();
    inverse
        .process(&mut y, &mut out)
        .expect("buffer lengths come from the plan");
    // irfft's 1/num and scipy's num/nx.
    let scale = 1.0 / nx as f64;
    out.iter_mut().for_each(|v| *v *= scale);
    out
}

pub(super) fn rng() -> ChaCha8Rng {
    rng_for(7, "test", 0)
}

/// The largest absolute difference between two signals of one length.
pub(super) fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (x - y).abs())
        .fold(0.0f32, f32::max)
}
