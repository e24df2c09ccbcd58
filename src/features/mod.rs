//! Per-file acoustic features, computed as librosa 0.11 computes them with its defaults, then
//! pooled over time. Pure functions of a mono signal and its sample rate: no IO, no CLI.
//!
//! One STFT (`n_fft` 2048, hop 512, periodic Hann, centred with zero padding) feeds:
//! - `mfcc`: `librosa.feature.mfcc(y, sr, n_mfcc=40)`: DCT-II (ortho) of the dB mel spectrogram;
//! - `chroma`: `librosa.feature.chroma_stft(S=|stft|, sr)`, with librosa's tuning estimation;
//! - `mel`: `librosa.feature.melspectrogram(y, sr)`: mel power (128 Slaney bands, 0..sr/2).
//!
//! Each family's frames are then pooled by the configured statistics (`mean` is the original
//! recipe's `np.mean(x.T, axis=0)`; `std` is the population standard deviation, `np.std`).

pub mod chroma;
pub mod mel;
pub mod mfcc;
pub mod stft;

use std::fmt;

use ndarray::{Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use self::mel::MelBank;
use self::mfcc::Dct;
use self::stft::Stft;

/// A feature family (one librosa feature function).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Mfcc,
    Chroma,
    Mel,
}

impl Family {
    pub fn name(self) -> &'static str {
        match self {
            Family::Mfcc => "mfcc",
            Family::Chroma => "chroma",
            Family::Mel => "mel",
        }
    }
}

/// A statistic pooling a family's frames into one value per dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stat {
    /// Mean over frames (`np.mean(x, axis=1)`).
    Mean,
    /// Population standard deviation over frames (`np.std(x, axis=1)`).
    Std,
}

impl Stat {
    pub fn name(self) -> &'static str {
        match self {
            Stat::Mean => "mean",
            Stat::Std => "std",
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Feature extraction parameters. Defaults are librosa's (and the original recipe's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeatureParams {
    /// FFT size in samples. librosa default 2048.
    pub n_fft: usize,
    /// Hop between frames in samples. librosa default 512 (`n_fft / 4`).
    pub hop_length: usize,
    /// MFCC coefficients kept. Original recipe 40 (librosa default 20).
    pub n_mfcc: usize,
    /// Mel bands. librosa default 128.
    pub n_mels: usize,
    /// Chroma bins per octave. librosa default 12.
    pub n_chroma: usize,
    /// Families, in column order. Default mfcc, chroma, mel.
    pub families: Vec<Family>,
    /// Pooling statistics, in column order within each family. Default mean.
    pub stats: Vec<Stat>,
}

impl Default for FeatureParams {
    fn default() -> Self {
        FeatureParams {
            n_fft: 2048,
            hop_length: 512,
            n_mfcc: 40,
            n_mels: 128,
            n_chroma: 12,
            families: vec![Family::Mfcc, Family::Chroma, Family::Mel],
            stats: vec![Stat::Mean],
        }
    }
}

/// A parameter that cannot work, named by its config key.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("features.{key}: {message}")]
pub struct ParamError {
    pub key: &'static str,
    pub message: String,
}

fn param_error(key: &'static str, message: impl Into<String>) -> ParamError {
    ParamError {
        key,
        message: message.into(),
    }
}

impl FeatureParams {
    /// Checks the parameters before any work is done.
    pub fn check(&self) -> Result<(), ParamError> {
        if self.n_fft < 16 || self.n_fft % 2 != 0 {
            return Err(param_error(
                "n_fft",
                format!("must be even and >= 16, got {}", self.n_fft),
            ));
        }
        if self.hop_length == 0 {
            return Err(param_error("hop_length", "must be >= 1"));
        }
        if self.n_mels == 0 {
            return Err(param_error("n_mels", "must be >= 1"));
        }
        if self.n_mfcc == 0 || self.n_mfcc > self.n_mels {
            return Err(param_error(
                "n_mfcc",
                format!(
                    "must be in 1..=n_mels ({}), got {}",
                    self.n_mels, self.n_mfcc
                ),
            ));
        }
        if self.n_chroma == 0 || self.n_chroma % 12 != 0 {
            return Err(param_error(
                "n_chroma",
                format!("must be a positive multiple of 12, got {}", self.n_chroma),
            ));
        }
        if self.families.is_empty() {
            return Err(param_error(
                "families",
                "must name at least one of mfcc, chroma, mel",
            ));
        }
        if self.stats.is_empty() {
            return Err(param_error("stats", "must name at least one of mean, std"));
        }
        for (i, f) in self.families.iter().enumerate() {
            if self.families[..i].contains(f) {
                return Err(param_error("families", format!("{f} is listed twice")));
            }
        }
        for (i, s) in self.stats.iter().enumerate() {
            if self.stats[..i].contains(s) {
                return Err(param_error(
                    "stats",
                    format!("{} is listed twice", s.name()),
                ));
            }
        }
        Ok(())
    }

    fn dims(&self, family: Family) -> usize {
        match family {
            Family::Mfcc => self.n_mfcc,
            Family::Chroma => self.n_chroma,
            Family::Mel => self.n_mels,
        }
    }

    /// Column names in output order: `{family}_{stat}_{index}`, the index zero-padded to the
    /// family's width (`mfcc_mean_00`, `chroma_std_11`, `mel_mean_127`).
    pub fn feature_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for &family in &self.families {
            let dims = self.dims(family);
            let width = (dims.saturating_sub(1)).to_string().len().max(2);
            for &stat in &self.stats {
                for i in 0..dims {
                    names.push(format!("{}_{}_{:0width$}", family.name(), stat.name(), i));
                }
            }
        }
        names
    }
}

/// Why features could not be computed for a signal.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum FeatureError {
    #[error("empty signal")]
    Empty,
    #[error("non-finite feature value in {0} (the signal may contain NaN or infinity)")]
    NonFinite(&'static str),
}

/// Features of one signal.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// Pooled values, in the order of [`FeatureParams::feature_names`].
    pub values: Vec<f64>,
    /// STFT frames the statistics pool over.
    pub n_frames: usize,
    /// Tuning (fractions of a chroma bin) estimated for chroma; 0 when chroma is off.
    pub tuning: f64,
}

/// Frame-level feature matrices, each `(n_frames, dims)`.
#[derive(Debug, Clone)]
pub struct Frames {
    pub mfcc: Option<Array2<f64>>,
    pub chroma: Option<Array2<f64>>,
    pub mel: Option<Array2<f64>>,
    pub tuning: f64,
}

/// A feature extractor planned for one sample rate: FFT plan, mel filterbank and DCT built once,
/// shared by every file at that rate (it is `Sync`).
pub struct Extractor {
    params: FeatureParams,
    sample_rate: u32,
    stft: Stft,
    mel_bank: MelBank,
    dct: Dct,
}

impl Extractor {
    /// Plans an extractor. `params` must have passed [`FeatureParams::check`].
    pub fn new(params: &FeatureParams, sample_rate: u32) -> Extractor {
        let sr = f64::from(sample_rate);
        Extractor {
            params: params.clone(),
            sample_rate,
            stft: Stft::new(params.n_fft, params.hop_length),
            mel_bank: MelBank::slaney(sr, params.n_fft, params.n_mels, 0.0, sr / 2.0),
            dct: Dct::ortho(params.n_mels, params.n_mfcc),
        }
    }

    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Frame-level features of a mono signal at this extractor's sample rate.
    pub fn frames(&self, y: &[f32]) -> Result<Frames, FeatureError> {
        if y.is_empty() {
            return Err(FeatureError::Empty);
        }
        let want = |f: Family| self.params.families.contains(&f);
        let power = self.stft.power(y);

        let (mel, mfcc) = if want(Family::Mel) || want(Family::Mfcc) {
            let mut mel = Array2::<f64>::zeros((power.nrows(), self.mel_bank.n_mels()));
            for (p, mut m) in power.rows().into_iter().zip(mel.rows_mut()) {
                self.mel_bank.apply(
                    p.as_slice().expect("contiguous"),
                    m.as_slice_mut().expect("contiguous"),
                );
            }
            let mfcc = want(Family::Mfcc).then(|| {
                let mut db = mel.clone();
                mfcc::power_to_db_inplace(&mut db, 1e-10, Some(80.0));
                self.dct.apply_rows(&db)
            });
            (want(Family::Mel).then_some(mel), mfcc)
        } else {
            (None, None)
        };

        let (chroma, tuning) = if want(Family::Chroma) {
            let magnitude = power.mapv(f64::sqrt);
            let sr = f64::from(self.sample_rate);
            let tuning = chroma::estimate_tuning(
                magnitude.view(),
                sr,
                self.params.n_fft,
                self.params.n_chroma,
            );
            let filter = chroma::chroma_filter(sr, self.params.n_fft, self.params.n_chroma, tuning);
            (
                Some(chroma::chroma_frames(magnitude.view(), &filter)),
                tuning,
            )
        } else {
            (None, 0.0)
        };
        Ok(Frames {
            mfcc,
            chroma,
            mel,
            tuning,
        })
    }

    /// Pooled features of a mono signal, in [`FeatureParams::feature_names`] order.
    pub fn extract(&self, y: &[f32]) -> Result<Features, FeatureError> {
        let frames = self.frames(y)?;
        let n_frames = self.stft.n_frames(y.len());
        let mut values = Vec::with_capacity(self.params.feature_names().len());
        for &family in &self.params.families {
            let matrix = match family {
                Family::Mfcc => frames.mfcc.as_ref(),
                Family::Chroma => frames.chroma.as_ref(),
                Family::Mel => frames.mel.as_ref(),
            }
            .expect("every configured family is computed");
            for &stat in &self.params.stats {
                let pooled = pool(matrix.view(), stat);
                if pooled.iter().any(|v| !v.is_finite()) {
                    return Err(FeatureError::NonFinite(family.name()));
                }
                values.extend(pooled);
            }
        }
        Ok(Features {
            values,
            n_frames,
            tuning: frames.tuning,
        })
    }
}

/// Pools `(n_frames, dims)` over frames into `dims` values.
pub fn pool(frames: ArrayView2<'_, f64>, stat: Stat) -> Vec<f64> {
    let n = frames.nrows() as f64;
    let mean = frames.sum_axis(Axis(0)) / n;
    match stat {
        Stat::Mean => mean.to_vec(),
        Stat::Std => {
            let mut var = vec![0.0; frames.ncols()];
            for row in frames.rows() {
                for ((v, x), m) in var.iter_mut().zip(row).zip(&mean) {
                    *v += (x - m) * (x - m);
                }
            }
            var.into_iter().map(|v| (v / n).sqrt()).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable_and_padded() {
        let p = FeatureParams::default();
        let names = p.feature_names();
        assert_eq!(names.len(), 180);
        assert_eq!(names[0], "mfcc_mean_00");
        assert_eq!(names[39], "mfcc_mean_39");
        assert_eq!(names[40], "chroma_mean_00");
        assert_eq!(names[52], "mel_mean_000");
        assert_eq!(names[179], "mel_mean_127");
        let p = FeatureParams {
            stats: vec![Stat::Mean, Stat::Std],
            families: vec![Family::Chroma],
            ..FeatureParams::default()
        };
        assert_eq!(p.feature_names()[12], "chroma_std_00");
    }

    #[test]
    fn check_names_the_bad_key() {
        let bad = FeatureParams {
            n_mfcc: 200,
            ..FeatureParams::default()
        };
        assert_eq!(bad.check().unwrap_err().key, "n_mfcc");
        let bad = FeatureParams {
            n_fft: 1023,
            ..FeatureParams::default()
        };
        assert_eq!(bad.check().unwrap_err().key, "n_fft");
        assert!(FeatureParams::default().check().is_ok());
    }

    #[test]
    fn pure_tone_chroma_peaks_at_its_pitch_class() {
        let sr = 22050;
        let y: Vec<f32> = (0..sr)
            .map(|i| {
                (0.5 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / sr as f64).sin()) as f32
            })
            .collect();
        let ex = Extractor::new(&FeatureParams::default(), sr as u32);
        let f = ex.extract(&y).unwrap();
        let chroma = &f.values[40..52];
        let argmax = (0..12)
            .max_by(|&a, &b| chroma[a].total_cmp(&chroma[b]))
            .unwrap();
        assert_eq!(argmax, 9, "A is pitch class 9 counting from C: {chroma:?}");
        assert!(f.tuning.abs() < 0.05, "{}", f.tuning);
    }

    #[test]
    fn std_of_constant_frames_is_zero_and_mean_is_the_value() {
        let frames = Array2::from_elem((5, 3), 2.5);
        assert_eq!(pool(frames.view(), Stat::Mean), vec![2.5; 3]);
        assert_eq!(pool(frames.view(), Stat::Std), vec![0.0; 3]);
    }

    #[test]
    fn empty_signal_is_an_error() {
        let ex = Extractor::new(&FeatureParams::default(), 16000);
        assert_eq!(ex.extract(&[]), Err(FeatureError::Empty));
    }
}
