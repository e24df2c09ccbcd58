//! The extractor: [`Extractor`] plans the STFT, filterbanks and the other families' plans once
//! for a sample rate; [`Extractor::frames`] computes each configured family's frames, every
//! intermediate (power, magnitude, mel, dB mel, MFCC) once and only when a family needs it;
//! [`Extractor::extract`] pools them into one row. [`ExtractorCache`] keeps one extractor per
//! sample rate met.

use ndarray::{Array2, Axis};
use thiserror::Error;

use super::delta::Savgol;
use super::front_end::{mel_and_chroma_f32, sqrt_into};
use super::mel::MelBank;
use super::mfcc::Dct;
use super::pitch::Yin;
use super::real::Real;
use super::spectral::Contrast;
use super::stft::Stft;
use super::{chroma, mfcc, pitch, spectral, stats, temporal, trim};
use super::{Family, FeatureParams, Precision, Stat};

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
    pub(super) params: FeatureParams,
    pub(super) sample_rate: u32,
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
    pub(super) fn frames_with(
        &self,
        y: &[f32],
        mfcc_of_mean: bool,
    ) -> Result<Frames, FeatureError> {
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

/// A per-frame scalar series as an `(n_frames, 1)` matrix.
fn column(values: Vec<f64>) -> Array2<f64> {
    let n = values.len();
    Array2::from_shape_vec((n, 1), values).expect("one column")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::tests::tone;

    #[test]
    fn empty_signal_is_an_error() {
        let ex = Extractor::new(&FeatureParams::default(), 16000);
        assert_eq!(ex.extract(&[]), Err(FeatureError::Empty));
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
}
