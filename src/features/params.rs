//! `[features]`: what to extract ([`FeatureParams`]): the families ([`Family`]) and pooling
//! statistics ([`Stat`]) with their config and column names, the front end's [`Precision`],
//! the STFT's and filterbanks' sizes, trimming and segment windows; and
//! [`FeatureParams::check`], whose error names the offending key.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::pitch;
use super::SegmentScale;

/// A feature family (one librosa feature function). TOML names are the snake_case variant
/// names: `mfcc`, `chroma`, `mel`, `log_mel`, `mfcc_delta`, `mfcc_delta2`, `rms`, `zcr`,
/// `spectral_centroid`, `spectral_bandwidth`, `spectral_rolloff`, `spectral_flatness`,
/// `spectral_contrast`, `f0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Mfcc,
    Chroma,
    Mel,
    LogMel,
    MfccDelta,
    MfccDelta2,
    Rms,
    Zcr,
    SpectralCentroid,
    SpectralBandwidth,
    SpectralRolloff,
    SpectralFlatness,
    SpectralContrast,
    /// `librosa.yin` F0 (semitones re 440 Hz, interpolated over unvoiced frames) and voicing.
    F0,
}

/// Values per frame of `spectral_contrast` (librosa's `n_bands=6`, plus one).
pub const CONTRAST_BANDS: usize = 7;

impl Family {
    /// Every family, in declaration order.
    pub const ALL: [Family; 14] = [
        Family::Mfcc,
        Family::Chroma,
        Family::Mel,
        Family::LogMel,
        Family::MfccDelta,
        Family::MfccDelta2,
        Family::Rms,
        Family::Zcr,
        Family::SpectralCentroid,
        Family::SpectralBandwidth,
        Family::SpectralRolloff,
        Family::SpectralFlatness,
        Family::SpectralContrast,
        Family::F0,
    ];

    /// The config and column name.
    pub fn name(self) -> &'static str {
        match self {
            Family::Mfcc => "mfcc",
            Family::Chroma => "chroma",
            Family::Mel => "mel",
            Family::LogMel => "log_mel",
            Family::MfccDelta => "mfcc_delta",
            Family::MfccDelta2 => "mfcc_delta2",
            Family::Rms => "rms",
            Family::Zcr => "zcr",
            Family::SpectralCentroid => "spectral_centroid",
            Family::SpectralBandwidth => "spectral_bandwidth",
            Family::SpectralRolloff => "spectral_rolloff",
            Family::SpectralFlatness => "spectral_flatness",
            Family::SpectralContrast => "spectral_contrast",
            Family::F0 => "f0",
        }
    }
}

/// A statistic pooling a family's frames into one value per dimension. TOML names: `mean`,
/// `std`, `min`, `max`, `median`, `p10`, `p90`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stat {
    /// Mean over frames (`np.mean(x, axis=1)`).
    Mean,
    /// Population standard deviation over frames (`np.std(x, axis=1)`).
    Std,
    /// Smallest value (`np.min`).
    Min,
    /// Largest value (`np.max`).
    Max,
    /// `np.median`.
    Median,
    /// 10th percentile, `np.percentile(x, 10, axis=1)` (linear interpolation).
    P10,
    /// 90th percentile, `np.percentile(x, 90, axis=1)`.
    P90,
}

impl Stat {
    /// Every statistic, in declaration order.
    pub const ALL: [Stat; 7] = [
        Stat::Mean,
        Stat::Std,
        Stat::Min,
        Stat::Max,
        Stat::Median,
        Stat::P10,
        Stat::P90,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stat::Mean => "mean",
            Stat::Std => "std",
            Stat::Min => "min",
            Stat::Max => "max",
            Stat::Median => "median",
            Stat::P10 => "p10",
            Stat::P90 => "p90",
        }
    }

    /// Whether the statistic needs the frames sorted.
    pub fn is_order_statistic(self) -> bool {
        !matches!(self, Stat::Mean | Stat::Std)
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Stat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The float type of the spectral front end (the STFT, power and magnitude spectrograms, the
/// mel and chroma filterbank products, piptrack); see [`real`](super::real). TOML names `f32`,
/// `f64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Single precision, as the original recipe computes (librosa keeps a float32 signal's
    /// spectrogram in complex64 and applies float32 filterbanks). About 1e-6 from librosa's
    /// float64 result, and faster.
    #[default]
    F32,
    /// Double precision: librosa's float64 result to round-off (the parity fixtures' 1e-11).
    F64,
}

/// Feature extraction parameters. Defaults are librosa's (and the original recipe's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeatureParams {
    /// FFT size in samples. librosa default 2048. Also the frame length of `rms`, `zcr` and
    /// silence trimming.
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
    /// Trim leading and trailing silence before extraction: `librosa.effects.trim(y, top_db)`
    /// (frames quieter than `top_db` dB below the loudest frame). Default: unset, no trimming.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trim_top_db: Option<f64>,
    /// Pool over windows of this many seconds instead of the whole (trimmed) signal: one row
    /// per window ([`Extractor::extract_segments`](super::Extractor::extract_segments)).
    /// Default: unset, one row per file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment_seconds: Option<f64>,
    /// Hop between windows in seconds. Default: half of `segment_seconds`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment_hop_seconds: Option<f64>,
    /// Float type of the spectral front end. Default `f32`. `spectral_flatness` and
    /// `spectral_contrast` read a spectrum's quietest bins, where float32 round-off (relative to
    /// a frame's energy) is no longer small: with either configured, the front end runs in `f64`
    /// ([`FeatureParams::front_end_precision`]).
    pub precision: Precision,
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
            trim_top_db: None,
            segment_seconds: None,
            segment_hop_seconds: None,
            precision: Precision::default(),
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

fn name_list(names: impl IntoIterator<Item = &'static str>) -> String {
    names.into_iter().collect::<Vec<_>>().join(", ")
}

impl FeatureParams {
    /// Checks the parameters before any work is done.
    pub fn check(&self) -> Result<(), ParamError> {
        if self.n_fft < 16 || !self.n_fft.is_multiple_of(2) {
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
        if self.n_chroma == 0 || !self.n_chroma.is_multiple_of(12) {
            return Err(param_error(
                "n_chroma",
                format!("must be a positive multiple of 12, got {}", self.n_chroma),
            ));
        }
        if self.families.is_empty() {
            return Err(param_error(
                "families",
                format!(
                    "must name at least one of {}",
                    name_list(Family::ALL.map(Family::name))
                ),
            ));
        }
        if self.stats.is_empty() {
            return Err(param_error(
                "stats",
                format!(
                    "must name at least one of {}",
                    name_list(Stat::ALL.map(Stat::name))
                ),
            ));
        }
        for (i, f) in self.families.iter().enumerate() {
            if self.families[..i].contains(f) {
                return Err(param_error("families", format!("{f} is listed twice")));
            }
        }
        for (i, s) in self.stats.iter().enumerate() {
            if self.stats[..i].contains(s) {
                return Err(param_error("stats", format!("{s} is listed twice")));
            }
        }
        if let Some(db) = self.trim_top_db {
            if !(db.is_finite() && db > 0.0) {
                return Err(param_error(
                    "trim_top_db",
                    format!("must be a positive, finite number of dB (or unset), got {db}"),
                ));
            }
        }
        for (key, value) in [
            ("segment_seconds", self.segment_seconds),
            ("segment_hop_seconds", self.segment_hop_seconds),
        ] {
            if let Some(s) = value {
                if !(s.is_finite() && s > 0.0) {
                    return Err(param_error(
                        key,
                        format!("must be a positive, finite number of seconds (or unset), got {s}"),
                    ));
                }
            }
        }
        if self.segment_hop_seconds.is_some() && self.segment_seconds.is_none() {
            return Err(param_error(
                "segment_hop_seconds",
                "is set but segment_seconds is not",
            ));
        }
        Ok(())
    }

    /// The windows of `segment_seconds` / `segment_hop_seconds`, when set.
    pub fn segment_scale(&self) -> Option<SegmentScale> {
        Some(SegmentScale {
            seconds: self.segment_seconds?,
            hop_seconds: self.segment_hop_seconds,
        })
    }

    /// These parameters with segment rows of `scale` (`None`: one row per file).
    pub fn with_segment_scale(&self, scale: Option<SegmentScale>) -> FeatureParams {
        FeatureParams {
            segment_seconds: scale.map(|s| s.seconds),
            segment_hop_seconds: scale.and_then(|s| s.hop_seconds),
            ..self.clone()
        }
    }

    /// The precision the spectral front end runs in: `precision`, unless a family that reads
    /// the quietest bins (`spectral_flatness`, `spectral_contrast`) is configured, which takes
    /// `f64`.
    pub fn front_end_precision(&self) -> Precision {
        let quiet_bins = self
            .families
            .iter()
            .any(|f| matches!(f, Family::SpectralFlatness | Family::SpectralContrast));
        if quiet_bins {
            Precision::F64
        } else {
            self.precision
        }
    }

    /// Values per frame of a family.
    pub fn dims(&self, family: Family) -> usize {
        match family {
            Family::Mfcc | Family::MfccDelta | Family::MfccDelta2 => self.n_mfcc,
            Family::Chroma => self.n_chroma,
            Family::Mel | Family::LogMel => self.n_mels,
            Family::Rms
            | Family::Zcr
            | Family::SpectralCentroid
            | Family::SpectralBandwidth
            | Family::SpectralRolloff
            | Family::SpectralFlatness => 1,
            Family::SpectralContrast => CONTRAST_BANDS,
            Family::F0 => pitch::F0_DIMS,
        }
    }

    /// Column names in output order: `{family}_{stat}_{index}`, the index zero-padded to the
    /// family's width, at least two digits (`mfcc_mean_00`, `chroma_std_11`, `mel_mean_127`,
    /// `rms_p90_00`, `mfcc_delta2_median_39`).
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

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
    fn family_and_stat_names_deserialize_from_toml() {
        #[derive(Deserialize)]
        struct Wrapper {
            features: FeatureParams,
        }
        let all_families = Family::ALL.map(|f| format!("\"{}\"", f.name())).join(", ");
        let all_stats = Stat::ALL.map(|s| format!("\"{}\"", s.name())).join(", ");
        let text = format!(
            "[features]\nfamilies = [{all_families}]\nstats = [{all_stats}]\ntrim_top_db = 30\n"
        );
        let w: Wrapper = toml::from_str(&text).unwrap();
        assert_eq!(w.features.families, Family::ALL.to_vec());
        assert_eq!(w.features.stats, Stat::ALL.to_vec());
        assert_eq!(w.features.trim_top_db, Some(30.0));
        assert!(w.features.check().is_ok());
        // serde's names are the documented names.
        for f in Family::ALL {
            assert_eq!(
                serde_json::to_string(&f).unwrap(),
                format!("\"{}\"", f.name())
            );
        }
        for s in Stat::ALL {
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.name())
            );
        }
        let bad: Result<Wrapper, _> = toml::from_str("[features]\nfamilies = [\"mfccdelta\"]\n");
        assert!(bad.is_err());
        // The default serialises without trim_top_db (unset), so recorded configs are unchanged.
        let text = toml::to_string(&FeatureParams::default()).unwrap();
        assert!(!text.contains("trim_top_db"), "{text}");
    }

    #[test]
    fn check_rejects_bad_new_keys() {
        let bad = FeatureParams {
            trim_top_db: Some(0.0),
            ..FeatureParams::default()
        };
        let err = bad.check().unwrap_err();
        assert_eq!(err.key, "trim_top_db");
        assert!(
            err.to_string().starts_with("features.trim_top_db: "),
            "{err}"
        );
        for db in [-10.0, f64::NAN, f64::INFINITY] {
            let bad = FeatureParams {
                trim_top_db: Some(db),
                ..FeatureParams::default()
            };
            assert_eq!(bad.check().unwrap_err().key, "trim_top_db");
        }
        let bad = FeatureParams {
            families: vec![Family::Rms, Family::Zcr, Family::Rms],
            ..FeatureParams::default()
        };
        let err = bad.check().unwrap_err();
        assert_eq!(err.key, "families");
        assert!(err.message.contains("rms is listed twice"), "{err}");
        let bad = FeatureParams {
            stats: vec![Stat::P10, Stat::Median, Stat::P10],
            ..FeatureParams::default()
        };
        let err = bad.check().unwrap_err();
        assert_eq!(err.key, "stats");
        assert!(err.message.contains("p10 is listed twice"), "{err}");
        let bad = FeatureParams {
            stats: vec![],
            ..FeatureParams::default()
        };
        assert!(bad.check().unwrap_err().message.contains("p90"));
    }

    #[test]
    fn new_family_names_and_widths() {
        let p = FeatureParams {
            families: vec![
                Family::Rms,
                Family::SpectralContrast,
                Family::MfccDelta2,
                Family::LogMel,
            ],
            stats: vec![Stat::Median, Stat::P90],
            ..FeatureParams::default()
        };
        let names = p.feature_names();
        assert_eq!(names.len(), 2 * (1 + 7 + 40 + 128));
        assert_eq!(names[0], "rms_median_00");
        assert_eq!(names[1], "rms_p90_00");
        assert_eq!(names[2], "spectral_contrast_median_00");
        assert_eq!(names[15], "spectral_contrast_p90_06");
        assert_eq!(names[16], "mfcc_delta2_median_00");
        assert_eq!(names[96], "log_mel_median_000");
        assert_eq!(names.last().unwrap(), "log_mel_p90_127");
    }
}
