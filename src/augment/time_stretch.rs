//! `time_stretch`: `librosa.effects.time_stretch`, a phase vocoder over librosa's STFT, with
//! the inverse STFT's overlap-add.

use realfft::num_complex::Complex;
use realfft::RealFftPlanner;

use crate::features::stft::hann_periodic;

/// FFT size of the phase vocoder's STFT (librosa's default `n_fft`).
pub const N_FFT: usize = 2048;

/// Hop of the phase vocoder's STFT (librosa's default, `n_fft / 4`).
pub const HOP_LENGTH: usize = 512;

/// `librosa.effects.time_stretch(y, rate=rate)` in `f64`: `stft` -> `phase_vocoder` ->
/// `istft(length=round(len / rate))`.
///
/// The phase accumulation is done on unit phasors instead of angles: librosa's update
/// `acc += phi_advance + dphase`, with `dphase` the wrapped `angle(c1) - angle(c0) - phi_advance`,
/// equals `acc += angle(c1) - angle(c0)` modulo 2 pi, so `exp(i acc)` is multiplied by
/// `(c1 / |c1|) * conj(c0 / |c0|)` (with `angle(0) = 0`, i.e. phasor 1). Same result as librosa
/// to rounding (checked against librosa 0.11 in the tests), without an `atan2` or `sin_cos` per
/// bin and frame.
pub(super) fn time_stretch(y: &[f32], rate: f64) -> Vec<f64> {
    let len_stretch = (y.len() as f64 / rate).round_ties_even() as usize;
    if y.is_empty() {
        return Vec::new();
    }
    let n_bins = N_FFT / 2 + 1;
    let half = N_FFT / 2;
    let window = hann_periodic(N_FFT);
    let mut planner = RealFftPlanner::<f64>::new();
    let forward = planner.plan_fft_forward(N_FFT);
    let inverse = planner.plan_fft_inverse(N_FFT);

    // The STFT (librosa.stft: centred, zero padding) is computed lazily: the vocoder reads input
    // frames j and j + 1 with j non-decreasing, so two frames (magnitude and unit phasor) are
    // kept, and frames it skips (rate > 1) are never computed. Frames past the end are zero
    // (phase_vocoder's padding), with phasor 1 (np.angle(0) = 0).
    let n_frames = 1 + y.len() / HOP_LENGTH;
    let mut frame = forward.make_input_vec();
    let mut fwd_spectrum = forward.make_output_vec();
    let mut fwd_scratch = forward.make_scratch_vec();
    let mut analyse = |t: usize, mag: &mut [f64], unit: &mut [Complex<f64>]| {
        if t >= n_frames {
            mag.fill(0.0);
            unit.fill(Complex::new(1.0, 0.0));
            return;
        }
        let start = (t * HOP_LENGTH) as isize - half as isize;
        for (k, (slot, &w)) in frame.iter_mut().zip(&window).enumerate() {
            let idx = start + k as isize;
            *slot = if idx >= 0 && (idx as usize) < y.len() {
                f64::from(y[idx as usize]) * w
            } else {
                0.0
            };
        }
        forward
            .process_with_scratch(&mut frame, &mut fwd_spectrum, &mut fwd_scratch)
            .expect("buffer lengths come from the plan");
        for ((m, u), &c) in mag.iter_mut().zip(unit.iter_mut()).zip(&fwd_spectrum) {
            let r = (c.re * c.re + c.im * c.im).sqrt();
            *m = r;
            *u = if r > 0.0 {
                c / r
            } else {
                Complex::new(1.0, 0.0)
            };
        }
    };
    let (mut m0, mut m1) = (vec![0.0f64; n_bins], vec![0.0f64; n_bins]);
    let one = Complex::new(1.0f64, 0.0);
    let (mut u0, mut u1) = (vec![one; n_bins], vec![one; n_bins]);
    analyse(0, &mut m0, &mut u0);
    analyse(1, &mut m1, &mut u1);
    let mut have = 0; // m0/u0 hold frame `have`, m1/u1 frame `have + 1`

    // Phase vocoder, straight into the inverse STFT's overlap-add. Only the frames istft would
    // use for `length = len_stretch` are synthesised.
    let n_steps = (n_frames as f64 / rate).ceil() as usize; // len(np.arange(0, n_frames, rate))
    let n_out = n_steps
        .min((len_stretch + 2 * half).div_ceil(HOP_LENGTH))
        .max(1);
    let mut acc: Vec<Complex<f64>> = u0.clone(); // exp(i * angle(D[:, 0]))
    let buf_len = N_FFT + HOP_LENGTH * (n_out - 1);
    let mut out = vec![0.0f64; buf_len];
    let mut spectrum = inverse.make_input_vec();
    let mut synth = inverse.make_output_vec();
    let mut scratch = inverse.make_scratch_vec();
    let scale = 1.0 / N_FFT as f64;
    for t in 0..n_out {
        let step = t as f64 * rate;
        let j = (step as usize).min(n_frames); // int(step)
        if j == have + 1 {
            std::mem::swap(&mut m0, &mut m1);
            std::mem::swap(&mut u0, &mut u1);
            analyse(j + 1, &mut m1, &mut u1);
        } else if j > have + 1 {
            analyse(j, &mut m0, &mut u0);
            analyse(j + 1, &mut m1, &mut u1);
        }
        have = j;
        let alpha = step - step.floor(); // np.mod(step, 1.0)
        for (b, (slot, z)) in spectrum.iter_mut().zip(acc.iter_mut()).enumerate() {
            let m = (1.0 - alpha) * m0[b] + alpha * m1[b];
            *slot = *z * m;
            *z *= u1[b] * u0[b].conj();
        }
        // irfft ignores the imaginary parts of the DC and Nyquist bins.
        spectrum[0].im = 0.0;
        spectrum[n_bins - 1].im = 0.0;
        inverse
            .process_with_scratch(&mut spectrum, &mut synth, &mut scratch)
            .expect("buffer lengths come from the plan");
        let at = t * HOP_LENGTH;
        for ((o, &v), &w) in out[at..at + N_FFT].iter_mut().zip(&synth).zip(&window) {
            *o += v * scale * w;
        }
    }
    // Normalise by the window sum-square (librosa.filters.window_sumsquare over the n_out
    // frames), where it exceeds float32's tiny, and drop the centring padding.
    let wss = |k: usize| -> f64 {
        let last = (k / HOP_LENGTH).min(n_out - 1);
        let first = (k + 1).saturating_sub(N_FFT).div_ceil(HOP_LENGTH);
        (first..=last)
            .map(|t| window[k - t * HOP_LENGTH].powi(2))
            .sum()
    };
    let tiny = f64::from(f32::MIN_POSITIVE);
    (0..len_stretch)
        .map(|i| match out.get(i + half) {
            Some(&v) => {
                let w = wss(i + half);
                if w > tiny {
                    v / w
                } else {
                    v
                }
            }
            None => 0.0,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::augment::test_support::{max_abs_diff, peak_hz, rich, rms, rng, tone, SR};
    use crate::augment::Transform;

    #[test]
    fn time_stretch_length_pitch_and_level() {
        for (n, rate, want) in [
            (96_000, 2.0, 48_000),
            (96_001, 2.0, 48_000), // 48000.5 rounds to even
            (96_003, 2.0, 48_002), // 48001.5 rounds to even
            (96_000, 0.8, 120_000),
            (96_000, 1.1, 87_273),
            (1000, 0.5, 2000),
        ] {
            let y = tone(440.0, 0.5, n);
            let out = Transform::TimeStretch { rate }.apply(&y, SR, &mut rng());
            assert_eq!(out.len(), want, "{n} {rate}");
        }
        for rate in [2.0, 0.8, 1.3] {
            let y = tone(440.0, 0.5, 96_000);
            let out = Transform::TimeStretch { rate }.apply(&y, SR, &mut rng());
            let interior = &out[4096..out.len() - 4096];
            let seg = &interior[..interior.len().min(SR as usize)];
            let f = peak_hz(seg);
            let bin = f64::from(SR) / seg.len() as f64;
            assert!(
                (f - 440.0).abs() <= bin,
                "rate {rate}: peak {f} Hz (bin {bin})"
            );
            let ratio = rms(interior) / rms(&y);
            assert!((ratio - 1.0).abs() < 0.1, "rate {rate}: rms ratio {ratio}");
        }
    }

    #[test]
    fn time_stretch_at_rate_one_is_the_identity() {
        let y = rich(50_000, f64::from(SR));
        let out = Transform::TimeStretch { rate: 1.0 }.apply(&y, SR, &mut rng());
        assert_eq!(out.len(), y.len());
        let err = max_abs_diff(&out, &y);
        assert!(err < 1e-5, "{err}");
    }
}
