//! [`Transform`]: one concrete augmentation with fixed parameters, its checks, its stable text
//! (`pitch_shift(semitones=-2)`), and [`Transform::apply`], which hands the signal to the
//! transform's own file.

use std::fmt;

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::gain::gain;
use super::noise::add_noise;
use super::pitch_shift::pitch_shift;
use super::time_stretch::time_stretch;

/// One concrete waveform augmentation. Serialised with a `kind` tag, e.g.
/// `{ kind = "pitch_shift", semitones = -2.0 }`; unknown fields are rejected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Transform {
    /// Additive white Gaussian noise with variance `mean(y^2) / 10^(snr_db / 10)`, i.e. at
    /// `snr_db` dB below the signal's mean power (in expectation; the realised noise power of
    /// `n` samples deviates by about `sqrt(2 / n)` relative). A silent signal stays silent.
    /// Valid: any finite value.
    Noise { snr_db: f64 },
    /// Scale by `10^(db / 20)`. Valid: finite, `|db| <= 40`.
    Gain { db: f64 },
    /// `librosa.effects.pitch_shift(y, sr=sr, n_steps=semitones)`: time-stretch by
    /// `rate = 2^(-semitones / 12)`, resample the `L` stretched samples to
    /// `ceil(L * rate)` (from `sr / rate` to `sr`), then cut or zero-pad to the input's length.
    /// Output length = input length; the pitch moves by `semitones`, the duration does not.
    ///
    /// Resampling: librosa's default is soxr (`soxr_hq`); soxr is not available here, and
    /// rubato's FFT resampler needs integer rates, so this is a Kaiser-windowed sinc
    /// interpolator (32 zero crossings each side at the lower rate, beta 8, about 80 dB
    /// stopband, passband flat to about 84 % of the lower Nyquist frequency) with
    /// `scipy.signal.resample`'s time alignment (output `k` = input at `k * L / n_out`), so it
    /// matches librosa's `res_type="fft"` away from the clip's edges up to the top 16 % of the
    /// band, without the FFT method's wrap-around at the edges and whatever the length's prime
    /// factors. soxr places its output about half a sample later for non-integer ratios and
    /// filters the top of the band differently: outputs differ from librosa's default by a
    /// few % RMS, inaudibly. Valid: finite, `|semitones| <= 12`.
    PitchShift { semitones: f64 },
    /// `librosa.effects.time_stretch(y, rate=rate)`: phase vocoder (`n_fft` 2048, hop 512);
    /// `rate > 1` speeds up. Output length `round(len / rate)` (ties to even, as Python's
    /// `round`). Valid: finite, `0.25 < rate <= 4`.
    TimeStretch { rate: f64 },
}

/// Formats a parameter value as the shortest text that reads back as the same `f64` (`20`,
/// `-2`, `1.375`); `-0` is written `0`.
fn fmt_value(v: f64) -> String {
    format!("{}", v + 0.0)
}

impl Transform {
    /// Validates the parameters; the error says which parameter is wrong and why.
    pub fn check(&self) -> Result<(), String> {
        let finite = |name: &str, v: f64| {
            if v.is_finite() {
                Ok(())
            } else {
                Err(format!("{}: {name} must be finite, got {v}", self.name()))
            }
        };
        match *self {
            Transform::Noise { snr_db } => finite("snr_db", snr_db),
            Transform::Gain { db } => {
                finite("db", db)?;
                if db.abs() > 40.0 {
                    return Err(format!("gain: db must be within [-40, 40], got {db}"));
                }
                Ok(())
            }
            Transform::PitchShift { semitones } => {
                finite("semitones", semitones)?;
                if semitones.abs() > 12.0 {
                    return Err(format!(
                        "pitch_shift: semitones must be within [-12, 12], got {semitones}"
                    ));
                }
                Ok(())
            }
            Transform::TimeStretch { rate } => {
                finite("rate", rate)?;
                if !(rate > 0.25 && rate <= 4.0) {
                    return Err(format!(
                        "time_stretch: rate must be in (0.25, 4], got {rate}"
                    ));
                }
                Ok(())
            }
        }
    }

    /// The `kind`: `"noise"`, `"gain"`, `"pitch_shift"` or `"time_stretch"`.
    pub fn name(&self) -> &'static str {
        match self {
            Transform::Noise { .. } => "noise",
            Transform::Gain { .. } => "gain",
            Transform::PitchShift { .. } => "pitch_shift",
            Transform::TimeStretch { .. } => "time_stretch",
        }
    }

    /// Parameters as stable text, e.g. `snr_db=20`, `semitones=-2`, `rate=1.05`. The number is
    /// the shortest decimal that reads back as the exact value applied.
    pub fn params(&self) -> String {
        match *self {
            Transform::Noise { snr_db } => format!("snr_db={}", fmt_value(snr_db)),
            Transform::Gain { db } => format!("db={}", fmt_value(db)),
            Transform::PitchShift { semitones } => format!("semitones={}", fmt_value(semitones)),
            Transform::TimeStretch { rate } => format!("rate={}", fmt_value(rate)),
        }
    }

    /// Applies the transform to a mono signal at `sample_rate` Hz. Only `noise` draws from
    /// `rng`. `gain` and `noise` keep the length; `pitch_shift` keeps it too; `time_stretch`
    /// returns `round(len / rate)` samples. An empty signal gives an empty signal. Samples are
    /// not clipped to [-1, 1] (a gain or noise may exceed it).
    ///
    /// # Panics
    /// If [`Transform::check`] fails (configs are validated before anything runs).
    pub fn apply(&self, y: &[f32], sample_rate: u32, rng: &mut impl Rng) -> Vec<f32> {
        if let Err(e) = self.check() {
            panic!("invalid augmentation: {e}");
        }
        match *self {
            Transform::Noise { snr_db } => add_noise(y, snr_db, rng),
            Transform::Gain { db } => gain(y, db),
            Transform::PitchShift { semitones } => pitch_shift(y, sample_rate, semitones),
            Transform::TimeStretch { rate } => time_stretch(y, rate)
                .into_iter()
                .map(|s| s as f32)
                .collect(),
        }
    }
}

impl fmt::Display for Transform {
    /// `name(params)`, e.g. `pitch_shift(semitones=-2)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.name(), self.params())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::augment::test_support::{rich, rng, SR};
    use crate::augment::{ParamRange, TransformSpec};

    #[test]
    fn check_rejects_bad_parameters() {
        let ok = [
            Transform::Noise { snr_db: -10.0 },
            Transform::Noise { snr_db: 60.0 },
            Transform::Gain { db: -40.0 },
            Transform::Gain { db: 40.0 },
            Transform::PitchShift { semitones: -12.0 },
            Transform::PitchShift { semitones: 12.0 },
            Transform::TimeStretch { rate: 0.2501 },
            Transform::TimeStretch { rate: 4.0 },
        ];
        for t in ok {
            assert_eq!(t.check(), Ok(()), "{t}");
        }
        let bad = [
            (
                Transform::Noise { snr_db: f64::NAN },
                "snr_db must be finite",
            ),
            (
                Transform::Noise {
                    snr_db: f64::INFINITY,
                },
                "snr_db must be finite",
            ),
            (Transform::Gain { db: 40.5 }, "[-40, 40]"),
            (
                Transform::Gain {
                    db: f64::NEG_INFINITY,
                },
                "db must be finite",
            ),
            (Transform::PitchShift { semitones: 12.01 }, "[-12, 12]"),
            (
                Transform::PitchShift {
                    semitones: f64::NAN,
                },
                "finite",
            ),
            (Transform::TimeStretch { rate: 0.25 }, "(0.25, 4]"),
            (Transform::TimeStretch { rate: 4.01 }, "(0.25, 4]"),
            (Transform::TimeStretch { rate: 0.0 }, "(0.25, 4]"),
            (Transform::TimeStretch { rate: -1.0 }, "(0.25, 4]"),
            (Transform::TimeStretch { rate: f64::NAN }, "finite"),
        ];
        for (t, needle) in bad {
            let e = t.check().unwrap_err();
            assert!(e.contains(needle) && e.starts_with(t.name()), "{t}: {e}");
        }
        let spec_bad = [
            (
                TransformSpec::Gain {
                    db: ParamRange::new(3.0, -3.0),
                },
                "min must not exceed max",
            ),
            (
                TransformSpec::Gain {
                    db: ParamRange::new(-50.0, 3.0),
                },
                "[-40, 40]",
            ),
            (
                TransformSpec::TimeStretch {
                    rate: ParamRange::new(0.5, 5.0),
                },
                "(0.25, 4]",
            ),
            (
                TransformSpec::Noise {
                    snr_db: ParamRange::new(f64::NAN, 3.0),
                },
                "finite",
            ),
        ];
        for (s, needle) in spec_bad {
            let e = s.check().unwrap_err();
            assert!(e.contains(needle) && e.starts_with(s.name()), "{s:?}: {e}");
        }
        let r = std::panic::catch_unwind(|| {
            Transform::TimeStretch { rate: 0.0 }.apply(&[0.0; 10], SR, &mut rng())
        });
        assert!(r.is_err());
    }

    #[test]
    fn names_and_params_are_stable_text() {
        let cases = [
            (Transform::Noise { snr_db: 20.0 }, "noise", "snr_db=20"),
            (Transform::Gain { db: -3.5 }, "gain", "db=-3.5"),
            (
                Transform::PitchShift { semitones: -2.0 },
                "pitch_shift",
                "semitones=-2",
            ),
            (
                Transform::PitchShift { semitones: -0.0 },
                "pitch_shift",
                "semitones=0",
            ),
            (
                Transform::TimeStretch { rate: 1.05 },
                "time_stretch",
                "rate=1.05",
            ),
        ];
        for (t, name, params) in cases {
            assert_eq!(t.name(), name);
            assert_eq!(t.params(), params);
            assert_eq!(t.to_string(), format!("{name}({params})"));
        }
    }

    #[test]
    fn empty_and_short_signals() {
        let mut r = rng();
        for t in [
            Transform::Noise { snr_db: 10.0 },
            Transform::Gain { db: 3.0 },
            Transform::PitchShift { semitones: 2.0 },
            Transform::TimeStretch { rate: 1.5 },
        ] {
            assert!(t.apply(&[], SR, &mut r).is_empty(), "{t}");
        }
        let y = rich(300, f64::from(SR));
        assert_eq!(
            Transform::PitchShift { semitones: -7.5 }
                .apply(&y, SR, &mut r)
                .len(),
            300
        );
        assert_eq!(
            Transform::TimeStretch { rate: 1.5 }
                .apply(&y, SR, &mut r)
                .len(),
            200
        );
        assert_eq!(
            Transform::TimeStretch { rate: 3.0 }
                .apply(&y[..1], SR, &mut r)
                .len(),
            0
        );
    }
}
