//! Per-file acoustic features, computed as librosa 0.11 computes them with its defaults, then
//! pooled over time. Pure functions of a mono signal and its sample rate: no IO, no CLI.
//!
//! Optionally the signal is first trimmed of leading and trailing silence
//! (`librosa.effects.trim(y, top_db)`, see [`trim`]). Then one STFT (`n_fft` 2048, hop 512,
//! periodic Hann, centred with zero padding) feeds every spectral family, each intermediate
//! (power, magnitude, mel, dB mel, MFCC) computed once per signal:
//! - `mfcc`: `librosa.feature.mfcc(y, sr, n_mfcc=40)`: DCT-II (ortho) of the dB mel spectrogram;
//! - `chroma`: `librosa.feature.chroma_stft(S=|stft|, sr)`, with librosa's tuning estimation;
//! - `mel`: `librosa.feature.melspectrogram(y, sr)`: mel power (128 Slaney bands, 0..sr/2);
//! - `log_mel`: `librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=80)`, the dB mel the
//!   MFCCs are made from;
//! - `mfcc_delta`, `mfcc_delta2`: `librosa.feature.delta(mfcc, order=1 | 2)` (width 9,
//!   `mode="interp"`, see [`delta`]);
//! - `spectral_centroid`, `spectral_bandwidth`, `spectral_rolloff`, `spectral_flatness`,
//!   `spectral_contrast`: `librosa.feature.spectral_*(S=|stft|, sr)` with their defaults
//!   (flatness from `|stft|^2`; contrast has 7 values: 6 octave bands from 200 Hz and the rest),
//!   see [`spectral`].
//!
//! Three families come from the samples rather than the STFT, with the same frame length and
//! hop (so the same frame count): `rms` (`librosa.feature.rms(y=y)`, computed in float32 as
//! librosa does) and `zcr` (`librosa.feature.zero_crossing_rate(y)`), see [`temporal`]; and
//! `f0`: `librosa.yin(y, fmin=65, fmax=600, sr, frame_length=n_fft, hop_length)` in semitones
//! re 440 Hz, interpolated across unvoiced frames, and a voiced flag (2 values), see [`pitch`].
//!
//! Each family's frames are then pooled by the configured statistics (`mean` is the original
//! recipe's `np.mean(x.T, axis=0)`; `std` is the population standard deviation, `np.std`;
//! `min`, `max`, `median`, `p10`, `p90` are `np.min`, `np.max`, `np.median` and
//! `np.percentile` with linear interpolation), see [`stats`].

pub mod block;
pub mod chroma;
pub mod delta;
pub mod mel;
pub mod mfcc;
pub mod pitch;
pub mod real;
pub mod spectral;
pub mod stats;
pub mod stft;
pub mod temporal;

use std::fmt;

use ndarray::{Array2, Axis};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use self::delta::Savgol;
use self::mel::MelBank;
use self::mfcc::Dct;
use self::pitch::Yin;
use self::real::Real;
use self::spectral::Contrast;
use self::stft::Stft;

pub use self::stats::pool;

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
/// mel and chroma filterbank products, piptrack); see [`real`]. TOML names `f32`, `f64`.
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
    /// per window ([`Extractor::extract_segments`]). Default: unset, one row per file.
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

/// Windows of a recording's frames that each become a row: `seconds` long, one every
/// `hop_seconds` (default half a window), plus one ending at the last frame
/// ([`segment_windows`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentScale {
    pub seconds: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hop_seconds: Option<f64>,
}

impl SegmentScale {
    /// The hop in seconds, the default spelled out.
    pub fn hop(&self) -> f64 {
        self.hop_seconds.unwrap_or(self.seconds / 2.0)
    }

    /// The same windows (an unset hop equals half a window).
    pub fn same_as(&self, other: &SegmentScale) -> bool {
        self.seconds == other.seconds && self.hop() == other.hop()
    }

    /// Rejects a length or hop that is not a positive, finite number of seconds: the field
    /// (`seconds`, `hop_seconds`) and why.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        for (name, value) in [
            ("seconds", Some(self.seconds)),
            ("hop_seconds", self.hop_seconds),
        ] {
            if let Some(s) = value {
                if !(s.is_finite() && s > 0.0) {
                    return Err((
                        name,
                        format!("must be a positive, finite number of seconds, got {s}"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// What names this scale's tables: `0.2s_hop_0.1s`.
    pub fn tag(&self) -> String {
        format!("{}s_hop_{}s", self.seconds, self.hop())
    }
}

impl std::fmt::Display for SegmentScale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} s windows every {} s", self.seconds, self.hop())
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

/// Why features could not be computed for a signal.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum FeatureError {
    #[error("empty signal")]
    Empty,
    #[error("non-finite feature value in {0} (the signal may contain NaN or infinity)")]
    NonFinite(&'static str),
    #[error(
        "{family} needs at least {needed} frames, the signal has {frames} (librosa raises here)"
    )]
    TooShort {
        family: &'static str,
        frames: usize,
        needed: usize,
    },
    #[error("{0}")]
    Unsupported(String),
}

/// `librosa.effects.trim(y, top_db=top_db, frame_length=frame_length, hop_length=hop)`'s
/// `[start, end)` span of `y` (see [`temporal::nonsilent_span`]): from the first to the last frame whose
/// RMS is within `top_db` dB of the loudest frame's. When that would leave nothing (librosa
/// returns an empty signal then), the whole signal: `(0, y.len())`.
pub fn trim(y: &[f32], top_db: f64, frame_length: usize, hop: usize) -> (usize, usize) {
    temporal::nonsilent_span(y, top_db, frame_length, hop).unwrap_or((0, y.len()))
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
    /// The samples `[start, end)` the features were computed from: the whole signal unless
    /// `trim_top_db` is set.
    pub span: (usize, usize),
}

/// Frame-level feature matrices, each `(n_frames, dims)`, in the configured family order.
#[derive(Debug, Clone)]
pub struct Frames {
    pub families: Vec<(Family, Array2<f64>)>,
    pub tuning: f64,
    /// The samples `[start, end)` of the input the frames were computed from.
    pub span: (usize, usize),
}

impl Frames {
    /// The frames of `family`, when it was configured.
    pub fn get(&self, family: Family) -> Option<&Array2<f64>> {
        self.families
            .iter()
            .find(|(f, _)| *f == family)
            .map(|(_, m)| m)
    }
}

/// The mel power spectrogram and the chroma frames (through a [`chroma::SparseChroma`], see
/// [`chroma::chroma_frames_sparse`]) of an `f32` power spectrogram, each when asked for, in one
/// pass over blocks of sixteen frames ([`block`]): each block is transposed once for both. The
/// mel values are [`MelBank::apply_rows`]'s bits; the chroma values
/// [`chroma::chroma_frames_sparse`]'s.
fn mel_and_chroma_f32(
    power: ndarray::ArrayView2<'_, f32>,
    mel_bank: Option<&MelBank>,
    chroma: Option<&chroma::SparseChroma>,
) -> (Option<Array2<f64>>, Option<Array2<f64>>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports AVX2 and FMA, checked just above.
        return unsafe { mel_and_chroma_fma(power, mel_bank, chroma) };
    }
    mel_and_chroma_in::<false>(power, mel_bank, chroma)
}

/// [`mel_and_chroma_f32`] compiled for AVX2 with fused multiply-adds (chroma's sums only: Rust
/// never fuses the mel sums' separate multiplications and additions).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn mel_and_chroma_fma(
    power: ndarray::ArrayView2<'_, f32>,
    mel_bank: Option<&MelBank>,
    chroma: Option<&chroma::SparseChroma>,
) -> (Option<Array2<f64>>, Option<Array2<f64>>) {
    mel_and_chroma_in::<true>(power, mel_bank, chroma)
}

#[inline(always)]
fn mel_and_chroma_in<const FMA: bool>(
    power: ndarray::ArrayView2<'_, f32>,
    mel_bank: Option<&MelBank>,
    chroma: Option<&chroma::SparseChroma>,
) -> (Option<Array2<f64>>, Option<Array2<f64>>) {
    let n_frames = power.nrows();
    let mut mel = mel_bank.map(|b| Array2::<f64>::zeros((n_frames, b.n_mels())));
    let mut sums = chroma.map(|c| Array2::<f64>::zeros((n_frames, c.n_chroma())));
    if n_frames > 0 && (mel.is_some() || sums.is_some()) {
        let contiguous = power.as_standard_layout();
        let matrix = contiguous.as_slice().expect("standard layout");
        let mut blocks = block::Blocks::new(power.ncols());
        for first in (0..n_frames).step_by(block::LANES) {
            let (block, valid) = blocks.load(matrix, first);
            if let (Some(bank), Some(out)) = (mel_bank, mel.as_mut()) {
                let out = out.as_slice_mut().expect("fresh arrays are contiguous");
                bank.apply_block(block, first, valid, out);
            }
            if let (Some(bank), Some(out)) = (chroma, sums.as_mut()) {
                let out = out.as_slice_mut().expect("fresh arrays are contiguous");
                chroma::sparse_block::<FMA>(bank, block, first, valid, out);
            }
        }
    }
    (mel, sums.map(chroma::normalised))
}

/// One planned [`Extractor`] per sample rate met, built on first use and shared by every
/// thread (a corpus or a batch of uploads usually has one or two rates).
pub struct ExtractorCache {
    params: FeatureParams,
    by_rate: std::sync::Mutex<std::collections::HashMap<u32, std::sync::Arc<Extractor>>>,
}

impl ExtractorCache {
    /// `params` must have passed [`FeatureParams::check`].
    pub fn new(params: &FeatureParams) -> ExtractorCache {
        ExtractorCache {
            params: params.clone(),
            by_rate: Default::default(),
        }
    }

    /// The extractor for this sample rate, planned on first use.
    pub fn get(&self, sample_rate: u32) -> std::sync::Arc<Extractor> {
        let mut map = self.by_rate.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(sample_rate)
            .or_insert_with(|| std::sync::Arc::new(Extractor::new(&self.params, sample_rate)))
            .clone()
    }
}

/// A feature extractor planned for one sample rate: FFT plan, mel filterbank, DCT and the
/// other families' plans built once, shared by every file at that rate (it is `Sync`).
pub struct Extractor {
    params: FeatureParams,
    sample_rate: u32,
    front: Front,
    mel_bank: MelBank,
    dct: Dct,
    /// Bin centre frequencies, for the spectral shape families.
    freqs: Vec<f64>,
    /// Planned when `spectral_contrast` is configured; the error says why this rate cannot.
    contrast: Option<Result<Contrast, String>>,
    /// Planned when `f0` is configured; the error says why this rate or `n_fft` cannot.
    yin: Option<Result<Yin, String>>,
    delta1: Savgol,
    delta2: Savgol,
    /// Chroma filterbanks by tuning (`f64::to_bits`): tuning takes one of a hundred values (a
    /// 0.01-wide histogram bin), so each bank is built once instead of once per file.
    chroma_filters: std::sync::Mutex<std::collections::HashMap<u64, std::sync::Arc<ChromaBank>>>,
}

/// The STFT in the configured precision.
enum Front {
    F32(Stft<f32>),
    F64(Stft<f64>),
}

/// One chroma filterbank in both precisions (its values are `f32`, so both are exact), and
/// without its negligible weights for the `f32` front end.
struct ChromaBank {
    f32: Array2<f32>,
    f64: Array2<f64>,
    sparse: chroma::SparseChroma,
}

impl Extractor {
    /// Plans an extractor. `params` must have passed [`FeatureParams::check`].
    pub fn new(params: &FeatureParams, sample_rate: u32) -> Extractor {
        let sr = f64::from(sample_rate);
        Extractor {
            params: params.clone(),
            sample_rate,
            front: match params.front_end_precision() {
                Precision::F32 => Front::F32(Stft::new(params.n_fft, params.hop_length)),
                Precision::F64 => Front::F64(Stft::new(params.n_fft, params.hop_length)),
            },
            mel_bank: MelBank::slaney(sr, params.n_fft, params.n_mels, 0.0, sr / 2.0),
            dct: Dct::ortho(params.n_mels, params.n_mfcc),
            freqs: spectral::frequencies(sr, params.n_fft),
            contrast: params
                .families
                .contains(&Family::SpectralContrast)
                .then(|| Contrast::librosa_default(sr, params.n_fft)),
            yin: params
                .families
                .contains(&Family::F0)
                .then(|| Yin::new(sr, params.n_fft, params.hop_length)),
            delta1: Savgol::delta(1),
            delta2: Savgol::delta(2),
            chroma_filters: Default::default(),
        }
    }

    /// The chroma filterbank for this tuning, built on first use.
    fn chroma_filter(&self, tuning: f64) -> std::sync::Arc<ChromaBank> {
        let mut map = self
            .chroma_filters
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        map.entry(tuning.to_bits())
            .or_insert_with(|| {
                let f64 = chroma::chroma_filter(
                    f64::from(self.sample_rate),
                    self.params.n_fft,
                    self.params.n_chroma,
                    tuning,
                );
                std::sync::Arc::new(ChromaBank {
                    f32: f64.mapv(|w| w as f32),
                    sparse: chroma::SparseChroma::new(&f64),
                    f64,
                })
            })
            .clone()
    }

    /// STFT frames of `n_samples` samples (`1 + n_samples / hop_length`).
    fn n_frames(&self, n_samples: usize) -> usize {
        match &self.front {
            Front::F32(stft) => stft.n_frames(n_samples),
            Front::F64(stft) => stft.n_frames(n_samples),
        }
    }

    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// The span of `y` features are computed from: [`trim`] with `trim_top_db` (frame length
    /// `n_fft`, hop `hop_length`), or all of `y`.
    pub fn span(&self, y: &[f32]) -> (usize, usize) {
        match self.params.trim_top_db {
            Some(top_db) => trim(y, top_db, self.params.n_fft, self.params.hop_length),
            None => (0, y.len()),
        }
    }

    /// Frame-level features of a mono signal at this extractor's sample rate.
    pub fn frames(&self, y: &[f32]) -> Result<Frames, FeatureError> {
        self.frames_with(y, false)
    }

    /// [`Extractor::frames`]; with `mfcc_of_mean`, the MFCC "frames" are a single row, the DCT
    /// of the mean log-mel frame. The DCT is linear, so that row is the mean of the MFCC frames
    /// (to rounding) at a fraction of the cost; only pooling by the mean may ask for it.
    fn frames_with(&self, y: &[f32], mfcc_of_mean: bool) -> Result<Frames, FeatureError> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe {
                match &self.front {
                    Front::F32(stft) => self.frames_in_avx2(stft, y, mfcc_of_mean),
                    Front::F64(stft) => self.frames_in_avx2(stft, y, mfcc_of_mean),
                }
            };
        }
        match &self.front {
            Front::F32(stft) => self.frames_in(stft, y, mfcc_of_mean),
            Front::F64(stft) => self.frames_in(stft, y, mfcc_of_mean),
        }
    }

    /// [`Extractor::frames_in`] compiled for AVX2: the loops inlined into it (the mel product,
    /// decibels, thresholds) run in wider lanes. Rust never fuses or reorders floating-point
    /// operations, so the values are the same bits as the portable build's (tested).
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn frames_in_avx2<T: Real>(
        &self,
        stft: &Stft<T>,
        y: &[f32],
        mfcc_of_mean: bool,
    ) -> Result<Frames, FeatureError> {
        self.frames_in(stft, y, mfcc_of_mean)
    }

    /// [`Extractor::frames_with`] with the spectral front end in `T`.
    #[inline(always)]
    fn frames_in<T: Real>(
        &self,
        stft: &Stft<T>,
        y: &[f32],
        mfcc_of_mean: bool,
    ) -> Result<Frames, FeatureError> {
        if y.is_empty() {
            return Err(FeatureError::Empty);
        }
        let span = self.span(y);
        let y = &y[span.0..span.1];
        let want = |f: Family| self.params.families.contains(&f);
        let want_delta = want(Family::MfccDelta) || want(Family::MfccDelta2);
        let want_mfcc = want(Family::Mfcc) || want_delta;
        let want_db = want_mfcc || want(Family::LogMel);
        // Chroma reads the power spectrogram (taking its square roots on the way).
        let want_magnitude = [
            Family::SpectralCentroid,
            Family::SpectralBandwidth,
            Family::SpectralRolloff,
            Family::SpectralContrast,
        ]
        .into_iter()
        .any(want);
        let power = stft.power(y);
        let sr = f64::from(self.sample_rate);

        // Chroma's filterbank depends on the tuning estimated from the whole spectrogram.
        let mut tuning = 0.0;
        let chroma_bank = want(Family::Chroma).then(|| {
            tuning = chroma::estimate_tuning_from_power(
                power.view(),
                sr,
                self.params.n_fft,
                self.params.n_chroma,
            );
            self.chroma_filter(tuning)
        });
        let want_mel = want(Family::Mel) || want_db;
        // The f32 front end takes both filterbank products in one pass (chroma through the
        // sparse filterbank); f64 the mel bank frame by frame and the whole chroma filterbank
        // (its parity with librosa is to 1e-11).
        let (mut mel, mut chroma_frames) = match T::as_f32(power.view()) {
            Some(p) => mel_and_chroma_f32(
                p,
                want_mel.then_some(&self.mel_bank),
                chroma_bank.as_ref().map(|b| &b.sparse),
            ),
            None => (
                want_mel.then(|| self.mel_bank.apply_rows(&power)),
                chroma_bank.as_ref().map(|bank| {
                    chroma::chroma_frames_from_power(power.view(), T::pick(&bank.f32, &bank.f64))
                }),
            ),
        };
        let mut log_mel = want_db.then(|| {
            let mut db = if want(Family::Mel) {
                mel.clone().expect("computed")
            } else {
                mel.take().expect("computed")
            };
            mfcc::power_to_db_inplace(&mut db, 1e-10, Some(80.0));
            db
        });
        let mut mfcc = want_mfcc.then(|| {
            let log_mel = log_mel.as_ref().expect("computed");
            if mfcc_of_mean && !want_delta {
                let n = log_mel.nrows() as f64;
                let mean = (stats::column_sums(log_mel.view()) / n).insert_axis(Axis(0));
                self.dct.apply_rows(&mean)
            } else {
                self.dct.apply_rows(log_mel)
            }
        });
        let delta = |savgol: &Savgol, family: Family| -> Result<Array2<f64>, FeatureError> {
            let m = mfcc.as_ref().expect("computed");
            savgol.apply(m.view()).ok_or(FeatureError::TooShort {
                family: family.name(),
                frames: m.nrows(),
                needed: savgol.window(),
            })
        };
        let mut mfcc_delta = want(Family::MfccDelta)
            .then(|| delta(&self.delta1, Family::MfccDelta))
            .transpose()?;
        let mut mfcc_delta2 = want(Family::MfccDelta2)
            .then(|| delta(&self.delta2, Family::MfccDelta2))
            .transpose()?;

        let magnitude = want_magnitude.then(|| {
            let mut m = Array2::<T>::zeros(power.raw_dim());
            sqrt_into(
                m.as_slice_mut().expect("fresh arrays are contiguous"),
                power.as_slice().expect("fresh arrays are contiguous"),
            );
            m
        });
        // The spectral-shape families compute in f64 whatever the front end's precision.
        let magnitude64 = [
            Family::SpectralCentroid,
            Family::SpectralBandwidth,
            Family::SpectralRolloff,
            Family::SpectralContrast,
        ]
        .into_iter()
        .any(want)
        .then(|| T::widen_array(magnitude.as_ref().expect("computed")));
        let mut families = Vec::with_capacity(self.params.families.len());
        for &family in &self.params.families {
            let matrix = match family {
                Family::Mfcc => mfcc.take().expect("computed"),
                Family::Chroma => chroma_frames.take().expect("computed"),
                Family::Mel => mel.take().expect("computed"),
                Family::LogMel => log_mel.take().expect("computed"),
                Family::MfccDelta => mfcc_delta.take().expect("computed"),
                Family::MfccDelta2 => mfcc_delta2.take().expect("computed"),
                Family::Rms => column(
                    temporal::rms_f32(y, self.params.n_fft, self.params.hop_length)
                        .into_iter()
                        .map(f64::from)
                        .collect(),
                ),
                Family::Zcr => column(temporal::zero_crossing_rate(
                    y,
                    self.params.n_fft,
                    self.params.hop_length,
                )),
                Family::SpectralCentroid => {
                    let magnitude = magnitude64.as_ref().expect("computed");
                    spectral::per_frame(magnitude.view(), |s| spectral::centroid(s, &self.freqs))
                }
                Family::SpectralBandwidth => {
                    let magnitude = magnitude64.as_ref().expect("computed");
                    spectral::per_frame(magnitude.view(), |s| {
                        let c = spectral::centroid(s, &self.freqs);
                        spectral::bandwidth(s, &self.freqs, c)
                    })
                }
                Family::SpectralRolloff => {
                    let magnitude = magnitude64.as_ref().expect("computed");
                    spectral::per_frame(magnitude.view(), |s| {
                        spectral::rolloff(s, &self.freqs, 0.85)
                    })
                }
                Family::SpectralFlatness => {
                    spectral::per_frame(T::widen_array(&power).view(), spectral::flatness)
                }
                Family::SpectralContrast => {
                    planned(&self.contrast)?.frames(magnitude64.as_ref().expect("computed").view())
                }
                Family::F0 => pitch::f0_frames(planned(&self.yin)?, y),
            };
            families.push((family, matrix));
        }
        Ok(Frames {
            families,
            tuning,
            span,
        })
    }

    /// The segment length and hop in frames (each at least 1), when `segment_seconds` is set.
    pub fn segment_frames(&self) -> Option<(usize, usize)> {
        Some(self.scale_frames(&self.params.segment_scale()?))
    }

    /// A scale's window length and hop in frames of `hop_length` (each at least 1).
    pub fn scale_frames(&self, scale: &SegmentScale) -> (usize, usize) {
        let frames = |s: f64| {
            ((s * f64::from(self.sample_rate) / self.params.hop_length as f64).round() as usize)
                .max(1)
        };
        (frames(scale.seconds), frames(scale.hop()))
    }

    /// Pooled features of each segment of a mono signal: [`Extractor::extract_all`]'s
    /// segments, or, without `segment_seconds`, one segment: [`Extractor::extract`]'s result.
    pub fn extract_segments(&self, y: &[f32]) -> Result<Vec<Features>, FeatureError> {
        if self.params.segment_seconds.is_none() {
            return Ok(vec![self.extract(y)?]);
        }
        Ok(self.extract_all(y)?.1)
    }

    /// The whole signal's pooled features and, when `segment_seconds` is set, each segment's
    /// (else none): [`Extractor::extract_scales`] at that one scale.
    pub fn extract_all(&self, y: &[f32]) -> Result<(Features, Vec<Features>), FeatureError> {
        let Some(scale) = self.params.segment_scale() else {
            return Ok((self.extract(y)?, Vec::new()));
        };
        let (whole, mut scales) = self.extract_scales(y, &[scale])?;
        Ok((whole, scales.pop().expect("one scale")))
    }

    /// The whole signal's pooled features and, for each scale, each segment's. The frames of
    /// the (trimmed) signal are computed once and cut into the windows of [`segment_windows`]
    /// (a scale's `seconds` long, every `hop_seconds`, in frames of `hop_length`), each pooled
    /// as [`Extractor::extract`] pools a whole signal. A segment's `span` runs from its first
    /// frame's centre to its last frame's end (`hop_length` samples on), within the signal's
    /// span; `n_frames` is its frame count; `tuning` is the whole signal's. The
    /// `segment_seconds` of the parameters plays no part here.
    pub fn extract_scales(
        &self,
        y: &[f32],
        scales: &[SegmentScale],
    ) -> Result<(Features, Vec<Vec<Features>>), FeatureError> {
        if scales.is_empty() {
            return Ok((self.extract(y)?, Vec::new()));
        }
        let frames = self.frames_with(y, false)?;
        let n = frames.families.first().map_or(0, |(_, m)| m.nrows());
        let hop = self.params.hop_length;
        let (s0, s1) = frames.span;
        let pool = |start: usize, end: usize| -> Result<Features, FeatureError> {
            let mut values = Vec::new();
            for (family, matrix) in &frames.families {
                let at = values.len();
                let window = matrix.slice(ndarray::s![start..end, ..]);
                stats::pool_into(window, &self.params.stats, &mut values);
                if values[at..].iter().any(|v| !v.is_finite()) {
                    return Err(FeatureError::NonFinite(family.name()));
                }
            }
            Ok(Features {
                values,
                n_frames: end - start,
                tuning: frames.tuning,
                span: ((s0 + start * hop).min(s1), (s0 + end * hop).min(s1)),
            })
        };
        let whole = Features {
            span: frames.span,
            ..pool(0, n)?
        };
        let segments = scales
            .iter()
            .map(|scale| {
                let (w, h) = self.scale_frames(scale);
                segment_windows(n, w, h)
                    .into_iter()
                    .map(|(start, end)| pool(start, end))
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((whole, segments))
    }

    /// Pooled features of a mono signal, in [`FeatureParams::feature_names`] order.
    pub fn extract(&self, y: &[f32]) -> Result<Features, FeatureError> {
        let frames = self.frames_with(y, self.params.stats == [Stat::Mean])?;
        let n_frames = self.n_frames(frames.span.1 - frames.span.0);
        let n_values: usize = self
            .params
            .families
            .iter()
            .map(|&f| self.params.dims(f))
            .sum::<usize>()
            * self.params.stats.len();
        let mut values = Vec::with_capacity(n_values);
        for (family, matrix) in &frames.families {
            let start = values.len();
            stats::pool_into(matrix.view(), &self.params.stats, &mut values);
            if values[start..].iter().any(|v| !v.is_finite()) {
                return Err(FeatureError::NonFinite(family.name()));
            }
        }
        Ok(Features {
            values,
            n_frames,
            tuning: frames.tuning,
            span: frames.span,
        })
    }
}

/// A family's plan, made when the family is configured: the plan, or why this rate cannot
/// have it.
fn planned<P>(plan: &Option<Result<P, String>>) -> Result<&P, FeatureError> {
    plan.as_ref()
        .expect("planned when configured")
        .as_ref()
        .map_err(|e| FeatureError::Unsupported(e.clone()))
}

/// The windows `[start, end)` of `w` frames, one every `h` frames, over `n` frames; when the
/// last does not reach the end, one more ends with the last frame; when `n <= w`, one window
/// of all `n` frames (none when `n == 0`).
pub fn segment_windows(n: usize, w: usize, h: usize) -> Vec<(usize, usize)> {
    assert!(w >= 1 && h >= 1, "windows need a length and a hop");
    if n <= w {
        return if n == 0 { Vec::new() } else { vec![(0, n)] };
    }
    let mut out: Vec<(usize, usize)> = (0..=(n - w) / h).map(|i| (i * h, i * h + w)).collect();
    if out.last().is_some_and(|&(_, end)| end < n) {
        out.push((n - w, n));
    }
    out
}

/// `dst[i] = sqrt(src[i])`. On x86-64 CPUs with AVX the loop runs four lanes wide (the default
/// target has only SSE2's two); a square root is correctly rounded at any width, so both paths
/// give the same bits (tested).
fn sqrt_into<T: Real>(dst: &mut [T], src: &[T]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU supports AVX, checked just above.
        unsafe { sqrt_into_avx(dst, src) };
        return;
    }
    sqrt_into_portable(dst, src);
}

/// [`sqrt_into_portable`] compiled for AVX.
///
/// # Safety
/// The CPU must support AVX.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn sqrt_into_avx<T: Real>(dst: &mut [T], src: &[T]) {
    sqrt_into_portable(dst, src);
}

#[inline(always)]
fn sqrt_into_portable<T: Real>(dst: &mut [T], src: &[T]) {
    for (d, &p) in dst.iter_mut().zip(src) {
        *d = p.sqrt();
    }
}

/// A per-frame scalar series as an `(n_frames, 1)` matrix.
fn column(values: Vec<f64>) -> Array2<f64> {
    let n = values.len();
    Array2::from_shape_vec((n, 1), values).expect("one column")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_windows_cover_every_frame_with_an_end_aligned_last() {
        assert_eq!(segment_windows(0, 4, 2), vec![]);
        assert_eq!(segment_windows(3, 4, 2), vec![(0, 3)]);
        assert_eq!(segment_windows(4, 4, 2), vec![(0, 4)]);
        assert_eq!(segment_windows(8, 4, 2), vec![(0, 4), (2, 6), (4, 8)]);
        assert_eq!(
            segment_windows(9, 4, 2),
            vec![(0, 4), (2, 6), (4, 8), (5, 9)]
        );
        assert_eq!(segment_windows(10, 4, 4), vec![(0, 4), (4, 8), (6, 10)]);
    }

    /// One second of a sine whose frequency rises from `f0` Hz by `sweep` Hz, amplitude 0.3.
    fn chirp(sr: usize, f0: f64, sweep: f64) -> Vec<f32> {
        (0..sr)
            .map(|i| {
                let t = i as f64 / sr as f64;
                (0.3 * (2.0 * std::f64::consts::PI * (f0 + sweep * t) * t).sin()) as f32
            })
            .collect()
    }

    #[test]
    fn several_scales_from_one_pass_equal_each_scale_alone() {
        let sr = 16_000;
        let y = chirp(sr, 150.0, 400.0);
        let p = FeatureParams {
            families: vec![Family::Mfcc, Family::Rms, Family::Zcr],
            stats: vec![Stat::Mean, Stat::Std],
            segment_seconds: Some(0.25),
            ..FeatureParams::default()
        };
        let coarse = p.segment_scale().unwrap();
        assert_eq!(coarse.hop(), 0.125);
        let fine = SegmentScale {
            seconds: 0.1,
            hop_seconds: Some(0.1),
        };
        assert_eq!(fine.tag(), "0.1s_hop_0.1s");
        assert!(coarse.same_as(&SegmentScale {
            seconds: 0.25,
            hop_seconds: Some(0.125)
        }));
        assert!(!coarse.same_as(&fine));
        let ex = Extractor::new(&p, sr as u32);
        let (whole, scales) = ex.extract_scales(&y, &[coarse, fine]).unwrap();
        assert_eq!(whole, ex.extract_all(&y).unwrap().0);
        assert_eq!(scales[0], ex.extract_all(&y).unwrap().1);
        let alone = Extractor::new(&p.with_segment_scale(Some(fine)), sr as u32);
        assert_eq!(scales[1], alone.extract_all(&y).unwrap().1);
        // 0.1 s of 512-sample hops at 16 kHz: 3 frames, every 3.
        assert_eq!(alone.segment_frames(), Some((3, 3)));
        assert!(scales[1].len() > scales[0].len());
        // No scale: the whole signal alone.
        let (only, none) = ex.extract_scales(&y, &[]).unwrap();
        assert!(none.is_empty());
        assert_eq!(
            only,
            Extractor::new(&p.with_segment_scale(None), sr as u32)
                .extract(&y)
                .unwrap()
        );
    }

    #[test]
    fn segments_pool_windows_of_the_whole_signals_frames() {
        let sr = 16_000;
        let y = chirp(sr, 200.0, 300.0);
        let p = FeatureParams {
            families: vec![Family::Mfcc, Family::Chroma, Family::LogMel, Family::Rms],
            stats: vec![Stat::Mean, Stat::Std],
            segment_seconds: Some(0.25),
            segment_hop_seconds: Some(0.125),
            ..FeatureParams::default()
        };
        let ex = Extractor::new(&p, sr as u32);
        // 0.25 s of 512-sample hops at 16 kHz: 8 frames, every 4.
        assert_eq!(ex.segment_frames(), Some((8, 4)));
        let segments = ex.extract_segments(&y).unwrap();
        let frames = ex.frames(&y).unwrap();
        let n = frames.families[0].1.nrows();
        let windows = segment_windows(n, 8, 4);
        assert_eq!(segments.len(), windows.len());
        for (seg, &(a, b)) in segments.iter().zip(&windows) {
            let mut expected = Vec::new();
            for (_, m) in &frames.families {
                stats::pool_into(m.slice(ndarray::s![a..b, ..]), &p.stats, &mut expected);
            }
            assert_eq!(seg.values, expected);
            assert_eq!(seg.n_frames, b - a);
            assert_eq!(seg.span, ((a * 512).min(y.len()), (b * 512).min(y.len())));
        }
        // The whole signal pooled beside its segments: what extract gives.
        let (whole, again) = ex.extract_all(&y).unwrap();
        assert_eq!(again, segments);
        let unsegmented = FeatureParams {
            segment_seconds: None,
            segment_hop_seconds: None,
            ..p.clone()
        };
        assert_eq!(
            whole,
            Extractor::new(&unsegmented, sr as u32).extract(&y).unwrap()
        );
        // A window longer than the signal: one segment, the whole signal's features.
        let long = FeatureParams {
            segment_seconds: Some(5.0),
            ..p.clone()
        };
        let one = Extractor::new(&long, sr as u32)
            .extract_segments(&y)
            .unwrap();
        let whole = Extractor::new(
            &FeatureParams {
                segment_seconds: None,
                segment_hop_seconds: None,
                ..p.clone()
            },
            sr as u32,
        )
        .extract(&y)
        .unwrap();
        assert_eq!(one, vec![whole]);
        // The hop defaults to half a segment; a hop without a length is refused.
        let half = FeatureParams {
            segment_hop_seconds: None,
            ..p.clone()
        };
        assert_eq!(
            Extractor::new(&half, sr as u32).segment_frames(),
            Some((8, 4))
        );
        let bad = FeatureParams {
            segment_seconds: None,
            ..p.clone()
        };
        assert_eq!(bad.check().unwrap_err().key, "segment_hop_seconds");
        let bad = FeatureParams {
            segment_seconds: Some(0.0),
            ..p
        };
        assert_eq!(bad.check().unwrap_err().key, "segment_seconds");
    }

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
    fn wide_and_portable_square_roots_agree_bit_for_bit() {
        let src: Vec<f64> = (0..1031)
            .map(|i| (i as f64 * 0.7368).powi(3) + 1e-300)
            .collect();
        let mut a = vec![0.0; src.len()];
        let mut b = vec![0.0; src.len()];
        sqrt_into(&mut a, &src);
        sqrt_into_portable(&mut b, &src);
        assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
        assert_eq!(a[4], src[4].sqrt());
    }

    #[test]
    fn empty_signal_is_an_error() {
        let ex = Extractor::new(&FeatureParams::default(), 16000);
        assert_eq!(ex.extract(&[]), Err(FeatureError::Empty));
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

    fn tone(sr: usize, n: usize, hz: f64, amp: f64) -> Vec<f32> {
        (0..n)
            .map(|i| (amp * (2.0 * std::f64::consts::PI * hz * i as f64 / sr as f64).sin()) as f32)
            .collect()
    }

    #[test]
    fn wide_and_portable_extractors_agree_bit_for_bit() {
        let sr = 22_050;
        let mut y = tone(sr, 25_000, 330.0, 0.25);
        for (i, v) in y.iter_mut().enumerate() {
            *v += (0.03 * ((i * 7919 % 1000) as f64 / 1000.0 - 0.5)) as f32;
        }
        for precision in [Precision::F32, Precision::F64] {
            let p = FeatureParams {
                families: Family::ALL.to_vec(),
                precision,
                ..FeatureParams::default()
            };
            let ex = Extractor::new(&p, sr as u32);
            let wide = ex.frames(&y).unwrap();
            let portable = match &ex.front {
                Front::F32(stft) => ex.frames_in(stft, &y, false),
                Front::F64(stft) => ex.frames_in(stft, &y, false),
            }
            .unwrap();
            for ((family, a), (_, b)) in wide.families.iter().zip(&portable.families) {
                assert!(
                    a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()),
                    "{family} ({precision:?})"
                );
            }
        }
    }

    #[test]
    fn mean_mfcc_by_the_dct_of_the_mean_is_the_mean_of_the_mfcc_frames() {
        let sr = 16_000;
        let mut y = tone(sr, 20_000, 300.0, 0.2);
        for (i, v) in y.iter_mut().enumerate() {
            *v += (0.02 * ((i * 7919 % 1000) as f64 / 1000.0 - 0.5)) as f32;
        }
        let ex = Extractor::new(&FeatureParams::default(), sr as u32);
        assert_eq!(FeatureParams::default().stats, [Stat::Mean]);
        let pooled = ex.extract(&y).unwrap();
        let frames = ex.frames(&y).unwrap();
        let mfcc = frames.get(Family::Mfcc).unwrap();
        assert!(mfcc.nrows() > 1);
        let mean = mfcc.mean_axis(Axis(0)).unwrap();
        let scale = mean.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let mut differ = false;
        for (x, y) in mean.iter().zip(&pooled.values[..40]) {
            assert!((x - y).abs() <= 1e-12 * scale, "{x} vs {y}");
            differ |= x != y;
        }
        // Rounding differs somewhere, so the shortcut ran.
        assert!(differ);
    }

    #[test]
    fn float32_front_end_is_close_to_float64() {
        let sr = 22_050;
        let mut y = tone(sr, 30_000, 440.0, 0.3);
        for (i, v) in y.iter_mut().enumerate() {
            *v += (0.05 * ((i * 7919 % 1000) as f64 / 1000.0 - 0.5)) as f32;
        }
        let f64_params = FeatureParams {
            precision: Precision::F64,
            ..FeatureParams::default()
        };
        let a = Extractor::new(&f64_params, sr as u32).extract(&y).unwrap();
        let b = Extractor::new(&FeatureParams::default(), sr as u32)
            .extract(&y)
            .unwrap();
        assert_eq!(FeatureParams::default().precision, Precision::F32);
        assert_ne!(a.values, b.values, "the two precisions ran the same code");
        assert_eq!(a.tuning, b.tuning);
        let (mfcc, rest) = (&a.values[..40], &a.values[40..]);
        let scale = mfcc.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (x, y) in mfcc.iter().zip(&b.values[..40]) {
            assert!((x - y).abs() <= 1e-5 * scale, "mfcc {x} vs {y}");
        }
        for (x, y) in rest.iter().zip(&b.values[40..]) {
            assert!((x - y).abs() <= 1e-4 * x.abs().max(1e-6), "{x} vs {y}");
        }
        // The families that read the quietest bins take the f64 front end.
        for family in [Family::SpectralFlatness, Family::SpectralContrast] {
            let p = FeatureParams {
                families: vec![Family::Mfcc, family],
                ..FeatureParams::default()
            };
            assert_eq!(p.front_end_precision(), Precision::F64, "{family}");
        }
    }

    #[test]
    fn every_family_extracts_with_every_stat() {
        let sr = 48_000;
        let y = tone(sr, 24_000, 440.0, 0.4);
        let p = FeatureParams {
            families: Family::ALL.to_vec(),
            stats: Stat::ALL.to_vec(),
            ..FeatureParams::default()
        };
        let ex = Extractor::new(&p, sr as u32);
        let f = ex.extract(&y).unwrap();
        assert_eq!(f.values.len(), p.feature_names().len());
        assert_eq!(f.span, (0, y.len()));
        let frames = ex.frames(&y).unwrap();
        for (family, m) in &frames.families {
            assert_eq!(m.nrows(), f.n_frames, "{family}");
            assert_eq!(m.ncols(), p.dims(*family), "{family}");
        }
        // The default families' values are unchanged by the others being computed too (in the
        // f64 front end that spectral_contrast and spectral_flatness take); the MFCC means to
        // rounding, since pooling by the mean alone takes the DCT of the mean log-mel frame.
        assert_eq!(p.front_end_precision(), Precision::F64);
        let f64_default = FeatureParams {
            precision: Precision::F64,
            ..FeatureParams::default()
        };
        let default = Extractor::new(&f64_default, sr as u32).extract(&y).unwrap();
        let names = p.feature_names();
        let default_names = FeatureParams::default().feature_names();
        for (name, v) in default_names.iter().zip(&default.values) {
            let i = names.iter().position(|n| n == name).unwrap();
            if name.starts_with("mfcc_mean_") {
                assert!(
                    (f.values[i] - v).abs() <= 1e-12 * v.abs().max(1.0),
                    "{name}"
                );
            } else {
                assert_eq!(f.values[i], *v, "{name}");
            }
        }
        // log_mel is the dB of mel: its max is 80 dB above its floor at most.
        let log_mel = frames.get(Family::LogMel).unwrap();
        let max = log_mel.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        assert!(log_mel.iter().all(|&v| v >= max - 80.0));
        // A steady tone: rms about 0.4 / sqrt(2) in the middle, a centroid near 440 Hz.
        let rms = frames.get(Family::Rms).unwrap();
        assert!(
            (rms[[20, 0]] - 0.4 / 2f64.sqrt()).abs() < 1e-3,
            "{}",
            rms[[20, 0]]
        );
        let centroid = frames.get(Family::SpectralCentroid).unwrap();
        assert!(
            (centroid[[20, 0]] - 440.0).abs() < 30.0,
            "{}",
            centroid[[20, 0]]
        );
    }

    #[test]
    fn trimming_drops_silence_and_keeps_loud_signals_whole() {
        let sr = 16_000;
        let mut y = vec![0.0f32; 8_000];
        y.extend(tone(sr, 16_000, 300.0, 0.5));
        y.extend(vec![0.0f32; 8_000]);
        let (start, end) = trim(&y, 60.0, 2048, 512);
        assert!((4_001..=8_000).contains(&start), "{start}");
        assert!((24_000..28_000).contains(&end), "{end}");
        let p = FeatureParams {
            trim_top_db: Some(60.0),
            ..FeatureParams::default()
        };
        let f = Extractor::new(&p, sr as u32).extract(&y).unwrap();
        assert_eq!(f.span, (start, end));
        assert_eq!(f.n_frames, 1 + (end - start) / 512);
        let direct = Extractor::new(&FeatureParams::default(), sr as u32)
            .extract(&y[start..end])
            .unwrap();
        assert_eq!(f.values, direct.values);
        // A signal loud throughout is kept whole.
        let loud = tone(sr, 10_000, 300.0, 0.5);
        assert_eq!(trim(&loud, 20.0, 2048, 512), (0, loud.len()));
    }

    #[test]
    fn too_short_for_deltas_or_contrast_rate_is_an_error_not_a_panic() {
        let p = FeatureParams {
            families: vec![Family::MfccDelta],
            ..FeatureParams::default()
        };
        let y = tone(16_000, 3_000, 300.0, 0.5); // 6 frames < 9
        let err = Extractor::new(&p, 16_000).extract(&y).unwrap_err();
        assert!(
            matches!(
                err,
                FeatureError::TooShort {
                    needed: 9,
                    frames: 6,
                    ..
                }
            ),
            "{err}"
        );
        let p = FeatureParams {
            families: vec![Family::SpectralContrast],
            ..FeatureParams::default()
        };
        let err = Extractor::new(&p, 8_000).extract(&y).unwrap_err();
        assert!(matches!(err, FeatureError::Unsupported(_)), "{err}");
        assert!(Extractor::new(&p, 16_000).extract(&y).is_ok());
        // f0: librosa.yin refuses fmax (600 Hz) above Nyquist, and a period of fmin (65 Hz)
        // longer than a frame.
        let p = FeatureParams {
            families: vec![Family::F0],
            ..FeatureParams::default()
        };
        let err = Extractor::new(&p, 1_000).extract(&y).unwrap_err();
        assert!(matches!(err, FeatureError::Unsupported(_)), "{err}");
        let short_frames = FeatureParams {
            n_fft: 128,
            hop_length: 32,
            ..p.clone()
        };
        let err = Extractor::new(&short_frames, 16_000)
            .extract(&y)
            .unwrap_err();
        assert!(err.to_string().contains("n_fft"), "{err}");
        let f = Extractor::new(&p, 16_000).extract(&y).unwrap();
        assert_eq!(p.feature_names(), ["f0_mean_00", "f0_mean_01"]);
        assert_eq!(f.values.len(), 2);
    }
}
