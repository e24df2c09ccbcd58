//! `pitch_shift`: `librosa.effects.pitch_shift`, a time stretch by `2^(-semitones / 12)` then a
//! resampling back to the input's length.

use super::resample::sinc_resample;
use super::time_stretch::time_stretch;

/// `librosa.effects.pitch_shift(y, sr=sr, n_steps=semitones)`, resampling with
/// [`sinc_resample`] instead of soxr.
pub(super) fn pitch_shift(y: &[f32], sample_rate: u32, semitones: f64) -> Vec<f32> {
    pitch_shift_with(y, sample_rate, semitones, sinc_resample)
}

/// `librosa.effects.pitch_shift` with a given resampler `(x, n_out) -> y`.
fn pitch_shift_with(
    y: &[f32],
    sample_rate: u32,
    semitones: f64,
    resample: fn(&[f64], usize) -> Vec<f64>,
) -> Vec<f32> {
    if y.is_empty() {
        return Vec::new();
    }
    let rate = 2f64.powf(-semitones / 12.0);
    let stretched = time_stretch(y, rate);
    let (orig_sr, target_sr) = (f64::from(sample_rate) / rate, f64::from(sample_rate));
    let shifted = if orig_sr == target_sr {
        stretched // librosa.resample returns its input when the rates are equal
    } else {
        // librosa.resample's length: ceil(len * target_sr / orig_sr).
        let num = (stretched.len() as f64 * (target_sr / orig_sr)).ceil() as usize;
        resample(&stretched, num)
    };
    // util.fix_length(y_shift, size=len(y))
    let mut out: Vec<f32> = shifted.iter().take(y.len()).map(|&s| s as f32).collect();
    out.resize(y.len(), 0.0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::augment::test_support::{
        fft_resample, max_abs_diff, peak_hz, rich, rms, rng, tone, SR,
    };
    use crate::augment::Transform;

    #[test]
    fn pitch_shift_moves_octaves_and_keeps_length() {
        let y = tone(220.0, 0.5, 72_000);
        let up = Transform::PitchShift { semitones: 12.0 }.apply(&y, SR, &mut rng());
        assert_eq!(up.len(), y.len());
        let f = peak_hz(&up[4096..up.len() - 4096]);
        assert!((f - 440.0).abs() <= 2.0, "{f}");
        // Slowing a pure tone down by 2 in librosa's phase vocoder (no phase locking) loses
        // about 13 % of its RMS; librosa 0.11 gives 0.8702 for this very signal.
        let ratio = rms(&up[4096..up.len() - 4096]) / rms(&y);
        assert!((ratio - 0.8702).abs() < 0.005, "{ratio}");

        let y = tone(440.0, 0.5, 72_001);
        let down = Transform::PitchShift { semitones: -12.0 }.apply(&y, SR, &mut rng());
        assert_eq!(down.len(), y.len());
        let f = peak_hz(&down[4096..down.len() - 4096]);
        assert!((f - 220.0).abs() <= 2.0, "{f}");

        let y = tone(440.0, 0.5, 72_000);
        let third = Transform::PitchShift { semitones: 3.0 }.apply(&y, SR, &mut rng());
        let f = peak_hz(&third[4096..third.len() - 4096]);
        let want = 440.0 * 2f64.powf(0.25);
        assert!((f - want).abs() <= 2.0, "{f} vs {want}");
    }

    #[test]
    fn pitch_shift_by_zero_is_nearly_the_identity() {
        let y = rich(30_000, f64::from(SR));
        let out = Transform::PitchShift { semitones: 0.0 }.apply(&y, SR, &mut rng());
        assert_eq!(out.len(), y.len());
        let err = max_abs_diff(&out, &y);
        assert!(err < 1e-5, "{err}");
    }

    /// Reference values from librosa 0.11.0 (numpy 2.4.6, scipy 1.17.1), printed by
    /// `tools/reference/librosa_augment_reference.py`, for
    /// `y = rich(6000, 16000.0).astype(np.float64)`: `librosa.effects.time_stretch(y, rate=1.25)`
    /// and `librosa.effects.pitch_shift(y, sr=16000, n_steps=3, res_type="fft")`, at indices
    /// 0, 500, ..., plus the sum of squares. The input is given to librosa in float64 so that its
    /// phase accumulator has our precision: with float32 input librosa accumulates the phase in
    /// float32 and drifts by up to ~1e-2 on long clips; in float64 we agree to f32 rounding.
    #[test]
    fn matches_librosa_reference() {
        let y = rich(6000, 16000.0);
        let check = |name: &str, got: &[f32], len: usize, samples: &[f64], energy: f64| {
            assert_eq!(got.len(), len, "{name}");
            for (k, &w) in samples.iter().enumerate() {
                let g = f64::from(got[k * 500]);
                assert!((g - w).abs() < 1e-6, "{name}[{}]: {g} vs {w}", k * 500);
            }
            let e: f64 = got.iter().map(|&s| f64::from(s).powi(2)).sum();
            assert!(
                (e - energy).abs() / energy < 1e-6,
                "{name} energy {e} vs {energy}"
            );
        };
        let ts = Transform::TimeStretch { rate: 1.25 }.apply(&y, 16000, &mut rng());
        check("time_stretch", &ts, REF_TS_LEN, REF_TS, REF_TS_ENERGY);
        // librosa's res_type="fft" is scipy.signal.resample: with that resampler (fft_resample,
        // test-only) the whole pitch_shift pipeline must reproduce librosa.
        let ps = pitch_shift_with(&y, 16000, 3.0, fft_resample);
        check("pitch_shift", &ps, REF_PS_LEN, REF_PS, REF_PS_ENERGY);
        // With the Kaiser resampler, the same away from the edges, up to the content above the
        // filter's passband (the test signal has white noise up to Nyquist).
        let ours = Transform::PitchShift { semitones: 3.0 }.apply(&y, 16000, &mut rng());
        let diff = ours[200..5800]
            .iter()
            .zip(&ps[200..5800])
            .map(|(&a, &b)| f64::from(a - b).powi(2))
            .sum::<f64>();
        let rel = (diff
            / ps[200..5800]
                .iter()
                .map(|&v| f64::from(v).powi(2))
                .sum::<f64>())
        .sqrt();
        assert!(rel < 0.02, "{rel}");
    }

    const REF_TS_LEN: usize = 4800;
    const REF_TS: &[f64] = &[
        -0.025598410014253753,
        0.024620204049255606,
        0.0862893350310739,
        -0.3131107910122061,
        0.2132521041110846,
        0.027138996624799194,
        0.0987416668395705,
        -0.234611470629417,
        0.028519208523052102,
        0.12178749137491257,
    ];
    const REF_TS_ENERGY: f64 = 218.833199848438;
    const REF_PS_LEN: usize = 6000;
    const REF_PS: &[f64] = &[
        0.0022463678021964594,
        0.016403409146462194,
        -0.06370399344635475,
        -0.3058568909116776,
        0.20850864031129177,
        -0.058320213185572393,
        0.20418088591466743,
        0.10649833557577272,
        -0.14207529529277732,
        -0.0804578718166361,
        -0.35850986782566313,
        -0.16154641318090182,
    ];
    const REF_PS_ENERGY: f64 = 216.59399930405857;
}
